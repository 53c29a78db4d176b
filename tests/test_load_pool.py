"""ThreadPoolMixIn: its bounds, backpressure and close semantics."""
import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time

import pytest

import compatserver
from conftest_load import (
    HOST, Command, assert_serving, connect, exchange, read_to_eof, server_class)
from conftest_serve import TIMEOUT, call_with_timeout, serving, start, stop, wait_until

HAS_UNIX = hasattr(socket, "AF_UNIX")


def stat(server, name):
    return server.pool_stats()[name]


class Gated(compatserver.StreamRequestHandler):
    """Reads a line, waits for the server's ``gate`` event, echoes the line.

    Counts the handlers running at once in ``server.running`` and keeps the
    highest count in ``server.peak``.
    """

    timeout = TIMEOUT

    def handle(self):
        server = self.server
        line = self.rfile.readline()
        with server.counts_lock:
            server.running += 1
            server.peak = max(server.peak, server.running)
        try:
            if not server.gate.wait(TIMEOUT):
                raise AssertionError("the gate never opened")
            if line.startswith(b"close"):
                server.server_close()
            elif line.startswith(b"shutdown"):
                server.shutdown()
            elif line.startswith(b"exit"):
                raise SystemExit(0)
            self.wfile.write(b"done: " + line)
        finally:
            with server.counts_lock:
                server.running -= 1


def gated_server(**attrs):
    cls = server_class("pool", **attrs)

    class GatedPool(cls):
        def __init__(self, *args, **kwargs):
            self.gate = threading.Event()
            self.running = self.peak = 0
            super(GatedPool, self).__init__(*args, **kwargs)

    return GatedPool


class Clients(object):
    """Clients in threads that each send one line and read the reply to EOF."""

    def __init__(self, address):
        self.address = address
        self.replies = {}
        self.threads = []

    def start(self, line):
        def run():
            try:
                self.replies[line] = exchange(self.address, line)
            except socket.error as exc:
                self.replies[line] = exc
        thread = threading.Thread(target=run, name="client")
        thread.daemon = True
        thread.start()
        self.threads.append(thread)

    def join(self):
        for thread in self.threads:
            thread.join(TIMEOUT)
        assert not any(t.is_alive() for t in self.threads)


def test_public_names():
    names = ["ThreadPoolMixIn", "ThreadPoolTCPServer", "ThreadPoolUDPServer"]
    if HAS_UNIX:
        names += ["ThreadPoolUnixStreamServer", "ThreadPoolUnixDatagramServer"]
    for name in names:
        assert name in compatserver.__all__
        assert getattr(compatserver, name).__module__ == "compatserver"
    assert issubclass(compatserver.ThreadPoolTCPServer, compatserver.TCPServer)
    assert issubclass(compatserver.ThreadPoolTCPServer, compatserver.stdlib.TCPServer)
    assert compatserver.ThreadPoolTCPServer.request_queue_size == 128
    assert compatserver.ThreadPoolMixIn.block_on_close is True
    assert compatserver.ThreadPoolMixIn.daemon_threads is False
    assert 5 <= compatserver.ThreadPoolMixIn.pool_size <= 32


#: For the tests that count accepts or workers exactly: nothing is parked.  A
#: connection whose line has not arrived within PARK_AFTER_MS (a loaded
#: machine) is parked, which frees the loop to accept one more, and is later
#: given to a worker from the loop: the counts then differ by one (seen in
#: matrix runs: four accepted where three were expected, three workers
#: started for a sequential client).  Parking has its own tests
#: (test_load_hostile.py).
NO_PARKING = {"client_speaks_first": False}


def test_workers_start_lazily_and_stay_few_for_a_sequential_client(baseline):
    with serving(server_class("pool", pool_size=8, **NO_PARKING)((HOST, 0), Command)) as server:
        assert server.pool_stats() == {"workers": 0, "idle": 0, "queued": 0, "started": 0,
                                       "parked": 0, "open": 0, "refused": 0, "timed_out": 0,
                                       "client_errors": 0,
                                       # No worker yet: the loop accepts the first request.
                                       "accepting": 0, "waiting": 0, "loop_accepting": True,
                                       "wakeups_pending": 0}
        assert_serving(server, 50)
        stats = server.pool_stats()
        # At most two workers: one waits in accept() while the other
        # handles, and a worker closing its connection goes back to accept()
        # rather than a new thread starting for the next connection.
        assert 1 <= stats["started"] <= 2
        assert stats["queued"] == 0


