"""The handlers and clients the scenarios run: the code a tutorial reader writes.

This module is recorded by the tracer together with ``socketserver`` (its
calls are the handler's ``handle`` and the client lane of a trace); the
harness that starts and stops everything lives in :mod:`analysis.scenarios`
and is not recorded.  Imports on Python 2.7 and 3.6+.
"""
import socket

from analysis._compat import http_server, socketserver

__all__ = [
    "UpperStreamHandler",
    "UpperDatagramHandler",
    "HelloHTTPHandler",
    "MESSAGE",
    "REPLY",
    "HTTP_BODY",
    "stream_client",
    "datagram_client",
    "http_client",
]

MESSAGE = b"hello socketserver\n"
REPLY = MESSAGE.upper()
HTTP_BODY = b"hello from do_GET\n"


class UpperStreamHandler(socketserver.StreamRequestHandler):
    """Echo one line back upper-cased (the tutorials' first server)."""

    def handle(self):
        """Read one line from the client and write it back upper-cased."""
        line = self.rfile.readline()
        self.wfile.write(line.upper())


class UpperDatagramHandler(socketserver.DatagramRequestHandler):
    """Echo one datagram back upper-cased; ``finish()`` sends what ``wfile`` holds."""

    def handle(self):
        """Read the datagram from rfile and write it back upper-cased."""
        self.wfile.write(self.rfile.read().upper())


class HelloHTTPHandler(http_server.BaseHTTPRequestHandler):
    """Answer every GET with a short text body."""

    def do_GET(self):
        """Send 200 and a short text body."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(HTTP_BODY)))
        self.end_headers()
        self.wfile.write(HTTP_BODY)

    def log_message(self, format, *args):
        """Keep the scenario's stderr quiet (the default logs every request)."""


def _recv_all(sock, limit=65536):
    chunks = []
    received = 0
    while received < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _recv_line(sock, limit=65536):
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def stream_client(family, address, sent, timeout):
    """Connect, send one line, set *sent*, return the reply line."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(MESSAGE)
        sent.set()
        return _recv_line(sock)
    finally:
        sent.set()
        sock.close()


def datagram_client(family, address, sent, timeout):
    """Send one datagram, set *sent*, return the reply datagram."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        sock.sendto(MESSAGE, address)
        sent.set()
        return sock.recvfrom(8192)[0]
    finally:
        sent.set()
        sock.close()


def http_client(family, address, sent, timeout):
    """Send ``GET /`` over HTTP/1.0, set *sent*, return the whole response."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        sent.set()
        return _recv_all(sock)
    finally:
        sent.set()
        sock.close()
