"""The serving loop and the server's life cycle, written once.

:class:`LoopMixIn` carries everything compatserver changes in the life of a
server: :meth:`~LoopMixIn.serve_forever` woken at once by
:meth:`~LoopMixIn.shutdown`, ``shutdown()`` safe from a handler and from a
signal handler, ``server_close()`` that stops a running loop, errors on
stderr, ``SystemExit`` not swallowed, the context manager.  It is a base of
:class:`~compatserver.BaseServer` and of every compatserver mix-in
(``ThreadingMixIn``, ``ForkingMixIn``, ``ThreadPoolMixIn``), so the mix-ins
bring the loop with them into any server class built on the stdlib's
socketserver: ``class S(compatserver.ThreadingMixIn, http.server.HTTPServer)``
gets compatserver's loop, although ``HTTPServer`` derives from the stdlib's
``TCPServer``.

The rule that makes this work is the MRO's: every compatserver class must
come before every stdlib socketserver class whose methods it replaces.
:meth:`LoopMixIn.__init_subclass__` checks it when a class is created and
raises :exc:`TypeError` naming the fix (the stdlib loop would otherwise run,
and the mix-ins' ``server_close()`` would fail later, far from the cause).

The mix-ins customise the loop through small hooks rather than copies of it:
:meth:`~LoopMixIn._loop_started` / :meth:`~LoopMixIn._loop_ended` around it,
:meth:`~LoopMixIn._loop_accepts` (does the loop wait on the listening socket
this turn?) and :meth:`~LoopMixIn._loop_woken` (a byte came down the
self-pipe).  The thread pool uses all four; the threading and forking
mix-ins only add per-request behaviour.

No ``__init__`` of ours has to run: the loop's state is class defaults and
per-instance locks made on first use (:class:`PerInstance`), so a subclass
that calls a stdlib ``__init__`` by name (common in Python 2 code, and what
``SimpleXMLRPCServer`` itself does) works.
"""
import errno
import signal
import socket
import sys
import threading
import traceback
import types

from ._compat import NewStyle, library_logger, monotonic, stdlib
from ._handlers import client_error_reason, format_address
from ._wait import POLLNVAL, READ_EVENTS, Poller, WakeupPipe, wait_for

__all__ = ["LoopMixIn"]

#: errno values of an accept() that failed for want of descriptors or
#: memory: the connection is still in the backlog (see _accept_failed()).
RESOURCE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM")
    if hasattr(errno, name))


# -- small pieces used by every server class --------------------------------

_PER_INSTANCE_LOCK = threading.Lock()
_MISSING = object()


class PerInstance(object):
    """A class attribute that becomes a per-instance value on first use.

    ``factory(instance)`` makes the value, under one module-wide lock so two
    threads never make two; it is stored in the instance's ``__dict__``
    under *name*, where later reads find it without calling back here (this
    is a non-data descriptor).  So a server whose ``__init__`` never ran
    still gets its locks.
    """

    def __init__(self, name, factory):
        self.name = name
        self.factory = factory

    def __get__(self, instance, owner):
        if instance is None:
            return self
        with _PER_INSTANCE_LOCK:
            value = instance.__dict__.get(self.name, _MISSING)
            if value is _MISSING:
                value = instance.__dict__[self.name] = self.factory(instance)
        return value


def deadline_after(timeout):
    """The :func:`monotonic` time *timeout* seconds from now (None: never)."""
    return None if timeout is None else monotonic() + timeout


def remaining(deadline):
    """Seconds left until *deadline* (never negative; None: no deadline)."""
    return None if deadline is None else max(0.0, deadline - monotonic())


def join_threads(live_threads, deadline):
    """Join the threads ``live_threads()`` returns until it returns none.

    Asked again after each round, so threads started meanwhile (a
    replacement worker, a request dispatched as the loop stopped) are waited
    for too.  Returns True when none is left, False when *deadline* passed
    first.
    """
    while True:
        threads = live_threads()
        if not threads:
            return True
        for thread in threads:
            left = remaining(deadline)
            if left == 0.0:
                return False
            thread.join(left)


