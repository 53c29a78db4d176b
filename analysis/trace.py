"""Record the calls of a run as detached plain data (:class:`analysis.model.Trace`).

::

    with Tracer(modules=["socketserver", "myapp"]) as tracer:
        run_my_server()
    trace = tracer.trace("my-run")

Four backends, one recording, and only calls (no returns: the call tree is
rebuilt after the run, see "The hot path" below).  One job per module:

``analysis._trace_owners``
    what a code object is: its module, the class that supplies it (pure
    functions over classes and module globals).
``analysis._trace_recording``
    the state of one run: the filter, the decision per code object, the
    raw values the hot paths append, the threads met.
``analysis._trace_hooks``, ``analysis._trace_instrument``
    one object per backend, each with ``install`` / ``disable`` /
    ``uninstall``; a callback that raises calls ``uninstall`` too.
``analysis._trace_follow``
    ``Thread.start``, ``os.fork`` and ``os._exit`` patched for the run,
    and the forked children's JSON files.
``analysis._trace_tree``
    the call tree rebuilt after the run by a pure function over named
    records.

The backends:

``instrument`` (the default)
    Swaps the code of the functions the recorded modules hold, and of the
    methods of the classes reachable from them, for code that records the
    call, for the duration of the run, and puts the originals back after
    it.  Only recorded calls pay anything; the owner is the class whose
    ``__dict__`` holds the function.  It sees what exists at start(): when
    a recorded module is not imported yet, or is ``__main__`` (a script
    about to run), the default is a hook instead (``sys.monitoring`` on
    3.12+, ``sys.settrace`` below).
``sys.monitoring`` (3.12+, PEP 669: the default's fallback there)
    ``PY_START`` for every thread; the callback returns ``DISABLE`` for a
    code object outside the filter, so the interpreter stops calling it for
    that code: after warm-up, uninteresting code costs nothing.  A recorded
    call still costs a C-to-Python call of the callback: on the echo
    benchmark, 177,000 instructions a request over the untraced run on
    3.12 against 127,000 for ``instrument`` (callgrind).
``sys.settrace``
    The global trace function sees each new frame once and always returns
    ``None``: no frame gets a local trace function, so there are no per-line
    or return callbacks, on 2.7 and 3.6 either.
``sys.setprofile``
    Sees every call and return, C calls included; slower, kept because it
    does not interfere with debuggers and coverage, which use settrace.

For the hooks, the filter is decided once per code object (the module of its
globals) and cached by code object.  The owner of a method is the class
that supplies it in the MRO of the instance's type (``self`` / ``cls`` of
the frame), so ``ThreadingTCPServer(...).process_request`` is recorded as
``ThreadingMixIn.process_request``.  Thread hops and forked children are
followed by patching ``threading.Thread.start``, ``os.fork`` and
``os._exit`` for the run (:mod:`analysis._trace_follow`); a forked child
writes its own calls to a file the parent merges in :meth:`Tracer.stop`
(role ``"child"``).

The hot path
------------
The callback runs for every recorded call, in every thread, and what it
costs is the tracer's overhead (``benchmarks/bench_trace.py``), so it does
the least that cannot be done later:

- For the hooks, the owner is decided once per code object when the code
  alone decides it: the function is held by exactly one class of its
  module, under its own name, and (on Python 3) its ``__qualname__`` says it
  was defined there.  Then every receiver's MRO finds that class, and the
  callback never reads the frame's locals (``f_locals`` copies every local
  on 3.12 and below and builds a proxy on 3.13).  A function that a second
  class holds too is looked up through the receiver's MRO, per receiver
  type; a copy made in *another* module (``handle = Base.handle``
  elsewhere) is not seen, and its calls are attributed to the class that
  defined the function.  ``instrument`` knows the owner of each function
  when it makes its recording code.
- No call stack is kept.  A record holds the id of its frame and of its
  *anchor*, the nearest calling frame whose call is recorded; after the
  run, the parent of a call is the latest call that ran in the anchor's
  frame (:mod:`analysis._trace_tree`).  A call's id is its position in the
  record list (``list.extend`` is atomic), and a thread or process start
  remembers the list's length and the anchor of the caller of
  ``Thread.start`` / ``os.fork``, resolved the same way.
- ``instrument`` reads the thread only for a call from code that is not
  recorded: a call made by a recorded call runs in that call's thread (or
  in the forked child that goes on from it), which the tree takes from the
  anchor's record.
- The call-site line is looked up after the run, once per code object, from
  the caller's code and instruction offset (``f_lineno`` decodes the line
  table on every read).

Measured with callgrind on 3.13, ``benchmarks/bench_trace.py``'s echo
workload (17 recorded calls per request): 150,000 instructions per request
over the untraced run for the sys.monitoring backend, against 319,000 with a
call stack kept in the callback and owners found from ``f_locals``, and
45,000 for a callback that only appends the code object.
"""
import functools
import os
import sys
import threading

from analysis import _compat
from analysis import _trace_tree as tree
from analysis._trace_follow import Follower
from analysis._trace_hooks import MonitoringHook, ProfileHook, SettraceHook, TracerError
from analysis._trace_instrument import InstrumentHook
from analysis._trace_recording import Recording
from analysis.model import Trace, python_info

__all__ = ["Tracer", "DEFAULT_TRACER", "available_tracers", "TracerError"]

_BACKENDS = dict((b.kind, b) for b in (InstrumentHook, MonitoringHook, SettraceHook, ProfileHook))

