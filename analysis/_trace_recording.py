"""The state of one recorded run, shared by the hook backends and the fork follower."""
import itertools
import os
import sys
import threading

from analysis import _trace_owners as owners
from analysis._trace_tree import CHILD_BASE, FIELDS

_getframe = sys._getframe

#: Never recorded: the tracer's own code runs while it is on.
OWN_MODULE = "analysis.trace"
OWN_PREFIX = "analysis._trace_"


#: ``ThreadState.thread_id`` of a thread none of whose calls is recorded yet.
#: The recording code tests it by identity (``is``: no rich comparison on
#: every recorded call); every assignment of it uses this object.
NEW_THREAD = -1


class ThreadState(threading.local):
    """What the recording knows of the calling thread: ``thread_id``.

    ``NEW_THREAD`` until the thread's first recorded call, then its id in
    the recording; ``None`` while the tracer's own code runs in it (the
    thread is being registered, or an owner looked up), whose calls are not
    calls of the run.  The class attribute is what a new thread reads, so
    the hot paths test a value instead of catching AttributeError, and
    what the tracer saves it restores by assignment.
    """

    thread_id = NEW_THREAD


class _Flag(object):
    """A true/false attribute kept in a list attribute, *name*: non-empty when true.

    The hot paths hold the list and test it (a truth test of a local or a
    constant), and never the object that owns it.
    """

    def __init__(self, name, doc):
        self.name = name
        self.__doc__ = doc

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return bool(getattr(obj, self.name))

    def __set__(self, obj, value):
        getattr(obj, self.name)[:] = [True] if value else []


