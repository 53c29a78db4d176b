# -*- coding: utf-8 -*-
"""compatserver.http: the stdlib's HTTP server on every interpreter.

The stdlib's idiom ``class X(mixin, HTTPServer)`` (and a user's own
TCPServer subclass) with each compatserver mix-in, the ready-made classes,
and the 2/3 differences of the handlers that compatserver.http smooths
(its module docstring lists them).
"""
import functools
import socket
import sys

import pytest

import compatserver
import compatserver.http as cs_http
from compatserver import _compat

from conftest_moved import (
    MIXIN_IDS, MIXINS, UsersOwnServer, check_life_cycle,
    check_shutdown_from_handler, http_exchange, http_get, idiom, scratch_dir)
from conftest_serve import serving

STD_BASE, STD_SIMPLE, STD_CGI = _compat.http_modules()
# The stdlib deprecated CGIHTTPRequestHandler in 3.13 (gh-109096): it warns
# for every request.
CGI_WARNS = sys.version_info >= (3, 13)


class Hello(cs_http.BaseHTTPRequestHandler):
    """Answers ``hello``; ``/shutdown`` stops the server first."""

    def do_GET(self):
        if self.path == "/shutdown":
            self.server.shutdown()
        body = b"hello from " + self.path.encode("ascii")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def answers_hello(server):
    status, headers, body = http_get(server.server_address, "/hi")
    assert status == b"HTTP/1.0 200 OK"
    assert headers["content-length"] == b"14"
    assert body == b"hello from /hi"


def answers_after_shutdown(server):
    status, _, body = http_get(server.server_address, "/shutdown")
    assert (status, body) == (b"HTTP/1.0 200 OK", b"hello from /shutdown")


# -- the stdlib's idiom with every mix-in, and the ready-made classes ----------

STDLIB_SERVERS = [STD_BASE.HTTPServer, UsersOwnServer]
READY_MADE = [cs_http.HTTPServer, cs_http.ThreadingHTTPServer,
              cs_http.ThreadPoolHTTPServer]


def ids(cls):
    return cls.__name__


@pytest.mark.parametrize("mixin", [m for m, _ in MIXINS], ids=MIXIN_IDS)
@pytest.mark.parametrize("base", STDLIB_SERVERS, ids=ids)
def test_idiom_serves_and_stops_at_once(mixin, base):
    cls = idiom(mixin, base)
    check_life_cycle(lambda: cls(("127.0.0.1", 0), Hello), answers_hello)


@pytest.mark.parametrize("mixin", [m for m, k in MIXINS if k != "forking"],
                         ids=[k for k in MIXIN_IDS if k != "forking"])
@pytest.mark.parametrize("base", STDLIB_SERVERS, ids=ids)
def test_idiom_shutdown_from_a_handler(mixin, base):
    # Not with ForkingMixIn: the handler's shutdown() would stop the loop of
    # the child's copy of the server.
    cls = idiom(mixin, base)
    check_shutdown_from_handler(lambda: cls(("127.0.0.1", 0), Hello),
                                answers_after_shutdown)


@pytest.mark.parametrize("cls", READY_MADE, ids=ids)
def test_ready_made_serves_and_stops_at_once(cls):
    check_life_cycle(lambda: cls(("127.0.0.1", 0), Hello), answers_hello)


@pytest.mark.parametrize("cls", READY_MADE, ids=ids)
def test_ready_made_shutdown_from_a_handler(cls):
    check_shutdown_from_handler(lambda: cls(("127.0.0.1", 0), Hello),
                                answers_after_shutdown)


def test_public_names():
    expected = ["HTTPServer", "ThreadingHTTPServer", "ThreadPoolHTTPServer",
                "BaseHTTPRequestHandler", "SimpleHTTPRequestHandler"]
    if hasattr(STD_CGI, "CGIHTTPRequestHandler"):
        expected.append("CGIHTTPRequestHandler")
    assert cs_http.__all__ == expected
    # A submodule, not part of the package's socketserver names.
    assert not set(expected) & set(compatserver.__all__)


