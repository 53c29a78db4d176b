"""A pool of worker threads for socketserver servers.

Why a pool
----------
``ThreadingMixIn`` starts a thread for every request.  With a client that opens
one connection per request, starting that thread is most of the cost of the
request: measured on this project's machine with a sequential client, the
stdlib ``ThreadingTCPServer`` reaches about half the throughput of a plain
accept loop (0.49x on 2.7, 0.61x on 3.7, 0.51x on 3.13).  ``ThreadPoolMixIn``
keeps a bounded set of worker threads alive instead and hands them accepted
requests through a bounded queue.

How the pieces wait
-------------------
The hand-off is on every request's critical path, so it is kept to one lock
release.  Each worker owns a *wakeup* lock that it holds while it has nothing
to do, and idle workers wait on a stack (the most recently idle first: its
stack and caches are warm).  The accept loop pops an idle worker, puts the
request in its slot and releases its lock; the worker, blocked acquiring that
lock, wakes up with the request.  A ``Condition`` would allocate a lock and
run a dozen lines of Python per wait.  A worker that finishes a request takes
the next one from the queue before it goes back to the stack, so a queued
request never waits while a worker is idle.

Workers start lazily: a request that finds no idle worker starts a new one,
up to ``pool_size``, unless a worker is closing its previous connection
(``shutdown_request()`` marks it): that one takes the request from the queue
in a moment, for less than a thread start.  A server that never sees two
requests at once keeps one thread.  A worker leaves the pool when the server
is closed and the queue is empty, or when a handler raises an exception that
is not an :exc:`Exception` (``SystemExit``, ``KeyboardInterrupt``: the thread
ends as a ``ThreadingMixIn`` thread would, and a replacement takes over the
queue).

Backpressure: when ``queue_size`` requests are already waiting, the accept
loop blocks in :meth:`process_request` until a worker takes one.  It accepts
nothing meanwhile, so the burst waits in the kernel's listen backlog
(``request_queue_size``) and then in the clients' SYN retries, which costs no
memory and no descriptors in this process.  :meth:`shutdown` releases a
blocked accept loop at once: the request it holds, and any the loop accepts
before it notices the shutdown (usually none, a few at most), are queued
beyond the bound rather than dropped: an accepted request is always served.

Every wait is untimed: workers block in ``Lock.acquire()``, and the accept
loop, when the queue is full, in ``Condition.wait()``.  On Python 2 a timed
wait is a sleep-and-poll loop (up to 50 ms between polls) that would add that
latency to wake-ups.  The price, on Python 2 only: an accept loop running in
the main thread and blocked on a full queue runs signal handlers once a
worker frees a slot; Python 3 runs them during the wait.
"""
import collections
import multiprocessing
import threading

from ._compat import HAS_UNIX, monotonic
from ._servers import TCPServer, UDPServer

if HAS_UNIX:
    from ._servers import UnixDatagramServer, UnixStreamServer

__all__ = ["ThreadPoolMixIn", "ThreadPoolTCPServer", "ThreadPoolUDPServer"]
if HAS_UNIX:
    __all__ += ["ThreadPoolUnixStreamServer", "ThreadPoolUnixDatagramServer"]


def _default_pool_size():
    # The default of concurrent.futures.ThreadPoolExecutor since Python 3.8
    # (bpo-35982): at least five threads for I/O-bound handlers, at most 32
    # so that a many-core machine does not start hundreds of threads.
    try:
        cpus = multiprocessing.cpu_count()
    except NotImplementedError:
        cpus = 1
    return min(32, cpus + 4)