def interruption(exc):
    """The ``KeyboardInterrupt`` or ``SystemExit`` that *exc* stands for.

    *exc* itself, or the one it was raised while handling (its
    ``__context__``: a signal that interrupted a ``Condition.wait()`` on
    3.x can surface as ``RuntimeError('release unlocked lock')`` from the
    lock's ``__exit__``), or else *exc*.
    """
    context = getattr(exc, "__context__", None)  # None on Python 2
    if not isinstance(exc, (KeyboardInterrupt, SystemExit)) and isinstance(
            context, (KeyboardInterrupt, SystemExit)):
        return context
    return exc


class _CtrlC(object):
    """Ctrl-C for a loop that runs in the main thread: never lost.

    Python runs a signal handler between two bytecodes of the main thread,
    wherever they are.  When they are in a weakref callback or a
    ``__del__`` (the loop lets go of a finished thread, and
    ``threading._dangling``'s callback runs), the ``KeyboardInterrupt`` of
    the default handler is printed as "Exception ignored" and dropped, and
    the loop serves on.  While the loop runs under the default handler,
    this one raises it the same way, at once, and also notes it and wakes
    the loop, which raises it again at its next turn if it was lost.
    """

    def __init__(self, wakeup):
        self.wakeup = wakeup
        self.pending = False

    def __call__(self, signum, frame):
        self.pending = True
        try:
            self.wakeup.wake()
        except Exception:  # never instead of the KeyboardInterrupt
            pass
        raise KeyboardInterrupt

    @classmethod
    def install(cls, wakeup):
        """The handler, installed in the main thread; or None (not the default handler there)."""
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None
        handler = cls(wakeup)
        try:
            signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the thread that handles signals after all
            return None
        return handler

    @classmethod
    def uninstall(cls, wakeup):
        """Put the default handler back if the current one is ours for *wakeup*.

        By *wakeup*, not by the object install() returned: a Ctrl-C may land
        between the handler's installation and that return.  A handler
        someone installed meanwhile stays.  In the main thread.
        """
        current = signal.getsignal(signal.SIGINT)
        if isinstance(current, cls) and current.wakeup is wakeup:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def process_request_thread(self, request, client_address):
    """Same as in BaseServer but as a thread.

    In addition, exception handling is done here: ``Exception`` goes to
    :meth:`handle_error`; ``SystemExit`` and ``KeyboardInterrupt`` end the
    thread as on Python 3 (Python 2.7 passed them to ``handle_error``).  The
    request is shut down in every case.
    """
    try:
        self.finish_request(request, client_address)
    except Exception:
        self.handle_error(request, client_address)
    finally:
        self.shutdown_request(request)


# The stdlib mix-ins' own server_close() (3.7+) joins every handler thread
# without a timeout and raises RuntimeError when called from a handler thread
# (it joins the current thread); ForkingMixIn's waits for every child without
# a timeout.  compatserver's mix-ins replace them, so the chain of
# server_close() calls steps over them.
_REPLACED_SERVER_CLOSE = tuple(
    getattr(stdlib, name) for name in ("ThreadingMixIn", "ForkingMixIn")
    if hasattr(stdlib, name))


def next_server_close(server, cls):
    """Call the ``server_close()`` that follows *cls* in the server's MRO.

    Works like ``super(cls, server).server_close()`` but skips the stdlib
    mix-ins' versions, which compatserver's mix-ins replace.
    """
    mro = type(server).__mro__
    for klass in mro[mro.index(cls) + 1:]:
        if klass in _REPLACED_SERVER_CLOSE:
            continue
        method = vars(klass).get("server_close")
        if method is not None:
            return method(server)
    return None


# -- the order of the bases --------------------------------------------------