def test_pool_size_bounds_the_handlers_running_at_once(baseline):
    server = gated_server(pool_size=3)((HOST, 0), Gated)
    clients = Clients(server.server_address)
    try:
        start(server)
        for i in range(10):
            clients.start(("line %d\n" % i).encode("ascii"))
        wait_until(lambda: server.accepted == 10, what="all ten accepted")
        wait_until(lambda: server.running == 3, what="three handlers running")
        # A connection accepted before its line arrived waits parked, briefly.
        wait_until(lambda: server.pool_stats()["queued"] == 7, what="seven queued")
        assert server.pool_stats() == {"workers": 3, "idle": 0, "queued": 7, "started": 3,
                                       "parked": 0, "open": 10, "refused": 0, "timed_out": 0,
                                       "client_errors": 0,
                                       "accepting": 0, "waiting": 0, "loop_accepting": True,
                                       "wakeups_pending": 0}
        server.gate.set()
        clients.join()
    finally:
        server.gate.set()
        stop(server)
    assert server.peak == 3
    assert server.pool_stats()["started"] == 3
    assert clients.replies == dict((line, b"done: " + line) for line in clients.replies)
    assert len(clients.replies) == 10


def test_a_full_queue_blocks_accepting_and_shutdown_still_wakes_at_once(baseline):
    # One worker busy, two requests queued: the accept loop takes one more
    # and waits with it for a free slot; the other two clients stay in the
    # listen backlog, not accepted.
    server = gated_server(pool_size=1, queue_size=2, **NO_PARKING)((HOST, 0), Gated)
    clients = Clients(server.server_address)
    try:
        loop = start(server)
        for i in range(6):
            clients.start(("line %d\n" % i).encode("ascii"))
        wait_until(lambda: server.accepted == 4, what="four accepted")
        time.sleep(0.2)
        assert server.accepted == 4
        assert server.pool_stats() == {"workers": 1, "idle": 0, "queued": 2, "started": 1,
                                       "parked": 0, "open": 4, "refused": 0, "timed_out": 0,
                                       "client_errors": 0,
                                       "accepting": 0, "waiting": 0, "loop_accepting": True,
                                       "wakeups_pending": 0}
        # shutdown() wakes the loop blocked in process_request(); the request
        # it holds joins the queue instead of being dropped, and so do those
        # the loop may accept before it notices the shutdown (on 2.7, whose
        # GIL switches less often, it often takes the last two as well).
        elapsed = call_with_timeout(server.shutdown)
        assert elapsed < 2.0
        loop.join(TIMEOUT)
        assert not loop.is_alive()
        accepted = server.accepted
        assert 4 <= accepted <= 6
        assert server.pool_stats()["queued"] == accepted - 1
        server.gate.set()
        call_with_timeout(server.server_close)
        assert server.done == accepted
        clients.join()
    finally:
        server.gate.set()
        stop(server)
    served = sorted(r for r in clients.replies.values()
                    if isinstance(r, bytes) and r.startswith(b"done: "))
    others = [r for r in clients.replies.values() if not isinstance(r, bytes)
              or not r.startswith(b"done: ")]
    # Every accepted request was served; those never accepted were reset
    # when the listening socket closed, as with any server.
    assert len(served) == accepted
    assert len(set(served)) == accepted
    assert len(others) == 6 - accepted
    for r in others:
        assert r == b"" or compatserver.is_disconnect(r), r


def test_serving_again_after_shutdown_keeps_the_queue_bound(baseline):
    server = gated_server(pool_size=1, queue_size=1, **NO_PARKING)((HOST, 0), Gated)
    try:
        for round_ in range(2):
            server.gate.clear()
            loop = start(server)
            clients = Clients(server.server_address)
            for i in range(4):
                clients.start(("round %d line %d\n" % (round_, i)).encode("ascii"))
            # 1 running + 1 queued + 1 held by the accept loop; round 0 ended
            # with all four of its requests accepted.
            expected = 4 * round_ + 3
            wait_until(lambda: server.accepted == expected, what="three accepted")
            time.sleep(0.2)
            assert server.accepted == expected
            server.gate.set()
            clients.join()
            call_with_timeout(server.shutdown)
            loop.join(TIMEOUT)
        call_with_timeout(server.server_close)
        assert server.done == 8
    finally:
        server.gate.set()
        stop(server)