def test_classes_subclass_the_running_stdlibs():
    assert issubclass(cs_http.HTTPServer, STD_BASE.HTTPServer)
    assert issubclass(cs_http.ThreadingHTTPServer, compatserver.ThreadingMixIn)
    assert cs_http.ThreadingHTTPServer.daemon_threads is True
    std_threading = getattr(STD_BASE, "ThreadingHTTPServer", None)  # 3.7+
    if std_threading is not None:
        assert issubclass(cs_http.ThreadingHTTPServer, std_threading)
    assert issubclass(cs_http.ThreadPoolHTTPServer, compatserver.ThreadPoolMixIn)
    assert cs_http.ThreadPoolHTTPServer.request_queue_size == 128
    assert issubclass(cs_http.BaseHTTPRequestHandler, STD_BASE.BaseHTTPRequestHandler)
    assert issubclass(cs_http.BaseHTTPRequestHandler, compatserver.StreamRequestHandler)
    assert issubclass(cs_http.SimpleHTTPRequestHandler,
                      STD_SIMPLE.SimpleHTTPRequestHandler)
    if hasattr(STD_CGI, "CGIHTTPRequestHandler"):
        assert issubclass(cs_http.CGIHTTPRequestHandler, STD_CGI.CGIHTTPRequestHandler)
    for name in ("HTTPServer", "ThreadingHTTPServer", "ThreadPoolHTTPServer"):
        compatserver._loop.check_bases(getattr(cs_http, name))
        assert getattr(cs_http, name).__module__ == "compatserver.http"


# -- the 2/3 differences smoothed ----------------------------------------------

class Recorder(cs_http.BaseHTTPRequestHandler):
    """Runs ``self.server.action(self)`` for GET and HEAD; logs to stderr."""

    def do_GET(self):
        self.server.action(self)

    do_HEAD = do_GET


def serve(action, handler=Recorder):
    server = cs_http.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.action = action
    return serving(server)


def test_wfile_takes_bytes_and_returns_the_count():
    # 2.7's wfile returned None and sent str(u"...") silently.
    def action(handler):
        handler.send_response(200)
        handler.end_headers()
        count = handler.wfile.write(b"abc")
        try:
            handler.wfile.write(u"text")
        except TypeError:
            refused = b"refused"
        else:
            refused = b"accepted"
        handler.wfile.write((" %d " % count).encode("ascii") + refused)

    with serve(action) as server:
        status, _, body = http_get(server.server_address, "/")
    assert (status, body) == (b"HTTP/1.0 200 OK", b"abc 3 refused")


def test_header_lines_are_buffered_and_latin1_encoded():
    # 2.7 wrote each line to wfile at once (a unicode value then failed)
    # and had no send_response_only() / flush_headers() (bpo-3709).
    def action(handler):
        handler.send_response_only(200, u"Fine")
        handler.send_header(u"X-Text", u"caf\xe9")
        handler.send_header("X-Bytes", "plain")
        handler.send_header("Content-Length", "2")
        handler.flush_headers()
        handler.wfile.write(b"\r\nok")

    with serve(action) as server:
        status, headers, body = http_get(server.server_address, "/")
    assert status == b"HTTP/1.0 200 Fine"
    assert headers["x-text"] == u"caf\xe9".encode("latin-1")
    assert headers["x-bytes"] == b"plain"
    assert "server" not in headers and "date" not in headers  # _only
    assert body == b"ok"


class CountingWriter(object):
    """A wfile that records each write()."""

    def __init__(self, wfile):
        self.wfile = wfile
        self.writes = []

    def write(self, data):
        self.writes.append(bytes(data))
        return self.wfile.write(data)

    def __getattr__(self, name):
        return getattr(self.wfile, name)


