"""One object per interpreter hook: ``install``, ``disable``, ``uninstall``.

``install()`` puts the hook in place or raises TracerError and leaves
nothing behind; ``disable()`` stops the recording in every thread at once;
``uninstall()`` disables and gives back what install() took, from any
thread, any number of times: a callback that raises calls it too
(:meth:`Backend.fail`).

The callbacks are closures over local names, not methods: the settrace hook
runs for every Python call in every thread, and its fast path (one dict
lookup, "not ours", return None) must stay a handful of bytecodes; the
PY_START callback runs once per recorded code object and call.  Both record
a call the same way, written out in each rather than shared through a
function: a Python call per recorded call was a tenth of the tracer's cost
on 3.13 (callgrind), more below 3.11.  The recording takes no lock and
appends plain values (see "The hot path" in :mod:`analysis.trace`).
"""
import sys
import threading
import weakref

from analysis import _compat
from analysis import _trace_owners as owners
from analysis._trace_recording import NEW_THREAD

_MONITORING = _compat.MONITORING
_DISABLE = _MONITORING.DISABLE if _MONITORING is not None else None
_getframe = sys._getframe


class TracerError(RuntimeError):
    """The tracer cannot start (a hook is unavailable or already in use)."""


class Backend(object):
    """What every backend shares: its recording, and switching off on failure."""

    kind = None

    def __init__(self, recording):
        self.recording = recording

    def fail(self, exc):
        """Switch the tracer off from inside a callback that raised."""
        self.recording.fail(exc)
        try:
            self.uninstall()
        except Exception:  # pragma: no cover - nothing more can be done
            pass

    def disable(self):
        self.recording.active = False

    def install(self):  # pragma: no cover - every backend has its own
        raise NotImplementedError

    def uninstall(self):  # pragma: no cover - every backend has its own
        raise NotImplementedError


def _callbacks(recording, fail):
    """Return ``(global_trace, start)``: the settrace hook and the PY_START callback."""
    cache_get = recording.cache.get
    skip = owners.SKIP
    disable = _DISABLE
    getframe = _getframe
    local = recording.local
    on = recording.on
    new_thread = NEW_THREAD
    raw_extend = recording.raw.extend
    recorded = recording.recorded
    anchor_of = recording.anchor
    classify = recording.classify
    first_call = recording.first_call
    owner_by_receiver = owners.owner_by_receiver

    def global_trace(frame, event, arg):
        # Always None: no frame gets a local trace function, so no 'line' or
        # 'return' events at all (the call tree is rebuilt without them).
        code = frame.f_code
        info = cache_get(id(code))
        if info is skip or not on:
            return None
        try:
            if info is None:
                info = classify(code, frame)
                if info is skip:
                    return None
            # -- the recording: the same in start() below.
            owner = info.owner
            if owner is None:  # decided by the receiver's type
                owner = owner_by_receiver(info, code, frame)
            thread_id = local.thread_id
            if thread_id is new_thread:  # the first recorded call of a new thread
                first_call(frame, info, owner)
                return None
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
            fail(exc)
        return None

    def start(code, offset):
        # No check of active: set_events(tool, 0) in disable() is what stops
        # the callbacks, in every thread at once.
        info = cache_get(id(code))
        if info is skip:
            return disable
        try:
            frame = getframe(1)
            if info is None:
                info = classify(code, frame)
                if info is skip:
                    return disable
            # -- the recording: the same in global_trace() above.
            owner = info.owner
            if owner is None:  # decided by the receiver's type
                owner = owner_by_receiver(info, code, frame)
            thread_id = local.thread_id
            if thread_id is new_thread:  # the first recorded call of a new thread
                first_call(frame, info, owner)
                return None
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
            fail(exc)
        return None

    return global_trace, start