def test_block_on_close_false_returns_at_once_and_the_workers_finish_later(baseline):
    server = gated_server(block_on_close=False)((HOST, 0), Gated)
    clients = Clients(server.server_address)
    try:
        loop = start(server)
        clients.start(b"slow\n")
        wait_until(lambda: server.running == 1, what="the handler running")
        call_with_timeout(server.shutdown)
        loop.join(TIMEOUT)
        assert call_with_timeout(server.server_close) < 2.0
        assert server.pool_stats()["workers"] == 1
        server.gate.set()
        clients.join()
    finally:
        server.gate.set()
        stop(server)
    assert clients.replies == {b"slow\n": b"done: slow\n"}
    wait_until(lambda: server.pool_stats()["workers"] == 0, what="the worker ended")


def test_block_on_close_timeout_bounds_server_close(baseline):
    server = gated_server(block_on_close_timeout=0.2)((HOST, 0), Gated)
    clients = Clients(server.server_address)
    try:
        loop = start(server)
        clients.start(b"slow\n")
        wait_until(lambda: server.running == 1, what="the handler running")
        call_with_timeout(server.shutdown)
        loop.join(TIMEOUT)
        elapsed = call_with_timeout(server.server_close)
        assert 0.15 <= elapsed < 2.0
        server.gate.set()
        clients.join()
    finally:
        server.gate.set()
        stop(server)
    assert clients.replies == {b"slow\n": b"done: slow\n"}
    wait_until(lambda: server.pool_stats()["workers"] == 0, what="the worker ended")


@pytest.mark.parametrize("line", [b"close\n", b"shutdown\n"])
def test_close_or_shutdown_from_a_handler_does_not_deadlock(line, baseline):
    server = gated_server()((HOST, 0), Gated)
    server.gate.set()
    try:
        loop = start(server)
        assert exchange(server.server_address, line) == b"done: " + line
        loop.join(TIMEOUT)
        assert not loop.is_alive()
    finally:
        stop(server)
    assert server.errors == []


@contextlib.contextmanager
def silent_system_exit_in_threads():
    """Let SystemExit end a thread silently, as the interpreter's own
    ``threading.excepthook`` (3.8+) does, under pytest, which installs a hook
    that turns it into a warning."""
    previous = getattr(threading, "excepthook", None)
    if previous is None:
        yield
        return

    def hook(args):
        if not issubclass(args.exc_type, SystemExit):
            previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous


def test_system_exit_ends_the_worker_and_another_takes_over(baseline, capfd):
    server = gated_server(pool_size=1)((HOST, 0), Gated)
    clients = Clients(server.server_address)
    with silent_system_exit_in_threads():
        _exit_then_three(server, clients)
    assert clients.replies[b"exit\n"] == b""
    for i in range(3):
        line = ("after %d\n" % i).encode("ascii")
        assert clients.replies[line] == b"done: " + line
    assert server.pool_stats()["started"] == 2
    # SystemExit ends the thread silently and is not an error to report,
    # as with ThreadingMixIn.
    assert server.errors == []
    assert capfd.readouterr() == ("", "")


def _exit_then_three(server, clients):
    try:
        start(server)
        clients.start(b"exit\n")
        wait_until(lambda: server.running == 1, what="the exiting handler running")
        for i in range(3):
            clients.start(("after %d\n" % i).encode("ascii"))
        wait_until(lambda: server.pool_stats()["queued"] == 3, what="three queued")
        server.gate.set()
        clients.join()
    finally:
        server.gate.set()
        stop(server)


@pytest.mark.parametrize("daemon", [False, True])
def test_worker_threads_follow_daemon_threads(daemon, baseline):
    server = gated_server(daemon_threads=daemon)((HOST, 0), Gated)
    clients = Clients(server.server_address)
    try:
        start(server)
        clients.start(b"x\n")
        wait_until(lambda: server.running == 1, what="the handler running")
        workers = [t for t in threading.enumerate() if "-worker-" in t.name]
        assert [t.name for t in workers] == ["GatedPool-worker-1"]
        assert workers[0].daemon is daemon
        server.gate.set()
        clients.join()
    finally:
        server.gate.set()
        stop(server)


