"""Server classes and the threading / forking mix-ins.

Every class subclasses its stdlib counterpart (``isinstance`` checks against
``socketserver`` classes keep working) and :class:`~compatserver.LoopMixIn`,
which carries the loop and the life cycle (``compatserver._loop``) and makes
the classes new-style on Python 2.7, so ``super()`` and properties work.
Only what differs between interpreters is overridden.
"""
import errno
import os
import signal
import socket
import threading
import time

from ._compat import HAS_FORK, HAS_REUSEPORT, HAS_UNIX, monotonic, stdlib
from ._loop import (
    LoopMixIn, PerInstance, deadline_after, interruption, join_threads,
    next_server_close, process_request_thread)

__all__ = [
    "BaseServer", "TCPServer", "UDPServer", "ThreadingMixIn",
    "ThreadingTCPServer", "ThreadingUDPServer",
]
if HAS_FORK:
    __all__ += ["ForkingMixIn", "ForkingTCPServer", "ForkingUDPServer"]
if HAS_UNIX:
    __all__ += ["UnixStreamServer", "UnixDatagramServer",
                "ThreadingUnixStreamServer", "ThreadingUnixDatagramServer"]
if HAS_FORK and HAS_UNIX:
    __all__ += ["ForkingUnixStreamServer", "ForkingUnixDatagramServer"]


class BaseServer(LoopMixIn, stdlib.BaseServer):
    """Base class for server classes.

    Methods for the caller:

    - __init__(server_address, RequestHandlerClass)
    - serve_forever(poll_interval=0.5)
    - shutdown()
    - handle_request()  # if you do not use serve_forever()
    - fileno() -> int   # for selector

    Methods that may be overridden:

    - server_bind()
    - server_activate()
    - get_request() -> request, client_address
    - handle_timeout()
    - verify_request(request, client_address)
    - server_close()
    - process_request(request, client_address)
    - shutdown_request(request)
    - close_request(request)
    - service_actions()
    - handle_error()

    Methods for derived classes:

    - finish_request(request, client_address)

    Class variables that may be overridden by derived classes or
    instances:

    - timeout
    - address_family
    - socket_type
    - allow_reuse_address
    - allow_reuse_port

    Instance variables:

    - RequestHandlerClass
    - socket

    The server is a context manager: leaving the ``with`` block stops a
    :meth:`serve_forever` loop that runs in another thread (see
    :meth:`__exit__`) and closes the server.

    .. versionchanged:: 0.1
       A new-style class on Python 2.7 too, so ``super()`` and properties
       work in subclasses.
    """


class TCPServer(BaseServer, stdlib.TCPServer):
    """Base class for various socket-based server classes.

    Defaults to synchronous IP stream (i.e., TCP).

    Class variables that may be overridden by derived classes or
    instances: ``address_family``, ``socket_type``, ``request_queue_size``
    (only for stream sockets), ``allow_reuse_address``,
    ``allow_reuse_port``.
    """

    #: Set ``SO_REUSEPORT`` before binding, where the platform has it
    #: (ignored elsewhere, as the stdlib does).
    #:
    #: .. versionadded:: 0.1
    #:    On every version; the stdlib has it since 3.11 (bpo-16594).
    allow_reuse_port = False

    def server_bind(self):
        """Called by constructor to bind the socket.  May be overridden.

        .. versionchanged:: 0.1
           Honours :attr:`allow_reuse_port` on every version (bpo-16594).
        """
        if self.allow_reuse_port and HAS_REUSEPORT:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super(TCPServer, self).server_bind()


class UDPServer(TCPServer, stdlib.UDPServer):
    """UDP server class."""


if HAS_UNIX:
    class UnixStreamServer(TCPServer, stdlib.UnixStreamServer):
        """Stream server on a Unix domain socket."""

    class UnixDatagramServer(UDPServer, stdlib.UnixDatagramServer):
        """Datagram server on a Unix domain socket."""


def _new_threads_lock(server):
    server._threads = set()
    server._finished = []
    return threading.Lock()


