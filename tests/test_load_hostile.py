"""The pool under clients that do not talk: parked, bounded, timed out.

Six connections that send nothing used to take all six workers of a
``ThreadPoolTCPServer``; a well-behaved seventh client got no reply.  Now a
connection waits for its first byte in the loop's poller, without a worker,
and the limits ``max_connections``, ``idle_timeout``, ``handler_timeout`` and
``request_timeout`` bound what silent, slow or trickling clients can hold.  Everything is read through
``pool_stats()``.
"""
import logging
import socket
import threading
import time

from conftest_load import HELD_REPLY, HOST, Command, connect, server_class
from conftest_serve import TIMEOUT, run_in_thread, serving, start, wait_until


def echo(address, payload=b"echo hi\n"):
    sock = connect(address)
    try:
        sock.sendall(payload)
        return sock.makefile("rb").readline()
    finally:
        sock.close()


def closed_by_server(sock, timeout=TIMEOUT):
    """True once the server has closed *sock* (EOF or reset) within *timeout*."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except socket.error:
        return True


def open_silent(server, count, into):
    """Open *count* connections that send nothing (into the list *into*), parked."""
    for _ in range(count):
        into.append(connect(server.server_address))
    wait_until(lambda: server.pool_stats()["parked"] == count, what="%d parked" % count)


def test_hundreds_of_silent_connections_hold_no_worker(baseline):
    cls = server_class("pool", pool_size=4, request_queue_size=512)
    silent = []
    with serving(cls((HOST, 0), Command), poll_interval=0.1) as server:
        try:
            open_silent(server, 300, silent)
            started = time.time()
            assert echo(server.server_address) == b"echo: echo hi\n"
            took = time.time() - started
            wait_until(lambda: server.pool_stats()["open"] == 300, what="the echo's closed")
            stats = server.pool_stats()
            assert stats["workers"] <= 4
            assert (stats["parked"], stats["open"], stats["refused"]) == (300, 300, 0)
            # Served at once, not after a worker came free (none would).
            assert took < 2.0, took
            # A silent client that speaks at last is served too.
            silent[0].sendall(b"echo late\n")
            silent[0].settimeout(TIMEOUT)
            assert silent[0].makefile("rb").readline() == b"echo: echo late\n"
        finally:
            for sock in silent:
                sock.close()
        wait_until(lambda: server.pool_stats()["open"] == 0, what="every connection closed")


def test_connections_beyond_max_connections_are_refused_and_counted(baseline):
    cls = server_class("pool", pool_size=2, max_connections=5)
    silent = []
    with serving(cls((HOST, 0), Command), poll_interval=0.1) as server:
        try:
            open_silent(server, 5, silent)
            extra = connect(server.server_address)
            silent.append(extra)
            assert closed_by_server(extra)
            stats = server.pool_stats()
            assert (stats["refused"], stats["open"], stats["parked"]) == (1, 5, 5)
            assert server.accepted == 5  # the refused one never reached process_request()
            # Room again once a connection goes.
            silent[0].close()
            wait_until(lambda: server.pool_stats()["open"] == 4, what="one closed")
            assert echo(server.server_address) == b"echo: echo hi\n"
        finally:
            for sock in silent:
                sock.close()


def test_a_parked_connection_is_closed_at_its_idle_timeout(baseline):
    cls = server_class("pool", pool_size=2, idle_timeout=0.3)
    with serving(cls((HOST, 0), Command), poll_interval=0.05) as server:
        sock = connect(server.server_address)
        try:
            wait_until(lambda: server.pool_stats()["parked"] == 1, what="parked")
            started = time.time()
            assert closed_by_server(sock)
            waited = time.time() - started
        finally:
            sock.close()
        assert 0.1 <= waited < TIMEOUT
        wait_until(lambda: server.pool_stats()["open"] == 0, what="closed")
        stats = server.pool_stats()
        assert (stats["timed_out"], stats["parked"], stats["open"]) == (1, 0, 0)
        assert echo(server.server_address) == b"echo: echo hi\n"


class Untimed(Command):
    """Command without a timeout of its own: the pool's handler_timeout applies."""

    timeout = None


def test_a_client_that_stops_mid_request_frees_its_worker_at_handler_timeout(baseline):
    cls = server_class("pool", pool_size=1, handler_timeout=0.3)
    with serving(cls((HOST, 0), Untimed), poll_interval=0.05) as server:
        sock = connect(server.server_address)
        try:
            sock.sendall(b"echo no end of line")
            assert closed_by_server(sock)
        finally:
            sock.close()
        assert [type(e) for e in server.errors] == [socket.timeout]
        assert server.pool_stats()["client_errors"] == 0  # handle_error() was overridden
        # The only worker is free again.
        assert echo(server.server_address) == b"echo: echo hi\n"


