"""What the HTTP benchmark and the HTTP tests share: servers, handler, wrk.

``bench_http.py`` measures and ``tests/test_load_http.py`` asserts; both
serve the stdlib's own ``SimpleHTTPRequestHandler`` (``SimpleHTTPServer`` on
2.7) from the same server classes and drive the same ``wrk`` script, so what
is measured is what is tested.  Runs on Python 2.7 and 3.6-3.13.
"""
import json
import os
import subprocess

from six.moves import BaseHTTPServer, SimpleHTTPServer
from six.moves import socketserver as stdlib_socketserver

import benchlib

# wrk checks every response body in Lua (the file's bytes are its first
# script argument) and reports its figures as one JSON line from done().
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


def stdlib_threading_http_server():
    """``http.server.ThreadingHTTPServer`` (3.7+), or what 3.7 defines, before."""
    cls = getattr(BaseHTTPServer, "ThreadingHTTPServer", None)
    if cls is None:
        class ThreadingHTTPServer(stdlib_socketserver.ThreadingMixIn, BaseHTTPServer.HTTPServer):
            daemon_threads = True
        cls = ThreadingHTTPServer
    return cls


def handler_class(docroot, keepalive, timeout):
    """``SimpleHTTPRequestHandler`` serving *docroot*, quietly.

    *keepalive*: HTTP/1.1, so clients reuse connections (the handler's default
    HTTP/1.0 closes each one).  *timeout*: a client that stops talking does
    not hold a thread for ever.
    """
    base = SimpleHTTPServer.SimpleHTTPRequestHandler

    class Handler(base):
        def translate_path(self, path):
            # The `directory` argument is 3.7+: serve docroot on every version.
            path = base.translate_path(self, path)
            return os.path.join(docroot, os.path.relpath(path, os.getcwd()))

        def log_message(self, format, *args):
            pass  # one stderr line per request would drown the output

    Handler.timeout = timeout
    if keepalive:
        Handler.protocol_version = "HTTP/1.1"
        # The handler sends the headers and the body in two writes; with
        # Nagle's algorithm on, the body waits for the ACK of the headers,
        # which the client delays by 40 ms: about 90 requests/s on every
        # server alike.  Closing the connection flushes, so HTTP/1.0 never
        # waits.
        Handler.disable_nagle_algorithm = True
    return Handler


def run(args, timeout):
    """Run a client program; its stdout as text, RuntimeError if it fails."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = benchlib.communicate(proc, timeout)
    if proc.returncode != 0:
        raise RuntimeError("%s exited with status %s: %s"
                           % (os.path.basename(args[0]), proc.returncode,
                              err.decode("utf-8", "replace").strip()))
    return out.decode("utf-8")


def write_wrk_script(directory):
    """Write :data:`WRK_SCRIPT` into *directory*; return its path."""
    path = os.path.join(directory, "check.lua")
    with open(path, "w") as f:
        f.write(WRK_SCRIPT)
    return path


def wrk(wrk_path, url, seconds, script, body_path, connections):
    """One wrk run against *url*: the figures ``WRK_SCRIPT`` reports, as a dict."""
    out = run([wrk_path, "-t1", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "5s",
               "-s", script, url, "--", body_path], seconds + 60)
    return json.loads(out.strip().splitlines()[-1])