def test_context_manager_stops_and_closes(baseline):
    with gated_server()((HOST, 0), Gated) as server:
        server.gate.set()
        loop = start(server)
        assert exchange(server.server_address, b"a\n") == b"done: a\n"
    loop.join(TIMEOUT)
    assert not loop.is_alive()
    assert server.pool_stats()["workers"] == 0


class DatagramEcho(compatserver.DatagramRequestHandler):
    def handle(self):
        self.wfile.write(b"echo: " + self.rfile.read())


def _datagram_exchange(server, family, n, client_address=None):
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.settimeout(TIMEOUT)
        if client_address is not None:
            sock.bind(client_address)
        for i in range(n):
            data = ("datagram %d" % i).encode("ascii")
            sock.sendto(data, server.server_address)
            assert sock.recvfrom(1024)[0] == b"echo: " + data
    finally:
        sock.close()


def test_udp_pool(baseline):
    server = compatserver.ThreadPoolUDPServer((HOST, 0), DatagramEcho)
    try:
        start(server)
        _datagram_exchange(server, socket.AF_INET, 20)
    finally:
        stop(server)


def _exchange_on(family, address, line):
    """Send *line* on a new stream connection of *family*; the reply, read to EOF."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect(address)
        sock.sendall(line)
        return read_to_eof(sock)
    finally:
        sock.close()


@pytest.fixture
def tmpdir_short():
    # AF_UNIX paths are limited to about 100 bytes: keep them short.
    path = tempfile.mkdtemp(prefix="cs-")
    yield path
    shutil.rmtree(path)


@pytest.mark.skipif(not HAS_UNIX, reason="needs socket.AF_UNIX")
def test_unix_stream_pool(tmpdir_short, baseline):
    class Echo(compatserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"echo: " + self.rfile.readline())

    path = os.path.join(tmpdir_short, "s")
    server = compatserver.ThreadPoolUnixStreamServer(path, Echo)
    try:
        start(server)
        for i in range(20):
            assert _exchange_on(socket.AF_UNIX, path, b"unix\n") == b"echo: unix\n"
    finally:
        stop(server)


@pytest.mark.skipif(not HAS_UNIX, reason="needs socket.AF_UNIX")
def test_unix_datagram_pool(tmpdir_short, baseline):
    path = os.path.join(tmpdir_short, "s")
    server = compatserver.ThreadPoolUnixDatagramServer(path, DatagramEcho)
    try:
        start(server)
        _datagram_exchange(server, socket.AF_UNIX, 20, os.path.join(tmpdir_short, "c"))
    finally:
        stop(server)


def test_shutdown_returns_at_once_while_every_worker_handles(baseline):
    # The serve_forever() thread never handles a request, so it returns
    # whatever the handlers do; the workers go on until server_close().
    server = gated_server(pool_size=2)((HOST, 0), Gated)
    clients = Clients(server.server_address)
    try:
        loop = start(server)
        for i in range(3):
            clients.start(("line %d\n" % i).encode("ascii"))
        wait_until(lambda: server.running == 2, what="both workers handling")
        # The third is served only once the loop has accepted it: one still
        # in the listen backlog at server_close() is reset, as with any
        # socketserver.
        wait_until(lambda: server.pool_stats()["queued"] == 1, what="the third request queued")
        assert call_with_timeout(server.shutdown) < 2.0
        loop.join(TIMEOUT)
        assert not loop.is_alive()
        assert server.running == 2
        server.gate.set()
        call_with_timeout(server.server_close)
        clients.join()
    finally:
        server.gate.set()
        stop(server)
    assert clients.replies == dict((line, b"done: " + line) for line in clients.replies)
    assert len(clients.replies) == 3


def test_idle_workers_all_wait_in_accept_and_take_turns(baseline):
    # After a burst that kept every worker busy (the loop accepted), the
    # loop sends the workers back to accept() and stops accepting itself:
    # four threads wait on the socket, and no new one starts.
    server = gated_server(pool_size=4)((HOST, 0), Gated)
    clients = Clients(server.server_address)
    try:
        start(server)
        for i in range(4):
            clients.start(("line %d\n" % i).encode("ascii"))
        wait_until(lambda: server.running == 4, what="four handlers running")
        server.gate.set()
        clients.join()
        wait_until(lambda: server.pool_stats()["accepting"] == 4, what="four workers in accept()")
        stats = server.pool_stats()
        assert (stats["loop_accepting"], stats["waiting"]) == (False, 0)
        assert server.pool_stats()["idle"] == 4
        for i in range(20):
            line = ("again %d\n" % i).encode("ascii")
            assert exchange(server.server_address, line) == b"done: " + line
        assert server.pool_stats()["started"] == 4
    finally:
        server.gate.set()
        stop(server)


def test_wake_up_connections_are_never_seen_by_the_handler(baseline):
    # shutdown() sends one wake-up connection per worker in accept(); they
    # reach neither verify_request() nor the handler, and the parked workers
    # go back to accept() when the loop starts again.
    class Watched(server_class("pool", pool_size=3)):
        verified = []

        def verify_request(self, request, client_address):
            self.verified.append(client_address)
            return True

    server = Watched((HOST, 0), Command)
    try:
        for round_ in range(3):
            loop = start(server)
            for i in range(5):
                line = ("echo %d %d\n" % (round_, i)).encode("ascii")
                assert exchange(server.server_address, line) == b"echo: " + line
            wait_until(lambda: 1 <= stat(server, "accepting") == stat(server, "workers"),
                       what="every worker in accept()")
            call_with_timeout(server.shutdown)
            loop.join(TIMEOUT)
            assert not loop.is_alive()
            wait_until(lambda: (stat(server, "accepting"), stat(server, "waiting"))
                       == (0, stat(server, "workers")), what="every worker parked")
        assert server.accepted == len(Watched.verified) == 15
        assert server.done == 15
        assert server.errors == []
        # The workers that parked are the ones that serve the next round:
        # none was ended by a wake-up connection and replaced.  (How many
        # there are is timing: a worker still finishing its reply when the
        # next client comes in makes the pool start another.)
        stats = server.pool_stats()
        assert stats["started"] == stats["workers"] <= 3
    finally:
        stop(server)
    assert server.pool_stats()["wakeups_pending"] == 0


def test_server_close_without_shutdown_wakes_the_workers_in_accept(baseline):
    # server_close() while the loop runs: the workers blocked in accept()
    # are woken before the socket closes (closing it does not wake them).
    server = server_class("pool", pool_size=4)((HOST, 0), Command)
    try:
        loop = start(server)
        for i in range(3):
            assert exchange(server.server_address, b"echo x\n") == b"echo: echo x\n"
        wait_until(lambda: 1 <= stat(server, "accepting") == stat(server, "workers"),
                   what="every worker in accept()")
        assert call_with_timeout(server.server_close) < 2.0
        loop.join(TIMEOUT)
        assert not loop.is_alive()
        assert server.pool_stats()["workers"] == 0
    finally:
        stop(server)


class Synchronous(object):
    """process_request() overridden without calling the pool's: honoured."""

    def process_request(self, request, client_address):
        self.handled_in.append(threading.current_thread().name)
        self.finish_request(request, client_address)
        self.shutdown_request(request)


