"""Point 9: bytes and str: wfile.write()'s count, TextStreamRequestHandler."""
# -*- coding: utf-8 -*-
import re
import socket
import threading

import pytest
import six

import compatserver

from conftest_compat import client, make_server
from conftest_serve import TIMEOUT

SNOWMAN = u"h\u00e9llo \u2603\n"


def serve_one(cls, handler, **attrs):
    """A server with a handle_request() thread; yields (server, worker)."""
    server_cm = make_server(cls, handler, timeout=TIMEOUT, **attrs)
    server = server_cm.__enter__()
    worker = threading.Thread(target=server.handle_request)
    worker.daemon = True
    worker.start()
    return server_cm, server, worker


@pytest.mark.parametrize("wbufsize", [0, 8192])
@pytest.mark.parametrize("data", [b"bytes\n", bytearray(b"bytearray\n"),
                                  memoryview(b"memoryview\n")],
                         ids=["bytes", "bytearray", "memoryview"])
def test_wfile_write_sends_everything_and_returns_the_byte_count(data, wbufsize):
    counts = []
    big = b"z" * (1 << 20) + b"\n"

    class Handler(compatserver.StreamRequestHandler):
        def handle(self):
            counts.append(self.wfile.write(data))
            counts.append(self.wfile.write(big))

    Handler.wbufsize = wbufsize
    with make_server(compatserver.TCPServer, Handler, timeout=TIMEOUT) as server:
        sock = client(server)
        worker = threading.Thread(target=server.handle_request)
        worker.start()
        received = b""
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            received += chunk
        worker.join(TIMEOUT)
        sock.close()
    assert counts == [len(data), len(big)]
    expected = data.tobytes() if isinstance(data, memoryview) else bytes(data)
    assert received == expected + big


def test_wfile_write_refuses_text_on_every_version():
    raised = []

    class Handler(compatserver.StreamRequestHandler):
        def handle(self):
            try:
                self.wfile.write(u"text")
            except TypeError as exc:
                raised.append(exc)

    with make_server(compatserver.TCPServer, Handler, timeout=TIMEOUT) as server:
        sock = client(server)
        server.handle_request()
        sock.close()
    assert len(raised) == 1


def test_datagram_wfile_write_returns_the_byte_count():
    counts = []

    class Handler(compatserver.DatagramRequestHandler):
        def handle(self):
            counts.append(self.wfile.write(self.rfile.read().upper()))

    with make_server(compatserver.UDPServer, Handler, timeout=TIMEOUT) as server:
        sock = client(server)
        sock.send(b"ping")
        server.handle_request()
        assert sock.recv(64) == b"PING"
        sock.close()
    assert counts == [4]


class UpperText(compatserver.TextStreamRequestHandler):
    def handle(self):
        for line in self.lines():
            self.server.seen.append(line)
            self.write(line.upper())


def talk(server, payload):
    """Send *payload*, half-close, return everything the server sent.

    The server may close first (a refused connection): what it sent until
    then is the reply.
    """
    sock = client(server)
    data = b""
    try:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except socket.error as exc:
            assert compatserver.is_disconnect(exc), exc
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.error as exc:
                assert compatserver.is_disconnect(exc), exc
                return data
            if not chunk:
                return data
            data += chunk
    finally:
        sock.close()


def run_text(payload, **handler_attrs):
    handler = type("UpperText", (UpperText,), handler_attrs)
    server_cm, server, worker = serve_one(compatserver.TCPServer, handler)
    try:
        server.seen = []
        reply = talk(server, payload)
        worker.join(TIMEOUT)
        assert not worker.is_alive()
        return server, reply
    finally:
        server_cm.__exit__(None, None, None)


def test_text_handler_reads_and_writes_text():
    server, reply = run_text(SNOWMAN.encode("utf-8") + b"second\n")
    assert server.seen == [SNOWMAN, u"second\n"]
    assert all(type(line) is six.text_type for line in server.seen)
    assert reply == SNOWMAN.upper().encode("utf-8") + b"SECOND\n"


def test_text_handler_write_refuses_bytes():
    raised = []

    class Handler(compatserver.TextStreamRequestHandler):
        def handle(self):
            try:
                self.write(b"bytes")
            except TypeError as exc:
                raised.append(str(exc))
            self.write(u"ok\n")

    server_cm, server, worker = serve_one(compatserver.TCPServer, Handler)
    try:
        assert talk(server, b"") == b"ok\n"
        worker.join(TIMEOUT)
    finally:
        server_cm.__exit__(None, None, None)
    # "str, not bytes" on Python 3, "unicode, not str" on Python 2.
    assert raised == ["write() argument must be %s, not %s"
                      % (six.text_type.__name__, bytes.__name__)]


def client_errors(caplog):
    """The messages of the client errors logged, each checked for its form."""
    records = [r for r in caplog.records if r.name == "compatserver"]
    assert all(r.levelname == "WARNING" for r in records)
    messages = [r.getMessage() for r in records]
    for message in messages:
        assert re.match(r"client 127\.0\.0\.1:\d+: ", message), message
    return [message.split(": ", 1)[1] for message in messages]


