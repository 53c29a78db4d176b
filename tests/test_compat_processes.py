"""Point 6: forking servers: max_children before each fork, reaping, block_on_close.

Children are released through a file in the test's directory, which every
process sees; each child waits at most TIMEOUT seconds for it.
"""
import errno
import os
import socket
import threading
import time

import pytest

import compatserver

from conftest_compat import FORKING_SERVERS, client, is_stream, make_server, request
from conftest_serve import TIMEOUT, start, wait_until

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning"),
    pytest.mark.skipif(not FORKING_SERVERS, reason="needs os.fork"),
]

ids = lambda c: c.__name__  # noqa: E731


def waiting_handler(cls, release_path):
    """Reply with the child's pid at once, then wait for *release_path*."""
    if is_stream(cls):
        class Handler(compatserver.StreamRequestHandler):
            def handle(self):
                self.rfile.readline()
                self.wfile.write(("%d\n" % os.getpid()).encode("ascii"))
                wait_for_file(release_path)
    else:
        class Handler(compatserver.DatagramRequestHandler):
            def handle(self):
                # Reply now: DatagramRequestHandler sends wfile in finish().
                self.socket.sendto(("%d\n" % os.getpid()).encode("ascii"),
                                   self.client_address)
                wait_for_file(release_path)
    return Handler


def wait_for_file(path):
    deadline = time.time() + TIMEOUT
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.005)


def release(path):
    with open(path, "w"):
        pass


def ask(server, sock):
    if is_stream(type(server)):
        sock.sendall(b"go\n")
    else:
        sock.send(b"go\n")


def child_is_gone(pid):
    """True once *pid* has exited and been reaped (a zombie still exists).

    Probes with signal 0, which, unlike waitpid(), does not reap it.
    """
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.ESRCH
    return False


@pytest.mark.parametrize("cls", FORKING_SERVERS, ids=ids)
def test_max_children_is_enforced_before_each_fork(cls):
    with make_server(cls) as server:
        path = os.path.join(server.test_dir, "release")
        server.RequestHandlerClass = waiting_handler(cls, path)
        server.max_children = 2
        start(server, poll_interval=0.05)
        clients = [client(server) for _ in range(3)]
        try:
            for sock in clients[:2]:
                ask(server, sock)
                assert int(sock.recv(64)) > 0
            ask(server, clients[2])
            # The third request waits until a child has exited; the 3.x
            # stdlib forks a third child at once.
            clients[2].settimeout(0.5)
            with pytest.raises(socket.timeout):
                clients[2].recv(64)
            assert len(server.active_children) == 2
            release(path)
            clients[2].settimeout(TIMEOUT)
            assert int(clients[2].recv(64)) > 0
        finally:
            release(path)
            for sock in clients:
                sock.close()


@pytest.mark.parametrize("cls", FORKING_SERVERS, ids=ids)
def test_children_are_reaped_while_idle(cls):
    with make_server(cls) as server:
        path = os.path.join(server.test_dir, "release")
        release(path)  # the child replies with its pid and exits
        server.RequestHandlerClass = waiting_handler(cls, path)
        start(server, poll_interval=0.05)
        pid = int(request(server, b"go\n"))
        # No further request: service_actions() reaps the child, which is
        # then no zombie either.  (The child may answer before the parent
        # has recorded it, hence both conditions.)
        wait_until(lambda: not server.active_children and child_is_gone(pid))


@pytest.mark.parametrize("cls", FORKING_SERVERS, ids=ids)
def test_block_on_close_waits_for_the_children(cls):
    with make_server(cls) as server:
        path = os.path.join(server.test_dir, "release")
        server.RequestHandlerClass = waiting_handler(cls, path)
        start(server, poll_interval=0.05)
        sock = client(server)
        try:
            ask(server, sock)
            pid = int(sock.recv(64))
            server.shutdown()
            server.test_thread.join(TIMEOUT)
            server.test_thread = None
            timer = threading.Timer(0.3, release, (path,))
            timer.start()
            started = time.time()
            server.server_close()
            elapsed = time.time() - started
            timer.join(TIMEOUT)
            assert not server.active_children
            assert child_is_gone(pid)
            assert elapsed >= 0.2
        finally:
            release(path)
            sock.close()


@pytest.mark.parametrize("cls", FORKING_SERVERS, ids=ids)
def test_block_on_close_timeout_bounds_the_wait_for_children(cls):
    with make_server(cls, block_on_close_timeout=0.2) as server:
        path = os.path.join(server.test_dir, "release")
        server.RequestHandlerClass = waiting_handler(cls, path)
        start(server, poll_interval=0.05)
        sock = client(server)
        try:
            ask(server, sock)
            pid = int(sock.recv(64))
            server.shutdown()
            server.test_thread.join(TIMEOUT)
            server.test_thread = None
            started = time.time()
            server.server_close()
            elapsed = time.time() - started
            assert 0.15 <= elapsed < 3.0
            assert server.active_children == set([pid])
        finally:
            release(path)
            sock.close()
        os.waitpid(pid, 0)
        server.active_children.clear()


@pytest.mark.parametrize("cls", FORKING_SERVERS, ids=ids)
def test_block_on_close_is_the_default(cls):
    assert cls.block_on_close is True
    assert cls.block_on_close_timeout is None
    assert cls.max_children == 40
