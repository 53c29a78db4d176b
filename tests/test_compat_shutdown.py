"""Points 2 and 3: the context manager, shutdown(), serve_forever(), handle_request()."""
import threading
import time

import pytest

import compatserver

from conftest_compat import SERVERS, handler_calling, kind, make_server, request
from conftest_serve import TIMEOUT, run_in_thread, serving, start, wait_until

pytestmark = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")

ids = lambda c: c.__name__  # noqa: E731


def timed(func, *args):
    started = time.time()
    func(*args)
    return time.time() - started


@pytest.mark.parametrize("cls", SERVERS, ids=ids)
def test_shutdown_wakes_the_loop_instead_of_waiting_for_the_poll(cls):
    with make_server(cls) as server, serving(server, poll_interval=5.0):
        assert request(server) == b"hello\n"
        elapsed = timed(server.shutdown)
        server.test_thread.join(TIMEOUT)
        assert not server.test_thread.is_alive()
        # The stdlib takes up to poll_interval (5 s here); a woken loop
        # returns in about a millisecond.  1 s leaves room for a busy machine.
        assert elapsed < 1.0


@pytest.mark.parametrize("cls", SERVERS, ids=ids)
def test_shutdown_from_a_handler_does_not_deadlock(cls):
    handler = handler_calling(cls, lambda handler: handler.server.shutdown())
    with make_server(cls, handler) as server, serving(server):
        assert request(server) == b"done\n"
        if kind(cls) == "forking":
            # The handler ran in a child process: shutdown() there stops
            # nothing in the parent, whose loop keeps serving.
            assert request(server) == b"done\n"
        else:
            server.test_thread.join(TIMEOUT)
            assert not server.test_thread.is_alive()


@pytest.mark.parametrize("cls", SERVERS, ids=ids)
def test_shutdown_without_a_loop_returns_at_once_and_leaves_no_flag(cls):
    with make_server(cls) as server:
        assert timed(server.shutdown) < 1.0
        start(server)
        assert request(server) == b"hello\n"
        server.shutdown()
        server.test_thread.join(TIMEOUT)
        # Once more, after a loop has run and ended: still no sticky flag.
        assert timed(server.shutdown) < 1.0
        start(server)
        assert request(server) == b"hello\n"
        assert request(server) == b"hello\n"


def test_shutdown_stops_a_thread_on_its_way_into_serve_forever():
    # bpo-2302: Thread(target=serve_forever).start(); shutdown() at once.
    for _ in range(20):
        with make_server(compatserver.TCPServer) as server:
            thread = run_in_thread(server.serve_forever, 0.5)
            server.test_thread = thread  # stop() joins it if this test fails
            server.shutdown()
            thread.join(TIMEOUT)
            assert not thread.is_alive()


def test_a_loop_started_by_the_caller_of_an_idle_shutdown_serves_normally():
    with make_server(compatserver.TCPServer) as server:
        server.shutdown()  # no loop: nothing happens
        calls = []

        def stop_from_service_actions():
            calls.append(1)
            if len(calls) == 3:
                server.shutdown()  # from the loop's own thread: no deadlock

        server.service_actions = stop_from_service_actions
        server.serve_forever(poll_interval=0.01)  # this thread: not stopped early
        assert len(calls) == 3


def test_serve_forever_calls_service_actions_every_poll_interval():
    with make_server(compatserver.TCPServer) as server:
        calls = []
        server.service_actions = lambda: calls.append(time.time())
        start(server, poll_interval=0.01)
        wait_until(lambda: len(calls) >= 10)
        before = len(calls)
        assert request(server) == b"hello\n"
        wait_until(lambda: len(calls) > before)


def test_a_second_serve_forever_on_a_running_loop_raises():
    with make_server(compatserver.TCPServer) as server, serving(server):
        with pytest.raises(RuntimeError) as info:
            server.serve_forever()
        assert "serve_forever() is already running in " in str(info.value)
        assert request(server) == b"hello\n"


@pytest.mark.parametrize("cls", SERVERS, ids=ids)
def test_handle_request_keeps_its_timeout(cls):
    timeouts = []
    with make_server(cls, timeout=0.2) as server:
        server.handle_timeout = lambda: timeouts.append(1)
        elapsed = timed(server.handle_request)
        assert timeouts == [1]
        assert 0.15 <= elapsed < 3.0


@pytest.mark.parametrize("cls", SERVERS, ids=ids)
def test_exit_stops_a_loop_running_in_another_thread_then_closes(cls):
    with make_server(cls) as server:
        thread = start(server)
        assert request(server) == b"hello\n"
        with server:
            pass
        # No shutdown() by hand: leaving the block stopped the loop.
        thread.join(TIMEOUT)
        assert not thread.is_alive()
        server.test_thread = None


def test_exit_inside_the_loop_thread_does_not_deadlock():
    def leave_with_block(handler):
        with handler.server:
            pass

    cls = compatserver.TCPServer
    with make_server(cls, handler_calling(cls, leave_with_block)) as server, serving(server):
        assert request(server) == b"done\n"
        server.test_thread.join(TIMEOUT)
        assert not server.test_thread.is_alive()


@pytest.mark.parametrize("cls", SERVERS, ids=ids)
def test_server_close_while_serving_stops_the_loop(cls):
    with make_server(cls) as server:
        thread = start(server)
        server.server_close()
        thread.join(TIMEOUT)
        assert not thread.is_alive()
        server.test_thread = None


def test_shutdown_returns_only_after_the_loop_has_returned():
    entered = threading.Event()
    release = threading.Event()

    def slow(handler):
        entered.set()
        release.wait(TIMEOUT)

    cls = compatserver.TCPServer
    with make_server(cls, handler_calling(cls, slow)) as server, serving(server):
        client = run_in_thread(request, server)
        assert entered.wait(TIMEOUT)
        stopper = run_in_thread(server.shutdown)
        stopper.join(0.2)
        assert stopper.is_alive()  # the sync loop is busy with the request
        release.set()
        stopper.join(TIMEOUT)
        assert not stopper.is_alive()
        server.test_thread.join(TIMEOUT)
        assert not server.test_thread.is_alive()
        client.join(TIMEOUT)
