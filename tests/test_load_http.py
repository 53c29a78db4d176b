"""Real clients nobody here wrote: ``curl`` and ``wrk`` against ``http.server``.

The stdlib's own ``SimpleHTTPRequestHandler`` (``SimpleHTTPServer`` on 2.7)
is served by compatserver's thread-per-request and pool servers, side by
side with the stdlib's ``ThreadingHTTPServer`` (``ThreadingMixIn`` +
``HTTPServer`` before 3.7).  Every body is checked, and wrk must report zero
socket errors.  ``make test`` installs the Debian packages ``wrk`` and
``curl``; without them these tests are skipped, saying which is missing.

``SimpleHTTPRequestHandler`` speaks HTTP/1.0 by default, so every request
gets its own connection; the ``keepalive`` variant sets
``protocol_version = "HTTP/1.1"`` and the clients reuse connections.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from six.moves import BaseHTTPServer, SimpleHTTPServer
from six.moves import socketserver as stdlib_socketserver

import compatserver
from conftest_load import HOST, TIMEOUT, serving

BODY = b"".join(b"line %04d of the file that every client checks\n" % i for i in range(200))


def _which(name):
    for d in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


WRK = _which("wrk")
CURL = _which("curl")
needs_wrk = pytest.mark.skipif(
    WRK is None, reason="wrk is not installed (Debian package wrk; make test installs it)")
needs_curl = pytest.mark.skipif(
    CURL is None, reason="curl is not installed (Debian package curl; make test installs it)")


def _stdlib_threading_http_server():
    cls = getattr(BaseHTTPServer, "ThreadingHTTPServer", None)  # 3.7+
    if cls is None:
        # What 3.7 defines, for 2.7 and 3.6.
        class ThreadingHTTPServer(stdlib_socketserver.ThreadingMixIn,
                                  BaseHTTPServer.HTTPServer):
            daemon_threads = True
        cls = ThreadingHTTPServer
    return cls


def _compat_http_server(base):
    """What ``http.server.HTTPServer`` adds to ``TCPServer``, on *base*."""
    class HTTPServer(base):
        allow_reuse_address = True

        def server_bind(self):
            base.server_bind(self)
            host, port = self.server_address[:2]
            self.server_name = host  # HTTPServer's getfqdn() may do a DNS lookup
            self.server_port = port

    HTTPServer.__name__ = "HTTP" + base.__name__
    return HTTPServer


def _recording(base, **attrs):
    """*base*, with ``handle_error()`` recording the exception in ``errors``.

    wrk stops at its deadline with requests in flight: those handlers meet a
    closed connection, which is reported, not printed over the test output.
    """
    def __init__(self, *args, **kwargs):
        self.errors = []
        base.__init__(self, *args, **kwargs)

    def handle_error(self, request, client_address):
        self.errors.append(sys.exc_info()[1])

    namespace = {"__init__": __init__, "handle_error": handle_error}
    namespace.update(attrs)
    # object as well: on Python 2 the stdlib's server is a classic class.
    return type("Recording" + base.__name__, (base, object), namespace)


SERVERS = {
    "stdlib": _recording(_stdlib_threading_http_server()),
    "compat": _recording(_compat_http_server(compatserver.ThreadingTCPServer)),
    # A keep-alive connection holds a pool worker for as long as it lasts:
    # the clients below open four connections, the pool has eight workers.
    "pool": _recording(_compat_http_server(compatserver.ThreadPoolTCPServer), pool_size=8),
}


@pytest.fixture(scope="module")
def docroot():
    path = tempfile.mkdtemp(prefix="cs-http-")
    with open(os.path.join(path, "file.txt"), "wb") as f:
        f.write(BODY)
    yield path
    shutil.rmtree(path)


def handler_class(docroot, keepalive):
    base = SimpleHTTPServer.SimpleHTTPRequestHandler

    class Handler(base):
        # A client that stops talking must not hold a thread for ever.
        timeout = TIMEOUT

        def translate_path(self, path):
            # SimpleHTTPRequestHandler serves the current directory (the
            # `directory` argument is 3.7+): serve docroot instead.
            path = base.translate_path(self, path)
            return os.path.join(docroot, os.path.relpath(path, os.getcwd()))

        def log_message(self, format, *args):
            pass  # one stderr line per request would drown the test output

    if keepalive:
        Handler.protocol_version = "HTTP/1.1"
        # The handler sends the headers and the body in two writes; with
        # Nagle's algorithm on, the body waits for the ACK of the headers,
        # which the client delays by 40 ms: about 90 requests/s on every
        # server alike.  Closing the connection flushes, so HTTP/1.0 never
        # waits.
        Handler.disable_nagle_algorithm = True
    return Handler


@pytest.fixture(params=["stdlib", "compat", "pool"])
def impl(request):
    return request.param


@pytest.fixture(params=["close", "keepalive"])
def mode(request):
    return request.param


def _url(server, path="/file.txt"):
    return "http://%s:%d%s" % (HOST, server.server_address[1], path)


def _run(args, timeout=60):
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()  # the tools' own --max-time / -d bound them
    assert proc.returncode == 0, (args, proc.returncode, err)
    return out.decode("utf-8"), err.decode("utf-8")


@needs_curl
def test_curl_gets_the_file_status_codes_and_connection_reuse(impl, mode, docroot):
    out_dir = tempfile.mkdtemp(prefix="cs-curl-")
    try:
        with serving(SERVERS[impl], handler_class(docroot, mode == "keepalive")) as server:
            outputs = [os.path.join(out_dir, "%d" % i) for i in range(3)]
            args = [CURL, "-sS", "--max-time", "10", "-w", "%{http_code} %{num_connects}\\n"]
            for path in outputs:
                args += ["-o", path, _url(server)]
            args += ["-o", os.path.join(out_dir, "missing"), _url(server, "/missing")]
            out, err = _run(args)
            lines = out.splitlines()
            # Three 200s and a 404; curl reuses the connection only when the
            # server keeps it alive (HTTP/1.1).
            expected_connects = ["1", "0", "0", "0"] if mode == "keepalive" else ["1"] * 4
            assert lines == ["%s %s" % (code, n) for code, n in
                             zip(["200", "200", "200", "404"], expected_connects)]
            for path in outputs:
                with open(path, "rb") as f:
                    assert f.read() == BODY
        assert server.errors == []
    finally:
        shutil.rmtree(out_dir)


# wrk checks each body in Lua and reports its figures as JSON from done().
WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  local f = assert(io.open(args[1], "rb"))
  expected = f:read("*a")
  f:close()
  good = 0
  bad = 0
end
function response(status, headers, body)
  if status == 200 and body == expected then good = good + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "good": %d, "bad": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, g, b, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(url, body_path, connections, seconds, script_dir):
    script = os.path.join(script_dir, "check.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    out, err = _run([WRK, "-t1", "-c%d" % connections, "-d%ds" % seconds,
                     "--timeout", "5s", "-s", script, url, "--", body_path])
    return json.loads(out.strip().splitlines()[-1])


@needs_wrk
def test_wrk_zero_socket_errors_and_every_body_right(impl, mode, docroot):
    with serving(SERVERS[impl], handler_class(docroot, mode == "keepalive")) as server:
        figures = run_wrk(_url(server), os.path.join(docroot, "file.txt"),
                          connections=4, seconds=1, script_dir=docroot)
    # At most the four requests in flight when wrk stopped met a closed
    # connection; nothing else went wrong on the server.
    assert len(server.errors) <= 4
    assert [e for e in server.errors if not compatserver.is_disconnect(e)] == []
    errors = dict((k, figures[k]) for k in ("connect", "read", "write", "status", "timeout"))
    assert errors == {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    assert figures["bad"] == 0
    # Each response was checked: as many good bodies as requests.
    assert figures["good"] == figures["requests"]
    assert figures["requests"] > 50