def assert_no_traceback(capfd):
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_an_over_long_line_ends_that_connection_and_is_logged_once(caplog, capfd):
    server, reply = run_text(b"short\n" + b"x" * 5000 + b"\nnever read\n",
                             max_line_length=100)
    # The short line was answered; the long one ended the connection.
    assert reply == b"SHORT\n"
    assert server.seen == [u"short\n"]
    assert client_errors(caplog) == ["line longer than 100 bytes"]
    assert_no_traceback(capfd)


def test_memory_stays_bounded_whatever_the_client_sends(caplog):
    # 16 MB without a newline: the handler reads max_line_length + 1 bytes
    # and closes; the client sees the connection reset long before it is
    # done, so the server never held the line.
    class Probe(compatserver.TextStreamRequestHandler):
        max_line_length = 1000

        def handle(self):
            self.readline()

    server_cm, server, worker = serve_one(compatserver.TCPServer, Probe)
    try:
        sock = client(server)
        failed = []
        try:
            for _ in range(256):
                sock.sendall(b"y" * 65536)
        except socket.error as exc:
            failed.append(exc)
        sock.close()
        worker.join(TIMEOUT)
        assert not worker.is_alive()
    finally:
        server_cm.__exit__(None, None, None)
    assert failed and compatserver.is_disconnect(failed[0])
    assert client_errors(caplog) == ["line longer than 1000 bytes"]


def test_undecodable_bytes_end_that_connection_and_the_server_keeps_serving(
        caplog, capfd):
    server, reply = run_text(b"ok\n\xff\xfe bad\nnever read\n")
    assert reply == b"OK\n"
    assert server.seen == [u"ok\n"]
    assert client_errors(caplog) == [
        "undecodable utf-8 input: invalid start byte at position 0"]
    assert_no_traceback(capfd)
    # A new connection to a new server of the same kind is served normally.
    server, reply = run_text(b"fine\n")
    assert reply == b"FINE\n"


def test_errors_policy_applies_to_decoding():
    server, reply = run_text(b"a\xffb\n", errors="replace")
    assert server.seen == [u"a\ufffdb\n"]
    assert reply == u"A\ufffdB\n".encode("utf-8")


def test_a_line_of_exactly_max_line_length_bytes_is_accepted():
    line = b"x" * 99 + b"\n"
    server, reply = run_text(line + b"y" * 100, max_line_length=100)
    assert server.seen == [u"x" * 99 + u"\n", u"y" * 100]


def test_an_encoding_that_is_not_ascii_compatible_is_refused(capfd):
    server, reply = run_text(b"hello\n", encoding="utf-16")
    assert reply == b""
    err = capfd.readouterr()[1]
    assert ("ValueError: encoding 'utf-16' does not encode '\\n' as b'\\n'; "
            "TextStreamRequestHandler needs an ASCII-compatible encoding") in err


def test_text_handler_attributes():
    cls = compatserver.TextStreamRequestHandler
    assert (cls.encoding, cls.errors, cls.max_line_length) == ("utf-8", "strict", 65536)
    assert issubclass(cls, compatserver.StreamRequestHandler)
    assert issubclass(compatserver.LineTooLong, ValueError)


class UpperDatagram(compatserver.TextDatagramRequestHandler):
    def handle(self):
        self.server.seen.append(self.text)
        self.server.counts.append(self.write(self.text.upper()))


@pytest.mark.parametrize("payload, errors, seen, reply", [
    (SNOWMAN.encode("utf-8"), "strict", SNOWMAN, SNOWMAN.upper().encode("utf-8")),
    (b"a\xffb", "replace", u"a\ufffdb", u"A\ufffdB".encode("utf-8")),
])
def test_text_datagram_handler_reads_and_writes_text(payload, errors, seen, reply):
    handler = type("Upper", (UpperDatagram,), {"errors": errors})
    with make_server(compatserver.UDPServer, handler, timeout=TIMEOUT) as server:
        server.seen, server.counts = [], []
        sock = client(server)
        sock.send(payload)
        server.handle_request()
        assert sock.recv(65536) == reply
        sock.close()
    assert server.seen == [seen]
    assert type(server.seen[0]) is six.text_type
    assert server.counts == [len(seen)]


def test_an_undecodable_datagram_gets_no_reply_and_is_logged_once(caplog, capfd):
    with make_server(compatserver.UDPServer, UpperDatagram, timeout=TIMEOUT) as server:
        server.seen, server.counts = [], []
        sock = client(server)
        sock.send(b"\xff bad")
        server.handle_request()
        sock.send(b"good")
        server.handle_request()
        assert sock.recv(65536) == b"GOOD"  # the bad one got no reply
        sock.close()
    assert server.seen == [u"good"]
    assert client_errors(caplog) == [
        "undecodable utf-8 input: invalid start byte at position 0"]
    assert_no_traceback(capfd)
