"""Point 5: handler threads: reaped, one block_on_close meaning, bounded close."""
import socket
import threading
import time

import pytest

import compatserver

from conftest_compat import (
    THREADING_SERVERS, client, handler_calling, is_stream, make_server, request,
    request_in_background)
from conftest_serve import TIMEOUT, serving, wait_until

ids = lambda c: c.__name__  # noqa: E731


def handler_threads():
    return [t for t in threading.enumerate()
            if getattr(t, "_target", None) is not None
            and getattr(t._target, "__name__", "") == "_run_request_thread"]


@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_defaults_are_the_same_on_every_version(cls):
    assert cls.daemon_threads is False
    assert cls.block_on_close is True
    assert cls.block_on_close_timeout is None


@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_finished_threads_are_reaped(cls):
    with make_server(cls) as server, serving(server):
        for _ in range(50):
            assert request(server) == b"hello\n"
        # bpo-37193: 3.7's stdlib keeps all 50 Thread objects until
        # server_close(); here a thread forgets itself when it is done.
        wait_until(lambda: len(server._threads) == 0)


@pytest.mark.parametrize("daemon", [False, True])
@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_handler_threads_follow_daemon_threads(cls, daemon):
    seen = []
    handler = handler_calling(
        cls, lambda h: seen.append(threading.current_thread().daemon))
    with make_server(cls, handler, daemon_threads=daemon) as server, serving(server):
        assert request(server) == b"done\n"
    assert seen == [daemon]


class Gate(object):
    """A handler action that blocks until released (at most TIMEOUT seconds)."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, handler):
        self.entered.set()
        self.release.wait(TIMEOUT)
        self.finished.set()


def assert_late_reply(cls, result):
    """A handler that finished after server_close() replied if it could.

    A stream handler has its own connection; a datagram handler replies
    through the server's socket, which is closed by then (EBADF, reported
    by handle_error()), so its client gets nothing.
    """
    if is_stream(cls):
        assert result == b"done\n"
    else:
        assert isinstance(result, socket.timeout)


def timed_close(server):
    started = time.time()
    server.server_close()
    return time.time() - started


@pytest.mark.parametrize("daemon", [False, True])
@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_block_on_close_waits_for_running_handlers(cls, daemon):
    gate = Gate()
    with make_server(cls, handler_calling(cls, gate),
                     daemon_threads=daemon) as server, serving(server):
        client = request_in_background(server)
        assert gate.entered.wait(TIMEOUT)
        server.shutdown()
        timer = threading.Timer(0.3, gate.release.set)
        timer.start()
        elapsed = timed_close(server)
        # One meaning on every version, daemon threads included (3.7
        # skipped them; 2.7 and 3.6 never waited).
        assert gate.finished.is_set()
        assert elapsed >= 0.2
        client.join(TIMEOUT)
        # The socket is closed after the wait: datagram handlers replied too.
        assert client.result == b"done\n"
        timer.join(TIMEOUT)


@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_without_block_on_close_server_close_does_not_wait(cls):
    gate = Gate()
    with make_server(cls, handler_calling(cls, gate),
                     block_on_close=False) as server, serving(server):
        client = request_in_background(server)
        assert gate.entered.wait(TIMEOUT)
        server.shutdown()
        assert timed_close(server) < 1.0
        assert not gate.finished.is_set()
        gate.release.set()
        client.join(TIMEOUT)
        wait_until(lambda: not server._threads)
        assert_late_reply(cls, client.result)


@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_block_on_close_timeout_bounds_the_wait(cls):
    gate = Gate()
    with make_server(cls, handler_calling(cls, gate),
                     block_on_close_timeout=0.2) as server, serving(server):
        client = request_in_background(server)
        assert gate.entered.wait(TIMEOUT)
        server.shutdown()
        elapsed = timed_close(server)
        assert 0.15 <= elapsed < 2.0
        assert not gate.finished.is_set()
        gate.release.set()
        client.join(TIMEOUT)
        wait_until(lambda: not server._threads)
        assert_late_reply(cls, client.result)


@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_server_close_from_a_handler_thread_does_not_raise(cls):
    errors = []

    def close_from_handler(handler):
        try:
            handler.server.server_close()
        except Exception as exc:  # 3.7+ stdlib: RuntimeError, cannot join current thread
            errors.append(exc)

    with make_server(cls, handler_calling(cls, close_from_handler)) as server, serving(server):
        reply = request_in_background(server)
        reply.join(TIMEOUT)
        assert_late_reply(cls, reply.result)
        # server_close() also stopped the loop, which would spin otherwise.
        server.test_thread.join(TIMEOUT)
        assert not server.test_thread.is_alive()
    assert errors == []


def test_threads_are_reaped_without_a_loop():
    # The conformance suite's bpo-37193 check, with handle_request().
    cls = compatserver.ThreadingTCPServer
    with make_server(cls) as server:
        server.timeout = TIMEOUT
        for _ in range(10):
            sock = client(server)
            sock.close()
            server.handle_request()
        wait_until(lambda: len(server._threads) == 0)
    assert handler_threads() == []


@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_a_subclass_calling_the_stdlib_init_directly_works(cls):
    # Python 2 code often calls SocketServer.TCPServer.__init__(self, ...)
    # by name, skipping every other __init__ in the MRO.
    std_init = (compatserver.stdlib.TCPServer.__init__ if is_stream(cls)
                else compatserver.stdlib.UDPServer.__init__)

    class Server(cls):
        def __init__(self, address, handler):
            std_init(self, address, handler)

    with make_server(Server) as server, serving(server):
        for _ in range(5):
            assert request(server) == b"hello\n"
        wait_until(lambda: len(server._threads) == 0)


@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_no_thread_state_is_kept_per_request(cls):
    # bpo-37788: on 3.7 and 3.8 a non-daemon thread nobody joins or polls
    # leaves its lock in threading._shutdown_locks; 3.7's stdlib also keeps
    # the Thread objects (bpo-37193).
    locks_before = len(getattr(threading, "_shutdown_locks", ()))
    with make_server(cls) as server, serving(server):
        for _ in range(200):
            assert request(server) == b"hello\n"
        wait_until(lambda: len(server._threads) == 0)
        # Only the threads that finished since the last request are kept
        # (one or two; a few on a busy machine), never one per request.
        assert len(server._finished) <= 10
        locks_kept = len(getattr(threading, "_shutdown_locks", ())) - locks_before
        assert locks_kept <= 12


@pytest.mark.parametrize("cls", THREADING_SERVERS, ids=ids)
def test_an_idle_loop_forgets_the_last_finished_threads(cls):
    with make_server(cls) as server, serving(server, poll_interval=0.02):
        for _ in range(3):
            assert request(server) == b"hello\n"
        # No further request: service_actions() reaps what the next request
        # would have, so an idle server keeps no Thread object of the past.
        wait_until(lambda: not server._threads and not server._finished)
