"""Point 7: handle_error's report, SystemExit/KeyboardInterrupt, disconnects."""
import errno
import os
import select
import socket
import struct
import threading
import time

import pytest

import compatserver

from conftest_compat import (
    SERVERS, client, handler_calling, is_stream, make_server, request)
from conftest_serve import TIMEOUT, serving

pytestmark = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")

ids = lambda c: c.__name__  # noqa: E731

DASHES = "-" * 40


def fail(handler):
    raise ValueError("boom")


def reporting_then_marking(cls, fd):
    """*cls*'s own handle_error(), then one byte on the pipe *fd*.

    The test waits for that byte, then reads capfd once: polling
    capfd.readouterr() drops what a handler thread or a forked child
    writes while it empties the capture file.
    """
    def handle_error(self, request, client_address):
        cls.handle_error(self, request, client_address)
        os.write(fd, b"!")
    return handle_error


def wait_for_mark(fd, timeout=TIMEOUT):
    ready, _, _ = select.select([fd], [], [], timeout)
    assert ready, "handle_error() did not return within %s s" % timeout
    os.read(fd, 1)


@pytest.mark.parametrize("cls", SERVERS, ids=ids)
def test_handle_error_reports_on_stderr_with_one_wording(cls, capfd):
    marks, mark = os.pipe()
    try:
        with make_server(cls, handler_calling(cls, fail),
                         handle_error=reporting_then_marking(cls, mark)) as server, \
                serving(server):
            sock = client(server)
            try:
                if is_stream(cls):
                    sock.sendall(b"hello\n")
                    assert sock.recv(64) == b""  # the request was closed
                else:
                    sock.send(b"hello\n")
                # A datagram client stays open until the report: finish()
                # sends the (empty) reply, and to a closed Unix socket
                # that would fail, and be the error reported.
                wait_for_mark(marks)
            finally:
                sock.close()
    finally:
        os.close(marks)
        os.close(mark)
    out, err = capfd.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == DASHES
    assert lines[1].startswith("Exception occurred during processing of request from ")
    assert lines[2] == "Traceback (most recent call last):"
    assert lines[-2:] == ["ValueError: boom", DASHES]
    assert err.count("Exception occurred during processing") == 1


def test_handle_error_names_the_client_address(capfd):
    cls = compatserver.TCPServer
    with make_server(cls, handler_calling(cls, fail), timeout=TIMEOUT) as server:
        sock = client(server)
        sock.sendall(b"hello\n")
        server.handle_request()
        address = sock.getsockname()
        sock.close()
    out, err = capfd.readouterr()
    assert out == ""
    assert err.splitlines()[:3] == [
        DASHES,
        "Exception occurred during processing of request from %s" % (address,),
        "Traceback (most recent call last):",
    ]


@pytest.mark.parametrize("exc", [SystemExit, KeyboardInterrupt])
def test_system_exit_and_keyboard_interrupt_propagate_from_a_sync_handler(exc):
    errors = []

    def raise_it(handler):
        raise exc("stop")

    cls = compatserver.TCPServer
    with make_server(cls, handler_calling(cls, raise_it), timeout=TIMEOUT) as server:
        server.handle_error = lambda request, address: errors.append(address)
        sock = client(server)
        sock.sendall(b"hello\n")
        with pytest.raises(exc):
            server.handle_request()
        # Not passed to handle_error (2.7 did), and the request was closed.
        assert errors == []
        assert sock.recv(64) == b""
        sock.close()


@pytest.mark.parametrize("exc", [SystemExit])
def test_system_exit_ends_only_the_handler_thread(exc, monkeypatch):
    errors = []
    calls = []

    def maybe_raise(handler):
        calls.append(1)
        if len(calls) == 1:
            raise exc("stop")

    cls = compatserver.ThreadingTCPServer
    # SystemExit ends a thread silently on every version; pytest would
    # otherwise report it from its own threading.excepthook (3.8+).
    if hasattr(threading, "excepthook"):
        monkeypatch.setattr(threading, "excepthook", lambda args: None)
    with make_server(cls, handler_calling(cls, maybe_raise)) as server, serving(server):
        server.handle_error = lambda request, address: errors.append(address)
        assert request(server) == b""
        assert request(server) == b"done\n"
    assert errors == []


def reset_by_peer(sock):
    """Close *sock* with an RST (SO_LINGER 0), as a crashed client does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("wbufsize", [0, 65536])
def test_finish_does_not_raise_when_the_client_went_away(wbufsize):
    errors = []
    gone = threading.Event()
    finished = threading.Event()

    class Handler(compatserver.StreamRequestHandler):
        def handle(self):
            self.rfile.readline()
            gone.wait(TIMEOUT)
            time.sleep(0.05)
            if self.wbufsize:
                # Buffered: nothing is sent before finish() flushes.
                self.wfile.write(b"x" * 1000)

        def finish(self):
            try:
                super(Handler, self).finish()
            finally:
                finished.set()

    cls = compatserver.TCPServer
    with make_server(cls, Handler, timeout=TIMEOUT) as server:
        server.RequestHandlerClass.wbufsize = wbufsize
        server.handle_error = lambda request, address: errors.append(address)
        sock = client(server)
        sock.sendall(b"hello\n")
        worker = threading.Thread(target=server.handle_request)
        worker.start()
        time.sleep(0.05)
        reset_by_peer(sock)
        gone.set()
        worker.join(TIMEOUT)
        assert finished.is_set()
    # 3.x stdlib: the flush error is swallowed, then close() flushes again
    # and raises BrokenPipeError / ConnectionResetError into handle_error.
    assert errors == []


def test_is_disconnect_recognises_a_real_broken_pipe():
    left, right = socket.socketpair()
    right.close()
    try:
        with pytest.raises(socket.error) as info:
            for _ in range(100):
                left.sendall(b"x" * 65536)
        assert compatserver.is_disconnect(info.value)
    finally:
        left.close()


@pytest.mark.parametrize("code", ["EPIPE", "ECONNRESET", "ECONNABORTED"])
def test_is_disconnect_recognises_errno_on_every_exception_type(code):
    number = getattr(errno, code)
    assert compatserver.is_disconnect(socket.error(number, "gone"))
    assert compatserver.is_disconnect(IOError(number, "gone"))
    assert compatserver.is_disconnect(OSError(number, "gone"))


@pytest.mark.parametrize("exc", [
    socket.timeout("timed out"), ValueError("x"), OSError(errno.ENOENT, "no"),
    socket.error(errno.EADDRINUSE, "in use"), KeyError(errno.EPIPE)])
def test_is_disconnect_rejects_other_errors(exc):
    assert not compatserver.is_disconnect(exc)
