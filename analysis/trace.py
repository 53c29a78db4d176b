"""Record the calls of a run as detached plain data (:class:`analysis.model.Trace`).

::

    with Tracer(modules=["socketserver", "myapp"]) as tracer:
        run_my_server()
    trace = tracer.trace("my-run")

Three hooks, one recorder, and only call events (no return events: the
call stack is rebuilt from the frames' callers, see :func:`_unwind_to`):

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

The tracer leaves the interpreter as it found it: it saves the previous
``sys`` and ``threading`` hooks and restores them on :meth:`Tracer.stop`,
and when its own callback raises it switches itself off, keeps what it had,
and says why in ``Trace.disabled``.
"""
import itertools
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

    __slots__ = ("module", "function", "file", "line", "first_arg", "qualname", "owners", "index")

    def __init__(self, module, code, first_arg, index):
        self.index = index  # in Tracer._infos: what a raw call record holds
        self.module = module
        self.function = code.co_name
        # Absolute: Python 2 keeps the path a module was imported by, which is
        # relative for a module found through a relative sys.path entry.
        self.file = os.path.abspath(code.co_filename)
        self.line = code.co_firstlineno
        self.first_arg = first_arg
        self.qualname = _compat.code_qualname(code)  # for a call with no owner class
        self.owners = {}  # receiver type -> (owner name or None, owner module, doc)


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
        # id(code) -> code for the callers' code objects named in _raw.
        self._callers = {}
        # The hot path appends one tuple per call (see _recorder); Call records
        # are built once, in trace().  Ids come from a counter, so no lock is
        # taken per call (next() and list.append are atomic under the GIL).
        self._raw = []
        self._ids = itertools.count()
        self._spawned = {}  # call id -> [thread ids it started]
        self._merged = []  # Call records of forked children, merged at stop()
        # Per thread: .thread_id, .stack (the ids of the calls under way) and
        # .hop_from (the call that started it, until its first call).  A
        # thread-local, not a dict by thread ident: idents are reused as soon
        # as a thread ends, and a new thread must get a new record.
        self._local = threading.local()
        self._thread_records = []
        self._hops = []
        # threading.Thread -> the call that started it (the object, not its
        # id(): an id is reused once a finished Thread is collected).
        self._pending_starts = {}
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
        self._unpatch()
        self._pending_starts.clear()  # no Thread objects kept alive
        self._merge_children()

    def trace(self, scenario):
        """Return what was recorded as a :class:`~analysis.model.Trace` named *scenario*."""
        with self._lock:
            calls = self._materialize(list(self._raw)) + list(self._merged)
            threads = list(self._thread_records)
            hops = list(self._hops)
        calls.sort(key=lambda c: c.id)
        return Trace(
            scenario=scenario,
            python=python_info(),
            tracer=self.kind,
            modules=list(self.modules),
            threads=threads,
            calls=calls,
            hops=hops,
            disabled=self.disabled,
            pid=self._pid,
        )

    def _materialize(self, raw):
        calls = []
        spawned = self._spawned
        tables = {}
        infos = self._infos
        callers = self._callers
        for call_id, parent, depth, thread_id, info_index, owner, caller_id, call_offset in raw:
            info = infos[info_index]
            name, owner_module, doc = owner
            if caller_id is None:
                call_file = call_line = None
            else:
                call_code = callers[caller_id]
                table = tables.get(caller_id)
                if table is None:
                    table = tables[caller_id] = (_compat.line_table(call_code),
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
        return calls

    # -- hooks ---------------------------------------------------------------

    def _install(self):
        if self.kind == "sys.monitoring":
            self._install_monitoring()
        else:
            self._saved = (sys.gettrace(), sys.getprofile()) + _compat.threading_hooks()
            if self.kind == "sys.settrace":
                hook = self._settrace_hooks()
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
        mon.register_callback(tool, events.PY_START, self._monitoring_hooks())
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
        info = _CodeInfo(module, code, first_arg, len(self._infos))
        self._infos.append(info)
        self._cache[id(code)] = info
        self._codes.append(code)
        return info

    def _owner(self, info, code, frame):
        """(owner, owner_module, doc) for this call, cached per receiver type."""
        key = _receiver_type(info, frame)
        found = None
        if key is not None:
            found = _find_owner(key, info.function, code)
        if found is None:
            func = frame.f_globals.get(info.function)
            doc = _doc_line(func.__doc__) if _is_function_with(func, code) else ""
            found = (None, None, doc)
        info.owners[key] = found
        return found

    # -- recording -----------------------------------------------------------

    def _register_thread(self, name, role, started_by):
        thread_id = len(self._thread_records)
        if self._in_child:
            thread_id = _CHILD_BASE + thread_id  # remapped when the parent merges
        # Thread(id, name, role, started_by, pid), built without keyword
        # parsing: this runs once per handler thread while recording.
        record = Thread._from_values(thread_id, name, role, started_by, os.getpid() if self._in_child else None)
        self._thread_records.append(record)
        local = self._local
        local.thread_id = thread_id
        local.stack = []
        local.hop_from = started_by  # recorded with the thread's first call
        return record

    def _new_thread(self):
        current = threading.current_thread()
        started_by = self._pending_starts.pop(current, None)
        name = current.name
        if name in self.roles:
            role = self.roles[name]
        elif started_by is not None:
            role = "worker"
        else:
            role = "server"
        record = self._register_thread(name, role, started_by)
        if started_by is not None:
            self._spawned.setdefault(started_by, []).append(record.id)
        return record

    def _recorder(self):
        """The function that records one call: a closure over local names.

        It runs once per recorded call, in whatever thread makes it, so
        everything it touches is bound to a local name here, and it takes
        no lock (ids come from a counter; list.append is atomic).
        """
        local = self._local
        raw_append = self._raw.append
        callers = self._callers
        hops_append = self._hops.append
        make_hop = Hop._from_values
        missing = _MISSING_OWNER
        class_types = _CLASS_TYPES
        receiver_class = _compat.receiver_class
        unwind_to = _unwind_to
        tracer = self

        def record(code, frame, info):
            try:
                stack = local.stack
            except AttributeError:  # the first recorded call of a new thread
                with tracer._lock:
                    tracer._new_thread()
                stack = local.stack
            # The type whose MRO supplies the function: of self, or cls itself.
            first_arg = info.first_arg
            if first_arg is None:
                key = None
            else:
                key = frame.f_locals.get(first_arg)
                if key is not None and not isinstance(key, class_types):
                    key = receiver_class(key)
            owner = info.owners.get(key, missing)
            if owner is missing:
                owner = tracer._owner(info, code, frame)
            caller = frame.f_back
            if stack:
                top = stack[-1]
                # The common case: called straight from the call on top.
                if caller is None or top[0] != id(caller) or top[1] is not caller.f_code:
                    unwind_to(stack, caller)
            call_id = next(tracer._ids)
            # Plain values only (ints, None, a tuple of strings), so the
            # garbage collector stops tracking the record after one pass.
            # The caller's code goes in by id and the line is looked up from
            # its instruction offset when the trace is built: f_lineno
            # decodes the line table on every read.
            if caller is not None:
                caller_code = caller.f_code
                caller_id = id(caller_code)
                if caller_id not in callers:
                    callers[caller_id] = caller_code
                raw_append((call_id, stack[-1][2] if stack else None, len(stack), local.thread_id,
                            info.index, owner, caller_id, caller.f_lasti))
            else:
                raw_append((call_id, stack[-1][2] if stack else None, len(stack), local.thread_id,
                            info.index, owner, None, None))
            if not stack and local.hop_from is not None:
                hops_append(make_hop(local.hop_from, local.thread_id, call_id))
                local.hop_from = None
            stack.append((id(frame), code, call_id))

        return record

    def _current_call(self, frame):
        """The id of the recorded call that *frame* runs in (or under), or None."""
        stack = getattr(self._local, "stack", None)
        if not stack:
            return None
        _unwind_to(stack, frame)
        return stack[-1][2] if stack else None

    # sys.settrace ------------------------------------------------------------
    #
    # The hooks are closures over local names, not methods: the global trace
    # function runs for every Python call in every thread, and its fast path
    # (one dict lookup, "not ours", return None) must stay a handful of
    # bytecodes.

    def _settrace_hooks(self):
        cache_get = self._cache.get
        skip = _SKIP
        tracer = self
        record = self._recorder()

        def global_trace(frame, event, arg):
            # Always None: no frame gets a local trace function, so no
            # 'line' or 'return' events at all (the call stack is kept
            # without them, see _unwind_to).
            code = frame.f_code
            info = cache_get(id(code))
            if info is skip or not tracer._active:
                return None
            try:
                if info is None:
                    info = tracer._classify(code, frame)
                    if info is skip:
                        return None
                record(code, frame, info)
            except Exception as exc:
                tracer._fail(exc)
            return None

        return global_trace

    # sys.setprofile ----------------------------------------------------------

    def _profile_hook(self):
        cache_get = self._cache.get
        skip = _SKIP
        tracer = self
        record = self._recorder()

        def profile(frame, event, arg):
            # Only "call" matters: returns are not needed (see _unwind_to),
            # and the C-call events are not Python frames.
            if event != "call":
                return
            code = frame.f_code
            info = cache_get(id(code))
            if info is skip or not tracer._active:
                return
            try:
                if info is None:
                    info = tracer._classify(code, frame)
                    if info is skip:
                        return
                record(code, frame, info)
            except Exception as exc:
                tracer._fail(exc)

        return profile

    def _monitoring_hooks(self):
        """The PY_START callback, a closure for speed."""
        cache_get = self._cache.get
        skip = _SKIP
        disable = _DISABLE
        getframe = _getframe
        tracer = self
        record = self._recorder()

        def start(code, offset):
            info = cache_get(id(code))
            if info is skip:
                return disable
            if not tracer._active:
                return None
            try:
                frame = getframe(1)
                if info is None:
                    info = tracer._classify(code, frame)
                    if info is skip:
                        return disable
                record(code, frame, info)
            except Exception as exc:
                tracer._fail(exc)
            return None

        return start

    # -- threads and forks ---------------------------------------------------

    def _patch(self):
        tracer = self
        original_start = threading.Thread.start

        def start(thread_self, *args, **kwargs):
            if tracer._active:
                call_id = tracer._current_call(_getframe(1))
                if call_id is not None:
                    tracer._pending_starts[thread_self] = call_id
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
        started_by = self._current_call(_getframe(2))  # the caller of os.fork
        parent_stack = list(getattr(self._local, "stack", None) or [])
        self._lock = threading.Lock()  # another thread may have held it at fork
        self._in_child = True
        self._ids = itertools.count(_CHILD_BASE)
        self._child_thread_first = len(self._thread_records)
        # Named by fork order, not pid, so that recording the same scenario
        # again gives the same trace (and the docs re-read nothing); the pid
        # is kept in the thread record.
        self._register_thread("child-%d" % (len(self._children) + 1), "child", started_by)
        self._local.stack = parent_stack
        self._local.hop_from = None  # the parent records the fork's hop

    def _write_child(self):
        if self._child_dir is None:
            return
        try:
            data = {
                "pid": os.getpid(),
                "calls": [
                    c.to_dict() for c in self._materialize([r for r in self._raw if r[0] >= _CHILD_BASE])
                ],
                "threads": [t.to_dict() for t in self._thread_records[self._child_thread_first:]],
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
        call_map = {}
        thread_map = {}
        records = {}
        for t in data["threads"]:
            new_id = len(self._thread_records)
            thread_map[t["id"]] = new_id
            record = Thread.from_dict(dict(t, id=new_id))
            records[t["id"]] = record
            self._thread_records.append(record)
        base = next(self._ids)  # after stop(): no call takes ids any more
        self._ids = itertools.count(base + len(data["calls"]))
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
                self._hops.append(
                    Hop(from_call=record.started_by, thread=record.id, first_call=first[0] if first else None)
                )
                self._spawned.setdefault(record.started_by, []).append(record.id)


_getframe = sys._getframe
_CLASS_TYPES = _compat.CLASS_TYPES
_CHILD_BASE = 1000000000  # ids in a forked child, renumbered when the parent merges
_MISSING_OWNER = object()


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


def _unwind_to(stack, frame):
    """Drop from *stack* the calls that have returned, given the running *frame*.

    The tracer asks for no return events (half the callbacks, and on 2.7 /
    3.6 the per-line events a local trace function would get).  Instead each
    stack entry keeps ``(id(frame), code, call id)``, and when a new call
    starts, the entries that are not among its callers have returned: the
    nearest caller on the stack is the new call's parent, everything above
    it goes.  A frame's id can be reused once it is freed, so an entry
    matches only a live caller frame with the same id *and* code: a reused
    id with the same code is a new call of that code, which was itself
    recorded (and so already replaced the old entry) when it started.
    """
    while frame is not None:
        fid = id(frame)
        code = frame.f_code
        index = len(stack) - 1
        while index >= 0:
            entry = stack[index]
            if entry[0] == fid and entry[1] is code:
                del stack[index + 1:]
                return
            index -= 1
        frame = frame.f_back
    del stack[:]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _is_function_with(obj, code):
    return _compat.func_code(obj) is code if obj is not None and callable(obj) else False


def _find_owner(cls, name, code):
    """The class in *cls*'s MRO whose ``__dict__`` holds the function of *code*."""
    from analysis.mro import linearize

    try:
        order = linearize(cls)
    except Exception:
        return None
    for klass in order:
        value = vars(klass).get(name)
        if value is None:
            continue
        func = value
        if isinstance(value, (staticmethod, classmethod)):
            func = value.__func__
        elif isinstance(value, property):
            func = None
            for accessor in (value.fget, value.fset, value.fdel):
                if _compat.func_code(accessor) is code:
                    func = accessor
        if func is not None and _compat.func_code(func) is code:
            return (_compat.class_qualname(klass), klass.__module__, _doc_line(func.__doc__))
    return None


_DISABLE = _MONITORING.DISABLE if _MONITORING is not None else None
