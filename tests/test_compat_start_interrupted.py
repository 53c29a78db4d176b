"""A Ctrl-C that lands in Thread.start() after the handler thread is running.

Python 2 runs the SIGINT handler once ``start()``'s wait for the new thread
returns, so ``KeyboardInterrupt`` can come out of ``start()`` with the thread
already serving; on 3.x the interrupted ``Condition.wait()`` can even surface
as ``RuntimeError('release unlocked lock')`` with the ``KeyboardInterrupt``
as its context (seen on 3.9 in the demo's Ctrl-C test: the loop reported the
RuntimeError through handle_error() and went on serving).  Either way the
Ctrl-C must stop the loop, the running handler keeps its request (the loop
must not close it under the handler), and ``server_close()`` waits for it.
"""
import socket
import sys
import threading

import pytest

import compatserver

from conftest_serve import TIMEOUT

_Thread = threading.Thread


class StartThenInterrupt(_Thread):
    def start(self):
        _Thread.start(self)
        raise KeyboardInterrupt


class StartThenLockError(_Thread):
    """3.x: the KeyboardInterrupt, then the RuntimeError of the lock's __exit__."""

    def start(self):
        _Thread.start(self)
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("release unlocked lock")


@pytest.mark.parametrize("thread_class", [
    StartThenInterrupt,
    pytest.param(StartThenLockError, marks=pytest.mark.skipif(
        sys.version_info[0] < 3,
        reason="Python 2 has no exception context; there the interrupted "
               "wait raises the KeyboardInterrupt itself")),
], ids=["KeyboardInterrupt", "RuntimeError-from-it"])
def test_a_ctrl_c_in_start_stops_the_loop_and_leaves_the_request_to_its_thread(
        monkeypatch, thread_class):
    release = threading.Event()

    class Handler(compatserver.StreamRequestHandler):
        def handle(self):
            release.wait(TIMEOUT)
            self.wfile.write(b"served\n")

    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    client = socket.create_connection(server.server_address, TIMEOUT)
    try:
        monkeypatch.setattr(threading, "Thread", thread_class)
        with pytest.raises(KeyboardInterrupt):
            server.handle_request()
        monkeypatch.undo()
        # server_close() waits for the handler (block_on_close), which ends
        # only once released: release it from a timer.  Its reply arrives:
        # the loop did not close the request under it.
        timer = threading.Timer(0.2, release.set)
        timer.start()
        server.server_close()
        timer.join(TIMEOUT)
        client.settimeout(TIMEOUT)
        assert client.makefile("rb").readline() == b"served\n"
    finally:
        release.set()
        client.close()
        server.server_close()