_METHOD_TYPES = (types.FunctionType, classmethod, staticmethod)


def _is_ours(klass):
    return (getattr(klass, "__module__", None) or "").split(".")[0] == "compatserver"


def _is_stdlib(klass):
    return getattr(klass, "__module__", None) == stdlib.__name__


def _qualname(klass):
    return "%s.%s" % (klass.__module__, klass.__name__)


def check_bases(cls):
    """Raise TypeError if the stdlib's socketserver would run instead of ours.

    Two rules, the same verdict on every interpreter:

    - a stdlib mix-in (``socketserver.ThreadingMixIn``, ``ForkingMixIn``)
      may be in the MRO only behind compatserver's mix-in of the same name,
      which replaces it (``compatserver.ThreadingTCPServer`` has both);
    - every method that a compatserver class in the MRO defines must be
      found on a compatserver class (or on one of the user's, or of another
      module such as ``http.server``), never on a class of the stdlib
      socketserver module: that would be the stdlib's loop running under
      compatserver's mix-ins.
    """
    mro = cls.__mro__
    for index, klass in enumerate(mro):
        if (_is_stdlib(klass) and klass.__name__.endswith("MixIn")
                and not any(_is_ours(k) and k.__name__ == klass.__name__
                            for k in mro[:index])):
            raise TypeError(
                "%s: %s cannot be mixed with compatserver's classes (it "
                "would bring the stdlib's thread or process handling back); "
                "use compatserver.%s instead" % (
                    cls.__name__, _qualname(klass), klass.__name__))
    wanted = set()
    for klass in mro:
        if _is_ours(klass):
            wanted.update(name for name, value in vars(klass).items()
                          if isinstance(value, _METHOD_TYPES)
                          and name != "__init_subclass__")
    # serve_forever first: the method a reader knows the loop by.
    for name in sorted(wanted, key=lambda name: (name != "serve_forever", name)):
        supplier = next(k for k in mro if name in vars(k))
        if _is_stdlib(supplier):
            ours = next(k for k in mro if _is_ours(k) and name in vars(k))
            first = [b for b in cls.__bases__ if issubclass(b, LoopMixIn)]
            rest = [b for b in cls.__bases__ if b not in first]
            raise TypeError(
                "%s: %s.%s would run instead of %s.%s; put compatserver's "
                "class first among the bases: class %s(%s)" % (
                    cls.__name__, _qualname(supplier), name, _qualname(ours),
                    name, cls.__name__,
                    ", ".join(b.__name__ for b in first + rest)))


class _Inherited(NewStyle):
    """Stands in for a compatserver base that the stdlib's class already has."""


def unless_inherited(ours, theirs):
    """*ours*, to be named first among the bases of a class that adds to *theirs*.

    compatserver's classes name their own base first: ``class
    HTTPServer(LoopMixIn, http.server.HTTPServer)``.  After
    :func:`compatserver.install`, modules imported later are built on
    compatserver, so ``http.server.HTTPServer`` derives from ``LoopMixIn``
    already, and naming it again first has no consistent MRO.  Then this
    returns an empty class instead, and the stdlib's class brings ours.
    """
    return _Inherited if issubclass(theirs, ours) else ours


def without_inherited(bases):
    """*bases* less those that a later one derives from already.

    For classes built from a list of bases (``(ThreadingMixIn, HTTPServer,
    http.server.ThreadingHTTPServer)``): after :func:`compatserver.install`,
    the stdlib's ``ThreadingHTTPServer`` derives from compatserver's
    ``ThreadingMixIn``, which must then not be named before it.
    """
    return tuple(base for i, base in enumerate(bases)
                 if not any(issubclass(later, base) for later in bases[i + 1:]))


# -- the loop ---------------------------------------------------------------

def _new_loop_lock(server):
    # Reentrant: a signal handler that calls shutdown() may run in the
    # loop's thread while it holds the lock.
    return threading.RLock()