def test_an_overridden_process_request_is_honoured(baseline):
    base = server_class("pool", pool_size=4)

    class Sync(Synchronous, base):
        handled_in = []

    with serving(Sync((HOST, 0), Command)) as server:
        assert_serving(server, 10)
        assert server.errors == []
    # Called by the thread that accepted: the serve_forever() loop, since
    # the override never starts a worker to take over accept().
    assert len(Sync.handled_in) == 10
    assert set(Sync.handled_in[1:]) <= set(["serve-forever", "Sync-worker-1"])
    assert server.pool_stats()["started"] <= 1


def test_an_error_in_verify_request_goes_to_handle_error(baseline):
    class Picky(server_class("pool")):
        def verify_request(self, request, client_address):
            if self.accepted == 0:
                self.accepted += 1  # only once
                raise ValueError("rejected")
            return True

    with serving(Picky((HOST, 0), Command)) as server:
        sock = connect(server.server_address)
        try:
            assert read_to_eof(sock) == b""
        finally:
            sock.close()
        assert_serving(server, 5)
        wait_until(lambda: server.done == 6, what="every request shut down")
        assert [str(e) for e in server.errors] == ["rejected"]


def test_handle_request_without_serve_forever_uses_a_worker(baseline):
    server = server_class("pool")((HOST, 0), Command)
    try:
        clients = Clients(server.server_address)
        clients.start(b"echo once\n")
        server.timeout = TIMEOUT
        server.handle_request()
        clients.join()
        assert clients.replies == {b"echo once\n": b"echo: echo once\n"}
        assert server.pool_stats()["started"] == 1
    finally:
        stop(server)


