"""A Ctrl-C that lands in Thread.start() after the handler thread is running.

Python 2 runs the SIGINT handler once ``start()``'s wait for the new thread
returns, so ``KeyboardInterrupt`` can come out of ``start()`` with the thread
already serving.  ``server_close()`` must still wait for that thread: the
demo's Ctrl-C test saw the interpreter exit under a daemon handler thread
(about one run in ten on a loaded 2.7) before ThreadingMixIn kept it.
"""
import socket
import threading

import pytest

import compatserver

from conftest_serve import TIMEOUT as WAIT


_Thread = threading.Thread


class StartThenInterrupt(_Thread):
    def start(self):
        _Thread.start(self)
        raise KeyboardInterrupt


def test_server_close_waits_for_a_thread_whose_start_was_interrupted(monkeypatch):
    finished = threading.Event()
    release = threading.Event()

    class Handler(compatserver.BaseRequestHandler):
        def handle(self):
            release.wait(WAIT)
            finished.set()

    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    client = socket.create_connection(server.server_address, WAIT)
    try:
        request, address = server.get_request()
        monkeypatch.setattr(threading, "Thread", StartThenInterrupt)
        with pytest.raises(KeyboardInterrupt):
            server.process_request(request, address)
        monkeypatch.undo()
        # server_close() waits for the handler (block_on_close), which ends
        # only once released: release it from a timer.
        timer = threading.Timer(0.2, release.set)
        timer.start()
        server.server_close()
        assert finished.is_set(), "server_close() did not wait for the handler"
        timer.join(WAIT)
    finally:
        release.set()
        client.close()
        server.server_close()
