"""compatserver.testing and the ``serve`` fixture, as users' test suites use them.

Every test that serves a server goes through them already (conftest_serve
delegates); here are the promises a user relies on: the server is stopped
and closed however the block ends, and a loop, handler thread or forked
child that outlives the deadline is a clear failure, within that deadline,
never a hang.
"""
import errno
import os
import socket
import threading
import time

import pytest

import compatserver
from compatserver import _pytest_plugin, testing
from compatserver.testing import ServingError, serving

from conftest_compat import fork_warning_ignored
from conftest_serve import TIMEOUT, wait_until

# The plugin's fixture, also when the tests run against a checkout where
# the entry point is not installed.
serve = _pytest_plugin.serve

#: The deadline the failure tests give serving(); they must fail in about
#: that time, far below TIMEOUT.
SHORT = 0.5


class Upper(compatserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())


class Hang(compatserver.StreamRequestHandler):
    """Reads a line, then waits until the test releases it."""

    entered = None  # threading.Event, set per test
    release = None

    def handle(self):
        self.rfile.readline()
        self.entered.set()
        self.release.wait(TIMEOUT)


@pytest.fixture
def hang():
    Hang.entered, Hang.release = threading.Event(), threading.Event()
    try:
        yield Hang
    finally:
        Hang.release.set()


def ask(address, line=b"hello\n", family=socket.AF_INET):
    client = socket.socket(family, socket.SOCK_STREAM)
    try:
        client.settimeout(TIMEOUT)
        client.connect(address)
        client.sendall(line)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = client.recv(1024)
            if not chunk:
                break
            answer += chunk
        return answer
    finally:
        client.close()


def connect_and_wait(server, handler):
    """Open a connection whose handler is running; return the socket."""
    client = socket.create_connection(server.server_address, TIMEOUT)
    client.sendall(b"hang\n")
    assert handler.entered.wait(TIMEOUT), "the handler did not start"
    return client


def refused(address):
    try:
        socket.create_connection(address, TIMEOUT).close()
    except socket.error as exc:
        return exc.errno == errno.ECONNREFUSED
    return False


def loop_threads():
    return [t for t in threading.enumerate() if t.name == testing.LOOP_THREAD_NAME]


@pytest.mark.parametrize("cls", [compatserver.ThreadingTCPServer,
                                 compatserver.ThreadPoolTCPServer,
                                 compatserver.stdlib.ThreadingTCPServer],
                         ids=["threading", "pool", "stdlib"])
def test_serving_serves_then_stops_and_closes(cls):
    before = len(loop_threads())
    server = cls(("127.0.0.1", 0), Upper)
    with serving(server) as served:
        assert served is server
        assert ask(server.server_address) == b"HELLO\n"
        assert len(loop_threads()) == before + 1
    assert len(loop_threads()) == before
    assert refused(server.server_address)


def test_serving_stops_the_server_when_the_block_raises():
    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), Upper)
    with pytest.raises(KeyError):
        with serving(server):
            raise KeyError("from the test")
    assert refused(server.server_address)


def test_serving_fails_clearly_when_a_handler_hangs(hang):
    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), hang)
    started = time.time()
    with pytest.raises(ServingError) as info:
        with serving(server, timeout=SHORT):
            client = connect_and_wait(server, hang)
            started = time.time()
    took = time.time() - started
    client.close()
    message = str(info.value)
    assert message.startswith("ThreadingTCPServer did not stop within 0.5 s: ")
    assert "server_close() did not return" in message
    assert "threads still running: Thread-" in message
    # Within the deadline (plus a loaded machine's slack), not TIMEOUT.
    assert SHORT <= took < SHORT + 5
    hang.release.set()
    wait_until(lambda: not [t for t in threading.enumerate()
                            if t.name == "server_close"], what="server_close()")


def test_serving_fails_when_a_handler_thread_outlives_the_server(hang):
    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), hang)
    server.block_on_close = False  # server_close() does not wait
    with pytest.raises(ServingError) as info:
        with serving(server, timeout=SHORT):
            client = connect_and_wait(server, hang)
    client.close()
    message = str(info.value)
    assert "threads still running: Thread-" in message
    assert "did not return" not in message
    assert refused(server.server_address)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_serving_fails_and_kills_a_child_that_outlives_the_server():
    class Child(compatserver.StreamRequestHandler):
        def handle(self):
            self.rfile.readline()
            self.wfile.write(("%d\n" % os.getpid()).encode("ascii"))
            self.rfile.readline()  # until the client goes, or the kill

    server = compatserver.ForkingTCPServer(("127.0.0.1", 0), Child)
    server.block_on_close = False
    with fork_warning_ignored():
        with pytest.raises(ServingError) as info:
            with serving(server, timeout=SHORT):
                client = socket.create_connection(server.server_address, TIMEOUT)
                client.sendall(b"pid?\n")
                pid = int(client.makefile("rb").readline())
    try:
        assert str(info.value).endswith(
            "forked children still running (killed): %d" % pid)
        with pytest.raises(OSError):  # killed and reaped
            os.kill(pid, 0)
    finally:
        client.close()


def test_a_serving_error_is_an_assertion_error():
    # So that every test runner reports it as a failure, not an error.
    assert issubclass(ServingError, AssertionError)


def test_serve_fixture_tcp(serve):
    server = serve(compatserver.ThreadingTCPServer, Upper)
    assert server.server_address[0] == "127.0.0.1"
    assert server.server_address[1] != 0
    assert ask(server.server_address) == b"HELLO\n"


@pytest.mark.parametrize("reuse", [False, True])
def test_serve_sets_attributes_before_binding(serve, reuse):
    server = serve(compatserver.ThreadingTCPServer, Upper,
                   allow_reuse_address=reuse, daemon_threads=True)
    assert server.daemon_threads is True
    option = server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    assert bool(option) is reuse


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")
def test_serve_gives_unix_classes_a_temporary_path():
    factory = _pytest_plugin.ServeFactory()
    try:
        server = factory(compatserver.ThreadingUnixStreamServer, Upper)
        path = server.server_address
        assert len(path) < 100 and os.path.exists(path)
        assert ask(path, b"unix\n", socket.AF_UNIX) == b"UNIX\n"
    finally:
        factory.close()
    assert not os.path.exists(os.path.dirname(path))


def test_serve_teardown_fails_on_a_leaked_thread_and_stops_every_server(hang):
    factory = _pytest_plugin.ServeFactory()
    factory.timeout = SHORT
    first = factory(compatserver.ThreadingTCPServer, Upper)
    second = factory(compatserver.ThreadingTCPServer, hang, block_on_close=False)
    client = connect_and_wait(second, hang)
    try:
        with pytest.raises(ServingError) as info:
            factory.close()
    finally:
        client.close()
    assert "threads still running: Thread-" in str(info.value)
    assert refused(first.server_address) and refused(second.server_address)


def test_the_plugin_is_inert_unless_serve_is_used():
    # No hook, option or autouse fixture: loading it changes no test run.
    hooks = [name for name in vars(_pytest_plugin) if name.startswith("pytest_")]
    assert hooks == []
    assert testing.__all__ == ["serving", "start", "stop", "ServingError",
                               "DEFAULT_TIMEOUT"]


def test_start_and_stop_serve_again_after_a_shutdown():
    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), Upper)
    try:
        for _ in range(2):
            thread = testing.start(server, timeout=TIMEOUT)
            assert ask(server.server_address) == b"HELLO\n"
            server.shutdown()
            thread.join(TIMEOUT)
            assert not thread.is_alive()
    finally:
        testing.stop(server, None)
    assert refused(server.server_address)