class Recording(object):
    """What one run has recorded so far, and the decisions it made.

    The hot paths append :data:`~analysis._trace_tree.FIELDS` values per
    call to ``raw`` (see "The hot path" in :mod:`analysis.trace`); a call's
    id is its position there.
    """

    def __init__(self, modules):
        self.exact = frozenset(modules)
        self.prefixes = tuple(m + "." for m in modules)
        # id(code) -> CodeInfo, or owners.SKIP for code outside the filter.
        # Keyed by id(), not by the code object: a code object's hash is not
        # cached and hashes its bytecode, names and constants on every
        # lookup (a fifth of the tracer's cost on 3.13, measured with
        # callgrind).  ``codes`` keeps every code seen alive, so no id is reused.
        self.cache = {}
        self.codes = []
        self.infos = []
        # id(code) of the frames a call's anchor may be: the recorded codes
        # for the hooks, the wrappers' code for ``instrument``.
        self.recorded = set()
        # ``instrument``: CodeInfo index -> a copy of the function's recording
        # code without its constants, for the call sites in it.  A record
        # whose caller runs recording code leaves its caller's code out (the
        # tree finds it here through the anchor's record): that code's
        # constants hold this recording, and the garbage collector does not
        # see through a code object, so a record holding it would keep the
        # whole recording alive for good.
        self.site_codes = {}
        # Flat, not a tuple per call: a tuple that outlives the callback is
        # one more object for the garbage collector to find and traverse (a
        # tenth of the cost per call on 3.13, measured with callgrind);
        # extend() with a temporary tuple frees it at once, and is atomic.
        self.raw = []
        # Per thread, in order of its first recorded call: a tuple of
        # ThreadEntry's fields, its start a tuple of StartPoint's (see
        # tree.thread_entries()).  Tuples for the same reason as ``raw``: the
        # hot path makes one of each per thread of a thread-per-request
        # server, where a class's __init__ is a Python call.
        self.threads = []
        # Thread ids, taken without a lock: next() on a count is atomic.  The
        # list above is then in id order except when two threads register
        # at once; it is sorted when read.
        self.thread_ids = itertools.count()
        # Per thread: .thread_id (see ThreadState).  A thread-local, not a
        # dict by thread ident: idents are reused as soon as a thread ends,
        # and a new thread must get a new record.
        self.local = ThreadState()
        # threading.Thread -> its start point, until its first recorded call.
        # The object, not its id(): an id is reused once a finished Thread is
        # collected.
        self.pending_starts = {}
        # (position, frame id) of the frames whose calls are not calls of
        # the run (see skip()).
        self.skipped = []
        self.lock = threading.Lock()
        # Non-empty while recording: the hooks' callbacks and the
        # Thread.start wrapper test the list itself (a truth test of a
        # local, where reading an attribute of this object cost 280
        # instructions a call on 3.6, callgrind).  Changed in place, through
        # ``active``: they hold it.  (The ``instrument`` recording code tests
        # nothing: it records while it is installed.)
        self.on = []
        self.disabled = None  # why the tracer switched itself off, or None
        # Non-empty in a child forked while recording (see in_child): a
        # list, so that first_call() tests it without holding this object.
        self.child = []
        self.split = None  # in a forked child: where the child's own calls begin
        self.child_thread = None  # in a forked child: the id of its thread
        # Closures over the containers above, not methods: see
        # _first_call_function().
        self.register_thread = self._register_function()
        self.first_call = self._first_call_function()

    active = _Flag("on", "Whether calls are recorded now.")
    in_child = _Flag("child", "True in a child process forked while recording.")

    def wanted(self, module):
        """True when code of *module* (a ``__name__``) is recorded."""
        if module is None or module == OWN_MODULE or module.startswith(OWN_PREFIX):
            return False
        return module in self.exact or module.startswith(self.prefixes)

    def add_info(self, module, code, owner):
        """The CodeInfo of *code*, made once (under the lock: its index is its place in ``infos``)."""
        first_arg = code.co_varnames[0] if code.co_argcount else None
        with self.lock:
            info = self.cache.get(id(code))
            if info is None:
                info = owners.CodeInfo(module, code, first_arg, len(self.infos), owner)
                self.infos.append(info)
                self.codes.append(code)
                self.cache[id(code)] = info
        return info

    def classify(self, code, frame):
        """The CodeInfo of the code a hook met for the first time, or SKIP."""
        module = frame.f_globals.get("__name__")
        if owners.skipped_code(code) or not self.wanted(module):
            with self.lock:
                self.cache[id(code)] = owners.SKIP
                self.codes.append(code)
            return owners.SKIP
        first_arg = code.co_varnames[0] if code.co_argcount else None
        info = self.add_info(module, code, owners.static_owner(frame.f_globals, code, first_arg))
        self.recorded.add(id(code))
        return info

    def fail(self, exc):
        """Note why recording stopped (the first reason only)."""
        if self.disabled is None:
            self.disabled = "tracer callback raised %s: %s; recording stopped" % (type(exc).__name__, exc)
        self.active = False

    # -- threads ----------------------------------------------------------

    def _register_function(self):
        """The recording's ``register_thread(name, role, start)``: add the calling thread's entry, return its id.

        *role* None: decided when the tree is built.
        """
        child, thread_ids, threads_append, local = self.child, self.thread_ids, self.threads.append, self.local

        def register_thread(name, role, start):
            thread_id = next(thread_ids)
            in_child = bool(child)
            if in_child:
                thread_id += CHILD_BASE  # renumbered when the parent merges
            threads_append((thread_id, name, role, start, os.getpid() if in_child else None))
            local.thread_id = thread_id
            return thread_id

        return register_thread

    def _first_call_function(self):
        """The recording's ``first_call(frame, info, owner)``: register the calling thread, record its first call.

        The call is in *frame*.  Nothing above it in this thread is a
        recorded call (it would have registered the thread), so it has no
        parent, and the anchor is not looked for: that walk would make frame
        objects for the thread's bootstrap frames, on every request of a
        thread-per-request server.  For the same reason it is a closure over
        the recording's containers (the same objects for its life), not a
        method reading them from ``self`` (callgrind, 3.6: 2,300 instructions
        a thread less).  It does not hold the recording itself, which holds
        it: a cycle only the garbage collector would free.
        """
        local, pending_pop, raw_extend = self.local, self.pending_starts.pop, self.raw.extend
        register_thread = self.register_thread
        current_thread = threading.current_thread

        def first_call(frame, info, owner):
            # Until the entry is made the thread's id is None, which the
            # "instrument" recording code skips (see skip()), as for the
            # owner lookup: a recorded function called by the lines below (a
            # Thread subclass's name property, __hash__ or __eq__ of a
            # recorded module) is not a call of the run.  (The hooks never
            # see it: a hook's callback is not traced.)
            local.thread_id = None
            try:
                current = current_thread()
                name = current.name
                start = pending_pop(current, None)
            except BaseException:
                local.thread_id = NEW_THREAD
                raise
            thread_id = register_thread(name, None, start)
            caller = frame.f_back
            if caller is None:
                raw_extend((id(frame), None, thread_id, info.index, owner, None, None))
            else:
                raw_extend((id(frame), None, thread_id, info.index, owner, caller.f_code, caller.f_lasti))

        return first_call

    def skip(self, frame):
        """Note that the call in *frame* is not a call of the run: the tracer's own code runs it.

        The ``instrument`` recording code records a call whose caller runs
        recording code without reading the thread (see
        ``analysis._trace_inline.PROLOGUE``), and the tree takes the thread
        and the parent from the caller's record.  When the caller was
        skipped, this note tells the tree so: the callee is left out too,
        and not attached to an older call whose frame had the same id.
        """
        self.skipped.append((len(self.raw) // FIELDS, id(frame)))

    def anchor(self, frame):
        """The id of the nearest frame from *frame* up whose code is recorded, or None."""
        recorded = self.recorded
        while frame is not None:
            if id(frame.f_code) in recorded:
                return id(frame)
            frame = frame.f_back
        return None

    def start_point(self, frame):
        """Where a thread or process started by *frame* hangs in the call tree, or None.

        StartPoint's fields, as a tuple: ``(position, anchor)``.
        """
        anchor = self.anchor(frame)
        if anchor is None:
            return None
        return (len(self.raw) // FIELDS, anchor)