class ThreadingMixIn(LoopMixIn, stdlib.ThreadingMixIn):
    """Mix-in class to handle each request in a new thread.

    Class variables that may be overridden:

    - ``daemon_threads`` (default ``False``): handler threads are daemon
      threads, so the interpreter does not wait for them at exit.
    - ``block_on_close`` (default ``True``): :meth:`server_close` waits for
      every handler thread still running (daemon or not), except the thread
      that calls it.
    - ``block_on_close_timeout`` (default ``None``, no limit): the longest
      :meth:`server_close` waits for them, in seconds.

    Finished threads are forgotten as they end, so a long-running server
    keeps no Thread objects for requests that are done.

    .. versionchanged:: 0.1
       ``block_on_close`` on every version with one meaning (3.7 added it,
       bpo-31233 / bpo-33540; 2.7 and 3.6 never waited; 3.7 skipped daemon
       threads); finished threads are reaped on every version (bpo-37193: 3.7
       keeps every Thread object until ``server_close()``);
       ``server_close()`` from a handler thread no longer raises
       ``RuntimeError``.
    """

    daemon_threads = False
    block_on_close = True
    #: .. versionadded:: 0.1
    block_on_close_timeout = None

    # The handler threads still running, and the lock that guards them,
    # created with the first thread (class defaults: see BaseServer).  A
    # thread removes itself from _threads when its request is done and goes
    # to _finished, where the next request (or server_close()) reaps it with
    # is_alive(): on 3.7 and 3.8 a non-daemon thread that nobody joins or
    # polls leaves its lock in threading._shutdown_locks for ever
    # (bpo-37788; 3.9 prunes that set, 3.13 dropped it), about 180 bytes a
    # request.  So a server keeps the running threads and the one or two
    # that have just finished, never the Thread objects of past requests.
    _threads = frozenset()
    _finished = ()
    _threads_lock = PerInstance("_threads_lock", _new_threads_lock)

    def _reap_finished(self):
        """Forget the finished threads that have ended; call with the lock held."""
        self._finished = [t for t in self._finished if t.is_alive()]

    def service_actions(self):
        """Forget finished handler threads while the loop is idle.

        May be extended, do not override: call the base class's version.
        """
        if self._finished:  # so the lock exists (a call less per loop turn)
            with self._threads_lock:
                self._reap_finished()
        super(ThreadingMixIn, self).service_actions()

    process_request_thread = process_request_thread

    def _run_request_thread(self, request, client_address):
        try:
            self.process_request_thread(request, client_address)
        finally:
            current = threading.current_thread()
            with self._threads_lock:  # made by process_request()
                self._threads.discard(current)
                self._finished.append(current)

    def process_request(self, request, client_address):
        """Start a new thread to process the request."""
        thread = threading.Thread(target=self._run_request_thread,
                                  args=(request, client_address))
        thread.daemon = self.daemon_threads
        lock = self._threads_lock
        with lock:
            self._threads.add(thread)
            if self._finished:
                self._reap_finished()
        try:
            thread.start()
        except BaseException as exc:
            if thread.ident is None:
                with lock:
                    self._threads.discard(thread)
                raise
            # A Ctrl-C (or a signal handler's SystemExit) landed in start()'s
            # wait after the thread had started: Python 2 runs the handler
            # once the wait returns, and on 3.x the interrupted Condition
            # can even surface as RuntimeError('release unlocked lock') with
            # the KeyboardInterrupt as its context.  The thread runs and owns
            # the request (server_close() waits for it); the interruption is
            # the loop's to raise, once process_request() has returned.
            self._loop_interrupted = interruption(exc)

    def server_close(self):
        """Wait for the handler threads, then close the server.

        With :attr:`block_on_close`, waits for every handler thread still
        running except the calling one, for at most
        :attr:`block_on_close_timeout` seconds in all.  A running loop is
        asked to stop first, so no new thread starts meanwhile.  The socket
        is closed after the wait, so that datagram handlers, which reply
        through it, can still send their reply.

        .. versionchanged:: 0.1
           Waits before closing the socket (3.7+ closes it first); never
           joins the calling thread (3.7+ raises ``RuntimeError``).
        """
        self._stop_loop_nowait()
        deadline = deadline_after(self.block_on_close_timeout)
        self._join_handler_threads(deadline)
        next_server_close(self, ThreadingMixIn)
        # A request the loop was handling when it was asked to stop may have
        # started one more thread.
        self._join_handler_threads(deadline)
        with self._threads_lock:
            self._reap_finished()

    def _join_handler_threads(self, deadline):
        if self.block_on_close:
            join_threads(self._running_handler_threads, deadline)

    def _running_handler_threads(self):
        current = threading.current_thread()
        with self._threads_lock:
            # A thread not started yet belongs to a request the loop is
            # still dispatching; the second pass waits for it.
            return [t for t in self._threads
                    if t is not current and t.is_alive()]