class LoopMixIn(NewStyle):
    """compatserver's serving loop and life cycle, for any socketserver server.

    A base of :class:`BaseServer` and of every compatserver mix-in, so
    ``class S(compatserver.ThreadingMixIn, http.server.HTTPServer)`` serves
    with compatserver's loop.  For a synchronous server built on the stdlib
    (one that has no mix-in to bring the loop), name it first yourself::

        class S(compatserver.LoopMixIn, xmlrpc.server.SimpleXMLRPCServer):
            pass

    The rule: compatserver's classes come first among the bases.  A class
    that breaks it (``class S(HTTPServer, ThreadingMixIn)``, or the stdlib's
    own ``ThreadingMixIn`` mixed with compatserver's classes) raises
    :exc:`TypeError` when it is created, saying what to write instead.  On
    Python 2.7 the class is new-style even when the other bases are
    old-style (``object`` goes last in the MRO, as on Python 3).

    .. versionadded:: 0.1
    """

    # Loop state, guarded by the server's loop lock: the thread running
    # serve_forever() (None when no loop runs), its self-pipe, the stop flag,
    # the event that tells shutdown() the loop has ended, and the idents of
    # the threads that may be on their way into serve_forever() when
    # shutdown() found no loop running (see shutdown()).  Class defaults, set
    # on the instance when first changed: no __init__ of ours has to run, so
    # subclasses that call a stdlib __init__ directly work too.
    _loop_lock = PerInstance("_loop_lock", _new_loop_lock)
    _loop_thread = None
    _loop_wakeup = None
    _loop_stop = False
    _loop_done = None
    _loop_pending_stop = frozenset()
    _loop_interrupted = None

    @classmethod
    def __init_subclass__(cls, **kwargs):
        # Python 2 has no object.__init_subclass__ (the metaclass of
        # _compat.NewStyle calls this one there).
        parent = getattr(super(LoopMixIn, cls), "__init_subclass__", None)
        if parent is not None:
            parent(**kwargs)
        check_bases(cls)

    # Methods for the caller.

    def serve_forever(self, poll_interval=0.5):
        """Handle one request at a time until :meth:`shutdown` is called.

        The loop waits on the server socket and on a self-pipe that
        :meth:`shutdown` writes to, so it stops within a millisecond or so,
        however long *poll_interval* is.  *poll_interval* (seconds) bounds
        how long the loop sleeps between two calls of
        :meth:`service_actions`, which runs after every request and at least
        that often.

        A second ``serve_forever()`` on a server whose loop is running
        raises :exc:`RuntimeError`.

        In the main thread, under Python's default SIGINT handler, a Ctrl-C
        ends the loop with :exc:`KeyboardInterrupt` even when it lands where
        Python drops exceptions (a weakref callback, a ``__del__``): the
        loop raises it again at its next turn.  The default handler is back
        when the loop returns.

        .. versionchanged:: 0.1
           Woken by :meth:`shutdown` instead of polling a flag
           (gh-88932 / bpo-44769: up to *poll_interval* of latency in every
           stdlib version); waits with ``poll()`` so that descriptors above
           1023 work on Python 2.7; resumes an interrupted wait with the
           remaining time on Python 2.7 (bpo-7978); calls
           :meth:`service_actions` on Python 2.7 too; a Ctrl-C is never
           lost.
        """
        with self._loop_lock:
            if self._loop_thread is not None:
                raise RuntimeError(
                    "serve_forever() is already running in %s"
                    % self._loop_thread.name)
            wakeup = WakeupPipe()
            current = threading.current_thread()
            self._loop_wakeup = wakeup
            self._loop_stop = current.ident in self._loop_pending_stop
            self._loop_pending_stop = frozenset()
            self._loop_done = done = threading.Event()
            # Last: a loop is "running" only once all of the above is set.
            self._loop_thread = current
        main = isinstance(current, threading._MainThread)  # where signals are handled
        try:
            try:
                ctrl_c = _CtrlC.install(wakeup) if main else None
                self._loop_started(wakeup)
                try:
                    self._serve_until_stopped(wakeup, poll_interval, ctrl_c)
                finally:
                    self._loop_ended()
            finally:
                if main:
                    _CtrlC.uninstall(wakeup)  # before the pipe it writes to closes
        finally:
            with self._loop_lock:
                self._loop_thread = None
                self._loop_wakeup = None
                self._loop_stop = False
                wakeup.close()
            done.set()

    def shutdown(self):
        """Stop the :meth:`serve_forever` loop.

        Called from another thread, it wakes the loop and blocks until the
        loop has returned.  Called from the loop's own thread (from a handler
        of a synchronous server, say) it only asks the loop to stop and
        returns; the loop ends once the current request is done.  So a
        signal handler may call it too, when the loop runs in the main
        thread (the stdlib's deadlocks there).

        When no loop is running it returns at once.  It still stops the
        loop of a thread that was already alive when ``shutdown()`` was
        called and enters :meth:`serve_forever` next: that is the race of
        starting a serving thread and stopping it straight away (bpo-2302,
        exercised by CPython's own tests).  A loop started by the calling
        thread, or by a thread started afterwards, serves normally: no flag
        is left behind (the stdlib's makes the next loop return at once).

        .. versionchanged:: 0.1
           Returns within milliseconds instead of up to *poll_interval*
           (gh-88932); no longer deadlocks when called from a handler of a
           synchronous server (bpo-39797); no longer blocks until a loop
           starts when none runs (gh-85265 / bpo-41093).
        """
        with self._loop_lock:
            thread = self._loop_thread
            if thread is None:
                me = threading.current_thread()
                self._loop_pending_stop = frozenset(
                    t.ident for t in threading.enumerate() if t is not me)
                return
            self._loop_stop = True
            self._loop_wakeup.wake()
            done = self._loop_done
        if thread is threading.current_thread():
            return
        done.wait()

    def handle_request(self):
        """Handle one request, waiting at most :attr:`timeout` seconds.

        The wait is the shorter of the socket's timeout and
        :attr:`timeout`; when it passes, :meth:`handle_timeout` is called.

        .. versionchanged:: 0.1
           On Python 2.7, a signal no longer restarts the whole timeout
           (bpo-7978), and descriptors above 1023 work.
        """
        timeout = self.socket.gettimeout()
        if timeout is None:
            timeout = self.timeout
        elif self.timeout is not None:
            timeout = min(timeout, self.timeout)
        poller = Poller()
        poller.register(self.fileno(), READ_EVENTS)
        if wait_for(poller, timeout):
            return self._handle_request_noblock()
        return self.handle_timeout()

    # Methods that may be overridden.

    def service_actions(self):
        """Called by the :meth:`serve_forever` loop after every wait.

        May be overridden by a subclass or mix-in to perform any action
        specific to that server, such as reaping child processes.

        .. versionadded:: 0.1
           On Python 2.7, whose stdlib has no such hook (Python 3.3+ has).
        """

    def handle_error(self, request, client_address):
        """Handle an error gracefully.  May be overridden.

        Called, inside the ``except`` block, when handling a request raised
        ``Exception``.  The default tells the client's errors from the
        handler's:

        - A client error is logged as one line, without a traceback, at
          WARNING level on the ``compatserver`` logger: ``client
          127.0.0.1:53124: line longer than 65536 bytes``.  Client errors
          are :exc:`LineTooLong`, :exc:`ClientDecodeError` (undecodable
          input read by the text handlers), a disconnect
          (:func:`is_disconnect`: ``disconnected (ECONNRESET)``) and
          :exc:`socket.timeout` (a client slower than the handler's
          ``timeout``: ``timed out``).  With no logging configured the line
          goes to ``sys.stderr``, on Python 2.7 too.
        - Anything else prints the traceback on ``sys.stderr``, between two
          lines of 40 dashes, after the line ``Exception occurred during
          processing of request from <client_address>``.

        Either way the server continues.

        .. versionchanged:: 0.1
           The same wording on ``sys.stderr`` on every version; Python 2.7
           printed it on ``sys.stdout``.  Client errors are one log line
           instead of a traceback each.
        """
        exc = sys.exc_info()[1]
        reason = client_error_reason(exc)
        if reason is not None:
            self._client_error(client_address, reason, exc)
            return
        stream = sys.stderr
        stream.write("-" * 40 + "\n")
        stream.write("Exception occurred during processing of request from %s\n"
                     % (client_address,))
        traceback.print_exc(file=stream)
        stream.write("-" * 40 + "\n")
        stream.flush()

    #: Where client errors are logged (see :meth:`handle_error`).
    _client_log = library_logger("compatserver")

    def _client_error(self, client_address, reason, exc):
        """Log a client error: one WARNING line with the address and *reason*.

        May be extended, do not override: the thread pool extends it to
        count them (its ``request_timeout`` cuts are counted under its lock
        where they are made, and logged here through ``super()``).
        """
        self._client_log.warning("client %s: %s",
                                 format_address(client_address), reason)

    def server_close(self):
        """Clean up the server.  May be overridden.

        Also asks a running :meth:`serve_forever` loop to stop (without
        waiting for it), so that it does not spin on a closed socket.

        .. versionchanged:: 0.1
           Stops a running loop (the stdlib's keeps spinning on the closed
           socket, or dies with EBADF on Python 2.7).
        """
        self._stop_loop_nowait()
        next_server_close(self, LoopMixIn)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        """Stop a loop running in another thread, then close the server.

        :meth:`shutdown` is called first (it waits for a loop running in
        another thread to return, and only asks the loop to stop when called
        from the loop's own thread, so leaving a ``with`` block inside a
        handler does not deadlock), then :meth:`server_close`.

        .. versionadded:: 0.1
           On Python 2.7 (the stdlib's context manager is 3.6+, bpo-26404).
        .. versionchanged:: 0.1
           Also stops a running loop; the stdlib's only closes the socket.
        """
        self.shutdown()
        self.server_close()

    # The loop itself, and the hooks the mix-ins customise it with.

    def _serve_until_stopped(self, wakeup, poll_interval, ctrl_c=None):
        # One poller, owned by this thread: the self-pipe always, the
        # listening socket while _loop_accepts() and no accept back-off
        # runs, and whatever descriptors a mix-in registers through
        # self._loop_poller (the pool's parked connections), which are
        # reported to _loop_ready().  poll_interval bounds the time between
        # two service_actions().
        wake_fd = wakeup.read_fd
        listening = self.fileno()
        self._loop_poller = poller = Poller()
        poller.register(wake_fd, READ_EVENTS)
        watching = False
        while not self._loop_stop:
            timeout = poll_interval
            accepts = self._loop_accepts()
            if self._accept_resume_at is not None:
                timeout, accepts = self._accept_paused(timeout, accepts)
            if accepts != watching:
                if accepts:
                    poller.register(listening, READ_EVENTS)
                else:
                    poller.unregister(listening)
                watching = accepts
            ready = wait_for(poller, timeout)
            if ctrl_c is not None and ctrl_c.pending:
                # A Ctrl-C whose KeyboardInterrupt was swallowed where it
                # landed (see _CtrlC): raised again, here.
                ctrl_c.pending = False
                raise KeyboardInterrupt
            # bpo-35017: shutdown() during the wait: no more requests.
            if self._loop_stop:
                break
            incoming = False
            for fd, events in ready:
                if fd == wake_fd:
                    self._loop_woken(wakeup)
                elif fd == listening:
                    if events & POLLNVAL:
                        # The listening socket was closed behind our back:
                        # there is nothing left to serve (the stdlib loop
                        # spins at 100% CPU here).
                        return
                    incoming = True
                else:
                    self._loop_ready(fd, events)
            # Asked again: _loop_woken() may have handed accepting to
            # someone else (the pool's workers), and then not both of us.
            if incoming and self._loop_accepts():
                self._handle_request_noblock()
            self.service_actions()

    def _loop_started(self, wakeup):
        """Hook: the loop is about to wait for the first time."""

    def _loop_ended(self):
        """Hook: the loop has stopped (however it stopped)."""

    def _loop_accepts(self):
        """Hook: does the loop wait on the listening socket this turn?"""
        return True

    def _loop_woken(self, wakeup):
        """Hook: :meth:`shutdown` (or a mix-in) wrote to the self-pipe."""
        wakeup.drain()

    def _loop_ready(self, fd, events):
        """Hook: a descriptor a mix-in registered with ``_loop_poller`` is ready."""

    # Descriptor exhaustion.  accept() fails with EMFILE / ENFILE (and
    # ENOBUFS / ENOMEM) while the connection waits in the backlog, so the
    # listening socket stays readable and a loop that retries at once spins
    # a whole CPU (the stdlib's does) until a descriptor frees up.  The loop
    # stops watching the listening socket for a while instead, 10 ms at
    # first and twice as long each time it fails again, at most a second;
    # it goes on serving what it has meanwhile, and the first accept() that
    # works ends the back-off.
    _accept_resume_at = None
    _accept_backoff = 0.0
    ACCEPT_BACKOFF_FIRST = 0.01
    ACCEPT_BACKOFF_MAX = 1.0

    def _accept_failed(self, exc):
        """Start or lengthen the back-off if *exc* says descriptors ran out."""
        if getattr(exc, "errno", None) not in RESOURCE_ERRNOS:
            return False
        delay = min(max(self._accept_backoff * 2, self.ACCEPT_BACKOFF_FIRST),
                    self.ACCEPT_BACKOFF_MAX)
        self._accept_backoff = delay
        self._accept_resume_at = monotonic() + delay
        return True

    def _accept(self):
        """``get_request()`` for the loop: the pair, or None when it failed.

        A failure for want of descriptors starts the back-off; the first
        accept() that works ends it.
        """
        try:
            accepted = self.get_request()
        except socket.error as exc:
            self._accept_failed(exc)
            return None
        if self._accept_backoff:
            self._accept_backoff = 0.0
        return accepted

    def _accept_paused(self, timeout, accepts):
        """The wait and whether to watch the listening socket during a back-off."""
        left = self._accept_resume_at - monotonic()
        if left <= 0:
            self._accept_resume_at = None
            return timeout, accepts
        return (left if timeout is None else min(timeout, left)), False

    def _handle_request_noblock(self):
        """Handle one request, without blocking.

        Only ``Exception`` goes to :meth:`handle_error`; ``SystemExit`` and
        ``KeyboardInterrupt`` close the request and propagate, as on Python 3
        (bpo-23430; Python 2.7 swallowed them).
        """
        accepted = self._accept()
        if accepted is None:
            return
        request, client_address = accepted
        if self.verify_request(request, client_address):
            try:
                self.process_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
                self.shutdown_request(request)
            except:  # noqa: E722 - SystemExit, KeyboardInterrupt: clean up, re-raise
                self.shutdown_request(request)
                raise
            if self._loop_interrupted is not None:
                # An interruption a mix-in caught after the request was
                # handed over (see ThreadingMixIn.process_request()).
                exc, self._loop_interrupted = self._loop_interrupted, None
                raise exc
        else:
            self.shutdown_request(request)

    def _stop_loop_nowait(self):
        """Ask a running loop to stop; do not wait for it."""
        with self._loop_lock:
            if self._loop_thread is not None:
                self._loop_stop = True
                self._loop_wakeup.wake()