def _ipv6_loopback():
    if not socket.has_ipv6:
        return False
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.bind(("::1", 0))
        return True
    except socket.error:
        return False
    finally:
        sock.close()


@pytest.mark.parametrize("family, any_address, loopback", [
    (socket.AF_INET, "0.0.0.0", "127.0.0.1"),
    pytest.param(socket.AF_INET6, "::", "::1", marks=pytest.mark.skipif(
        not _ipv6_loopback(), reason="no IPv6 loopback here")),
])
def test_a_server_on_every_address_wakes_its_workers_through_loopback(
        family, any_address, loopback, baseline):
    # The wake-up connections go to the loopback address of the family when
    # the server listens on all of them.
    class Server(server_class("pool", pool_size=2)):
        address_family = family

    server = Server((any_address, 0), Command)
    try:
        loop = start(server)
        address = (loopback, server.server_address[1])
        for i in range(3):
            assert _exchange_on(family, address, b"echo v\n") == b"echo: echo v\n"
        wait_until(lambda: 1 <= stat(server, "accepting") == stat(server, "workers"),
                   what="every worker in accept()")
        assert call_with_timeout(server.shutdown) < 2.0
        loop.join(TIMEOUT)
        wait_until(lambda: (stat(server, "accepting"), stat(server, "waiting"))
                   == (0, stat(server, "workers")), what="every worker parked")
        assert server.accepted == server.done == 3
    finally:
        stop(server)


def test_serving_again_before_the_workers_have_left_accept(baseline):
    # serve_forever() again at once after shutdown(): the workers woken from
    # accept() may not have run yet.  They are still counted in accept(), so
    # the new loop lets them accept instead of waiting on the socket itself
    # (both accepting, the loop's accept() could block for ever).
    class Slow(server_class("pool", pool_size=4)):
        slow = False

        def get_request(self):
            got = super(Slow, self).get_request()
            if self.slow:
                time.sleep(0.3)  # a worker that is slow to leave accept()
            return got

    server = Slow((HOST, 0), Command)
    try:
        loop = start(server)
        for i in range(3):
            assert exchange(server.server_address, b"echo a\n") == b"echo: echo a\n"
        wait_until(lambda: 1 <= stat(server, "accepting") == stat(server, "workers"),
                   what="every worker in accept()")
        server.slow = True
        call_with_timeout(server.shutdown)
        loop.join(TIMEOUT)
        loop = start(server)
        assert server.pool_stats()["accepting"] >= 1
        server.slow = False
        time.sleep(0.5)  # the workers are back in accept()
        stats = server.pool_stats()
        assert stats["accepting"] == stats["workers"] >= 1
        assert stats["loop_accepting"] is False
        for i in range(20):
            line = ("echo b %d\n" % i).encode("ascii")
            assert exchange(server.server_address, line) == b"echo: " + line
        assert call_with_timeout(server.shutdown) < 2.0
        loop.join(TIMEOUT)
        assert not loop.is_alive()
        # The client has its reply (and EOF) before the worker counts the
        # request done: shutdown() does not wait for the worker.
        wait_until(lambda: server.done == 23, what="the last request shut down")
        assert server.accepted == 23
        assert server.errors == []
    finally:
        stop(server)


def test_the_loop_does_not_block_in_accept_when_the_connection_is_gone():
    # The loop accepts once its wait said a connection waits; by then a
    # worker it sent back to accept() may have taken it.  A blocking
    # accept() would then hold the loop until the next client, deaf to
    # shutdown() (2.7 under load, about 1 run in 40 of the trickler test).
    server = compatserver.ThreadPoolTCPServer((HOST, 0), Command)
    try:
        assert call_with_timeout(server._handle_request_noblock, 5.0) < 5.0
    finally:
        server.server_close()
