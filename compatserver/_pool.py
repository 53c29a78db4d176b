"""A pool of worker threads for socketserver servers.

Why a pool
----------
``ThreadingMixIn`` starts a thread for every request.  With a client that opens
one connection per request, starting that thread is most of the cost of the
request: measured on this project's machine with a sequential client, the
stdlib ``ThreadingTCPServer`` reaches about half the throughput of a plain
accept loop (0.49x on 2.7, 0.61x on 3.7, 0.51x on 3.13).  ``ThreadPoolMixIn``
keeps a bounded set of worker threads alive instead.

Workers accept for themselves
-----------------------------
A pool that accepts in one thread and hands each request to a worker puts a
second thread wake-up (and a GIL transfer) on every request's critical path,
measured at about 20-25 us a request; so does a *leader/follower* pool, where
one worker waits on the socket and wakes the next one when it accepts (this
module's previous design, 0.82-0.89x a raw accept loop).  So every idle worker
waits in a blocking ``accept()`` (``get_request()``) on the listening socket
itself, while :meth:`serve_forever` runs.  The kernel wakes one of them for
each connection (Linux exactly one: a wait in ``accept()`` is exclusive,
unlike one in ``poll()``), and that worker handles the request itself: a
request never changes threads, nothing is handed over, and an idle worker
costs nothing until a connection comes.  When the last worker waiting in
``accept()`` takes a connection, it starts a new one (workers start lazily, up
to ``pool_size``), so a sequential client is served by two threads taking
turns.  Measured with ``benchmarks/bench_server.py``'s sequential client: 0.86
to 1.00x a raw accept loop on the nine interpreters, 1.65 to 2.00x the stdlib
``ThreadingTCPServer``.

The thread that runs :meth:`serve_forever` never handles a request.  It waits
on the loop's wake-up pipe (the self-pipe of :mod:`compatserver._wait` that
:meth:`shutdown` writes to), ``poll_interval`` at a time for
:meth:`service_actions`, so :meth:`shutdown` makes it return at once whatever
the handlers do, and it runs signal handlers as any loop does.  A blocked
``accept()`` is not woken by the pipe, nor on Linux by closing the socket, so
when the loop ends (and in :meth:`server_close`) each worker still waiting
in ``accept()`` gets a *wake-up connection* (a datagram for a datagram
server): made from a socket of ours to the server's own address, recognised
by its client address, and closed unseen by the handler and by
``verify_request()``.  The accept queue is first in, first out, so a
connection that was already waiting is accepted (and served) before the
wake-up connection behind it; those that come after stay in the listen
backlog for the next :meth:`serve_forever`, as with any socketserver.
Where a wake-up connection cannot be made (an address this host cannot
reach), :meth:`server_close` shuts the listening socket down instead, which
wakes ``accept()`` on Linux; after :meth:`shutdown` such a worker serves the
next connection that comes, then parks.

Connections that do not talk
----------------------------
A worker that accepts a stream connection on which nothing has arrived
(within ``PARK_AFTER_MS``, 2 ms: a client's first bytes usually follow its
``connect()`` within a fraction of that) does not wait for it: it *parks* the
connection and goes back to ``accept()``.  The :meth:`serve_forever` loop
watches parked connections in its own poller, next to its wake-up pipe, and
gives one to a worker (as a queued request) once it is readable: it has sent
something, or hung up.  So silent clients (a slowloris, idle browsers' spare
connections) hold a descriptor each and no worker: a handful of them no
longer stops the server, as a pool of threads blocked in ``recv()`` would.
Three limits bound what they can hold: ``max_connections`` open at once
(beyond it a connection is closed as soon as it is accepted), ``idle_timeout``
for a parked connection (it is closed), and ``handler_timeout``, the socket
timeout given to a connection whose handler sets none, so that a client that
stops sending in the middle of a request ends it with :exc:`socket.timeout`.

What still holds a worker: a connection from its first byte until its handler
returns.  A handler that serves several messages on one connection (HTTP
keep-alive, a chat) holds its worker between messages too, up to
``handler_timeout`` of silence each time.  A client that trickles a byte
within every ``handler_timeout`` would hold it for as long as it keeps that
up, so a fourth limit bounds the whole time: ``request_timeout`` after a
worker took the connection, the :meth:`serve_forever` loop shuts the
connection down for reading.  The handler's next read (or the one it is
blocked in) then sees end of file, as if the client had closed, so it
returns in its own way; it can still write a reply.  Size ``pool_size`` for
the connections that talk at once.  A protocol where the server speaks first
sets ``client_speaks_first = False``: nothing is parked then.

Backpressure
------------
When every worker is busy, nobody waits in ``accept()``: the
:meth:`serve_forever` loop takes over, waits on the listening socket too,
accepts and queues the requests, as many as ``queue_size``, and gives each to
a worker as one becomes free (a worker that finishes takes the next queued
request before anything else).  With ``queue_size`` requests queued it blocks
in :meth:`process_request` until a worker takes one, and accepts nothing
meanwhile: the burst waits in the kernel's listen backlog
(``request_queue_size``) and then in the clients' SYN retries, which costs no
memory and no descriptors in this process.  A worker that finds the queue
empty again parks and wakes the loop, which sends it (and any other parked
worker) back to ``accept()`` and stops accepting itself.  :meth:`shutdown`
releases a blocked loop at once: the request it holds, and any it accepts
before it notices the shutdown (usually none, a few at most), are queued
beyond the bound rather than dropped: an accepted request is always served.
:meth:`process_request` called outside a worker (:meth:`handle_request`, an
override's own thread) takes the same path.

A worker leaves the pool when the server is closed and the queue is empty,
or when a handler raises an exception that is not an :exc:`Exception`
(``SystemExit``, ``KeyboardInterrupt``: the thread ends as a
``ThreadingMixIn`` thread would; a replacement takes over the queue, or the
wait in ``accept()``).

Parked workers block in ``Lock.acquire()`` and the loop, when the queue is
full, in ``Condition.wait()``, both untimed: on Python 2 a timed lock wait is
a sleep-and-poll loop (up to 50 ms between polls) that would add that latency
to wake-ups.  The price, on Python 2 only: a loop running in the main thread
and blocked on a full queue runs signal handlers once a worker frees a slot;
Python 3 runs them during the wait.  On Python 2 a signal that interrupts a
worker's ``accept()`` makes it accept again (Python 3 retries by itself,
PEP 475).
"""
import collections
import errno
import itertools
import multiprocessing
import os
import shutil
import socket
import sys
import tempfile
import threading

