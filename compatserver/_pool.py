"""A pool of worker threads for socketserver servers.

Why a pool
----------
``ThreadingMixIn`` starts a thread for every request.  With a client that opens
one connection per request, starting that thread is most of the cost of the
request: measured on this project's machine with a sequential client, the
stdlib ``ThreadingTCPServer`` reaches about half the throughput of a plain
accept loop (0.49x on 2.7, 0.61x on 3.7, 0.51x on 3.13).  ``ThreadPoolMixIn``
keeps a bounded set of worker threads alive instead.

Leader/follower
---------------
A pool that accepts in one thread and hands each request to a worker puts a
second thread wake-up (and a GIL transfer) on every request's critical path,
measured at about 20-25 us a request.  So the workers accept for
themselves.  One worker at a time, the *leader*, waits in
``poll()`` on the listening socket and on the loop's wake-up pipe (the
self-pipe of :mod:`compatserver._wait` that :meth:`shutdown` writes to).  When
a connection comes, it accepts it, passes the lead on, and handles the
request itself: the request never changes threads, and the next leader's
wake-up happens while the request is being handled.  The lead goes to the
first of:

- an idle worker (a *follower*).  Followers wait on a stack, the most
  recently idle first (its stack and caches are warm), each blocked on its
  own *wakeup* lock: the leader releases it.  A ``Condition`` would
  allocate a lock and run a dozen lines of Python per wait;
- a worker closing its last connection (``shutdown_request()`` marks it):
  it takes the lead when it is done, in a moment, without any wake-up.  A
  sequential client is served by two threads taking turns;
- a new worker, up to ``pool_size`` (workers start lazily);
- with ``pool_size`` workers busy, the :meth:`serve_forever` loop.

Only one thread ever waits on the listening socket, so a connection wakes one
thread, never a herd.  The thread that runs :meth:`serve_forever` never
handles a request: while a worker leads it waits on the wake-up pipe alone
(for :meth:`shutdown`, for the lead coming back, and ``poll_interval`` for
:meth:`service_actions`), so :meth:`shutdown` makes it return at once
whatever the handlers do, and it runs signal handlers as any loop does.

Backpressure
------------
When every worker is busy the loop holds the lead: it accepts and queues the
requests, as many as ``queue_size``, and gives each to a worker as one
becomes free (a worker that finishes takes the next queued request before
anything else).  With ``queue_size`` requests queued it blocks in
:meth:`process_request` until a worker takes one, and accepts nothing
meanwhile: the burst waits in the kernel's listen backlog
(``request_queue_size``) and then in the clients' SYN retries, which costs no
memory and no descriptors in this process.  A worker that finds the queue
empty again goes back to the stack and wakes the loop, which hands it the
lead.  :meth:`shutdown` releases a blocked loop at once: the request it
holds, and any it accepts before it notices the shutdown (usually none, a
few at most), are queued beyond the bound rather than dropped: an accepted
request is always served.  :meth:`process_request` called outside a leader
(:meth:`handle_request`, an override's own thread) takes the same path.

A worker leaves the pool when the server is closed and the queue is empty,
or when a handler raises an exception that is not an :exc:`Exception`
(``SystemExit``, ``KeyboardInterrupt``: the thread ends as a
``ThreadingMixIn`` thread would; a replacement takes over the queue, and the
loop the lead).

Every wait but the loop's is untimed: followers block in ``Lock.acquire()``,
the leader in ``poll()``, and the loop, when the queue is full, in
``Condition.wait()``.  On Python 2 a timed lock wait is a sleep-and-poll
loop (up to 50 ms between polls) that would add that latency to wake-ups.
The price, on Python 2 only: a loop running in the main thread and blocked
on a full queue runs signal handlers once a worker frees a slot; Python 3
runs them during the wait.
"""
import collections
import multiprocessing
import socket
import threading

