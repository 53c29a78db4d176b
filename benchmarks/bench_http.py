"""Measure http.server's handler on the stdlib and compatserver servers with wrk.

The handler is the stdlib's own ``SimpleHTTPRequestHandler``
(``SimpleHTTPServer`` on 2.7) serving one 10 KB file; the servers
(``impl``):

``stdlib``
    ``http.server.ThreadingHTTPServer`` (3.7+; ``ThreadingMixIn`` +
    ``HTTPServer`` before, as 3.7 defines it);
``compat``
    ``compatserver.http.ThreadingHTTPServer``;
``pool``
    ``compatserver.http.ThreadPoolHTTPServer``.

Two kinds of traffic: ``http_close`` (the handler's default HTTP/1.0: one
connection per request) and ``http_keepalive`` (``protocol_version =
"HTTP/1.1"``, connections reused; Nagle off, or the handler's two writes
wait 40 ms for a delayed ACK).  The client is ``wrk`` (Debian package
``wrk``), one thread and four connections, with a Lua script that checks
every response body; ``curl`` (Debian package ``curl``) first fetches the
file once from every server as a sanity check.  Rounds are interleaved
(A B C, B C A, ...) and ratios are medians of per-round ratios.

Runs on Python 2.7 and 3.6-3.13; prints one JSON object on stdout
(see README.md).  Without wrk it reports every impl as skipped and exits 0.
"""
from __future__ import division, print_function

import errno
import os
import shutil
import sys
import tempfile
import threading

import benchlib
from benchlib import median, progress, which
from httpload import handler_class as http_handler_class
from httpload import run, stdlib_threading_http_server, wrk, write_wrk_script

try:
    import compatserver.http as compat_http
except ImportError as exc:  # say why, measure the rest
    compat_http = None
    COMPAT_IMPORT_ERROR = "compatserver.http does not import: %s" % (exc,)
else:
    COMPAT_IMPORT_ERROR = None

HOST = "127.0.0.1"
CONNECTIONS = 4
BODY = b"".join(b"line %05d of the file every response is checked against\n" % i
                for i in range(180))
FULL = {"rounds": 3, "seconds": 3, "warmup_seconds": 1}
QUICK = {"rounds": 1, "seconds": 1, "warmup_seconds": 0}
ORDER = ["stdlib", "compat", "pool"]
MODES = ["http_close", "http_keepalive"]

# -- servers ----------------------------------------------------------------

DISCONNECT_ERRNOS = frozenset(getattr(errno, name) for name in
                              ("EPIPE", "ECONNRESET", "ECONNABORTED", "ESHUTDOWN", "ENOTCONN")
                              if hasattr(errno, name))


def error_counting(base, name):
    """*base* whose ``handle_error()`` counts, and prints only the unexpected.

    wrk stops at its deadline with requests in flight, and those handlers
    meet a closed connection: that is the client's doing, counted apart.
    ``object`` is a base too: on Python 2 the stdlib's classes are classic.
    """
    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if getattr(exc, "errno", None) in DISCONNECT_ERRNOS:
            self.disconnects += 1
        else:
            self.errors += 1
            base.handle_error(self, request, client_address)

    return type(name, (base, object), {"handle_error": handle_error})


def stdlib_server_class():
    return error_counting(stdlib_threading_http_server(), "ThreadingHTTPServer")


def compat_server_class(base):
    return error_counting(base, base.__name__)


def implementations():
    impls = {"stdlib": stdlib_server_class()}
    skipped = {}
    if compat_http is None:
        skipped["compat"] = skipped["pool"] = COMPAT_IMPORT_ERROR
        return impls, skipped
    for impl, name in (("compat", "ThreadingHTTPServer"), ("pool", "ThreadPoolHTTPServer")):
        base = getattr(compat_http, name, None)
        if base is None:
            skipped[impl] = "compatserver.http.%s does not exist" % name
        else:
            impls[impl] = compat_server_class(base)
    return impls, skipped


def handler_class(docroot, keepalive):
    return http_handler_class(docroot, keepalive, timeout=30)


class Served(object):
    def __init__(self, cls, handler):
        self.server = cls((HOST, 0), handler)
        self.server.errors = self.server.disconnects = 0
        self.url = "http://%s:%d/file.txt" % (HOST, self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="serve-forever")
        self.thread.daemon = True
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(30)
        if self.thread.is_alive():
            raise RuntimeError("serve_forever() did not return after shutdown()")


# -- clients ----------------------------------------------------------------