class ThreadPoolMixIn(object):
    """Mix-in class to handle each request in one of a pool of threads.

    Put it before the server class, as with ``ThreadingMixIn``::

        class ThreadPoolTCPServer(ThreadPoolMixIn, TCPServer): pass

    Class variables that may be overridden (on the class, or on an instance
    before the first request):

    - ``pool_size``: the most worker threads alive at once.  Default: the
      number of CPUs plus four, at most 32 (the default of
      ``concurrent.futures.ThreadPoolExecutor`` since Python 3.8).  A
      handler that waits for a slow client, or a keep-alive connection,
      holds a worker the whole time: give handlers a ``timeout``, and size
      the pool for the connections you serve at once.
    - ``queue_size`` (64): the most accepted requests waiting for a worker.
      When it is reached, the accept loop waits for a free slot and the
      kernel's listen backlog (``request_queue_size``) absorbs the rest.
    - ``daemon_threads`` (``False``): workers are daemon threads, so the
      interpreter does not wait for them at exit.
    - ``block_on_close`` (``True``): :meth:`server_close` waits until the
      queued and running requests are done and every worker has ended,
      except the calling thread.  When false it returns at once and the
      workers finish the queue in the background, then end.
    - ``block_on_close_timeout`` (``None``, no limit): the longest
      :meth:`server_close` waits, in seconds; the workers it stops waiting
      for still finish the queue in the background.

    The same error semantics as ``ThreadingMixIn``: an ``Exception`` from
    the handler goes to ``handle_error()`` and the worker goes on;
    ``SystemExit`` and ``KeyboardInterrupt`` end that worker thread (another
    one takes its place).  Either way the request is shut down.

    .. versionadded:: 0.1
       New in compatserver; the stdlib has no pooled server.
    """

    pool_size = _default_pool_size()
    queue_size = 64
    daemon_threads = False
    block_on_close = True
    block_on_close_timeout = None

    def __init__(self, *args, **kwargs):
        # All guarded by _pool_lock: requests waiting for a worker, the idle
        # workers (a stack), every live worker, whether server_close() has
        # run, whether shutdown() has released a blocked accept loop, and
        # how many threads wait in process_request() for a free slot.
        self._pool_lock = lock = threading.Lock()
        self._pool_not_full = threading.Condition(lock)
        self._pool_queue = collections.deque()
        self._pool_idle = []
        self._pool_workers = set()
        self._pool_started = 0
        self._pool_accept_waiting = 0
        self._pool_closing = False
        self._pool_released = False
        super(ThreadPoolMixIn, self).__init__(*args, **kwargs)

    # Methods for the caller.

    def serve_forever(self, *args, **kwargs):
        """Handle requests until :meth:`shutdown`, as in ``BaseServer``.

        May be extended, do not override.
        """
        with self._pool_lock:
            self._pool_released = False
        return super(ThreadPoolMixIn, self).serve_forever(*args, **kwargs)

    def shutdown(self):
        """Stop the :meth:`serve_forever` loop and wait until it has stopped.

        The loop is woken even while it waits for a free queue slot; the
        request it holds then joins the queue beyond ``queue_size`` rather
        than being dropped (so do any it accepts before it notices the
        shutdown).  Queued and running requests are not abandoned: the
        workers go on with them until :meth:`server_close`.

        May be extended, do not override.
        """
        with self._pool_lock:
            self._pool_released = True
            self._pool_not_full.notify_all()
        super(ThreadPoolMixIn, self).shutdown()

    def server_close(self):
        """Close the server, then stop the workers.

        The workers first handle every request still queued.  With
        ``block_on_close`` this waits until they have ended (for at most
        ``block_on_close_timeout`` seconds), except the calling thread, so a
        handler may call it.

        May be extended, do not override.
        """
        super(ThreadPoolMixIn, self).server_close()
        with self._pool_lock:
            self._pool_closing = True
            self._pool_not_full.notify_all()
            idle, self._pool_idle[:] = self._pool_idle[:], []
            for worker in idle:
                worker.item = None
                worker.wakeup.release()
        if not self.block_on_close:
            return
        timeout = self.block_on_close_timeout
        deadline = None if timeout is None else monotonic() + timeout
        current = threading.current_thread()
        while True:
            # Again until none is left: a worker ended by SystemExit starts
            # a replacement when requests are still queued.
            with self._pool_lock:
                threads = [w for w in self._pool_workers if w is not current]
            if not threads:
                return
            for thread in threads:
                if deadline is None:
                    thread.join()
                else:
                    left = deadline - monotonic()
                    if left <= 0:
                        return
                    thread.join(left)

    def pool_stats(self):
        """Return a dict: ``workers``, ``idle``, ``queued``, ``started``.

        The worker threads alive, how many of them wait for a request, the
        requests waiting for a worker, and how many workers were started
        since the server was created.  For monitoring and tests.
        """
        with self._pool_lock:
            return {
                "workers": len(self._pool_workers),
                "idle": len(self._pool_idle),
                "queued": len(self._pool_queue),
                "started": self._pool_started,
            }

    # Methods that may be overridden.

    def process_request_thread(self, request, client_address):
        """Same as in BaseServer, but in a worker thread.

        In addition, exception handling is done here: ``Exception`` goes to
        ``handle_error()``; ``SystemExit`` and ``KeyboardInterrupt`` end the
        worker.  The request is shut down in every case.
        """
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    # May be extended, do not override.

    def shutdown_request(self, request):
        """Called to shutdown and close an individual request.

        In a worker, it first marks the worker as about to be free, so that
        a request arriving while the connection closes waits for this worker
        instead of starting another thread.

        May be extended, do not override.
        """
        current = threading.current_thread()
        if isinstance(current, _Worker) and current.server is self:
            current.finishing = True
        super(ThreadPoolMixIn, self).shutdown_request(request)

    def process_request(self, request, client_address):
        """Give the request to a worker; wait while the queue is full.

        May be extended, do not override.
        """
        item = (request, client_address)
        with self._pool_lock:
            while True:
                if self._pool_idle:
                    worker = self._pool_idle.pop()
                    worker.item = item
                    worker.wakeup.release()
                    return
                if self._pool_closing:
                    # server_close() ran while the loop was accepting.  The
                    # workers still alive drain the queue before they end;
                    # with none left nobody would ever serve it.
                    if not self._pool_workers:
                        break
                    self._pool_queue.append(item)
                    return
                if (len(self._pool_workers) < self.pool_size
                        and len(self._pool_queue) >= self._pool_finishing()):
                    self._pool_start_worker(item)
                    return
                if (len(self._pool_queue) < self.queue_size
                        or self._pool_released):
                    self._pool_queue.append(item)
                    return
                self._pool_accept_waiting += 1
                try:
                    self._pool_not_full.wait()
                finally:
                    self._pool_accept_waiting -= 1
        self.shutdown_request(request)

    # Internals.

    def _pool_finishing(self):
        # Called with the lock held, only when no worker is idle.  A worker
        # closing its last connection takes the next queued request at once:
        # its client sees the connection close a moment before the worker is
        # back, and a sequential client under load would otherwise start a
        # new thread on each such race, up to pool_size.
        return sum(1 for w in self._pool_workers if w.finishing)

    def _pool_start_worker(self, item):
        # Called with the lock held.
        self._pool_started += 1
        worker = _Worker(
            self, item, "%s-worker-%d" % (type(self).__name__, self._pool_started))
        worker.daemon = self.daemon_threads
        self._pool_workers.add(worker)
        try:
            worker.start()
        except BaseException:
            self._pool_workers.discard(worker)
            raise

    def _pool_work(self, worker):
        lock = self._pool_lock
        queue = self._pool_queue
        idle = self._pool_idle
        item, worker.item = worker.item, None
        try:
            while item is not None:
                self.process_request_thread(*item)
                item = None
                with lock:
                    worker.finishing = False
                    if queue:
                        item = queue.popleft()
                        if self._pool_accept_waiting:
                            self._pool_not_full.notify()
                        continue
                    if self._pool_closing:
                        return
                    idle.append(worker)
                worker.wakeup.acquire()
                item, worker.item = worker.item, None
        finally:
            with lock:
                worker.finishing = False
                self._pool_workers.discard(worker)
                # Ended by SystemExit or KeyboardInterrupt from a handler:
                # what is queued must not wait for the next request.  (Idle
                # workers exist only while the queue is empty.)
                if queue:
                    # Dequeued only once the thread has started: if it
                    # cannot start, the request stays queued, not lost.
                    self._pool_start_worker(queue[0])
                    queue.popleft()
                    if self._pool_accept_waiting:
                        self._pool_not_full.notify()


