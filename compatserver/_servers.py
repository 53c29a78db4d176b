"""Server classes and the threading / forking mix-ins.

Every class subclasses its stdlib counterpart (``isinstance`` checks against
``socketserver`` classes keep working) and mixes in ``object``, so that on
Python 2.7 the classes are new-style and ``super()`` and properties work.
Only what differs between interpreters is overridden.
"""
import errno
import os
import socket
import sys
import threading
import time
import traceback

from ._compat import HAS_FORK, HAS_REUSEPORT, HAS_UNIX, monotonic, stdlib
from ._wait import POLLNVAL, READ_EVENTS, Poller, WakeupPipe, wait_for

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


# Guards the creation of the per-server locks (see BaseServer._get_loop_lock).
_LAZY_INIT_LOCK = threading.Lock()

# The stdlib mix-ins' own server_close() (3.7+) joins every handler thread
# without a timeout and raises RuntimeError when called from a handler thread
# (it joins the current thread); ForkingMixIn's waits for every child without
# a timeout.  compatserver's mix-ins replace them, so the chain of
# server_close() calls steps over them.
_REPLACED_SERVER_CLOSE = (stdlib.ThreadingMixIn,) + (
    (stdlib.ForkingMixIn,) if HAS_FORK else ())


def _next_server_close(server, cls):
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