def curl_check(curl, url, workdir):
    out_path = os.path.join(workdir, "curl.out")
    code = run([curl, "-sS", "--max-time", "10", "-o", out_path, "-w", "%{http_code}", url], 30)
    with open(out_path, "rb") as f:
        body = f.read()
    if code != "200" or body != BODY:
        raise RuntimeError("curl %s: status %s, %d bytes (expected 200, %d bytes of the file)"
                           % (url, code, len(body), len(BODY)))


# -- the benchmark ------------------------------------------------------------

def bench(report, impls, cfg, wrk_path, curl_path, workdir):
    body_path = os.path.join(workdir, "file.txt")
    script = write_wrk_script(workdir)
    names = [impl for impl in ORDER if impl in impls]
    for mode in MODES:
        keepalive = mode == "http_keepalive"
        servers = {}
        try:
            for impl in names:
                servers[impl] = Served(impls[impl], handler_class(workdir, keepalive))
            if curl_path is not None:
                for impl in names:
                    curl_check(curl_path, servers[impl].url, workdir)
            if cfg["warmup_seconds"]:
                for impl in names:
                    wrk(wrk_path, servers[impl].url, cfg["warmup_seconds"], script, body_path, CONNECTIONS)
            rates = dict((impl, []) for impl in names)
            p50 = dict((impl, []) for impl in names)
            p99 = dict((impl, []) for impl in names)
            socket_errors = dict((impl, 0) for impl in names)
            bad = dict((impl, 0) for impl in names)
            for r in range(cfg["rounds"]):
                order = names[r % len(names):] + names[:r % len(names)]
                for impl in order:
                    fig = wrk(wrk_path, servers[impl].url, cfg["seconds"], script, body_path, CONNECTIONS)
                    rates[impl].append(fig["requests"] / (fig["duration_us"] / 1e6))
                    p50[impl].append(fig["p50_us"] / 1000.0)
                    p99[impl].append(fig["p99_us"] / 1000.0)
                    socket_errors[impl] += sum(fig[k] for k in ("connect", "read", "write",
                                                                "timeout"))
                    bad[impl] += fig["bad"] + fig["status"]
                progress("%s: round %d/%d: %s", mode, r + 1, cfg["rounds"],
                         ", ".join("%s %.0f/s" % (impl, rates[impl][-1]) for impl in names))
        finally:
            for served in servers.values():
                served.stop()
        for impl in names:
            server = servers[impl].server
            if server.errors:
                raise RuntimeError("%s %s: %d handler errors other than client disconnects"
                                   % (mode, impl, server.errors))
            report.result(mode + "_throughput", impl, round(median(rates[impl]), 1), "req/s")
            report.result(mode + "_p50", impl, round(median(p50[impl]), 3), "ms")
            report.result(mode + "_p99", impl, round(median(p99[impl]), 3), "ms")
            report.result(mode + "_socket_errors", impl, socket_errors[impl], "count",
                          target=("<=", 0))
            report.result(mode + "_bad_responses", impl, bad[impl], "count", target=("<=", 0))
            report.setup["%s_disconnects_at_wrk_stop_%s" % (mode, impl)] = server.disconnects
        for num in ("compat", "pool"):
            if num in rates and "stdlib" in rates:
                value = median([a / b for a, b in zip(rates[num], rates["stdlib"])])
                report.ratio(mode + "_throughput", num, "stdlib", value=round(value, 4))


def main(argv=None):
    args = benchlib.parse_args(__doc__.split("\n\n")[0], argv)
    cfg = QUICK if args.quick else FULL
    report = benchlib.Report("http", quick=args.quick)
    impls, skipped = implementations()
    for impl in sorted(skipped):
        report.skip(impl, skipped[impl])
    wrk_path, curl_path = which("wrk"), which("curl")
    if wrk_path is None:
        for impl in ORDER:
            if impl in impls:
                report.skip(impl, "wrk is not installed (Debian package wrk)")
        report.emit()
        return 0
    report.setup.update({
        "client": "wrk -t1 -c%d, every body checked in Lua; curl fetch first" % CONNECTIONS,
        "rounds": cfg["rounds"],
        "seconds_per_run": cfg["seconds"],
        "body_bytes": len(BODY),
        "latency": "median over rounds of wrk's per-run p50 / p99",
        "curl_check": "passed" if curl_path else "skipped: curl is not installed",
    })
    if "pool" in impls:
        report.setup["pool_size"] = impls["pool"].pool_size
    progress("bench_http on Python %s: %s", sys.version.split()[0], ", ".join(sorted(impls)))
    workdir = tempfile.mkdtemp(prefix="bench-http-")
    try:
        with open(os.path.join(workdir, "file.txt"), "wb") as f:
            f.write(BODY)
        bench(report, impls, cfg, wrk_path, curl_path, workdir)
    finally:
        shutil.rmtree(workdir)
    report.emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
