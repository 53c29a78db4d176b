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
import ast

from analysis.model import Flow, Step
from analysis.source import block_end, enclosing_def, statement_range

__all__ = ["build", "FlowError", "step_callers", "CallSite", "call_sites", "CALL_KINDS"]


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


#: How a step was called (:attr:`CallSite.kind`):
#:
#: ``entry``       the flow starts there (the scenario's script calls it);
#: ``hop``         the first call of a thread or child process the caller started;
#: ``direct``      a call on the caller's own line (``self.f()``, or through a
#:                 variable: ``method()``);
#: ``c``           C code that the caller's line calls calls it back
#:                 (``select.select()`` calling ``fileno()``);
#: ``implicit``    the caller's line has no call: the interpreter runs it
#:                 (a descriptor's ``__get__`` for an attribute access ...);
#: ``unrecorded``  Python code of a module that is not recorded calls it
#:                 (``selectors`` calling ``fileno()``) while the caller runs;
#: ``unknown``     the recording has no call site for it.
CALL_KINDS = ("entry", "hop", "direct", "c", "implicit", "unrecorded", "unknown")

# What the interpreter is doing when it calls these without a call on the line.
_IMPLICIT = {
    "__get__": "an attribute lookup", "__set__": "an attribute assignment",
    "__delete__": "an attribute deletion", "__getattr__": "an attribute lookup",
    "__getattribute__": "an attribute lookup", "__enter__": "a ``with`` statement",
    "__exit__": "a ``with`` statement", "__iter__": "iteration", "__next__": "iteration",
    "next": "iteration", "__del__": "garbage collection", "__len__": "a truth test",
    "__bool__": "a truth test", "__nonzero__": "a truth test",
}


class CallSite(object):
    """How one step of a flow was called, as the recording says.

    ``kind`` is one of :data:`CALL_KINDS`; ``caller`` the index (0-based)
    of the calling step, or ``None``; ``file`` and ``lines`` (``(a, b)``,
    1-based) the call site: the whole statement when it spans several lines
    (Python 2 records the last line of a multi-line call, 3.8+ the line of
    the callee's name); ``function`` the function that holds the call site
    when it is not the caller step (``unrecorded``); ``via`` the expression
    called when it does not name the step (``method``, ``select.select``);
    ``what`` what the interpreter was doing (``implicit``).
    """

    __slots__ = ("kind", "caller", "file", "lines", "function", "via", "what")

    def __init__(self, kind, caller=None, file=None, lines=None, function=None, via=None,
                 what=None):
        self.kind = kind
        self.caller = caller
        self.file = file
        self.lines = lines
        self.function = function
        self.via = via
        self.what = what

    def __repr__(self):
        return "CallSite(%s)" % ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in self.__slots__
            if getattr(self, name) is not None)

    def __eq__(self, other):
        return isinstance(other, CallSite) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __ne__(self, other):
        return not self == other


