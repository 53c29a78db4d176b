"""Real clients nobody here wrote: ``curl`` and ``wrk`` against ``http.server``.

The stdlib's own ``SimpleHTTPRequestHandler`` (``SimpleHTTPServer`` on 2.7)
is served by ``compatserver.http``'s thread-per-request and pool servers, side by
side with the stdlib's ``ThreadingHTTPServer`` (``ThreadingMixIn`` +
``HTTPServer`` before 3.7).  Every body is checked, and wrk must report zero
socket errors.  ``make test`` installs the Debian packages ``wrk`` and
``curl``; without them these tests are skipped, saying which is missing.

``SimpleHTTPRequestHandler`` speaks HTTP/1.0 by default, so every request
gets its own connection; the ``keepalive`` variant sets
``protocol_version = "HTTP/1.1"`` and the clients reuse connections.
"""
import os
import shutil
import sys
import tempfile

import pytest

import compatserver.http
from conftest_load import HOST
from conftest_serve import TIMEOUT, serving

# The servers, handler and wrk script are the HTTP benchmark's own, so what
# the benchmark measures is what these tests check.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import benchlib  # noqa: E402
import httpload  # noqa: E402

BODY = b"".join(b"line %04d of the file that every client checks\n" % i for i in range(200))


WRK = benchlib.which("wrk")
CURL = benchlib.which("curl")
needs_wrk = pytest.mark.skipif(
    WRK is None, reason="wrk is not installed (Debian package wrk; make test installs it)")
needs_curl = pytest.mark.skipif(
    CURL is None, reason="curl is not installed (Debian package curl; make test installs it)")


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
    "stdlib": _recording(httpload.stdlib_threading_http_server()),
    "compat": _recording(compatserver.http.ThreadingHTTPServer),
    # A keep-alive connection holds a pool worker for as long as it lasts:
    # the clients below open four connections, the pool has eight workers.
    "pool": _recording(compatserver.http.ThreadPoolHTTPServer, pool_size=8),
}


@pytest.fixture(scope="module")
def docroot():
    path = tempfile.mkdtemp(prefix="cs-http-")
    with open(os.path.join(path, "file.txt"), "wb") as f:
        f.write(BODY)
    yield path
    shutil.rmtree(path)


def handler_class(docroot, keepalive):
    return httpload.handler_class(docroot, keepalive, timeout=TIMEOUT)


def http_server(impl, docroot, mode):
    """The *impl* server on 127.0.0.1 port 0, serving *docroot* in *mode*."""
    return SERVERS[impl]((HOST, 0), handler_class(docroot, mode == "keepalive"))


@pytest.fixture(params=["stdlib", "compat", "pool"])
def impl(request):
    return request.param


@pytest.fixture(params=["close", "keepalive"])
def mode(request):
    return request.param


def _url(server, path="/file.txt"):
    return "http://%s:%d%s" % (HOST, server.server_address[1], path)


@needs_curl
def test_curl_gets_the_file_status_codes_and_connection_reuse(impl, mode, docroot):
    out_dir = tempfile.mkdtemp(prefix="cs-curl-")
    try:
        with serving(http_server(impl, docroot, mode)) as server:
            outputs = [os.path.join(out_dir, "%d" % i) for i in range(3)]
            args = [CURL, "-sS", "--max-time", "10", "-w", "%{http_code} %{num_connects}\\n"]
            for path in outputs:
                args += ["-o", path, _url(server)]
            args += ["-o", os.path.join(out_dir, "missing"), _url(server, "/missing")]
            lines = httpload.run(args, 60).splitlines()
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


def run_wrk(url, body_path, connections, seconds, script_dir):
    script = httpload.write_wrk_script(script_dir)
    return httpload.wrk(WRK, url, seconds, script, body_path, connections)


@needs_wrk
def test_wrk_zero_socket_errors_and_every_body_right(impl, mode, docroot):
    with serving(http_server(impl, docroot, mode)) as server:
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
