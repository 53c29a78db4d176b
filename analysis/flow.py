"""The ordered path of a recorded run from an entry to a target.

The calls of a :class:`~analysis.model.Trace` form a tree per thread; a
thread hop (``Thread.start()`` in a recorded call, or a fork) hangs the new
thread's first call under the call that started it.  The flow is the
pre-order walk of that tree, restricted to the thread of the entry and the
threads it started, from the entry call to the target call:

* the entry's own subtree and every later call of its thread up to the one
  leading to the target (construction, then ``serve_forever``);
* inside the calls that lead to the target, only what ran before the next
  step towards it (what runs after the target is not on the path);
* noise collapsed: a call repeated under the same caller (a poll loop's
  ``service_actions``, a second ``_eintr_retry``) is shown once, keeping the
  one on the path to the target.

Other threads that were not started from the path (the client) are left out.
"""
from analysis.model import Flow, Step
from analysis.source import block_end

__all__ = ["build", "FlowError", "step_callers", "calls_directly"]


class FlowError(ValueError):
    """The trace has no path from the entry to the target (the message is one line)."""


def _tree(trace):
    calls = dict((c.id, c) for c in trace.calls)
    threads = dict((t.id, t) for t in trace.threads)
    children = {}
    first_root = {}
    for call in trace.calls:
        if call.parent is None:
            first_root.setdefault(call.thread, call.id)
    for call in trace.calls:
        parent = call.parent
        if parent is None and first_root.get(call.thread) == call.id:
            # A thread's first call hangs under the call that started it.
            thread = threads.get(call.thread)
            if thread is not None and thread.started_by in calls:
                parent = thread.started_by
        if parent is not None and parent not in calls:
            parent = None
        children.setdefault(parent, []).append(call)
    for siblings in children.values():
        siblings.sort(key=lambda c: c.id)
    return calls, threads, children


def build(trace, start="__init__", target="handle", entry=None, goal=None):
    """Return the :class:`~analysis.model.Flow` of *trace* from *start* to *target*.

    *start* and *target* are function names (``"serve_forever"``) or
    qualnames (``"BaseServer.serve_forever"``).  The entry is the first call
    of that name; the target the first such call after it.  *entry* and
    *goal*, call ids, name those calls instead (one server of several, as
    :mod:`analysis.script` finds them).
    """
    calls, threads, children = _tree(trace)
    parent_of = {}
    for parent, kids in children.items():
        for kid in kids:
            parent_of[kid.id] = parent

    def matches(call, name):
        return call.function == name or call.qualname == name

    if entry is not None:
        entry = calls[entry]
    else:
        entry = next((c for c in trace.calls if matches(c, start)), None)
    if entry is None:
        raise FlowError("no call named %r in the %s trace" % (start, trace.scenario))
    if goal is not None:
        goal = calls[goal]
    else:
        goal = next((c for c in trace.calls if c.id > entry.id and matches(c, target)), None)
    if goal is None:
        raise FlowError("no call named %r after %s in the %s trace" % (target, entry.qualname, trace.scenario))

    # The chain from the goal up to its root, through hops.
    path = []
    node = goal.id
    while node is not None:
        path.append(node)
        node = parent_of.get(node)
    on_path = set(path)
    entry_parent = parent_of.get(entry.id)
    if entry.id not in on_path and entry_parent not in on_path and entry_parent is not None:
        raise FlowError(
            "%s does not lead to %s in the %s trace" % (entry.qualname, goal.qualname, trace.scenario)
        )
    # The walk starts at the entry and goes on with its later siblings
    # (construction, then serve_forever) when the entry is not itself an
    # ancestor of the goal.
    if entry.id in on_path:
        roots = [entry]
    else:
        siblings = children.get(entry_parent, [])
        # The sibling that leads to the goal may run in another thread: a
        # serve_forever() the script started in a thread of its own.
        roots = [c for c in siblings if c.id >= entry.id and (c.thread == entry.thread or c.id in on_path)]
        cut = next((i for i, c in enumerate(roots) if c.id in on_path), None)
        if cut is None:
            raise FlowError(
                "%s does not lead to %s in the %s trace" % (entry.qualname, goal.qualname, trace.scenario)
            )
        roots = roots[: cut + 1]

    steps = []
    state = {"done": False, "thread": None}

    def visit(call, depth):
        if state["done"]:
            return
        thread = threads.get(call.thread)
        hop = state["thread"] is not None and state["thread"] != call.thread
        state["thread"] = call.thread
        steps.append(
            Step(
                index=len(steps) + 1,
                owner=call.owner,
                function=call.function,
                qualname=call.qualname,
                module=call.module,
                file=call.file,
                line=call.line,
                call_line=call.call_line,
                call_file=call.call_file,
                thread=thread.name if thread is not None else str(call.thread),
                role=thread.role if thread is not None else "main",
                hop=hop,
                note=call.doc,
                call=call.id,
                depth=depth,
            )
        )
        if call.id == goal.id:
            state["done"] = True
            return
        kids = _collapse(children.get(call.id, []), on_path)
        if call.id in on_path:
            # Only what ran before the next step towards the goal.
            cut = next(i for i, k in enumerate(kids) if k.id in on_path)
            kids = kids[: cut + 1]
        for kid in kids:
            visit(kid, depth + 1)

    for root in _collapse(roots, on_path):
        visit(root, 0)
    return Flow(
        scenario=trace.scenario,
        python=dict(trace.python),
        start=start,
        target=target,
        steps=steps,
        tracer=trace.tracer,
    )


def _collapse(calls, on_path):
    """Keep one call per qualname among siblings: the one on the path, else the first."""
    keep = {}
    for call in calls:
        if call.qualname not in keep or (call.id in on_path and keep[call.qualname].id not in on_path):
            keep[call.qualname] = call
    kept = set(c.id for c in keep.values())
    return [c for c in calls if c.id in kept]


def step_callers(steps):
    """For each step, the index (0-based) of the step that called it, or ``None``.

    The caller is the nearest earlier step of the same thread that is less
    deep.  A hop step (the first of a new thread) was started by the nearest
    earlier step less deep than it in any thread (the flow records the hop
    one level below the call that started the thread).  A step at the
    flow's top level (an entry such as the constructor or
    ``serve_forever``) has no caller.
    """
    callers = []
    for i, step in enumerate(steps):
        caller = None
        for j in range(i - 1, -1, -1):
            other = steps[j]
            if other.depth < step.depth and (step.hop or other.thread == step.thread):
                caller = j
                break
        if caller is None and step.hop and i:
            caller = i - 1
        callers.append(caller)
    return callers


def calls_directly(caller, step, sources):
    """Whether *step*'s call line lies inside *caller*'s definition.

    A flow step only records the call line, not its file: a call made from
    a module that was not recorded (``selectors`` calling ``fileno()``, say)
    has a line number of another file, so the line must also be inside the
    caller and mention the function.
    """
    lines = sources.get(caller.file)
    if not step.call_line or not lines or not 0 < caller.line <= len(lines):
        return False
    if not caller.line <= step.call_line <= block_end(lines, caller.line):
        return False
    # A constructor is called through the class (``self.RequestHandlerClass(...)``).
    return step.function == "__init__" or step.function in lines[step.call_line - 1]