from ._compat import HAS_UNIX, monotonic
from ._servers import TCPServer, UDPServer
from ._wait import POLLNVAL, READ_EVENTS, Poller, wait_for

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
    - ``queue_size`` (64): the most accepted requests waiting for a worker
      while all ``pool_size`` are busy.  When it is reached, the
      :meth:`serve_forever` loop waits for a free slot and the kernel's
      listen backlog (``request_queue_size``) absorbs the rest.
    - ``daemon_threads`` (``False``): workers are daemon threads, so the
      interpreter does not wait for them at exit.
    - ``block_on_close`` (``True``): :meth:`server_close` waits until the
      queued and running requests are done and every worker has ended,
      except the calling thread.  When false it returns at once and the
      workers finish the queue in the background, then end.
    - ``block_on_close_timeout`` (``None``, no limit): the longest
      :meth:`server_close` waits, in seconds; the workers it stops waiting
      for still finish the queue in the background.

    The workers take turns to accept (leader/follower, see the module's
    documentation); the :meth:`serve_forever` thread accepts only while
    every worker is busy, and never handles a request.

    The same error semantics as ``ThreadingMixIn``: an ``Exception`` from
    the handler goes to ``handle_error()`` and the worker goes on;
    ``SystemExit`` and ``KeyboardInterrupt`` end that worker thread (another
    one takes its place).  Either way the request is shut down, once.  An
    ``Exception`` from ``verify_request()`` goes to ``handle_error()`` too,
    and the request is shut down.

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
        # run, whether shutdown() has released a blocked accept loop, how
        # many threads wait in process_request() for a free slot; and while
        # a loop runs: who holds the lead (see _pool_pass_lead), the loop's
        # wake-up pipe, the leaders' poller, and whether a worker is inside
        # the wait on the listening socket.
        self._pool_lock = lock = threading.Lock()
        self._pool_not_full = threading.Condition(lock)
        self._pool_left_wait = threading.Condition(lock)
        self._pool_queue = collections.deque()
        self._pool_idle = []
        self._pool_workers = set()
        self._pool_started = 0
        self._pool_accept_waiting = 0
        self._pool_closing = False
        self._pool_released = False
        self._pool_leader = None
        self._pool_wakeup = None
        self._pool_poller = None
        self._pool_polling = False
        super(ThreadPoolMixIn, self).__init__(*args, **kwargs)

    # Methods for the caller.

    def shutdown(self):
        """Stop the :meth:`serve_forever` loop and wait until it has stopped.

        The worker leading waits on the listening socket and on the loop's
        wake-up pipe, so it stops accepting at once too.  The loop is woken
        even while it waits for a free queue slot; the request it holds then
        joins the queue beyond ``queue_size`` rather than being dropped (so
        do any it accepts before it notices the shutdown).  Queued and
        running requests are not abandoned: the workers go on with them
        until :meth:`server_close`.  ``shutdown()`` does not wait for the
        handlers.

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

        The worker threads alive, how many of them wait for a request (the
        followers, and the leader while it waits on the listening socket),
        the requests waiting for a worker, and how many workers were started
        since the server was created.  For monitoring and tests.
        """
        with self._pool_lock:
            return {
                "workers": len(self._pool_workers),
                "idle": len(self._pool_idle) + self._pool_polling,
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

        In a worker, it first marks the worker as about to be free: a
        request accepted while the connection closes is then led and
        handled by this worker rather than by a new thread.

        May be extended, do not override.
        """
        current = threading.current_thread()
        if isinstance(current, _Worker) and current.server is self:
            current.finishing = True
        super(ThreadPoolMixIn, self).shutdown_request(request)

    def process_request(self, request, client_address):
        """Handle the request in a worker thread.

        Called by the worker that accepted the request (the leader), it
        passes the lead on to another worker, then handles the request
        itself (:meth:`process_request_thread`).  Called by any other thread
        (the :meth:`serve_forever` loop while every worker is busy,
        :meth:`handle_request`), it gives the request to a worker, or queues
        it, and waits while ``queue_size`` requests are queued.

        May be extended, do not override.
        """
        current = threading.current_thread()
        if self._pool_leader is current:
            with self._pool_lock:
                leading = self._pool_leader is current
                if leading:
                    self._pool_pass_lead(current)
            if leading:
                current.handling = True
                self.process_request_thread(request, client_address)
                return
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

    def _serve_until_stopped(self, wakeup, poll_interval):
        # The serve_forever() loop.  It accepts only while it holds the lead
        # (no worker is free to), and otherwise waits on its wake-up pipe
        # alone: for shutdown(), for a worker handing the lead back, and for
        # poll_interval (service_actions()).
        wake_fd = wakeup.read_fd
        accepting = Poller()
        accepting.register(self.fileno(), READ_EVENTS)
        accepting.register(wake_fd, READ_EVENTS)
        waiting = Poller()
        waiting.register(wake_fd, READ_EVENTS)
        leaders = Poller()
        leaders.register(self.fileno(), READ_EVENTS)
        leaders.register(wake_fd, READ_EVENTS)
        lock = self._pool_lock
        with lock:
            self._pool_released = False
            self._pool_wakeup = wakeup
            self._pool_poller = leaders
            self._pool_leader = _LOOP
            self._pool_promote()
        try:
            while not self._loop_stop:
                poller = accepting if self._pool_leader is _LOOP else waiting
                ready = wait_for(poller, poll_interval)
                # bpo-35017: shutdown() during the wait: no more requests.
                if self._loop_stop:
                    break
                incoming = False
                for fd, events in ready:
                    if fd == wake_fd:
                        # A worker handed the lead back or became idle.
                        # Drained under the lock, before the lead is passed
                        # on: a leader must never find a byte left over.
                        with lock:
                            wakeup.drain()
                            self._pool_promote()
                    elif events & POLLNVAL:
                        return
                    else:
                        incoming = True
                # The lead may have just gone to a worker: then that worker
                # accepts the connection, not both of us.
                if incoming and self._pool_leader is _LOOP:
                    self._handle_request_noblock()
                self.service_actions()
        finally:
            with lock:
                self._pool_leader = None
                if self._pool_polling:
                    # The byte of shutdown() may have been drained above.
                    wakeup.wake()
                    while self._pool_polling:
                        self._pool_left_wait.wait()
                self._pool_wakeup = None
                self._pool_poller = None

    def _pool_promote(self):
        # Called with the lock held.  The loop holds the lead: give it to an
        # idle worker, which accepts the next request and handles it itself.
        if self._pool_leader is _LOOP and self._pool_idle and not self._pool_queue:
            worker = self._pool_idle.pop()
            self._pool_leader = worker
            worker.item = _LEAD
            worker.wakeup.release()

    def _pool_pass_lead(self, worker):
        # Called with the lock held by the leader that has just accepted a
        # request, before it handles it.  The lead goes to the first of: an
        # idle worker (woken; its wake-up is off the request's critical
        # path); a worker closing its last connection (_PENDING: it takes the
        # lead when it is done, without a wake-up); a new worker; or, with
        # pool_size workers busy, the serve_forever() loop, which queues
        # what it accepts.  (The leader's own mark is stale, from a request
        # it rejected: it is not about to be free, it is about to handle.)
        worker.finishing = False
        if self._loop_stop:
            self._pool_leader = _LOOP
        elif self._pool_idle:
            follower = self._pool_idle.pop()
            self._pool_leader = follower
            follower.item = _LEAD
            follower.wakeup.release()
        elif any(w.finishing for w in self._pool_workers if w is not worker):
            self._pool_leader = _PENDING
        elif len(self._pool_workers) < self.pool_size:
            try:
                self._pool_leader = self._pool_start_worker(_LEAD)
            except BaseException:
                self._pool_lead_to_loop()
                raise
        else:
            self._pool_lead_to_loop()

    def _pool_lead_to_loop(self):
        # Called with the lock held.  The loop accepts from now on, until it
        # finds an idle worker to give the lead to.
        self._pool_leader = _LOOP
        if self._pool_wakeup is not None:
            self._pool_wakeup.wake()

    def _pool_lead(self, worker):
        # Lead until the lead is passed on: wait on the listening socket and
        # on the loop's wake-up pipe, accept, pass the lead on (in
        # process_request()), handle the request.  An override of
        # process_request() that does not call ours keeps the lead.
        lock = self._pool_lock
        while True:
            with lock:
                if self._pool_leader is not worker:
                    return
                if self._loop_stop:
                    self._pool_leader = _LOOP
                    return
                poller = self._pool_poller
                self._pool_polling = True
            try:
                ready = wait_for(poller, None)
            finally:
                with lock:
                    self._pool_polling = False
                    if self._pool_leader is not worker:
                        # The loop is ending and waits for us.
                        self._pool_left_wait.notify_all()
            if not ready:
                continue
            wake_fd = self._pool_wakeup_fd(ready)
            if wake_fd is not None:
                with lock:
                    if self._pool_leader is worker:
                        # shutdown(), or the listening socket closed (the
                        # loop, woken, then finds POLLNVAL itself).
                        if wake_fd is _CLOSED:
                            self._pool_lead_to_loop()
                        else:
                            self._pool_leader = _LOOP
                return
            self._handle_request_noblock()

    def _pool_wakeup_fd(self, ready):
        # Anything but the listening socket being readable ends the lead.
        wakeup = self._pool_wakeup
        for fd, events in ready:
            if events & POLLNVAL:
                return _CLOSED
            if wakeup is None or fd == wakeup.read_fd:
                return fd
        return None

    def _handle_request_noblock(self):
        """Handle one request, without blocking.

        As in :class:`BaseServer`, except that an exception raised by
        ``verify_request()`` goes to ``handle_error()`` too, and that a
        request is shut down once: a worker that has begun to handle it
        (in :meth:`process_request_thread`) shuts it down itself.
        """
        try:
            request, client_address = self.get_request()
        except socket.error:
            return
        current = threading.current_thread()
        worker = current if self._pool_leader is current else None
        if worker is not None:
            worker.handling = False
        try:
            if self.verify_request(request, client_address):
                self.process_request(request, client_address)
            else:
                self.shutdown_request(request)
        except Exception:
            self.handle_error(request, client_address)
            if worker is None or not worker.handling:
                self.shutdown_request(request)
        except:  # noqa: E722 - SystemExit, KeyboardInterrupt: clean up, re-raise
            if worker is None or not worker.handling:
                self.shutdown_request(request)
            raise
        finally:
            if worker is not None:
                worker.handling = False

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
        return worker

    def _pool_work(self, worker):
        lock = self._pool_lock
        queue = self._pool_queue
        idle = self._pool_idle
        item, worker.item = worker.item, None
        try:
            while item is not None:
                if item is _LEAD:
                    self._pool_lead(worker)
                else:
                    self.process_request_thread(*item)
                item = None
                with lock:
                    worker.finishing = False
                    if queue:
                        item = queue.popleft()
                        if self._pool_accept_waiting:
                            self._pool_not_full.notify()
                        if self._pool_leader is _PENDING:
                            self._pool_lead_to_loop()
                        continue
                    if self._pool_closing:
                        return
                    if self._pool_leader is _PENDING:
                        self._pool_leader = worker
                        item = _LEAD
                        continue
                    idle.append(worker)
                    if self._pool_leader is _LOOP and self._pool_wakeup is not None:
                        # The loop gives the lead to an idle worker.
                        self._pool_wakeup.wake()
                worker.wakeup.acquire()
                item, worker.item = worker.item, None
        finally:
            with lock:
                worker.finishing = False
                self._pool_workers.discard(worker)
                if self._pool_leader is worker or self._pool_leader is _PENDING:
                    # Ended by SystemExit or KeyboardInterrupt while it led,
                    # or while the lead waited for it.
                    self._pool_lead_to_loop()
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


#: Who may hold the lead besides a worker: the serve_forever() loop, or "the
#: next worker that finishes its request".
_LOOP = "the serve_forever() loop"
_PENDING = "the next worker to finish"
#: A worker's item that makes it the leader.
_LEAD = "lead"
#: _pool_wakeup_fd(): the listening socket is closed.
_CLOSED = "closed"


class _Worker(threading.Thread):
    """One pool thread, with its wakeup lock (held while it is idle), its
    slot for the next request, whether it is closing its last connection,
    and whether it handles the request it accepted."""

    def __init__(self, server, item, name):
        threading.Thread.__init__(self, name=name)
        self.server = server
        self.item = item
        self.finishing = False
        self.handling = False
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