def _waitpid(pid, options):
    """``os.waitpid()``, resumed after EINTR (Python 2; 3.5+ does it itself)."""
    while True:
        try:
            return os.waitpid(pid, options)
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise


if HAS_FORK:
    class ForkingMixIn(LoopMixIn, stdlib.ForkingMixIn):
        """Mix-in class to handle each request in a new process.

        Class variables that may be overridden: ``max_children`` (40), the
        most child processes alive at once, enforced *before* each fork;
        ``block_on_close`` (``True``): :meth:`server_close` waits for the
        children, for at most ``block_on_close_timeout`` seconds (``None``:
        no limit).  Finished children are reaped after each request and
        while the loop is idle (:meth:`service_actions`).  While
        ``max_children`` children are alive, the loop waits for one of them
        to exit before it forks again (as Python 2.7 did), and a
        :meth:`shutdown` called meanwhile returns once that wait is over.

        .. versionchanged:: 0.1
           ``max_children`` is enforced before each fork again (3.x forks
           first and reaps after); ``block_on_close`` on every version
           (bpo-31151, 3.7); children reaped while idle on 2.7 too.
        """

        timeout = 300
        active_children = None
        max_children = 40
        block_on_close = True
        #: .. versionadded:: 0.1
        block_on_close_timeout = None

        def collect_children(self, blocking=False):
            """Reap finished children; wait while ``max_children`` are alive.

            With *blocking*, wait for every child to exit.
            """
            if self.active_children is None:
                return
            # Above the limit, wait for any child: waitpid(-1) reaps one per
            # call (the stdlib does the same; it may reap a child the
            # application forked itself, which is why only here).
            while len(self.active_children) >= self.max_children:
                try:
                    pid, _ = _waitpid(-1, 0)
                except OSError as exc:
                    if exc.errno != errno.ECHILD:
                        raise
                    self.active_children.clear()
                    break
                self.active_children.discard(pid)
            options = 0 if blocking else os.WNOHANG
            for pid in list(self.active_children):
                try:
                    done, _ = _waitpid(pid, options)
                except OSError as exc:
                    if exc.errno != errno.ECHILD:
                        raise
                    done = pid  # someone else reaped it
                if done:
                    self.active_children.discard(pid)

        def handle_timeout(self):
            """Wait for zombies after self.timeout seconds of inactivity."""
            self.collect_children()

        def service_actions(self):
            """Collect the zombie child processes regularly."""
            self.collect_children()

        def process_request(self, request, client_address):
            """Fork a new subprocess to process the request."""
            if self.active_children is None:
                self.active_children = set()
            self.collect_children()
            pid, interrupted = _fork()
            if pid:
                # Parent process
                self.active_children.add(pid)
                self.close_request(request)
                interrupted()
                return
            # Child process.  This must never return, hence os._exit().
            status = 1
            try:
                self.finish_request(request, client_address)
                status = 0
            except Exception:
                self.handle_error(request, client_address)
            finally:
                try:
                    self.shutdown_request(request)
                finally:
                    os._exit(status)

        def server_close(self):
            """Close the server, then wait for the children.

            With :attr:`block_on_close`, waits for every child for at most
            :attr:`block_on_close_timeout` seconds.
            """
            next_server_close(self, ForkingMixIn)
            if not self.block_on_close or not self.active_children:
                return
            timeout = self.block_on_close_timeout
            if timeout is None:
                self.collect_children(blocking=True)
                return
            deadline = monotonic() + timeout
            delay = 0.0005
            while True:
                self.collect_children()
                left = deadline - monotonic()
                if not self.active_children or left <= 0:
                    return
                delay = min(delay * 2, left, 0.05)
                time.sleep(delay)