def test_a_handler_timeout_of_its_own_wins(baseline):
    class Patient(Command):
        timeout = 5.0

    cls = server_class("pool", pool_size=1, handler_timeout=0.05)
    with serving(cls((HOST, 0), Patient), poll_interval=0.05) as server:
        sock = connect(server.server_address)
        try:
            sock.sendall(b"echo slow")
            time.sleep(0.3)
            sock.sendall(b" but here\n")
            assert sock.makefile("rb").readline() == b"echo: echo slow but here\n"
        finally:
            sock.close()
        assert server.errors == []


def test_a_server_that_speaks_first_parks_nothing(baseline):
    class Greeter(Command):
        def handle(self):
            self.wfile.write(b"hello\n")
            Command.handle(self)

    cls = server_class("pool", pool_size=2, client_speaks_first=False)
    with serving(cls((HOST, 0), Greeter), poll_interval=0.05) as server:
        sock = connect(server.server_address)
        try:
            reader = sock.makefile("rb")
            assert reader.readline() == b"hello\n"
            assert server.pool_stats()["parked"] == 0
            sock.sendall(b"echo hi\n")
            assert reader.readline() == b"echo: echo hi\n"
        finally:
            sock.close()


def test_client_errors_are_counted(baseline):
    cls = server_class("pool", record_errors=False, pool_size=1, handler_timeout=0.2)
    with serving(cls((HOST, 0), Untimed), poll_interval=0.05) as server:
        for _ in range(3):
            sock = connect(server.server_address)
            try:
                sock.sendall(b"echo no end of line")
                assert closed_by_server(sock)
            finally:
                sock.close()
        wait_until(lambda: server.pool_stats()["client_errors"] == 3, what="three counted")
        assert echo(server.server_address) == b"echo: echo hi\n"


def served_by_the_next_loop(server, sock):
    """Once the loop has stopped: serve again; *sock*, still parked, is served."""
    server.test_thread.join(TIMEOUT)
    assert not server.test_thread.is_alive()
    start(server, poll_interval=0.05)
    assert server.pool_stats()["parked"] == 1
    sock.sendall(b"echo again\n")
    assert sock.makefile("rb").readline() == b"echo: echo again\n"


def test_connections_parked_when_the_loop_stops_are_served_by_the_next_loop(baseline):
    cls = server_class("pool", pool_size=2)
    server = cls((HOST, 0), Command)
    with serving(server, poll_interval=0.05):
        sock = connect(server.server_address)
        try:
            wait_until(lambda: server.pool_stats()["parked"] == 1, what="parked")
            server.shutdown()
            served_by_the_next_loop(server, sock)
        finally:
            sock.close()


def test_a_connection_parked_as_the_loop_stops_is_served_by_the_next_loop(baseline):
    # A worker parks a connection and wakes the loop, and the loop stops
    # before it takes the connection in (shutdown() came first): the next
    # loop must watch it all the same.  (Seen under load: the connection
    # was left waiting for a wake-up sent to the old loop, and its client
    # never got a reply.)  The loop is held in service_actions() from before
    # the connection comes until the park is done, then told to stop.
    entered = threading.Event()

    class StopsOnPark(server_class("pool", pool_size=2)):
        armed = False

        def service_actions(self):
            super(StopsOnPark, self).service_actions()
            if self.armed:
                self.armed = False
                entered.set()
                wait_until(lambda: self.pool_stats()["parked"] == 1, what="parked")
                self.shutdown()  # from the loop's thread: it stops at once

    server = StopsOnPark((HOST, 0), Command)
    with serving(server, poll_interval=0.05):
        # A worker in accept() first: the loop is held, it cannot accept.
        assert echo(server.server_address) == b"echo: echo hi\n"
        wait_until(lambda: server.pool_stats()["accepting"] >= 1, what="a worker in accept()")
        server.armed = True
        assert entered.wait(TIMEOUT)
        sock = connect(server.server_address)
        try:
            served_by_the_next_loop(server, sock)
        finally:
            sock.close()


def test_server_close_serves_the_parked_connections_that_spoke_and_closes_the_rest(baseline):
    # A client whose request came after its connection was parked, and
    # after the loop stopped: no loop notices it, server_close() does.  The
    # stdlib's ThreadingTCPServer serves every connection it accepted; so
    # does the pool.  (Seen under load: a client preempted between its
    # connect() and its send lost its reply at shutdown.)
    cls = server_class("pool", pool_size=2)
    server = cls((HOST, 0), Command)
    spoke, silent = connect(server.server_address), None
    try:
        with serving(server, poll_interval=0.05):
            silent = connect(server.server_address)
            wait_until(lambda: server.pool_stats()["parked"] == 2, what="two parked")
            server.shutdown()
            server.test_thread.join(TIMEOUT)
            spoke.sendall(b"hold 0.2\n")
            # Loopback delivers on send; the pause is a margin on a loaded machine.
            time.sleep(0.1)
            server.server_close()
            # block_on_close: the reply is sent by the time server_close() returns.
            assert server.done == 2 and server.errors == []
        assert spoke.makefile("rb").read() == HELD_REPLY
        assert closed_by_server(silent)
    finally:
        for sock in (spoke, silent):
            if sock is not None:
                sock.close()


