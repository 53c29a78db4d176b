"""Record the calls of a run as detached plain data (:class:`analysis.model.Trace`).

::

    with Tracer(modules=["socketserver", "myapp"]) as tracer:
        run_my_server()
    trace = tracer.trace("my-run")

Three hooks, one recorder, and only call events (no return events: the
call tree is rebuilt after the run, see "The hot path" below):

``sys.monitoring`` (3.12+, PEP 669, the default there)
    ``PY_START`` for every thread; the callback returns ``DISABLE`` for a
    code object outside the filter, so the interpreter stops calling it for
    that code: after warm-up, uninteresting code costs nothing.
``sys.settrace`` (the default below 3.12)
    The global trace function sees each new frame once and always returns
    ``None``: no frame gets a local trace function, so there are no per-line
    or return callbacks, on 2.7 and 3.6 either.
``sys.setprofile``
    Sees every call and return, C calls included; slower, kept because it
    does not interfere with debuggers and coverage, which use settrace.

The filter is decided once per code object (the module of its globals) and
cached by code object.  The owner of a method is the class that supplies it
in the MRO of the instance's type (``self`` / ``cls`` of the frame), so
``ThreadingTCPServer(...).process_request`` is recorded as
``ThreadingMixIn.process_request``.  A thread hop is recorded by wrapping
``threading.Thread.start`` while tracing: the call that was running when a
thread started is its ``started_by``, and that thread's first recorded call
is the hop's ``first_call``.  ``os.fork`` is wrapped the same way, and a
forked child writes its own calls to a file the parent merges in
:meth:`Tracer.stop` (role ``"child"``).

The hot path
------------
The callback runs for every recorded call, in every thread, and what it
costs is the tracer's overhead (``benchmarks/bench_trace.py``), so it does
the least that cannot be done later:

- The owner is decided once per code object when the code alone decides it:
  the function is held by exactly one class of its module, under its own
  name, and (on Python 3) its ``__qualname__`` says it was defined there.
  Then every receiver's MRO finds that class, and the callback never reads
  the frame's locals (``f_locals`` copies every local on 3.12 and below and
  builds a proxy on 3.13).  A function that a second class holds too is
  looked up through the receiver's MRO, per receiver type; a copy
  made in *another* module (``handle = Base.handle`` elsewhere) is not seen,
  and its calls are attributed to the class that defined the function.
- No call stack is kept.  A record holds the id of its frame and of its
  *anchor*, the nearest calling frame whose code is recorded; after the run,
  the parent of a call is the latest call that ran in the anchor's frame.
  That is exact: the anchor is alive while the call starts, so no other
  frame can have had its id since the anchor's own call was recorded.  A
  call's id is its position in the record list (``list.extend`` is atomic),
  and a thread or process start remembers the list's length and the anchor
  of the caller of ``Thread.start`` / ``os.fork``, resolved the same way.
- The call-site line is looked up after the run, once per code object, from
  the caller's code and instruction offset (``f_lineno`` decodes the line
  table on every read).

Measured with callgrind on 3.13, ``benchmarks/bench_trace.py``'s echo
workload (17 recorded calls per request): 150,000 instructions per request
over the untraced run, against 319,000 with a call stack kept in the
callback and owners found from ``f_locals``, and 45,000 for a callback that
only appends the code object.
"""
import json
import os
import shutil
import sys
import tempfile
import threading
import time

from analysis import _compat
from analysis.model import Call, Hop, Thread, Trace, python_info

__all__ = ["Tracer", "DEFAULT_TRACER", "available_tracers", "TracerError"]

_MONITORING = _compat.MONITORING
DEFAULT_TRACER = "sys.monitoring" if _MONITORING is not None else "sys.settrace"


def available_tracers():
    """The hooks this interpreter offers, the default first."""
    if _MONITORING is not None:
        return ("sys.monitoring", "sys.settrace", "sys.setprofile")
    return ("sys.settrace", "sys.setprofile")