def _same_file(recorded, other):
    """Whether two recorded file names are one file (Python 2 may record one relative)."""
    if not recorded or not other:
        return False
    a, b = recorded.replace("\\", "/"), other.replace("\\", "/")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _parse(text):
    """The statement *text* (dedented) as an AST, or ``None``.

    A compound statement's header (``if x:``, ``with a as b:``) is given a
    body; what the running interpreter cannot parse (a Python 2 ``print``
    statement under Python 3) gives ``None``.
    """
    lines = text.split("\n")
    indent = len(lines[0]) - len(lines[0].lstrip())
    text = "\n".join(line[indent:] if line[:indent].strip() == "" else line.lstrip()
                     for line in lines)
    stripped = text.rstrip()
    if stripped.split("#")[0].rstrip().endswith(":"):
        head = stripped.split(None, 1)[0]
        if head in ("elif", "else:", "else", "except", "except:", "finally:", "finally"):
            return None
        text = stripped + " pass"
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _name_of(node):
    """``a.b.c`` for a Name/Attribute chain, else ``None``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _calls(tree):
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _statement(lines, line, first, last):
    a, b = statement_range(lines, line, first, last)
    return (a, b), "\n".join(lines[a - 1:b])


def _parameters(lines, first, last):
    """The positional parameter names of the ``def`` at line *first*, or ``[]``."""
    header = []
    for number in range(first, last + 1):
        header.append(lines[number - 1])
        if lines[number - 1].split("#")[0].rstrip().endswith(":"):
            break
    text = "\n".join(header).strip()
    while text.startswith("@"):
        text = text.split("\n", 1)[1].strip() if "\n" in text else ""
    tree = _parse(text)
    if tree is None or not tree.body or not hasattr(tree.body[0], "args"):
        return []
    return [getattr(arg, "arg", getattr(arg, "id", None)) for arg in tree.body[0].args.args]


def _argument(site_text, function, position):
    """The dotted name passed at *position* to a call of *function* in *site_text*."""
    tree = _parse(site_text)
    if tree is None:
        return None
    for call in _calls(tree):
        name = _name_of(call.func)
        if name and name.rsplit(".", 1)[-1] == function:
            args = call.args
            if position < len(args) and not type(args[position]).__name__ == "Starred":
                return _name_of(args[position])
    return None


def call_sites(steps, sources, is_c_function=None):
    """How each step of *steps* was called: a :class:`CallSite` per step.

    Everything comes from the recording: the caller step (the nearest
    recorded frame above the call, :func:`step_callers`) and the call site
    the tracer kept (``call_file``, ``call_line``: the frame that made the
    call, recorded or not).  *sources* maps file names to their lines; the
    call site's statement is read there, to give its whole line range and
    to tell a call on the line from an implicit one.  *is_c_function* takes
    a dotted name (``select.select``) and says whether it is C code; a call
    through a parameter whose argument, at the caller's own recorded call
    site, is such a function is a call from C.
    """
    callers = step_callers(steps)
    sites = []
    for i, step in enumerate(steps):
        caller = callers[i]
        if step.hop:
            sites.append(CallSite("hop", caller, step.call_file,
                                  (step.call_line, step.call_line) if step.call_line else None))
            continue
        if caller is None:
            sites.append(CallSite("entry", None, step.call_file,
                                  (step.call_line, step.call_line) if step.call_line else None))
            continue
        sites.append(_call_site(steps, callers, i, sources, is_c_function))
    return sites


def _call_site(steps, callers, i, sources, is_c_function):
    step, caller = steps[i], callers[i]
    up = steps[caller]
    line = step.call_line
    if not line:
        return CallSite("unknown", caller)
    here = step.call_file or up.file  # an older recording has no call_file
    lines = sources.get(up.file)
    inside = False
    if _same_file(here, up.file) and lines and 0 < up.line <= len(lines):
        end = block_end(lines, up.line)
        inside = up.line <= line <= end
    if not inside:
        if not step.call_file or _same_file(step.call_file, up.file):
            return CallSite("unknown", caller)
        other = sources.get(step.call_file)
        function = enclosing_def(other, line) if other else None
        return CallSite("unrecorded", caller, step.call_file, (line, line),
                        function=function[0] if function else None)
    span, text = _statement(lines, line, up.line, end)
    tree = _parse(text)
    if tree is None:  # cannot tell: the recorded frame made the call on this line
        return CallSite("direct", caller, up.file, span)
    calls = _calls(tree)
    if not calls:
        return CallSite("implicit", caller, up.file, span,
                        what=_IMPLICIT.get(step.function, "the interpreter"))
    names = [_name_of(call.func) for call in calls]
    called = [getattr(call.func, "attr", None) or getattr(call.func, "id", None) for call in calls]
    if step.function in ("__init__", "__new__") or step.function in called:
        return CallSite("direct", caller, up.file, span)
    via = next((n for n in names if n), None)
    if is_c_function is not None and callers[caller] is not None and up.call_line:
        # A call through a parameter: what did the caller's own caller pass?
        parameters = _parameters(lines, up.line, end)
        grand = steps[callers[caller]]
        grand_lines = sources.get(grand.file)
        if grand_lines and _same_file(up.call_file or grand.file, grand.file) \
                and 0 < grand.line <= len(grand_lines):
            grand_end = block_end(grand_lines, grand.line)
            if grand.line <= up.call_line <= grand_end:
                _, grand_text = _statement(grand_lines, up.call_line, grand.line, grand_end)
                for name in names:
                    if name in parameters:
                        passed = _argument(grand_text, up.function, parameters.index(name))
                        if passed and is_c_function(passed):
                            return CallSite("c", caller, up.file, span, via=passed)
    return CallSite("direct", caller, up.file, span, via=via)