def test_without_idle_timeout_a_parked_connection_stays(baseline):
    cls = server_class("pool", pool_size=2, idle_timeout=None)
    with serving(cls((HOST, 0), Command), poll_interval=0.05) as server:
        silent = []
        try:
            open_silent(server, 3, silent)
            time.sleep(0.3)  # several service_actions() turns
            stats = server.pool_stats()
            assert (stats["parked"], stats["timed_out"]) == (3, 0)
            silent[0].sendall(b"echo still here\n")
            silent[0].settimeout(TIMEOUT)
            assert silent[0].makefile("rb").readline() == b"echo: echo still here\n"
        finally:
            for sock in silent:
                sock.close()


class Trickler(object):
    """A client that sends one byte of a line that never ends every *every* s.

    Its thread stops by itself when the server closes the connection (or
    after :data:`TIMEOUT`); :attr:`ended` is how long the server took.
    """

    def __init__(self, address, every=0.05):
        self.sock = connect(address)
        self.every = every
        self.ended = None
        self.stop = threading.Event()
        self.sock.sendall(b"echo ")
        self.thread = run_in_thread(self.run)

    def run(self):
        started = time.time()
        self.sock.settimeout(self.every)
        while time.time() - started < TIMEOUT and not self.stop.is_set():
            try:
                if self.sock.recv(4096) == b"":
                    break
            except socket.timeout:
                pass
            except socket.error:
                break
            try:
                self.sock.sendall(b"x")
            except socket.error:
                break
        self.ended = time.time() - started

    def close(self):
        self.stop.set()
        self.thread.join(TIMEOUT)
        self.sock.close()


class LogLines(logging.Handler):
    """The ``compatserver`` logger's records, while installed."""

    def __init__(self):
        logging.Handler.__init__(self, logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def __enter__(self):
        logging.getLogger("compatserver").addHandler(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger("compatserver").removeHandler(self)


def test_a_trickling_client_is_cut_at_request_timeout(baseline):
    # A byte every 50 ms never reaches handler_timeout (0.3 s): only
    # request_timeout ends it.  The handler's readline() then sees end of
    # file and returns the partial line; the handler answers it and ends.
    cls = server_class("pool", record_errors=False, pool_size=1,
                       handler_timeout=0.3, request_timeout=0.6)
    with LogLines() as log:
        with serving(cls((HOST, 0), Untimed), poll_interval=0.05) as server:
            trickler = Trickler(server.server_address)
            try:
                wait_until(lambda: trickler.ended is not None, what="the trickler cut")
            finally:
                trickler.close()
            assert 0.5 <= trickler.ended < TIMEOUT, trickler.ended
            stats = server.pool_stats()
            assert (stats["timed_out"], stats["client_errors"]) == (1, 1)
            # The only worker is free again.
            assert echo(server.server_address) == b"echo: echo hi\n"
    assert len(log.lines) == 1, log.lines
    assert log.lines[0].startswith("client 127.0.0.1:")
    assert log.lines[0].endswith(": held a worker for request_timeout (0.6s): shut down for reading")


def test_request_timeout_is_enforced_while_the_loop_waits_for_room_in_the_queue(baseline):
    # One worker held by a trickler, one request queued, and the loop blocked
    # in process_request() with a third: the wait itself cuts the trickler.
    cls = server_class("pool", pool_size=1, queue_size=1, handler_timeout=5.0,
                       request_timeout=0.5)
    with serving(cls((HOST, 0), Untimed), poll_interval=0.05) as server:
        trickler = Trickler(server.server_address)
        waiting = []
        try:
            wait_until(lambda: server.pool_stats()["workers"] == 1, what="the trickler served")
            for n in range(2):
                sock = connect(server.server_address)
                waiting.append(sock)
                sock.sendall(b"echo %d\n" % n)
            for n, sock in enumerate(waiting):
                assert sock.makefile("rb").readline() == b"echo: echo %d\n" % n
            wait_until(lambda: trickler.ended is not None, what="the trickler cut")
            assert server.pool_stats()["timed_out"] == 1
        finally:
            trickler.close()
            for sock in waiting:
                sock.close()


def test_without_request_timeout_a_trickling_client_keeps_its_worker(baseline):
    cls = server_class("pool", pool_size=1, handler_timeout=0.3, request_timeout=None)
    with serving(cls((HOST, 0), Untimed), poll_interval=0.05) as server:
        trickler = Trickler(server.server_address)
        try:
            time.sleep(1.0)  # past handler_timeout three times over
            assert trickler.ended is None
            assert server.pool_stats()["timed_out"] == 0
        finally:
            trickler.close()