class _Worker(threading.Thread):
    """One pool thread, with its wakeup lock (held while it is idle), its
    slot for the next request, and whether it is closing its last one."""

    def __init__(self, server, item, name):
        threading.Thread.__init__(self, name=name)
        self.server = server
        self.item = item
        self.finishing = False
        self.wakeup = threading.Lock()
        self.wakeup.acquire()

    def run(self):
        self.server._pool_work(self)


class ThreadPoolTCPServer(ThreadPoolMixIn, TCPServer):
    """TCP server that handles each request in one of a pool of threads.

    ``request_queue_size`` is 128 rather than ``TCPServer``'s 5: when the
    queue is full the kernel's listen backlog holds the burst, and a
    backlog of 5 would make the clients beyond it wait for SYN retries
    (one second, then three).

    .. versionadded:: 0.1
    """

    request_queue_size = 128


class ThreadPoolUDPServer(ThreadPoolMixIn, UDPServer):
    """UDP server that handles each datagram in one of a pool of threads.

    .. versionadded:: 0.1
    """


if HAS_UNIX:
    class ThreadPoolUnixStreamServer(ThreadPoolMixIn, UnixStreamServer):
        """Unix stream server that handles each request in one of a pool of
        threads.  ``request_queue_size`` is 128, as for
        :class:`ThreadPoolTCPServer`.

        .. versionadded:: 0.1
        """

        request_queue_size = 128

    class ThreadPoolUnixDatagramServer(ThreadPoolMixIn, UnixDatagramServer):
        """Unix datagram server that handles each datagram in one of a pool
        of threads.

        .. versionadded:: 0.1
        """