def _no_interruption():
    pass


def _fork():
    """``os.fork()``; returns ``(pid, interrupted)``.

    Since 3.7 ``os.fork()`` runs the ``os.register_at_fork`` hooks (logging
    has one), and a ``KeyboardInterrupt`` raised inside one is printed as
    "Exception ignored" and dropped: a Ctrl-C that lands there is lost.  In
    the main thread, the only one that runs Python signal handlers, a SIGINT
    handler that is Python code is held for the fork; the parent calls
    *interrupted()* once it has recorded the child, to run the handler then
    (raising ``KeyboardInterrupt`` for the default one).  The child restores
    the handler and leaves a Ctrl-C caught during the fork to its parent.
    When the fork fails, the handler runs before the error propagates.
    """
    if not _FORK_HOOKS or threading.current_thread() is not threading.main_thread():
        return os.fork(), _no_interruption
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler):
        return os.fork(), _no_interruption
    caught = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        pid = os.fork()
    except BaseException:
        signal.signal(signal.SIGINT, handler)
        if caught:  # the fork failed (EAGAIN, ENOMEM): the Ctrl-C is not lost with it
            handler(signal.SIGINT, caught[0])
        raise
    signal.signal(signal.SIGINT, handler)
    if not (pid and caught):
        return pid, _no_interruption
    return pid, lambda: handler(signal.SIGINT, caught[0])


_FORK_HOOKS = hasattr(os, "register_at_fork")  # 3.7+


def _combine(name, mixin, server, doc):
    """Build ``name`` from compatserver's *mixin* and *server*.

    The stdlib's class of the same name is a base too when it exists, so
    ``isinstance(server, socketserver.ThreadingTCPServer)`` holds.
    """
    bases = (mixin, server)
    std = getattr(stdlib, name, None)
    if std is not None:
        bases += (std,)
    return type(name, bases, {"__doc__": doc, "__module__": __name__})


ThreadingTCPServer = _combine(
    "ThreadingTCPServer", ThreadingMixIn, TCPServer,
    "TCP server that handles each request in a new thread.")
ThreadingUDPServer = _combine(
    "ThreadingUDPServer", ThreadingMixIn, UDPServer,
    "UDP server that handles each datagram in a new thread.")
if HAS_FORK:
    ForkingTCPServer = _combine(
        "ForkingTCPServer", ForkingMixIn, TCPServer,
        "TCP server that handles each request in a new process.")
    ForkingUDPServer = _combine(
        "ForkingUDPServer", ForkingMixIn, UDPServer,
        "UDP server that handles each datagram in a new process.")
if HAS_UNIX:
    ThreadingUnixStreamServer = _combine(
        "ThreadingUnixStreamServer", ThreadingMixIn, UnixStreamServer,
        "Unix stream server that handles each request in a new thread.")
    ThreadingUnixDatagramServer = _combine(
        "ThreadingUnixDatagramServer", ThreadingMixIn, UnixDatagramServer,
        "Unix datagram server that handles each datagram in a new thread.")
if HAS_FORK and HAS_UNIX:
    ForkingUnixStreamServer = _combine(
        "ForkingUnixStreamServer", ForkingMixIn, UnixStreamServer,
        "Unix stream server that handles each request in a new process.\n\n"
        ".. versionadded:: 0.1\n"
        "   On every version with ``os.fork`` and ``AF_UNIX``; the stdlib "
        "has it since 3.12 (gh-103673).")
    ForkingUnixDatagramServer = _combine(
        "ForkingUnixDatagramServer", ForkingMixIn, UnixDatagramServer,
        "Unix datagram server that handles each datagram in a new process.\n\n"
        ".. versionadded:: 0.1\n"
        "   On every version with ``os.fork`` and ``AF_UNIX``; the stdlib "
        "has it since 3.12 (gh-103673).")