class BaseServer(stdlib.BaseServer, object):
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

    # Loop state, guarded by the server's loop lock: the thread running
    # serve_forever() (None when no loop runs), its self-pipe, the stop flag,
    # the event that tells shutdown() the loop has ended, and the idents of
    # the threads that may be on their way into serve_forever() when
    # shutdown() found no loop running (see shutdown()).  Class defaults, set
    # on the instance when first changed: no __init__ of ours has to run, so
    # subclasses that call a stdlib __init__ directly work too.
    _loop_lock = None
    _loop_thread = None
    _loop_wakeup = None
    _loop_stop = False
    _loop_done = None
    _loop_pending_stop = frozenset()

    def _get_loop_lock(self):
        lock = self._loop_lock
        if lock is None:
            with _LAZY_INIT_LOCK:
                lock = vars(self).get("_loop_lock")
                if lock is None:
                    # Reentrant: a signal handler that calls shutdown() may
                    # run in the loop's thread while it holds the lock.
                    lock = self._loop_lock = threading.RLock()
        return lock

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

        .. versionchanged:: 0.1
           Woken by :meth:`shutdown` instead of polling a flag
           (gh-88932 / bpo-44769: up to *poll_interval* of latency in every
           stdlib version); waits with ``poll()`` so that descriptors above
           1023 work on Python 2.7; resumes an interrupted wait with the
           remaining time on Python 2.7 (bpo-7978); calls
           :meth:`service_actions` on Python 2.7 too.
        """
        with self._get_loop_lock():
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
        try:
            self._serve_until_stopped(wakeup, poll_interval)
        finally:
            with self._get_loop_lock():
                self._loop_thread = None
                self._loop_wakeup = None
                self._loop_stop = False
                wakeup.close()
            done.set()

    def _serve_until_stopped(self, wakeup, poll_interval):
        """The loop of :meth:`serve_forever`, once the loop state is set up.

        Waits on the listening socket and on *wakeup*, the loop's
        :class:`~compatserver._wait.WakeupPipe`, until :meth:`shutdown` sets
        the stop flag.  A mix-in that serves in other threads (the thread
        pool) replaces it and keeps the state handling of serve_forever().
        """
        wake_fd = wakeup.read_fd
        poller = Poller()
        poller.register(self.fileno(), READ_EVENTS)
        poller.register(wake_fd, READ_EVENTS)
        while not self._loop_stop:
            ready = wait_for(poller, poll_interval)
            # bpo-35017: shutdown() during the wait: no more requests.
            if self._loop_stop:
                break
            incoming = False
            for fd, events in ready:
                if fd == wake_fd:
                    wakeup.drain()
                elif events & POLLNVAL:
                    # The listening socket was closed behind our back: there
                    # is nothing left to serve (the stdlib loop spins at 100%
                    # CPU here).
                    return
                else:
                    incoming = True
            if incoming:
                self._handle_request_noblock()
            self.service_actions()

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
        with self._get_loop_lock():
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

    def service_actions(self):
        """Called by the :meth:`serve_forever` loop after every wait.

        May be overridden by a subclass or mix-in to perform any action
        specific to that server, such as reaping child processes.

        .. versionadded:: 0.1
           On Python 2.7, whose stdlib has no such hook (Python 3.3+ has).
        """

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

    def _handle_request_noblock(self):
        """Handle one request, without blocking.

        Only ``Exception`` goes to :meth:`handle_error`; ``SystemExit`` and
        ``KeyboardInterrupt`` close the request and propagate, as on Python 3
        (bpo-23430; Python 2.7 swallowed them).
        """
        try:
            request, client_address = self.get_request()
        except socket.error:
            return
        if self.verify_request(request, client_address):
            try:
                self.process_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
                self.shutdown_request(request)
            except:  # noqa: E722 - SystemExit, KeyboardInterrupt: clean up, re-raise
                self.shutdown_request(request)
                raise
        else:
            self.shutdown_request(request)

    def handle_error(self, request, client_address):
        """Handle an error gracefully.  May be overridden.

        The default prints the traceback on ``sys.stderr``, between two lines
        of 40 dashes, after the line ``Exception occurred during processing
        of request from <client_address>``, and continues.

        .. versionchanged:: 0.1
           The same wording on ``sys.stderr`` on every version; Python 2.7
           printed it on ``sys.stdout``.
        """
        stream = sys.stderr
        stream.write("-" * 40 + "\n")
        stream.write("Exception occurred during processing of request from %s\n"
                     % (client_address,))
        traceback.print_exc(file=stream)
        stream.write("-" * 40 + "\n")
        stream.flush()

    def server_close(self):
        """Clean up the server.  May be overridden.

        Also asks a running :meth:`serve_forever` loop to stop (without
        waiting for it), so that it does not spin on a closed socket.

        .. versionchanged:: 0.1
           Stops a running loop (the stdlib's keeps spinning on the closed
           socket, or dies with EBADF on Python 2.7).
        """
        self._stop_loop_nowait()
        _next_server_close(self, BaseServer)

    def _stop_loop_nowait(self):
        """Ask a running loop to stop; do not wait for it."""
        with self._get_loop_lock():
            if self._loop_thread is not None:
                self._loop_stop = True
                self._loop_wakeup.wake()

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


def _join_deadline(timeout):
    return None if timeout is None else monotonic() + timeout


def _remaining(deadline):
    return None if deadline is None else max(0.0, deadline - monotonic())


class ThreadingMixIn(stdlib.ThreadingMixIn, object):
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
    _threads_lock = None

    def _get_threads_lock(self):
        lock = self._threads_lock
        if lock is None:
            with _LAZY_INIT_LOCK:
                lock = vars(self).get("_threads_lock")
                if lock is None:
                    self._threads = set()
                    self._finished = []
                    lock = self._threads_lock = threading.Lock()
        return lock

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

    def process_request_thread(self, request, client_address):
        """Same as in BaseServer but as a thread.

        In addition, exception handling is done here: ``Exception`` goes to
        :meth:`handle_error`; ``SystemExit`` and ``KeyboardInterrupt`` end
        the thread as on Python 3 (Python 2.7 passed them to
        ``handle_error``).
        """
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

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
        lock = self._threads_lock or self._get_threads_lock()
        with lock:
            self._threads.add(thread)
            if self._finished:
                self._reap_finished()
        try:
            thread.start()
        except BaseException:
            with lock:
                self._threads.discard(thread)
            raise

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
        deadline = _join_deadline(self.block_on_close_timeout)
        self._join_handler_threads(deadline)
        _next_server_close(self, ThreadingMixIn)
        # A request the loop was handling when it was asked to stop may have
        # started one more thread.
        self._join_handler_threads(deadline)
        if self._threads_lock is not None:
            with self._threads_lock:
                self._reap_finished()

    def _join_handler_threads(self, deadline):
        if not self.block_on_close or self._threads_lock is None:
            return
        current = threading.current_thread()
        with self._threads_lock:
            # A thread not started yet (ident None) belongs to a request
            # the loop is still dispatching; the second pass waits for it.
            threads = [t for t in self._threads
                       if t is not current and t.ident is not None]
        for thread in threads:
            thread.join(_remaining(deadline))


def _waitpid(pid, options):
    """``os.waitpid()``, resumed after EINTR (Python 2; 3.5+ does it itself)."""
    while True:
        try:
            return os.waitpid(pid, options)
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise


if HAS_FORK:
    class ForkingMixIn(stdlib.ForkingMixIn, object):
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
            pid = os.fork()
            if pid:
                # Parent process
                self.active_children.add(pid)
                self.close_request(request)
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
            _next_server_close(self, ForkingMixIn)
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