# The cheapest backend that keeps the recordings exact, measured by
# benchmarks/bench_trace.py and callgrind: the recording in the recorded
# functions' own code, on every interpreter.  Below 3.12 every global hook
# pays for every Python call; on 3.12+ sys.monitoring pays a callback per
# recorded call (echo benchmark, 3.12: 418k instructions a request against
# 368k; 3.13: 405k against 363k; untraced 241k and 231k).
DEFAULT_TRACER = "instrument"
# What the default falls back to when a recorded module is not imported at
# start(): instrument would not see it.
_HOOK_DEFAULT = "sys.monitoring" if _compat.MONITORING is not None else "sys.settrace"


def available_tracers():
    """The backends this interpreter offers, the default first."""
    if _compat.MONITORING is not None:
        return ("instrument", "sys.monitoring", "sys.settrace", "sys.setprofile")
    return ("instrument", "sys.settrace", "sys.setprofile")


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
        if tracer is not None and tracer not in available_tracers():
            raise TracerError(
                "tracer %r is not available on Python %s (available: %s)"
                % (tracer, _compat.version_string(), ", ".join(available_tracers()))
            )
        self.modules = modules
        self.kind = tracer or DEFAULT_TRACER  # the default is settled at start()
        self.roles = dict(roles or {})
        self.disabled = None  # why the tracer switched itself off, or None
        self._default = tracer is None
        self._recording = Recording(modules)
        # Not a bound method of the Tracer: the Follower would hold the
        # Tracer, a cycle that only the collector frees.
        self._follower = Follower(self._recording, follow_fork, functools.partial(_child_records, self._recording,
                                                                                  self.roles))
        self._backend = None
        self._state = "new"  # -> "recording" -> "stopped"
        self._length = None  # calls recorded by stop(): later ones are ignored
        self._thread_count = None  # threads registered by stop(), likewise
        self._pid = None

    # -- public API ----------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()
        return False

    def start(self):
        """Install the hooks; the calls from now on, in every thread, are recorded."""
        if self._state != "new":
            raise TracerError("a Tracer records once: make a new one")
        self._state = "recording"
        if self._default and self.kind == "instrument" and not self._modules_imported():
            self.kind = _HOOK_DEFAULT
        self._pid = os.getpid()
        recording = self._recording
        recording.register_thread(threading.current_thread().name, "main", None)
        self._backend = _BACKENDS[self.kind](recording)
        self._follower.patch()
        try:
            self._backend.install()
        except Exception:
            self._backend.uninstall()
            self._follower.unpatch()
            raise
        # On only now, for the hooks and the Thread.start wrapper: a hook
        # installed in another thread may already be called.  (The
        # "instrument" code records from install() on: nothing between
        # calls a recorded function, which the filter test covering
        # analysis itself checks.)
        recording.active = True
        return self

    def stop(self):
        """Remove the hooks, restore the previous ones, merge forked children's calls."""
        if self._state != "recording":
            return
        self._state = "stopped"
        recording = self._recording
        self._backend.uninstall()
        # A hook in another thread may be past its check of active.
        self._length = len(recording.raw) // tree.FIELDS
        # Likewise for threads: those registered from now on are left out,
        # and forked children's take the ids from here.
        self._thread_count = next(recording.thread_ids)
        self.disabled = recording.disabled
        self._follower.unpatch()
        recording.pending_starts.clear()  # no Thread objects kept alive
        if recording.in_child:
            # A child forked while recording that stops it itself (it left
            # the traced code instead of ending at os._exit): its calls go
            # to the parent's file as at os._exit, and the parent's
            # directory is the parent's to remove.
            self._follower.write_child()
        else:
            self._follower.merge_children(self._length, self._thread_count)

    @property
    def in_forked_child(self):
        """True in a child process forked while recording (its calls are the parent's to show)."""
        return self._recording.in_child

    def trace(self, scenario):
        """Return what was recorded as a :class:`~analysis.model.Trace` named *scenario*."""
        recording = self._recording
        with recording.lock:
            values = recording.raw[: self._length * tree.FIELDS] if self._length is not None else list(recording.raw)
            limit = self._thread_count
            if limit is not None and recording.in_child:
                limit += tree.CHILD_BASE  # a forked child's own threads (see register_thread)
            entries = [t for t in recording.threads if limit is None or t[0] < limit]
            skipped = list(recording.skipped)
        threads = tree.thread_entries(sorted(entries))  # by id (see Recording.thread_ids)
        follower = self._follower
        calls, threads, hops = tree.build(
            tree.raw_calls(values), recording.infos, threads, self.roles, spawned=follower.spawned, skipped=skipped,
            site_codes=recording.site_codes,
        )
        calls += follower.calls
        calls.sort(key=lambda c: c.id)
        return Trace(
            scenario=scenario,
            python=python_info(),
            tracer=self.kind,
            modules=list(self.modules),
            threads=threads + follower.threads,
            calls=calls,
            hops=hops + follower.hops,
            disabled=self.disabled if self._state == "stopped" else recording.disabled,
            pid=self._pid,
        )

    # -- the parts -------------------------------------------------------------

    def _modules_imported(self):
        """True when every recorded module is imported, and none is ``__main__``.

        ``__main__`` is the module that is running: its functions may still
        be being defined (a script run under the tracer).
        """
        loaded = set(name for name, module in list(sys.modules.items()) if module is not None)
        return "__main__" not in self.modules and all(name in loaded for name in self.modules)


def _child_records(recording, roles, first_thread):
    """In a forked child: its own ``(calls, threads)`` (see Follower.write_child)."""
    calls, threads, _ = tree.build(
        tree.raw_calls(list(recording.raw)),
        recording.infos,
        tree.thread_entries(sorted(recording.threads[first_thread:])),
        roles,
        first=recording.split,
        split=recording.split,
        skipped=recording.skipped,
        child_thread=recording.child_thread,
        site_codes=recording.site_codes,
    )
    return calls, threads