def test_headers_are_sent_by_end_headers_in_one_write():
    # 2.7 sent each header line in a write (and a packet) of its own.
    def action(handler):
        handler.wfile = counting = CountingWriter(handler.wfile)
        handler.send_response(200)
        handler.send_header("X-One", "1")
        handler.send_header("Content-Length", "0")
        before = len(counting.writes)
        handler.end_headers()
        handler.server.result = (before, list(counting.writes))

    with serve(action) as server:
        status, headers, _ = http_get(server.server_address, "/")
        before, writes = server.result
    assert status == b"HTTP/1.0 200 OK" and headers["x-one"] == b"1"
    assert (before, len(writes)) == (0, 1), writes
    assert writes[0].startswith(b"HTTP/1.0 200 OK\r\n")
    assert writes[0].endswith(b"\r\nX-One: 1\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_send_error_explains_with_content_length(method):
    # bpo-12921: 2.7's send_error() had no explain argument and sent no
    # Content-Length; the page is HTML-escaped; HEAD gets no body.
    def action(handler):
        handler.send_error(404, "Nope", "Look <elsewhere> & later")

    with serve(action) as server:
        status, headers, body = http_get(server.server_address, "/x", method)
    assert status == b"HTTP/1.0 404 Nope"
    assert headers["connection"] == b"close"
    length = int(headers["content-length"])
    if method == "HEAD":
        assert body == b""
    else:
        assert length == len(body)
        assert b"Look &lt;elsewhere&gt; &amp; later" in body
        assert b"Nope" in body


@pytest.mark.parametrize("code", [204, 304])
def test_send_error_without_a_body(code):
    def action(handler):
        handler.send_error(code)

    with serve(action) as server:
        status, headers, body = http_get(server.server_address, "/")
    assert status.startswith(("HTTP/1.0 %d " % code).encode("ascii"))
    assert "content-length" not in headers and body == b""


def test_parse_errors_go_through_send_error():
    with serve(lambda handler: None) as server:
        status, headers, body = http_exchange(server.server_address,
                                              b"BREW /pot HTTP/1.0\r\n\r\n")
    assert status.startswith(b"HTTP/1.0 501 ")
    assert int(headers["content-length"]) == len(body) > 0


def test_log_escapes_control_characters(capsys):
    # gh-100001: 2.7 and 3.6 wrote a client's terminal escapes into the log.
    def action(handler):
        handler.send_response(200)
        handler.end_headers()

    with serve(action) as server:
        http_get(server.server_address, "/\x1b[31mred\\")
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert '"GET /\\x1b[31mred\\\\ HTTP/1.0" 200 -' in err
    assert err.startswith("127.0.0.1 - - [")


def test_address_string_is_the_ip_address():
    # 2.7 looked the client's name up in the DNS.
    def action(handler):
        body = handler.address_string().encode("ascii")
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(body)

    with serve(action) as server:
        assert http_get(server.server_address, "/")[2] == b"127.0.0.1"


# -- SimpleHTTPRequestHandler and CGIHTTPRequestHandler ------------------------

FILES = {"hello.txt": b"hello file\n", "sub/inner.txt": b"inner\n"}


@pytest.mark.parametrize("cls_name", ["SimpleHTTPRequestHandler",
                                      "CGIHTTPRequestHandler"])
def test_directory_argument(tmpdir, cls_name):
    # bpo-28707: directory= is 3.7+ in the stdlib.
    if not hasattr(cs_http, cls_name):
        pytest.skip("no %s in this stdlib" % cls_name)
    if CGI_WARNS and cls_name == "CGIHTTPRequestHandler":
        pytest.skip("3.13 warns for each request: see test_cgi_handler")
    root = scratch_dir(tmpdir, FILES)
    handler = functools.partial(getattr(cs_http, cls_name), directory=root)

    class Quiet(cs_http.ThreadingHTTPServer):
        pass

    server = Quiet(("127.0.0.1", 0), handler)
    with serving(server):
        address = server.server_address
        assert http_get(address, "/hello.txt")[2] == b"hello file\n"
        assert http_get(address, "/sub/inner.txt")[2] == b"inner\n"
        if cls_name == "SimpleHTTPRequestHandler":
            # (2.7's CGIHTTPRequestHandler raises IndexError on this path.)
            assert http_get(address, "/sub/../../hello.txt")[2] == b"hello file\n"
        status, headers, _ = http_get(address, "/sub")
        assert status.startswith(b"HTTP/1.0 301 ")
        assert headers["location"] == b"/sub/"
        assert b"inner.txt" in http_get(address, "/sub/")[2]
        status, headers, body = http_get(address, "/missing.txt")
        assert status.startswith(b"HTTP/1.0 404 ")
        assert int(headers["content-length"]) == len(body)


def handle_in_this_thread(handler_cls, request_bytes, **kwargs):
    """Run one request through *handler_cls* in the calling thread."""
    ours, theirs = socket.socketpair()
    try:
        theirs.settimeout(10)
        theirs.sendall(request_bytes)
        theirs.shutdown(socket.SHUT_WR)

        class Server(object):
            server_name, server_port = "localhost", 80

        handler_cls(ours, ("127.0.0.1", 12345), Server(), **kwargs)
        ours.close()
        data = b""
        while True:
            chunk = theirs.recv(65536)
            if not chunk:
                return data
            data += chunk
    finally:
        ours.close()
        theirs.close()


@pytest.mark.skipif(not hasattr(cs_http, "CGIHTTPRequestHandler"),
                    reason="no CGIHTTPRequestHandler in this stdlib")
def test_cgi_handler(tmpdir, capsys):
    root = scratch_dir(tmpdir, FILES)
    cls = cs_http.CGIHTTPRequestHandler

    def run(request):
        if CGI_WARNS:
            with pytest.warns(DeprecationWarning, match="CGIHTTPRequestHandler"):
                return handle_in_this_thread(cls, request, directory=root)
        return handle_in_this_thread(cls, request, directory=root)

    reply = run(b"GET /hello.txt HTTP/1.0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.0 200 OK\r\n")
    assert reply.endswith(b"\r\n\r\nhello file\n")
    # A POST outside cgi_directories: send_error() with Content-Length.
    reply = run(b"POST /hello.txt HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 501 ")
    assert (b"\r\nContent-Length: %d\r\n" % len(body)) in head + b"\r\n"