from ._compat import HAS_UNIX, monotonic
from ._loop import (
    LoopMixIn, PerInstance, deadline_after, join_threads, process_request_thread)
from ._servers import TCPServer, UDPServer
from ._wait import READ_EVENTS, Poller, readable

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


class ThreadPoolMixIn(LoopMixIn):
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

    For stream servers, limits that keep clients that do not talk from
    taking the workers (see "Connections that do not talk" in the module's
    documentation):

    - ``max_connections`` (1000): the most connections open at once, parked
      or served.  A connection beyond it is closed as soon as it is
      accepted, and counted as ``refused`` in :meth:`pool_stats`.
    - ``idle_timeout`` (60 s): how long an accepted connection may wait
      without sending anything before it is closed (counted as
      ``timed_out``); ``None``: no limit.
    - ``client_speaks_first`` (``True``): the protocol has the client send
      first (HTTP, most request/response protocols), so a connection waits
      for its first byte in the loop's poller, without a worker.  Set it to
      false for protocols where the server speaks first (an SMTP or FTP
      banner, a chat server's greeting): each connection then takes a
      worker as soon as it is accepted, and ``idle_timeout`` does not apply.
    - ``handler_timeout`` (30 s): the socket timeout of a connection whose
      handler class sets no ``timeout`` of its own (the stdlib's default is
      none): a client that stops sending for that long ends its request
      with :exc:`socket.timeout` instead of holding a worker for ever.
      ``None``: no default.
    - ``request_timeout`` (300 s): the longest a connection may hold a
      worker, from the moment a worker takes it, however the client
      behaves (one that trickles a byte a second never reaches
      ``handler_timeout``).  Past it the :meth:`serve_forever` loop shuts
      the connection down for reading: the handler's reads see end of
      file, as if the client had closed, and the handler ends in its own
      way (it can still write).  Counted as ``timed_out`` and logged as one
      client-error line.  A long conversation (a chat, a stream of events)
      sets it to ``None``, or higher; it is checked every
      ``poll_interval``, and only while :meth:`serve_forever` runs.

    Idle workers wait in ``accept()`` themselves and handle what they
    accept (see the module's documentation); the :meth:`serve_forever`
    thread accepts only while every worker is busy, and never handles a
    request.

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
    max_connections = 1000
    client_speaks_first = True
    idle_timeout = 60.0
    handler_timeout = 30.0
    request_timeout = 300.0
    PARK_AFTER_MS = 2

    # Everything the pool knows, guarded by its lock: made on first use, so
    # a subclass that calls the stdlib's TCPServer.__init__ by name works.
    _pool = PerInstance("_pool", lambda server: _PoolState(server.socket_type == socket.SOCK_STREAM))

    # Methods for the caller.

    def shutdown(self):
        """Stop the :meth:`serve_forever` loop and wait until it has stopped.

        The workers waiting in ``accept()`` get a wake-up connection each,
        so they stop accepting at once too.  The loop is woken even while
        it waits for a free queue slot; the request it holds then joins the
        queue beyond ``queue_size`` rather than being dropped (so do any it
        accepts before it notices the shutdown).  Queued and running
        requests are not abandoned: the workers go on with them until
        :meth:`server_close`.  ``shutdown()`` does not wait for the
        handlers.

        May be extended, do not override.
        """
        with self._pool.lock:
            self._pool.released = True
            self._pool.not_full.notify_all()
        super(ThreadPoolMixIn, self).shutdown()

    def server_close(self):
        """Close the server, then stop the workers.

        The workers first handle every request still queued, and those of
        the parked connections whose request has come (readable now):
        nothing a client sent before the close is dropped unanswered.
        Parked connections that are still silent are closed.  With
        ``block_on_close`` this waits until the workers have ended (for at
        most ``block_on_close_timeout`` seconds), except the calling thread,
        so a handler may call it.

        May be extended, do not override.
        """
        with self._pool.lock:
            self._pool.closing = True
            self._pool.not_full.notify_all()
            parked = list(self._pool.parked.values()) + self._pool.parking
            self._pool.parked.clear()
            del self._pool.parking[:]
            self._pool.deadlines.clear()
        # A connection parked a moment ago may have sent its request since,
        # with no loop left to notice: it is served like a queued one (by an
        # idle worker, or queued for the busy ones, before they are told to
        # stop below).
        silent = []
        for request, client_address in parked:
            if not readable(request):
                silent.append(request)
                continue
            try:
                self._pool_submit(request, client_address)
            except Exception:  # a worker that cannot start: as the loop does
                self.handle_error(request, client_address)
                self.shutdown_request(request)
        with self._pool.lock:
            pills, failed = self._pool_make_pills()
            idle, self._pool.idle[:] = self._pool.idle[:], []
            for worker in idle:
                worker.item = None
                worker.wakeup.release()
        # Before the socket closes: closing it does not wake a blocked
        # accept() on Linux.  Where a wake-up connection cannot be made,
        # shutting the socket down does (on Linux).
        if self._pool_send_pills(pills) + failed and self._pool.stream:
            try:
                self.socket.shutdown(socket.SHUT_RDWR)
            except (socket.error, ValueError):
                pass
        for request in silent:
            self.shutdown_request(request)
        try:
            super(ThreadPoolMixIn, self).server_close()
            if self.block_on_close:
                self._pool_join()
        finally:
            with self._pool.lock:
                pills = list(self._pool.pills.values())
                self._pool.pills.clear()
            for pill in pills:
                pill.close()

    def pool_stats(self):
        """Return a dict of counts, for monitoring and tests.

        ``workers``: the worker threads alive; ``idle``: how many of them
        wait for a request (in ``accept()``, or parked while no
        :meth:`serve_forever` loop runs); ``queued``: the requests waiting
        for a worker; ``started``: the workers started since the server was
        created.  For stream servers: ``parked``, the connections accepted
        that have not sent anything yet; ``open``, the connections open
        (parked, queued or served); ``refused``, those closed at once
        because ``max_connections`` were open; ``timed_out``, those closed
        after ``idle_timeout`` seconds without a byte, or shut down for
        reading after holding a worker for ``request_timeout`` seconds; ``client_errors``,
        the requests that ended on a client's error (a line too long,
        undecodable text, a disconnect, ``handler_timeout``,
        ``request_timeout``), each logged as one line (see ``handle_error()``).

        How the idle workers wait: ``accepting``, in ``accept()`` on the
        listening socket; ``waiting``, parked until there is work (while no
        loop runs, or the queue has work for them); ``loop_accepting``,
        whether the :meth:`serve_forever` loop accepts itself because every
        worker is busy; ``wakeups_pending``, wake-up connections sent to
        workers in ``accept()`` and not taken yet.
        """
        with self._pool.lock:
            return self._pool.stats()

    # Methods that may be overridden.

    process_request_thread = process_request_thread

    # May be extended, do not override.

    def shutdown_request(self, request):
        """Called to shutdown and close an individual request.

        In a worker, it first marks the worker as about to be free: a
        request queued while the connection closes then waits for this
        worker rather than starting a new thread.

        May be extended, do not override.
        """
        pool = self._pool
        counted_open = pool.stream  # until pool.open no longer counts it
        current = threading.current_thread()
        if isinstance(current, _Worker) and current.server is self:
            current.state = FINISHING
            if current.handling is not None:
                # Before the socket closes: the loop shuts down only the
                # connections still marked, under the lock.  (Only a stream
                # connection is marked: it is no longer counted open either.)
                with pool.lock:
                    current.handling = None
                    pool.open -= 1
                counted_open = False
        try:
            super(ThreadPoolMixIn, self).shutdown_request(request)
        finally:
            if counted_open:
                with pool.lock:
                    pool.open -= 1

    def _client_error(self, client_address, reason, exc):
        with self._pool.lock:
            self._pool.client_errors += 1
        super(ThreadPoolMixIn, self)._client_error(client_address, reason, exc)

    def finish_request(self, request, client_address):
        """Finish one request by instantiating ``RequestHandlerClass``.

        Gives the connection the socket timeout ``handler_timeout`` first
        when the handler class sets none.

        May be extended, do not override.
        """
        if (self._pool.stream and self.handler_timeout is not None
                and getattr(self.RequestHandlerClass, "timeout", None) is None):
            request.settimeout(self.handler_timeout)
        super(ThreadPoolMixIn, self).finish_request(request, client_address)

    def process_request(self, request, client_address):
        """Handle the request in a worker thread.

        Called by the worker that accepted the request, it handles it there
        and then (:meth:`process_request_thread`).  Called by any other
        thread (the :meth:`serve_forever` loop while every worker is busy,
        :meth:`handle_request`), it gives the request to a worker, or queues
        it, and waits while ``queue_size`` requests are queued.

        May be extended, do not override.
        """
        current = threading.current_thread()
        if (isinstance(current, _Worker) and current.server is self
                and current.state is DISPATCHING):
            if self._pool_park(request, client_address):
                return
            self._pool_handle(current, request, client_address)
            return
        if current is self._loop_thread and self._pool_park(request, client_address):
            return
        self._pool_submit(request, client_address)

    # Internals.

    def _pool_submit(self, request, client_address):
        # From a thread that is not a worker (the loop, handle_request(), a
        # parked connection that became readable): give the request to a
        # parked worker, start one, or queue it, and wait while queue_size
        # requests are queued.
        item = (request, client_address)
        pill = None
        cut = []
        with self._pool.lock:
            while True:
                if self._pool.idle:
                    worker = self._pool.idle.pop()
                    worker.item = item
                    worker.wakeup.release()
                    break
                if self._pool.closing:
                    # server_close() runs (or ran while the loop was
                    # accepting).  The workers still alive drain the queue
                    # before they end; with none alive (the loop accepted
                    # every connection itself), one is started for it, and
                    # ends once the queue is empty.
                    if self._pool.workers:
                        self._pool.queue.append(item)
                    else:
                        self._pool_start_worker(item)
                    break
                if (len(self._pool.workers) < self.pool_size
                        and len(self._pool.queue) >= self._pool_finishing()):
                    self._pool_start_worker(item)
                    break
                if (len(self._pool.queue) < self.queue_size
                        or self._pool.released):
                    self._pool.queue.append(item)
                    # Every worker busy or waiting in accept() (a parked
                    # connection became readable): take one out of accept()
                    # with a wake-up connection, or the queue would wait for
                    # the next client to come.
                    if self._pool.acceptors > len(self._pool.pills):
                        made = self._pool_make_pills(1)[0]
                        pill = made[0] if made else None
                    break
                self._pool.accept_waiting += 1
                try:
                    if self._pool.next_cut is None:
                        self._pool.not_full.wait()
                    else:
                        # Workers held by clients that trickle: their
                        # request_timeout frees them, and this wait is the
                        # only place that can enforce it now.
                        self._pool.not_full.wait(max(0.0, self._pool.next_cut - monotonic()))
                        cut.extend(self._pool_cut_locked(monotonic()))
                finally:
                    self._pool.accept_waiting -= 1
        self._pool_log_cut(cut)
        if pill is not None:
            self._pool_send_pills([pill])

    # The serve_forever() loop (LoopMixIn's), through its hooks.  The
    # workers accept; the loop waits on its wake-up pipe (shutdown(), a
    # worker parking while the loop accepts) and poll_interval
    # (service_actions()), and on the listening socket too only while every
    # worker is busy.

    def _loop_started(self, wakeup):
        with self._pool.lock:
            # Connections parked under an earlier loop are watched again:
            # this loop's poller takes them in at its first wake-up (their
            # idle deadlines stand).  So are those a worker parked as that
            # loop stopped: their wake-up went to the old loop's pipe.
            if self._pool.parked:
                self._pool.parking.extend(self._pool.parked.values())
                self._pool.parked.clear()
            if self._pool.parking:
                wakeup.wake()
            self._pool.released = False
            self._pool.wakeup = wakeup
            self._pool.serving = True
            # Workers start lazily: with none, the loop accepts the first
            # request and starts one for it.  Workers still in accept() from
            # the last loop (their wake-up connections not taken yet) take
            # those and accept again; then the loop must not accept too.
            self._pool.loop_accepts = not self._pool.acceptors
            self._pool_back_to_accept()

    def _loop_accepts(self):
        return self._pool.loop_accepts

    def _loop_woken(self, wakeup):
        # Drained under the lock: a worker that parks after this writes a
        # new byte.  Connections parked since are watched from now on.
        with self._pool.lock:
            wakeup.drain()
            self._pool_back_to_accept()
            if self._pool.parking:
                now = monotonic()
                for request, client_address in self._pool.parking:
                    fd = request.fileno()
                    self._pool.parked[fd] = (request, client_address)
                    self._pool.deadlines.append((now, fd, request))
                    self._loop_poller.register(fd, READ_EVENTS)
                del self._pool.parking[:]

    def _loop_ready(self, fd, events):
        # A parked connection sent something (or hung up): it goes to a
        # worker now.
        with self._pool.lock:
            entry = self._pool.parked.pop(fd, None)
        self._loop_poller.unregister(fd)
        if entry is None:
            return
        request, client_address = entry
        try:
            self._pool_submit(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
            self.shutdown_request(request)

    def service_actions(self):
        """Close the connections parked for ``idle_timeout`` seconds.

        May be extended, do not override: call the base class's version.
        """
        if self._pool.deadlines:
            self._pool_expire(monotonic())
        cut_at = self._pool.next_cut
        if cut_at is not None and cut_at <= monotonic():
            self._pool_cut(monotonic())
        super(ThreadPoolMixIn, self).service_actions()

    def _pool_handle(self, worker, request, client_address):
        # In a worker: handle a request, marked with its request_timeout
        # deadline for the loop to enforce (stream connections only).
        worker.state = HANDLING
        timeout = self.request_timeout
        if timeout is not None and self._pool.stream:
            with self._pool.lock:
                deadline = monotonic() + timeout
                worker.handling = (request, client_address, deadline)
                if self._pool.next_cut is None or deadline < self._pool.next_cut:
                    self._pool.next_cut = deadline
                    # A thread already blocked on a full queue waits
                    # untimed while no deadline is pending: it waits again
                    # with this one.
                    if self._pool.accept_waiting:
                        self._pool.not_full.notify_all()
        self.process_request_thread(request, client_address)

    def _pool_cut(self, now):
        with self._pool.lock:
            cut = self._pool_cut_locked(now)
        self._pool_log_cut(cut)

    def _pool_cut_locked(self, now):
        # With the lock held (by the loop, or a thread waiting for room in
        # the queue): shut down for reading the connections that have held a
        # worker past request_timeout.  Under the lock, so that the socket
        # is still open: a worker unmarks its connection under the lock
        # before closing it (shutdown_request()).  shutdown() does not
        # block; it wakes a recv() blocked on the socket (Linux, BSD).
        # Returns the client addresses cut, to log without the lock.
        cut = []
        if self._pool.next_cut is None or self._pool.next_cut > now:
            return cut
        next_cut = None
        for worker in self._pool.workers:
            handling = worker.handling
            if handling is None:
                continue
            request, client_address, deadline = handling
            if deadline > now:
                if next_cut is None or deadline < next_cut:
                    next_cut = deadline
                continue
            worker.handling = None
            try:
                request.shutdown(socket.SHUT_RD)
            except (socket.error, ValueError):
                continue  # the client is gone already
            # Both counts in this lock section: pool_stats() (under the lock)
            # read by a client that saw its connection end includes them.
            self._pool.timed_out += 1
            self._pool.client_errors += 1
            cut.append(client_address)
        self._pool.next_cut = next_cut
        return cut

    def _pool_log_cut(self, cut):
        # Counted already, by _pool_cut_locked(): only the line is left.
        for client_address in cut:
            super(ThreadPoolMixIn, self)._client_error(
                client_address, "held a worker for request_timeout (%gs): "
                "shut down for reading" % self.request_timeout, None)

    def _pool_expire(self, now):
        # In the loop's thread.  Deadlines are in the order connections were
        # parked; an entry whose connection has left since is skipped.  With
        # no idle_timeout nothing expires, and nothing is kept to expire.
        timeout = self.idle_timeout
        expired = []
        with self._pool.lock:
            deadlines = self._pool.deadlines
            if timeout is None:
                deadlines.clear()
            while deadlines and deadlines[0][0] + timeout <= now:
                parked_at, fd, request = deadlines.popleft()
                entry = self._pool.parked.get(fd)
                if entry is not None and entry[0] is request:
                    del self._pool.parked[fd]
                    self._pool.timed_out += 1
                    expired.append((fd, request))
        for fd, request in expired:
            self._loop_poller.unregister(fd)
            self.shutdown_request(request)

    def _pool_park(self, request, client_address):
        # A stream connection that has sent nothing yet waits for its first
        # byte in the loop's poller, not in a worker.  Only while a loop
        # runs to watch it.  Returns whether it was parked.
        # A client's first bytes usually follow its connect() within a
        # fraction of a millisecond, after the worker was woken by the
        # connection itself: waiting that long keeps a well-behaved client
        # on the worker that accepted it (parking costs two thread hand-offs)
        # and costs a silent one at most PARK_AFTER_MS of a worker's time.
        if not (self._pool.stream and self._pool.serving and self.client_speaks_first) or (
                readable(request, self.PARK_AFTER_MS)):
            return False
        with self._pool.lock:
            if not self._pool.serving or self._pool.closing:
                return False
            self._pool.parking.append((request, client_address))
            self._pool.wakeup.wake()
        return True

    def _loop_ended(self):
        with self._pool.lock:
            self._pool.serving = False
            self._pool.loop_accepts = False
            self._pool.wakeup = None
            pills = self._pool_make_pills()[0]
        # A worker whose wake-up connection cannot be made or sent serves
        # the next connection that comes, then parks.
        self._pool_send_pills(pills)

    def _pool_back_to_accept(self):
        # Called with the lock held by the loop.  Parked workers go back to
        # accept(), and the loop stops accepting.  Only the loop does this,
        # between two of its own accepts, so the two never wait on the
        # listening socket for the same connection.
        # Not while accept() backs off for want of descriptors: the loop
        # tries again itself when the back-off ends.
        if self._pool.idle and not self._pool.queue and (
                self._pool.loop_accepts or self._pool.acceptors) and (
                self._accept_resume_at is None):
            idle, self._pool.idle[:] = self._pool.idle[:], []
            for worker in idle:
                self._pool.acceptors += 1
                worker.item = _ACCEPT
                worker.wakeup.release()
            self._pool.loop_accepts = False

    def _pool_check_acceptors(self):
        # Called with the lock held whenever a worker leaves accept() or
        # takes a queued request instead of going back there.
        if (self._pool.serving and not self._pool.closing
                and not self._pool.acceptors and not self._pool.loop_accepts):
            self._pool_need_acceptor()

    def _pool_need_acceptor(self):
        # Called with the lock held while the loop runs, when no worker is
        # left in accept(): a worker closing its connection goes back there
        # in a moment (a sequential client's next connection often comes
        # first); otherwise start one, or, with pool_size workers busy, let
        # the loop accept.
        if self._pool_finishing():
            return
        if len(self._pool.workers) < self.pool_size:
            self._pool.acceptors += 1
            try:
                self._pool_start_worker(_ACCEPT)
            except BaseException:
                self._pool.acceptors -= 1
                self._pool.loop_accepts = True
                self._pool.wakeup.wake()
                raise
        else:
            self._pool.loop_accepts = True
            self._pool.wakeup.wake()

    def _pool_make_pills(self, most=None):
        # Called with the lock held once the workers must stop accepting: a
        # wake-up connection for each worker in accept() that has none
        # waiting for it yet (a worker that took a real connection instead
        # leaves its own to the next one that accepts).  They are bound and
        # known by their address here, and sent without the lock, by
        # _pool_send_pills().  Returns them and how many could not be made.
        pills = []
        failed = 0
        wanted = self._pool.acceptors - len(self._pool.pills)
        for _ in range(wanted if most is None else min(most, wanted)):
            try:
                pill = _Pill(self.socket)
            except (socket.error, ValueError):  # a closed socket: ValueError
                failed += 1
            else:
                self._pool.pills[pill.key] = pill
                pills.append(pill)
        return pills, failed

    def _pool_send_pills(self, pills):
        # Without the lock: the worker that accepts a wake-up connection
        # needs it.  Returns how many could not be sent.
        failed = 0
        for pill in pills:
            try:
                pill.send()
            except (socket.error, ValueError):
                with self._pool.lock:
                    self._pool.pills.pop(pill.key, None)
                pill.close()
                failed += 1
        return failed

    def _pool_accept(self, worker):
        # A worker waits in accept() until it takes a request, then handles
        # it.  It was counted in _pool_acceptors by whoever sent it here.
        lock = self._pool.lock
        counted = True
        try:
            while True:
                try:
                    request, client_address = self.get_request()
                except socket.error as exc:
                    # EINTR on Python 2, a connection reset before it was
                    # accepted, the socket closed: accept again while serving.
                    # Out of descriptors: leave accepting to the loop, which
                    # backs off (LoopMixIn._accept_failed()) instead of
                    # spinning, and park.
                    with lock:
                        serving = self._pool.serving and not self._pool.closing
                        if serving and not self._accept_failed(exc):
                            continue
                        counted = False
                        self._pool.acceptors -= 1
                        if serving:
                            self._pool.loop_accepts = True
                            self._pool.wakeup.wake()
                    return
                with lock:
                    counted = False
                    self._pool.acceptors -= 1
                    pill = None
                    if self._pool.pills:
                        pill = self._pool.pills.pop(_address_key(client_address), None)
                    if pill is None:
                        if not self._pool.acceptors:
                            self._pool_check_acceptors()
                    elif (self._pool.serving and not self._pool.closing
                            and not self._pool.queue):
                        # Accept again, unless the wake-up connection came
                        # to send us to the queue (see _pool_submit()).
                        counted = True
                        self._pool.acceptors += 1
                if pill is None:
                    break
                self._pool_drop_pill(pill, request)
                if not counted:
                    return
        finally:
            if counted:
                with lock:
                    self._pool.acceptors -= 1
                    self._pool_check_acceptors()
        worker.state = DISPATCHING
        self._pool_dispatch(request, client_address, worker)

    def _handle_request_noblock(self):
        """Handle one request, without blocking.

        As in :class:`BaseServer`, except that an exception raised by
        ``verify_request()`` goes to ``handle_error()`` too.
        """
        # The loop's wait said a connection was waiting; it may be gone by
        # now (taken by a worker the loop sent back to accept() meanwhile),
        # and the listening socket blocks: an accept() then would hold the
        # loop until the next client, deaf to shutdown().  Seen on 2.7 under
        # load (test_a_trickling_client_is_cut_at_request_timeout, about 1
        # run in 40): the loop in accept(), no worker accepting.  So ask
        # again, without waiting.
        if not _accept_ready(self.socket):
            return
        accepted = self._accept()
        if accepted is None:
            return
        request, client_address = accepted
        if self._pool.pills:
            # One left by a worker that took a real connection before it.
            with self._pool.lock:
                pill = self._pool.pills.pop(_address_key(client_address), None)
            if pill is not None:
                self._pool_drop_pill(pill, request)
                return
        self._pool_dispatch(request, client_address, None)

    def _pool_drop_pill(self, pill, request):
        # A wake-up connection accepted: close both ends, unseen.
        pill.close()
        if self._pool.stream:
            request.close()

    def _pool_dispatch(self, request, client_address, worker):
        # verify_request() and process_request(), shutting the request down
        # once: a worker that has begun to handle it (in
        # process_request_thread(): no longer DISPATCHING) shuts it down
        # itself.
        if self._pool.stream:
            with self._pool.lock:
                refused = self._pool.open >= self.max_connections
                if refused:
                    self._pool.refused += 1
                else:
                    self._pool.open += 1
            if refused:
                self.close_request(request)
                return
        try:
            if self.verify_request(request, client_address):
                self.process_request(request, client_address)
            else:
                self.shutdown_request(request)
        except Exception:
            self.handle_error(request, client_address)
            if worker is None or worker.state is DISPATCHING:
                self.shutdown_request(request)
        except:  # noqa: E722 - SystemExit, KeyboardInterrupt: clean up, re-raise
            if worker is None or worker.state is DISPATCHING:
                self.shutdown_request(request)
            raise

    def _pool_finishing(self):
        # Called with the lock held, only when no worker is idle.  A worker
        # closing its last connection takes the next queued request at once:
        # its client sees the connection close a moment before the worker is
        # back, and a sequential client under load would otherwise start a
        # new thread on each such race, up to pool_size.
        return sum(1 for w in self._pool.workers if w.state is FINISHING)

    def _pool_start_worker(self, item):
        # Called with the lock held.
        self._pool.started += 1
        worker = _Worker(
            self, item, "%s-worker-%d" % (type(self).__name__, self._pool.started))
        worker.daemon = self.daemon_threads
        self._pool.workers.add(worker)
        try:
            worker.start()
        except BaseException:
            self._pool.workers.discard(worker)
            raise
        return worker

    def _pool_join(self):
        # Until none is left: a worker ended by SystemExit starts a
        # replacement when requests are still queued.
        join_threads(self._pool_live_workers,
                     deadline_after(self.block_on_close_timeout))

    def _pool_live_workers(self):
        current = threading.current_thread()
        with self._pool.lock:
            return [w for w in self._pool.workers if w is not current]

    def _pool_work(self, worker):
        lock = self._pool.lock
        queue = self._pool.queue
        idle = self._pool.idle
        item, worker.item = worker.item, None
        try:
            while item is not None:
                if item is _ACCEPT:
                    worker.state = ACCEPTING
                    self._pool_accept(worker)
                else:
                    self._pool_handle(worker, *item)
                item = None
                with lock:
                    worker.state = BETWEEN
                    worker.handling = None
                    if queue:
                        item = queue.popleft()
                        if self._pool.accept_waiting:
                            self._pool.not_full.notify()
                        self._pool_check_acceptors()
                        continue
                    if self._pool.closing:
                        return
                    if self._pool.serving and not self._pool.loop_accepts:
                        self._pool.acceptors += 1
                        item = _ACCEPT
                        continue
                    worker.state = WAITING
                    idle.append(worker)
                    if self._pool.loop_accepts:
                        # The loop sends us back to accept() and stops
                        # accepting itself.
                        self._pool.wakeup.wake()
                worker.wakeup.acquire()
                item, worker.item = worker.item, None
        finally:
            with lock:
                worker.state = ENDED
                self._pool.workers.discard(worker)
                # Ended by SystemExit or KeyboardInterrupt from a handler:
                # what is queued must not wait for the next request.  (Idle
                # workers exist only while the queue is empty.)
                if queue:
                    # Dequeued only once the thread has started: if it
                    # cannot start, the request stays queued, not lost.
                    self._pool_start_worker(queue[0])
                    queue.popleft()
                    if self._pool.accept_waiting:
                        self._pool.not_full.notify()
                else:
                    self._pool_check_acceptors()


class _PoolState(object):
    """What a pool knows, all of it guarded by :attr:`lock`.

    The workers: every live one (``workers``), those with nothing to do,
    each blocked on its own lock (``idle``, a stack), and how many wait in
    ``accept()`` or are on their way there (``acceptors``).  The requests
    waiting for a worker (``queue``) and the threads waiting for room in it
    (``accept_waiting``, woken through ``not_full``).  The loop: whether one
    runs (``serving``), whether it accepts itself because every worker is
    busy (``loop_accepts``), its wake-up pipe (``wakeup``).  The wake-up
    connections sent to workers in ``accept()`` and not taken yet
    (``pills``, by client address).  Whether ``server_close()`` has run
    (``closing``) and ``shutdown()`` has released a loop blocked on a full
    queue (``released``).  Stream connections that have sent nothing yet:
    parked by a worker and not yet registered by the loop (``parking``),
    watched by the loop (``parked``, by descriptor), their parking times in
    order (``deadlines``).  The earliest ``request_timeout`` deadline of a
    connection a worker handles (``next_cut``; each worker holds its own in
    :attr:`_Worker.handling`).  And the counts that :meth:`stats` reports.

    ``stream`` (the server's ``socket_type`` is ``SOCK_STREAM``: parking,
    the connection limits and the deadlines apply) is read without the lock:
    it never changes.
    """

    def __init__(self, stream):
        self.stream = stream
        self.lock = threading.Lock()
        self.not_full = threading.Condition(self.lock)
        self.queue = collections.deque()
        self.accept_waiting = 0
        self.workers = set()
        self.idle = []
        self.acceptors = 0
        self.started = 0
        self.serving = False
        self.loop_accepts = False
        self.wakeup = None
        self.pills = {}
        self.closing = False
        self.released = False
        self.parking = []
        self.parked = {}
        self.deadlines = collections.deque()
        self.next_cut = None
        self.open = 0
        self.refused = 0
        self.timed_out = 0
        self.client_errors = 0

    def stats(self):
        """The counts of :meth:`ThreadPoolMixIn.pool_stats`; call with the lock held."""
        return {
            "workers": len(self.workers),
            "idle": len(self.idle) + self.acceptors,
            "queued": len(self.queue),
            "started": self.started,
            "parked": len(self.parking) + len(self.parked),
            "open": self.open,
            "refused": self.refused,
            "timed_out": self.timed_out,
            "client_errors": self.client_errors,
            "accepting": self.acceptors,
            "waiting": len(self.idle),
            "loop_accepting": self.loop_accepts,
            "wakeups_pending": len(self.pills),
        }


#: A worker's item that sends it to accept().
_ACCEPT = "accept"




def _accept_ready(sock):
    """Whether a connection (or datagram) waits on the listening *sock* now.

    True for a closed socket too: accept() then fails as it always did.
    """
    poller = Poller()
    try:
        poller.register(sock.fileno(), READ_EVENTS)
    except (socket.error, ValueError):  # closed: EBADF on 2.7, fd -1 on 3.x
        return True
    return bool(poller.poll(0))


def _address_key(address):
    # (host, port) of an IP address (IPv6 adds flow info and scope id);
    # a Unix socket's name as it is.
    if isinstance(address, tuple):
        return address[:2]
    return address


class _Pill(object):
    """A wake-up connection (a datagram for a datagram server) to *server_socket*.

    Its socket is bound to an address of its own when made, so that the
    worker that accepts it knows it by its client address (:attr:`key`)
    from the start; :meth:`send` connects without blocking (the handshake
    completes while the socket stays open) or sends an empty datagram.
    """

    _count = itertools.count()

    def __init__(self, server_socket):
        family, kind = server_socket.family, server_socket.type
        target = server_socket.getsockname()
        self.tmpdir = None
        self.sock = sock = socket.socket(family, kind)
        try:
            if family == getattr(socket, "AF_UNIX", None):
                name = "compatserver-wakeup-%d-%d" % (os.getpid(), next(self._count))
                if sys.platform.startswith("linux"):
                    sock.bind("\0" + name)  # the abstract namespace: no file
                else:
                    self.tmpdir = tempfile.mkdtemp(prefix="cs-")
                    sock.bind(os.path.join(self.tmpdir, name))
            else:
                host = target[0]
                if host in ("", "0.0.0.0"):
                    host = "127.0.0.1"
                elif host == "::":
                    host = "::1"
                target = (host,) + tuple(target[1:])
                sock.bind((host, 0))
            sock.setblocking(False)
            # Not sock.type: on 3.6 and below it has SOCK_NONBLOCK in it now.
            self.kind = kind
            self.target = target
            self.key = _address_key(sock.getsockname())
        except BaseException:
            self.close()
            raise

    def send(self):
        if self.kind == socket.SOCK_STREAM:
            err = self.sock.connect_ex(self.target)
            if err not in (0, errno.EINPROGRESS):
                raise socket.error(err, os.strerror(err))
        else:
            self.sock.sendto(b"", self.target)

    def close(self):
        self.sock.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


# A worker's states, each changed by the worker itself (FINISHING by
# shutdown_request() in its thread), read by others under the pool's lock:
STARTING = "starting"        # started, not yet at its first item
ACCEPTING = "accepting"      # in accept() on the listening socket
DISPATCHING = "dispatching"  # took a connection: verify_request(), process_request()
HANDLING = "handling"        # in process_request_thread(): the handler runs
FINISHING = "finishing"      # closing its connection; back in a moment
BETWEEN = "between"          # looking for its next item, under the lock
WAITING = "waiting"          # parked on its lock until given an item
ENDED = "ended"


class _Worker(threading.Thread):
    """One pool thread: its :data:`state`, the server it works for, its
    next item (a request, or :data:`_ACCEPT`), the connection it handles
    with its deadline, and the lock it waits on while WAITING (held,
    released by whoever gives it an item)."""

    def __init__(self, server, item, name):
        threading.Thread.__init__(self, name=name)
        self.server = server
        self.item = item
        self.state = STARTING
        # (request, client_address, request_timeout deadline) while it
        # handles a stream connection; set and cleared under the pool's lock.
        self.handling = None
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