class TracerError(RuntimeError):
    """The tracer cannot start (a hook is unavailable or already in use)."""


_SKIP = False  # cache value for code objects outside the filter


def _doc_line(func_or_code_doc):
    if not func_or_code_doc or not isinstance(func_or_code_doc, _compat.string_types):
        return ""
    for line in func_or_code_doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


class _CodeInfo(object):
    """What the tracer decided about one code object, computed once."""

    __slots__ = ("module", "function", "file", "line", "first_arg", "qualname", "owner", "owners", "index")

    def __init__(self, module, code, first_arg, index, owner):
        self.index = index  # in Tracer._infos: what a raw call record holds
        self.module = module
        self.function = code.co_name
        # Absolute: Python 2 keeps the path a module was imported by, which is
        # relative for a module found through a relative sys.path entry.
        self.file = os.path.abspath(code.co_filename)
        self.line = code.co_firstlineno
        self.first_arg = first_arg
        self.qualname = _compat.code_qualname(code)  # for a call with no owner class
        # (owner name or None, owner module, doc) when the code alone decides
        # it (see _static_owner), else None and, per receiver type:
        self.owner = owner
        self.owners = {}


class Tracer(object):
    """Record calls into a set of modules, in every thread, as plain data.

    *modules*: module names; a code object is recorded when the
    ``__name__`` of its globals is one of them or inside one of them
    (``"compatserver"`` covers ``compatserver._compat``).  *tracer*: one of
    :func:`available_tracers`, default :data:`DEFAULT_TRACER`.  *roles*:
    ``{thread name: role}`` for threads the caller starts (``"client"``);
    the thread that starts tracing is ``"main"``, a thread started by a
    recorded call is ``"worker"``, any other ``"server"``.
    """

    def __init__(self, modules, tracer=None, roles=None, follow_fork=True):
        if isinstance(modules, _compat.string_types):
            modules = [modules]
        modules = sorted(set(modules))
        if not modules:
            raise ValueError("Tracer needs at least one module to record")
        tracer = tracer or DEFAULT_TRACER
        if tracer not in available_tracers():
            raise TracerError(
                "tracer %r is not available on Python %s (available: %s)"
                % (tracer, _compat.version_string(), ", ".join(available_tracers()))
            )
        self.modules = modules
        self.kind = tracer
        self.roles = dict(roles or {})
        self.follow_fork = follow_fork and hasattr(os, "fork")
        self._exact = frozenset(modules)
        self._prefixes = tuple(m + "." for m in modules)
        # id(code) -> _CodeInfo, or _SKIP for code outside the filter.  Keyed
        # by id(), not by the code object: a code object's hash is not
        # cached and hashes its bytecode, names and constants on every
        # lookup (a fifth of the tracer's cost on 3.13, measured with
        # callgrind).  _codes keeps every code seen alive, so no id is reused.
        self._cache = {}
        self._codes = []
        self._infos = []
        self._recorded = set()  # id(code) of every code with a _CodeInfo
        # _FIELDS values per call, appended by the hot path (see _hooks);
        # the Call records are built from them in trace().  A call's id is
        # its position here (index // _FIELDS).  Flat, not a tuple per call:
        # a tuple that outlives the callback is one more object for the
        # garbage collector to find and traverse (a tenth of the cost per
        # call on 3.13, measured with callgrind); extend() with a temporary
        # tuple frees it at once, and is atomic like append().
        self._raw = []
        self._length = None  # len(_raw) at stop(): later calls are ignored
        self._split = None  # in a forked child: where the child's own calls begin
        # Per thread, in order of their first recorded call:
        # (thread id, name, role or None, start point or None, pid).
        self._threads = []
        # Per thread: .thread_id, set at its first recorded call.  A
        # thread-local, not a dict by thread ident: idents are reused as soon
        # as a thread ends, and a new thread must get a new record.
        self._local = threading.local()
        # threading.Thread -> its start point (see _start_point), until its
        # first recorded call.  The object, not its id(): an id is reused
        # once a finished Thread is collected.
        self._pending_starts = {}
        # Forked children's calls, threads and hops, merged at stop().
        self._merged = []
        self._merged_threads = []
        self._merged_hops = []
        self._merged_spawned = {}  # call id -> [child thread ids]
        self._lock = threading.Lock()
        self._active = False
        self._started = False
        self._stopped = False
        self.disabled = None
        self._saved = None
        self._tool = None
        self._child_dir = None
        self._children = []  # pids forked while tracing
        self._pid = os.getpid()
        self._in_child = False

    # -- public API ----------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()
        return False

    def start(self):
        """Install the hooks; the calls from now on, in every thread, are recorded."""
        if self._started:
            raise TracerError("a Tracer records once: make a new one")
        self._started = True
        self._register_thread(threading.current_thread().name, "main", None)
        self._patch()
        self._active = True
        try:
            self._install()
        except Exception:
            self._active = False
            self._unpatch()
            raise
        return self

    def stop(self):
        """Remove the hooks, restore the previous ones, merge forked children's calls."""
        if not self._started or self._stopped:
            return
        self._active = False
        self._stopped = True
        self._uninstall()
        # A settrace hook in another thread may be past its check of _active.
        self._length = len(self._raw)
        self._unpatch()
        self._pending_starts.clear()  # no Thread objects kept alive
        self._merge_children()

    def trace(self, scenario):
        """Return what was recorded as a :class:`~analysis.model.Trace` named *scenario*."""
        with self._lock:
            raw = self._raw[:self._length] if self._length is not None else list(self._raw)
            threads = list(self._threads)
        calls, threads, hops = self._build(raw, threads, 0, self._merged_spawned)
        calls += self._merged
        calls.sort(key=lambda c: c.id)
        return Trace(
            scenario=scenario,
            python=python_info(),
            tracer=self.kind,
            modules=list(self.modules),
            threads=threads + self._merged_threads,
            calls=calls,
            hops=hops + self._merged_hops,
            disabled=self.disabled,
            pid=self._pid,
        )

    def _build(self, raw, threads, first, spawned):
        """Turn raw records into ``(calls, threads, hops)``.

        Every record of *raw* is read (a call's parent may come before
        *first*), and Call records are made for those from position *first*
        on.  *threads* are ``_threads`` entries; their start points are
        resolved while the records are read, at the position where each was
        taken.  *spawned*: ``{call id: [thread ids]}`` to add (forked children).
        """
        split = self._split
        infos = self._infos
        starts = sorted((t[3][0], t[3][1], t[0]) for t in threads if t[3] is not None)
        started = {}  # thread id -> the call id that started it, or None
        spawned = dict((k, list(v)) for k, v in spawned.items())
        last = {}  # frame id -> (call id, depth) of the latest call in that frame
        first_call = {}  # thread id -> its first call id
        resolved = []
        index = 0
        values = iter(raw)
        for position, record in enumerate(zip(*[values] * _FIELDS)):
            while index < len(starts) and starts[index][0] <= position:
                _, anchor, thread_id = starts[index]
                index += 1
                hit = last.get(anchor)
                if hit is not None:
                    started[thread_id] = hit[0]
                    spawned.setdefault(hit[0], []).append(thread_id)
            frame_id, anchor, thread_id = record[0], record[1], record[2]
            call_id = position if split is None or position < split else _CHILD_BASE + position
            hit = last.get(anchor)
            if hit is None:
                parent, depth = None, 0
            else:
                parent, depth = hit[0], hit[1] + 1
            last[frame_id] = (call_id, depth)
            if thread_id not in first_call:
                first_call[thread_id] = call_id
            if position >= first:
                resolved.append((call_id, parent, depth, record))
        for _, anchor, thread_id in starts[index:]:
            hit = last.get(anchor)
            if hit is not None:
                started[thread_id] = hit[0]
                spawned.setdefault(hit[0], []).append(thread_id)
        tables = {}
        calls = []
        for call_id, parent, depth, record in resolved:
            _, _, thread_id, info_index, owner, call_code, call_offset = record
            info = infos[info_index]
            name, owner_module, doc = owner
            if call_code is None:
                call_file = call_line = None
            else:
                table = tables.get(id(call_code))
                if table is None:
                    table = tables[id(call_code)] = (_compat.line_table(call_code),
                                                     os.path.abspath(call_code.co_filename))
                call_file, call_line = table[1], _compat.line_at(table[0], call_offset)
            calls.append(
                Call(
                    id=call_id,
                    parent=parent,
                    depth=depth,
                    thread=thread_id,
                    function=info.function,
                    owner=name,
                    owner_module=owner_module,
                    qualname=name + "." + info.function if name else info.qualname,
                    module=info.module,
                    file=info.file,
                    line=info.line,
                    call_file=call_file,
                    call_line=call_line,
                    spawned_threads=list(spawned.get(call_id, ())),
                    doc=doc,
                )
            )
        records, hops = [], []
        for thread_id, name, role, _, pid in threads:
            by = started.get(thread_id)
            if role is None:
                if name in self.roles:
                    role = self.roles[name]
                else:
                    role = "worker" if by is not None else "server"
            records.append(Thread._from_values(thread_id, name, role, by, pid))
            if by is not None and role != "child":  # the parent records a fork's hop
                hops.append(Hop._from_values(by, thread_id, first_call.get(thread_id)))
        return calls, records, hops

    # -- hooks ---------------------------------------------------------------

    def _install(self):
        if self.kind == "sys.monitoring":
            self._install_monitoring()
        else:
            self._saved = (sys.gettrace(), sys.getprofile()) + _compat.threading_hooks()
            if self.kind == "sys.settrace":
                hook = self._hooks()[0]
                threading.settrace(hook)
                sys.settrace(hook)
            else:
                hook = self._profile_hook()
                threading.setprofile(hook)
                sys.setprofile(hook)

    def _uninstall(self):
        if self.kind == "sys.monitoring":
            self._uninstall_monitoring()
            return
        if self._saved is None:
            return
        old_trace, old_profile, old_thread_trace, old_thread_profile = self._saved
        self._saved = None
        if self.kind == "sys.settrace":
            sys.settrace(old_trace)
            threading.settrace(old_thread_trace)
        else:
            sys.setprofile(old_profile)
            threading.setprofile(old_thread_profile)

    def _install_monitoring(self):
        mon = _MONITORING
        tool = None
        for candidate in (mon.PROFILER_ID, 3, 4, 5, mon.OPTIMIZER_ID, mon.DEBUGGER_ID):
            if mon.get_tool(candidate) is None:
                tool = candidate
                break
        if tool is None:
            raise TracerError("every sys.monitoring tool id is in use")
        mon.use_tool_id(tool, "compatserver.analysis")
        self._tool = tool
        events = mon.events
        mon.register_callback(tool, events.PY_START, self._hooks()[1])
        # A code object DISABLEd by an earlier Tracer with another filter
        # must be seen again.
        mon.restart_events()
        mon.set_events(tool, events.PY_START)

    def _uninstall_monitoring(self):
        tool = self._tool
        if tool is None:
            return
        self._tool = None
        mon = _MONITORING
        mon.set_events(tool, 0)
        mon.register_callback(tool, mon.events.PY_START, None)
        mon.free_tool_id(tool)

    def _fail(self, exc):
        """Switch the tracer off from inside a callback that raised."""
        if self.disabled is None:
            self.disabled = "tracer callback raised %s: %s; recording stopped" % (
                type(exc).__name__,
                exc,
            )
        self._active = False
        try:
            if self.kind == "sys.monitoring":
                if self._tool is not None:
                    _MONITORING.set_events(self._tool, 0)
            elif self._saved is not None:
                # This thread's hook now; the others see _active and go quiet.
                if self.kind == "sys.settrace":
                    sys.settrace(self._saved[0])
                    threading.settrace(self._saved[2])
                else:
                    sys.setprofile(self._saved[1])
                    threading.setprofile(self._saved[3])
        except Exception:  # pragma: no cover - nothing more can be done
            pass

    # -- the decision per code object ------------------------------------

    def _classify(self, code, frame):
        if code.co_flags & _compat.GENERATOR_FLAGS or code.co_name.startswith("<"):
            # Generators suspend and resume (not a call tree); <module>,
            # <listcomp>, <lambda> ... are not methods a reader looks for.
            self._cache[id(code)] = _SKIP
            self._codes.append(code)
            return _SKIP
        module = frame.f_globals.get("__name__")
        if (
            module is None
            or module == __name__  # never the tracer itself (start/stop run while it is on)
            or not (module in self._exact or module.startswith(self._prefixes))
        ):
            self._cache[id(code)] = _SKIP
            self._codes.append(code)
            return _SKIP
        first_arg = code.co_varnames[0] if code.co_argcount else None
        owner = _static_owner(frame.f_globals, code, first_arg)
        # Under the lock: two threads can meet the same code, or two new
        # codes, at once, and an info's index must be its place in _infos.
        with self._lock:
            info = self._cache.get(id(code))
            if info is None:
                info = _CodeInfo(module, code, first_arg, len(self._infos), owner)
                self._infos.append(info)
                self._codes.append(code)
                self._recorded.add(id(code))
                self._cache[id(code)] = info
        return info

    def _owner(self, info, code, frame):
        """(owner, owner_module, doc) for this call, cached per receiver type."""
        key = _receiver_type(info, frame)
        found = info.owners.get(key)
        if found is not None:
            return found
        if key is not None:
            found = _find_owner(key, info.function, code)
        if found is None:
            func = frame.f_globals.get(info.function)
            doc = _doc_line(func.__doc__) if _is_function_with(func, code) else ""
            found = (None, None, doc)
        info.owners[key] = found
        return found

    # -- recording -----------------------------------------------------------

    def _register_thread(self, name, role, start):
        """Add the calling thread's record; *role* None: decided in trace()."""
        thread_id = len(self._threads)
        if self._in_child:
            thread_id = _CHILD_BASE + thread_id  # remapped when the parent merges
        self._threads.append((thread_id, name, role, start, os.getpid() if self._in_child else None))
        self._local.thread_id = thread_id
        return thread_id

    def _first_call(self, code, frame, info):
        """Register the calling thread and record its first call.

        Nothing above it in this thread is a recorded call (it would have
        registered the thread), so it has no parent, and the anchor is not
        looked for: that walk would make frame objects for the thread's
        bootstrap frames, on every request of a thread-per-request server.
        """
        current = threading.current_thread()
        with self._lock:
            thread_id = self._register_thread(current.name, None, self._pending_starts.pop(current, None))
        owner = info.owner
        if owner is None:
            owner = self._owner(info, code, frame)
        caller = frame.f_back
        if caller is None:
            self._raw.extend((id(frame), None, thread_id, info.index, owner, None, None))
        else:
            self._raw.extend((id(frame), None, thread_id, info.index, owner, caller.f_code, caller.f_lasti))

    def _anchor(self, frame):
        """The id of the nearest frame from *frame* up whose code is recorded, or None."""
        recorded = self._recorded
        while frame is not None:
            if id(frame.f_code) in recorded:
                return id(frame)
            frame = frame.f_back
        return None

    def _start_point(self, frame):
        """Where a thread or process started by *frame* hangs in the call tree.

        ``(position of the next call, id of the anchor frame)``, or None when
        no recorded call runs at or above *frame*; resolved in trace().
        """
        anchor = self._anchor(frame)
        if anchor is None:
            return None
        return (len(self._raw) // _FIELDS, anchor)

    # -- the hooks -----------------------------------------------------------
    #
    # Closures over local names, not methods: the settrace hook runs for every
    # Python call in every thread, and its fast path (one dict lookup, "not
    # ours", return None) must stay a handful of bytecodes; the PY_START
    # callback runs once per recorded code object and call.  Both record a
    # call the same way, written out in each rather than shared through a
    # function: a Python call per recorded call was a tenth of the tracer's
    # cost on 3.13 (callgrind), more below 3.11.  The recording takes no lock
    # and appends _FIELDS plain values (see "The hot path" in the module
    # docstring); the rest is worked out in trace().

    def _hooks(self):
        """Return ``(global_trace, start)``: the settrace hook and the PY_START callback."""
        cache_get = self._cache.get
        skip = _SKIP
        disable = _DISABLE
        getframe = _getframe
        local = self._local
        raw_extend = self._raw.extend
        recorded = self._recorded
        anchor_of = self._anchor
        tracer = self

        def global_trace(frame, event, arg):
            # Always None: no frame gets a local trace function, so no
            # 'line' or 'return' events at all (the call tree is rebuilt
            # without them).
            code = frame.f_code
            info = cache_get(id(code))
            if info is skip or not tracer._active:
                return None
            try:
                if info is None:
                    info = tracer._classify(code, frame)
                    if info is skip:
                        return None
                # -- the recording: the same in start() below.
                try:
                    thread_id = local.thread_id
                except AttributeError:  # the first recorded call of a new thread
                    tracer._first_call(code, frame, info)
                    return None
                owner = info.owner
                if owner is None:  # decided by the receiver's type
                    owner = tracer._owner(info, code, frame)
                caller = frame.f_back
                if caller is None:
                    raw_extend((id(frame), None, thread_id, info.index, owner, None, None))
                    return None
                caller_code = caller.f_code
                if id(caller_code) in recorded:
                    anchor = id(caller)
                else:
                    anchor = anchor_of(caller.f_back)
                raw_extend((id(frame), anchor, thread_id, info.index, owner, caller_code, caller.f_lasti))
            except Exception as exc:
                tracer._fail(exc)
            return None

        def start(code, offset):
            # No check of _active: set_events(tool, 0) in stop() and _fail()
            # is what stops the callbacks, in every thread at once.
            info = cache_get(id(code))
            if info is skip:
                return disable
            try:
                frame = getframe(1)
                if info is None:
                    info = tracer._classify(code, frame)
                    if info is skip:
                        return disable
                # -- the recording: the same in global_trace() above.
                try:
                    thread_id = local.thread_id
                except AttributeError:  # the first recorded call of a new thread
                    tracer._first_call(code, frame, info)
                    return None
                owner = info.owner
                if owner is None:  # decided by the receiver's type
                    owner = tracer._owner(info, code, frame)
                caller = frame.f_back
                if caller is None:
                    raw_extend((id(frame), None, thread_id, info.index, owner, None, None))
                    return None
                caller_code = caller.f_code
                if id(caller_code) in recorded:
                    anchor = id(caller)
                else:
                    anchor = anchor_of(caller.f_back)
                raw_extend((id(frame), anchor, thread_id, info.index, owner, caller_code, caller.f_lasti))
            except Exception as exc:
                tracer._fail(exc)
            return None

        return global_trace, start

    def _profile_hook(self):
        global_trace = self._hooks()[0]

        def profile(frame, event, arg):
            # Only "call" matters: returns are not needed (see "The hot
            # path"), and the C-call events are not Python frames.
            if event == "call":
                global_trace(frame, event, arg)

        return profile

    # -- threads and forks ---------------------------------------------------

    def _patch(self):
        tracer = self
        original_start = threading.Thread.start

        def start(thread_self, *args, **kwargs):
            if tracer._active:
                point = tracer._start_point(_getframe(1))
                if point is not None:
                    tracer._pending_starts[thread_self] = point
            return original_start(thread_self, *args, **kwargs)

        start.__doc__ = original_start.__doc__
        self._original_start = original_start
        threading.Thread.start = start
        self._original_fork = None
        if self.follow_fork:
            self._child_dir = tempfile.mkdtemp(prefix="analysis-fork-")
            original_fork = os.fork
            original_exit = os._exit

            def fork():
                pid = original_fork()
                if pid == 0:
                    tracer._become_child()
                elif tracer._active:
                    tracer._children.append(pid)
                return pid

            def _exit(status):
                if tracer._in_child:
                    tracer._write_child()
                return original_exit(status)

            self._original_fork = original_fork
            self._original_exit = original_exit
            os.fork = fork
            os._exit = _exit

    def _unpatch(self):
        if getattr(self, "_original_start", None) is not None:
            threading.Thread.start = self._original_start
            self._original_start = None
        if self._original_fork is not None:
            os.fork = self._original_fork
            os._exit = self._original_exit
            self._original_fork = None

    def _become_child(self):
        # In the forked child: the thread that forked goes on as the child's
        # only thread, with a fresh record; its calls are written at _exit.
        # Its frames are the parent's, so the anchors of its calls resolve
        # to the parent's calls before the fork.
        start = self._start_point(_getframe(2))  # the caller of os.fork
        self._lock = threading.Lock()  # another thread may have held it at fork
        self._in_child = True
        self._split = len(self._raw) // _FIELDS
        self._child_thread_first = len(self._threads)
        # Named by fork order, not pid, so that recording the same scenario
        # again gives the same trace (and the docs re-read nothing); the pid
        # is kept in the thread record.
        self._register_thread("child-%d" % (len(self._children) + 1), "child", start)

    def _write_child(self):
        if self._child_dir is None:
            return
        try:
            calls, threads, _ = self._build(list(self._raw), self._threads[self._child_thread_first:],
                                            self._split, {})
            data = {
                "pid": os.getpid(),
                "calls": [c.to_dict() for c in calls],
                "threads": [t.to_dict() for t in threads],
            }
            path = os.path.join(self._child_dir, "%d.json" % os.getpid())
            with open(path + ".tmp", "w") as stream:
                json.dump(data, stream)
            os.rename(path + ".tmp", path)
        except Exception:  # the child must still exit
            pass

    def _merge_children(self, timeout=10.0):
        directory = self._child_dir
        if directory is None:
            return
        self._child_dir = None
        try:
            deadline = time.time() + timeout
            pending = set(self._children)
            while pending and time.time() < deadline:
                for pid in list(pending):
                    if os.path.exists(os.path.join(directory, "%d.json" % pid)) or not _alive(pid):
                        pending.discard(pid)
                if pending:
                    time.sleep(0.01)
            for pid in self._children:
                path = os.path.join(directory, "%d.json" % pid)
                if not os.path.exists(path):
                    continue
                with open(path) as stream:
                    data = json.load(stream)
                self._merge_child(data)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _merge_child(self, data):
        # After stop(): the parent records nothing more, so the child's calls
        # and threads take the ids after the parent's (and earlier children's).
        call_map = {}
        thread_map = {}
        records = {}
        for t in data["threads"]:
            new_id = len(self._threads) + len(self._merged_threads)
            thread_map[t["id"]] = new_id
            record = Thread.from_dict(dict(t, id=new_id))
            records[t["id"]] = record
            self._merged_threads.append(record)
        base = self._length // _FIELDS + len(self._merged)
        for offset, c in enumerate(data["calls"]):
            call_map[c["id"]] = base + offset
        for c in data["calls"]:
            parent = c["parent"]
            self._merged.append(
                Call.from_dict(
                    dict(
                        c,
                        id=call_map[c["id"]],
                        parent=call_map.get(parent, parent),
                        thread=thread_map.get(c["thread"], c["thread"]),
                        spawned_threads=[thread_map.get(t, t) for t in c["spawned_threads"]],
                    )
                )
            )
        for t in data["threads"]:
            record = records[t["id"]]
            first = [call_map[c["id"]] for c in data["calls"] if c["thread"] == t["id"]]
            if record.started_by is not None:
                self._merged_hops.append(
                    Hop(from_call=record.started_by, thread=record.id, first_call=first[0] if first else None)
                )
                self._merged_spawned.setdefault(record.started_by, []).append(record.id)


_getframe = sys._getframe
_CLASS_TYPES = _compat.CLASS_TYPES
_CHILD_BASE = 1000000000  # ids in a forked child, renumbered when the parent merges
# A call's raw values: frame id, anchor id, thread id, _CodeInfo index, owner,
# caller's code, caller's instruction offset.
_FIELDS = 7


def _receiver_type(info, frame):
    """The type whose MRO supplies this call's function: of ``self``, or ``cls`` itself."""
    if info.first_arg is None:
        return None
    receiver = frame.f_locals.get(info.first_arg)
    if receiver is None:
        return None
    if isinstance(receiver, _compat.CLASS_TYPES):
        return receiver  # a classmethod's cls (or a class passed first)
    return _compat.receiver_class(receiver)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _is_function_with(obj, code):
    return _compat.func_code(obj) is code if obj is not None and callable(obj) else False


def _supplied(klass, name, code):
    """The function of *code* that *klass*'s own ``__dict__`` holds as *name*, or None."""
    value = vars(klass).get(name)
    if value is None:
        return None
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    elif isinstance(value, property):
        for accessor in (value.fget, value.fset, value.fdel):
            if _compat.func_code(accessor) is code:
                return accessor
        return None
    return value if _compat.func_code(value) is code else None


def _find_owner(cls, name, code):
    """The class in *cls*'s MRO whose ``__dict__`` holds the function of *code*."""
    from analysis.mro import linearize

    try:
        order = linearize(cls)
    except Exception:
        return None
    for klass in order:
        func = _supplied(klass, name, code)
        if func is not None:
            return (_compat.class_qualname(klass), klass.__module__, _doc_line(func.__doc__))
    return None


def _static_owner(module_globals, code, first_arg):
    """``(owner, owner_module, doc)`` when *code* alone decides it, else None.

    A plain function of the module has no owner.  A function that exactly
    one class of the module holds, under its own name, is owned by that
    class whatever the receiver: every MRO that reaches it finds that class
    first, unless another class re-binds the same function object.  On
    Python 3 the function's ``__qualname__`` must also name that class (it
    was defined there, not assigned to it).  Anything else (a function held
    by two classes, or by none and not a module global) is looked up per
    receiver type through the MRO.
    """
    name = code.co_name
    function = module_globals.get(name)
    is_global = _is_function_with(function, code)
    holders = []
    for value in list(module_globals.values()):
        if isinstance(value, _CLASS_TYPES) and not any(value is h for h, _ in holders):
            func = _supplied(value, name, code)
            if func is not None:
                holders.append((value, func))
    if not holders:
        if is_global or first_arg is None:
            return (None, None, _doc_line(function.__doc__) if is_global else "")
        return None
    if len(holders) > 1 or is_global:
        return None
    klass, func = holders[0]
    owner = _compat.class_qualname(klass)
    qualname = getattr(func, "__qualname__", None)  # None on Python 2
    if qualname is not None and qualname != owner + "." + name:
        return None
    return (owner, klass.__module__, _doc_line(func.__doc__))


_DISABLE = _MONITORING.DISABLE if _MONITORING is not None else None