class _GlobalHook(Backend):
    """A ``sys.settrace`` / ``sys.setprofile`` hook in every thread."""

    def __init__(self, recording):
        Backend.__init__(self, recording)
        self.hook = None
        self.previous = None  # (this thread's hook, threading's hook) before install

    def install(self):
        # fail() through a weak reference: this backend holds its hook, and
        # a hook holding the backend would be a cycle (with the recording in
        # it) that only the garbage collector frees.
        ref = weakref.ref(self)

        def fail(exc):
            backend = ref()
            if backend is not None:
                backend.fail(exc)

        self.hook = self._make_hook(_callbacks(self.recording, fail)[0])
        self.previous = (self._get(), self._get_threads())
        self._set_threads(self.hook)
        self._set_own(self.hook)

    def uninstall(self):
        # From any thread: the calling thread's hook and threading's are
        # given back when they are still ours; another thread whose hook is
        # still ours goes quiet (disable()) and loses it when it ends.  This
        # thread's hook first, with C calls only: a Python function called
        # while the hook is on would be recorded when its module is.
        self.disable()
        if self.previous is None:
            return
        own, thread_own = self.previous
        if self._get() is self.hook:
            self._set_own(own)
        if self._get_threads() is self.hook:
            self._set_threads(thread_own)


class SettraceHook(_GlobalHook):
    """``sys.settrace``: the global trace function sees each new frame once and returns None.

    No frame gets a local trace function, so there are no per-line or return
    callbacks, on 2.7 and 3.6 either.
    """

    kind = "sys.settrace"

    @staticmethod
    def _make_hook(global_trace):
        return global_trace

    _get = staticmethod(sys.gettrace)
    _set_own = staticmethod(sys.settrace)
    _set_threads = staticmethod(threading.settrace)

    @staticmethod
    def _get_threads():
        return _compat.threading_hooks()[0]


class ProfileHook(_GlobalHook):
    """``sys.setprofile``: every call and return, C calls included.

    Slower than settrace; kept because it does not interfere with debuggers
    and coverage, which use settrace.
    """

    kind = "sys.setprofile"

    @staticmethod
    def _make_hook(global_trace):
        def profile(frame, event, arg):
            # Only "call" matters: returns are not needed, and the C-call
            # events are not Python frames.
            if event == "call":
                global_trace(frame, event, arg)

        return profile

    _get = staticmethod(sys.getprofile)
    _set_own = staticmethod(sys.setprofile)
    _set_threads = staticmethod(threading.setprofile)

    @staticmethod
    def _get_threads():
        return _compat.threading_hooks()[1]


class MonitoringHook(Backend):
    """``sys.monitoring`` (3.12+, PEP 669): ``PY_START`` for every thread.

    The callback returns ``DISABLE`` for a code object outside the filter,
    so the interpreter stops calling it for that code: after warm-up,
    uninteresting code costs nothing.
    """

    kind = "sys.monitoring"

    def __init__(self, recording):
        Backend.__init__(self, recording)
        self.tool = None

    def install(self):
        mon = _MONITORING
        tool = None
        for candidate in (mon.PROFILER_ID, 3, 4, 5, mon.OPTIMIZER_ID, mon.DEBUGGER_ID):
            if mon.get_tool(candidate) is None:
                tool = candidate
                break
        if tool is None:
            raise TracerError("every sys.monitoring tool id is in use")
        mon.use_tool_id(tool, "compatserver.analysis")
        self.tool = tool
        events = mon.events
        mon.register_callback(tool, events.PY_START, _callbacks(self.recording, self.fail)[1])
        # A code object DISABLEd by an earlier Tracer with another filter
        # must be seen again.
        mon.restart_events()
        mon.set_events(tool, events.PY_START)

    def disable(self):
        Backend.disable(self)
        if self.tool is not None:
            _MONITORING.set_events(self.tool, 0)

    def uninstall(self):
        self.disable()
        tool, self.tool = self.tool, None
        if tool is None:
            return
        _MONITORING.register_callback(tool, _MONITORING.events.PY_START, None)
        _MONITORING.free_tool_id(tool)
        # The DISABLEs our callback returned outlive the tool id (3.12,
        # 3.13): the next tool to take it would get a code object's returns
        # without its starts.  (Tools that DISABLE what they do not want
        # simply do so again.)
        _MONITORING.restart_events()
