"""Measure compatserver against the stdlib socketserver on the running interpreter.

Four measurements, each for every implementation that exists here:

``shutdown``
    ``shutdown()`` latency: from the call (in a controller thread) to the
    return of ``serve_forever()`` (in the main thread, where signals land),
    with the default ``poll_interval`` of 0.5 s, and again with SIGALRM every
    10 ms (``setitimer``).  The call comes after a random delay spread over a
    whole poll interval, so a polling loop shows its true average.
``cpr``
    connection-per-request echo: connect, send 64 bytes, read the reply to
    EOF, close; throughput and p50/p99 latency.
``keepalive``
    one connection, many 64-byte request/replies.
``memory``
    after 5000 connection-per-request requests on ``ThreadingTCPServer``:
    Thread objects still reachable from the server, growth of
    ``threading.active_count()`` and of the RSS (``/proc/self/statm``), each
    implementation in a fresh interpreter process.

Implementations (``impl``): ``stdlib`` (socketserver's ``ThreadingTCPServer``),
``compat`` (compatserver's), ``pool`` (``compatserver.ThreadPoolTCPServer``),
``raw`` (a plain accept / recv / sendall / close loop in one thread: the
ceiling for any server of this shape; throughput only).

The traffic comes from one sequential client in a separate process running
the same interpreter, the same for every implementation; the server runs in
this process.  Throughput rounds are interleaved (A B C D, B C D A, ...) and
every ratio is the median of per-round ratios, so that the noise of a shared
machine hits every implementation alike.

Runs on Python 2.7 and 3.6-3.13; prints one JSON object on stdout
(see README.md).
"""
from __future__ import division, print_function

import gc
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque

from six.moves import socketserver as stdlib_socketserver

import benchlib
from benchlib import clock, median, percentile, progress

try:
    import compatserver
except ImportError as exc:  # the package is being written; say why, measure the rest
    compatserver = None
    COMPAT_IMPORT_ERROR = "compatserver does not import: %s" % (exc,)
else:
    COMPAT_IMPORT_ERROR = None

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
MESSAGE = b"x" * 63 + b"\n"
POLL_INTERVAL = 0.5  # serve_forever's default: what users get
# socketserver.TCPServer.request_queue_size; the raw loop uses the same backlog.
BACKLOG = 5
SOCKET_TIMEOUT = 10.0
HARD_CAP = 30.0  # a shutdown that has not returned by then is a hang: give up loudly

FULL = {
    "shutdown_samples": 50,
    "shutdown_samples_stdlib_sigalrm": 10,
    "shutdown_cap": 5.0,
    "shutdown_delay_max": POLL_INTERVAL,
    # Many short rounds rather than a few long ones: the median of per-round
    # ratios then shrugs off the bursts of other work on a shared machine.
    # 31, not 11: per-round pool/raw ratios spread from 0.78 to 1.02
    # (quartiles, 44 rounds on 3.13), and the median of 11 of them moved by
    # 0.15 between two runs of the same code (0.80 and 0.95).
    "cpr_rounds": 31,
    "cpr_requests": 1000,
    "keepalive_rounds": 11,
    "keepalive_requests": 5000,
    "memory_warmup": 100,
    "memory_requests": 5000,
}
QUICK = {
    "shutdown_samples": 4,
    "shutdown_samples_stdlib_sigalrm": 2,
    "shutdown_cap": 1.0,
    "shutdown_delay_max": 0.05,
    "cpr_rounds": 2,
    "cpr_requests": 50,
    "keepalive_rounds": 2,
    "keepalive_requests": 200,
    "memory_warmup": 10,
    "memory_requests": 200,
}


# -- implementations ------------------------------------------------------

def implementations():
    """Return ``(impls, skipped)``.

    *impls* maps an impl name to ``(server class, BaseRequestHandler)``;
    *skipped* maps the impls that do not exist here to the reason.
    """
    impls = {"stdlib": (stdlib_socketserver.ThreadingTCPServer,
                        stdlib_socketserver.BaseRequestHandler)}
    skipped = {}
    if compatserver is None:
        skipped["compat"] = skipped["pool"] = COMPAT_IMPORT_ERROR
        return impls, skipped
    handler = getattr(compatserver, "BaseRequestHandler", None)
    for impl, name in (("compat", "ThreadingTCPServer"), ("pool", "ThreadPoolTCPServer")):
        cls = getattr(compatserver, name, None)
        if cls is None:
            skipped[impl] = "compatserver.%s does not exist yet" % name
        elif handler is None:
            skipped[impl] = "compatserver.BaseRequestHandler does not exist yet"
        else:
            impls[impl] = (cls, handler)
    return impls, skipped


def echo_handler(base):
    """An echo handler class for one connection-per-request exchange."""
    class EchoHandler(base):
        def handle(self):
            data = self.request.recv(4096)
            if data:
                self.request.sendall(data)
    return EchoHandler


def keepalive_handler(base):
    """An echo handler class that serves request/replies until EOF."""
    class KeepAliveHandler(base):
        def handle(self):
            while True:
                data = self.request.recv(4096)
                if not data:
                    return
                self.request.sendall(data)
    return KeepAliveHandler


class RawLoop(object):
    """The ceiling: one thread doing accept / recv / sendall / close, no framework."""

    def __init__(self, keepalive):
        self.keepalive = keepalive
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(BACKLOG)
        self.server_address = self.sock.getsockname()
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, name="raw-loop")
        self.thread.daemon = True

    def serve(self):
        while True:
            conn, _ = self.sock.accept()
            try:
                if self.stopping:
                    return
                data = conn.recv(4096)
                while data:
                    conn.sendall(data)
                    data = conn.recv(4096) if self.keepalive else b""
            finally:
                conn.close()

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping = True
        # Wake the blocking accept() with one last connection.
        socket.create_connection(self.server_address, timeout=SOCKET_TIMEOUT).close()
        self.thread.join(SOCKET_TIMEOUT)
        self.sock.close()
        if self.thread.is_alive():
            raise RuntimeError("the raw accept loop did not stop")


class Served(object):
    """A socketserver-style server running serve_forever() in a thread."""

    def __init__(self, cls, handler):
        self.server = cls((HOST, 0), handler)
        self.server_address = self.server.server_address
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": POLL_INTERVAL},
                                       name="serve-forever")
        self.thread.daemon = True

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(SOCKET_TIMEOUT)
        if self.thread.is_alive():
            raise RuntimeError("serve_forever() did not return after shutdown()")


# -- the client -----------------------------------------------------------

def _exchange(sock):
    sock.sendall(MESSAGE)
    got = b""
    while len(got) < len(MESSAGE):
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def client_cpr(port, n, latencies=None):
    """Run *n* sequential connection-per-request echoes; return the error count."""
    errors = 0
    for _ in range(n):
        t0 = clock()
        sock = socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT)
        try:
            got = _exchange(sock)
            # Read to EOF: the server closes first, so TIME_WAIT stays on its
            # side and the client's ephemeral ports never run out.
            while sock.recv(4096):
                errors += 1
        finally:
            sock.close()
        if latencies is not None:
            latencies.append(clock() - t0)
        if got != MESSAGE:
            errors += 1
    return errors


def client_keepalive(port, n, latencies):
    """Run *n* request/replies on one connection; return the error count."""
    errors = 0
    sock = socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT)
    try:
        for _ in range(n):
            t0 = clock()
            got = _exchange(sock)
            latencies.append(clock() - t0)
            if got != MESSAGE:
                errors += 1
    finally:
        sock.close()
    return errors


def client_main():
    """The client process: one JSON command per stdin line, one JSON reply per stdout line."""
    for line in iter(sys.stdin.readline, ""):
        cmd = json.loads(line)
        latencies = []
        t0 = clock()
        if cmd["kind"] == "cpr":
            errors = client_cpr(cmd["port"], cmd["n"], latencies)
        else:
            errors = client_keepalive(cmd["port"], cmd["n"], latencies)
        elapsed = clock() - t0
        sys.stdout.write(json.dumps({"elapsed": elapsed, "errors": errors,
                                     "latencies": latencies}) + "\n")
        sys.stdout.flush()


def _child(call):
    """Start this interpreter on *call*, a Python expression using this module."""
    code = "import sys; sys.path.insert(0, %r); import bench_server; bench_server.%s" % (HERE, call)
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, universal_newlines=True)


class Client(object):
    """The client process, driven one command at a time."""

    def __init__(self):
        self.proc = _child("client_main()")

    def run(self, kind, port, n):
        self.proc.stdin.write(json.dumps({"kind": kind, "port": port, "n": n}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the client process died (exit status %s)" % self.proc.wait())
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.stdout.close()
        deadline = time.time() + SOCKET_TIMEOUT
        while self.proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# -- shutdown latency -----------------------------------------------------

def _sleep_until(deadline):
    # time.sleep returns early on EINTR on Python 2; sleep again until done.
    while True:
        left = deadline - clock()
        if left <= 0:
            return
        time.sleep(left)


def shutdown_sample(cls, handler, delay, cap, sigalrm):
    """Time one ``shutdown()``; return ``(milliseconds, censored)``.

    ``serve_forever()`` runs in the main thread, which is where Python runs
    signal handlers and where an interrupted wait shows.  A controller thread
    calls ``shutdown()`` after *delay* seconds.  If the loop has not returned
    *cap* seconds after the call, the timer is stopped so that the loop can
    return at all (stdlib 2.7 retries its whole poll on every EINTR), and the
    sample is marked censored: the true figure is larger.
    """
    server = cls((HOST, 0), handler)
    state = {"censored": False}
    called = threading.Event()
    returned = threading.Event()

    def controller():
        _sleep_until(clock() + delay)
        state["t0"] = clock()
        called.set()
        server.shutdown()

    def watchdog():
        if not called.wait(delay + HARD_CAP):
            return
        if returned.wait(cap):
            return
        if sigalrm:
            state["censored"] = True
            signal.setitimer(signal.ITIMER_REAL, 0)
        if not returned.wait(HARD_CAP):
            progress("FATAL: serve_forever() of %s.%s did not return %.0f s after shutdown()",
                     cls.__module__, cls.__name__, HARD_CAP + cap)
            os._exit(3)

    threads = [threading.Thread(target=controller, name="controller"),
               threading.Thread(target=watchdog, name="watchdog")]
    for t in threads:
        t.daemon = True
    if sigalrm:
        signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
    try:
        for t in threads:
            t.start()
        server.serve_forever(POLL_INTERVAL)
    finally:
        t1 = clock()
        returned.set()
        if sigalrm:
            signal.setitimer(signal.ITIMER_REAL, 0)
    for t in threads:
        t.join(HARD_CAP)
    server.server_close()
    return (t1 - state["t0"]) * 1000.0, state["censored"]


def bench_shutdown(report, impls, cfg):
    alarms = [0]

    def on_alarm(signum, frame):
        alarms[0] += 1

    variants = [("shutdown", False)]
    if hasattr(signal, "setitimer"):
        variants.append(("shutdown_sigalrm", True))
    else:
        for impl in impls:
            report.skip(impl, "signal.setitimer does not exist here", metric="shutdown_sigalrm")
    rng = random.Random(1)
    for metric, sigalrm in variants:
        previous = signal.signal(signal.SIGALRM, on_alarm) if sigalrm else None
        counts = {}
        for impl in impls:
            counts[impl] = cfg["shutdown_samples"]
        if sigalrm:
            counts["stdlib"] = cfg["shutdown_samples_stdlib_sigalrm"]
        samples = dict((impl, []) for impl in impls)
        censored = dict((impl, 0) for impl in impls)
        order = sorted(impls, key=["stdlib", "compat", "pool"].index)
        for i in range(max(counts.values())):
            for impl in order:
                if len(samples[impl]) >= counts[impl]:
                    continue
                cls, base = impls[impl]
                delay = 0.005 + rng.uniform(0, cfg["shutdown_delay_max"])
                ms, cut = shutdown_sample(cls, echo_handler(base), delay,
                                          cfg["shutdown_cap"], sigalrm)
                samples[impl].append(ms)
                censored[impl] += cut
            progress("%s: round %d/%d: %s", metric, i + 1, max(counts.values()),
                     ", ".join("%s %.1f ms" % (impl, samples[impl][-1]) for impl in order
                               if len(samples[impl]) > i))
        if sigalrm:
            signal.signal(signal.SIGALRM, previous)
            report.setup["sigalrm_delivered"] = alarms[0]
        for impl in order:
            target_med = ("<=", 5) if impl != "stdlib" else None
            target_max = ("<=", 20) if impl != "stdlib" else None
            report.result(metric + "_median", impl, round(median(samples[impl]), 3), "ms",
                          target=target_med)
            report.result(metric + "_max", impl, round(max(samples[impl]), 3), "ms",
                          target=target_max)
            report.setup["%s_samples_%s" % (metric, impl)] = len(samples[impl])
            if sigalrm:
                # Samples cut at the cap: the median and max above are then
                # lower bounds (stdlib 2.7 never returns while the signals go on).
                report.result(metric + "_censored", impl, censored[impl], "count")
    report.setup["shutdown_poll_interval_s"] = POLL_INTERVAL
    report.setup["shutdown_censor_cap_s"] = cfg["shutdown_cap"]


# -- throughput -----------------------------------------------------------

def _start(impl, impls, keepalive):
    if impl == "raw":
        served = RawLoop(keepalive)
    else:
        cls, base = impls[impl]
        served = Served(cls, (keepalive_handler if keepalive else echo_handler)(base))
    served.start()
    return served


def bench_traffic(report, impls, cfg, client, kind):
    keepalive = kind == "keepalive"
    rounds = cfg[kind + "_rounds"]
    n = cfg[kind + "_requests"]
    names = sorted(impls, key=["stdlib", "compat", "pool"].index) + ["raw"]
    servers = {}
    try:
        for impl in names:
            servers[impl] = _start(impl, impls, keepalive)
        rates = dict((impl, []) for impl in names)
        latencies = dict((impl, []) for impl in names)
        # A short warm-up per impl: imports, the first thread, socket buffers.
        for impl in names:
            client.run(kind, servers[impl].server_address[1], max(n // 20, 5))
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for impl in order:
                reply = client.run(kind, servers[impl].server_address[1], n)
                if reply["errors"]:
                    raise RuntimeError("%s: %d of %d %s exchanges with %s got a wrong or no reply"
                                       % (kind, reply["errors"], n, kind, impl))
                rates[impl].append(n / reply["elapsed"])
                latencies[impl].extend(reply["latencies"])
            progress("%s: round %d/%d: %s", kind, r + 1, rounds,
                     ", ".join("%s %.0f/s" % (impl, rates[impl][-1]) for impl in names))
    finally:
        for served in servers.values():
            served.stop()
    scale, unit = (1e6, "us") if keepalive else (1e3, "ms")
    for impl in names:
        report.result(kind + "_throughput", impl, round(median(rates[impl]), 1), "req/s")
        report.result(kind + "_p50", impl, round(percentile(latencies[impl], 50) * scale, 3), unit)
        report.result(kind + "_p99", impl, round(percentile(latencies[impl], 99) * scale, 3), unit)

    def paired(num, den):
        return round(median([a / b for a, b in zip(rates[num], rates[den])]), 4)

    metric = kind + "_throughput"
    pairs = [("compat", "stdlib", (">=", 0.95) if kind == "cpr" else None)]
    if kind == "cpr":
        pool_target = (">=", 1.5) if sys.version_info[0] >= 3 else (">=", 1.2)
        pool_raw_target = (">=", 0.85) if sys.version_info >= (3, 12) else None
    else:
        pool_target = pool_raw_target = None
    pairs += [("pool", "stdlib", pool_target), ("pool", "raw", pool_raw_target),
              ("stdlib", "raw", None), ("compat", "raw", None)]
    for num, den, target in pairs:
        if num in rates and den in rates:
            report.ratio(metric, num, den, value=paired(num, den), target=target)
    report.setup["%s_rounds" % kind] = rounds
    report.setup["%s_requests_per_round" % kind] = n


# -- memory ---------------------------------------------------------------

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def threads_reachable(root, depth=4):
    """Count the Thread objects reachable from *root* through its attributes.

    Walks instance ``__dict__``s and containers (dicts, lists, tuples, sets,
    deques, and their subclasses) up to *depth* levels, without entering
    modules, classes or functions: what the server keeps, not the world.
    """
    found = set()
    seen = set()
    level = [root]
    for _ in range(depth + 1):
        nxt = []
        for obj in level:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, threading.Thread):
                found.add(id(obj))
                continue
            if isinstance(obj, dict):
                nxt.extend(obj.values())
            elif isinstance(obj, (list, tuple, set, frozenset, deque)):
                nxt.extend(obj)
            elif isinstance(getattr(obj, "__dict__", None), dict) and not isinstance(
                    obj, (type, type(os), type(rss_bytes))):
                nxt.extend(obj.__dict__.values())
        level = nxt
    return len(found)


def memory_child(impl, warmup, n):
    """In a fresh interpreter: serve *warmup* + *n* requests, print the growth as JSON."""
    impls, _ = implementations()
    cls, base = impls[impl]
    served = Served(cls, echo_handler(base))
    served.start()
    port = served.server_address[1]
    idle = threading.active_count()  # the main thread and serve_forever's

    def settle():
        # Let the last handler thread finish before counting.
        deadline = time.time() + 5
        while threading.active_count() > idle and time.time() < deadline:
            time.sleep(0.01)
        gc.collect()

    # The client is this process's main thread, sequential, the same for both impls.
    errors = client_cpr(port, warmup)
    settle()
    before_rss = rss_bytes()
    before_active = threading.active_count()
    errors += client_cpr(port, n)
    settle()
    out = {"threads_retained": threads_reachable(served.server),
           "active_growth": threading.active_count() - before_active,
           "rss_growth": rss_bytes() - before_rss,
           "errors": errors}
    served.stop()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def bench_memory(report, impls, cfg):
    if not os.path.exists("/proc/self/statm"):
        for impl in ("stdlib", "compat"):
            report.skip(impl, "no /proc/self/statm to read the RSS from", metric="memory")
        return
    for impl in ("stdlib", "compat"):
        if impl not in impls:
            continue
        proc = _child("memory_child(%r, %d, %d)" % (impl, cfg["memory_warmup"],
                                                    cfg["memory_requests"]))
        proc.stdin.close()
        out = {}
        timer = threading.Timer(120, proc.kill)
        timer.start()
        try:
            line = proc.stdout.readline()
        finally:
            timer.cancel()
            proc.stdout.close()
            status = proc.wait()
        if status != 0 or not line:
            raise RuntimeError("the memory child for %s failed (exit status %s)" % (impl, status))
        out = json.loads(line)
        if out["errors"]:
            raise RuntimeError("memory: %d requests to %s got a wrong or no reply"
                               % (out["errors"], impl))
        progress("memory: %s: %d threads retained, active %+d, RSS %+.0f KB after %d requests",
                 impl, out["threads_retained"], out["active_growth"], out["rss_growth"] / 1024.0,
                 cfg["memory_requests"])
        report.result("threads_retained", impl, out["threads_retained"], "count",
                      target=("<=", 2))
        report.result("active_threads_growth", impl, out["active_growth"], "count")
        report.result("rss_growth", impl, round(out["rss_growth"] / 1048576.0, 3), "MB",
                      target=("<", 1.0))
    report.setup["memory_requests"] = cfg["memory_requests"]
    report.setup["memory_warmup_requests"] = cfg["memory_warmup"]
    report.setup["memory_client"] = "sequential client in the server's own fresh process (main thread)"


def main(argv=None):
    args = benchlib.parse_args(__doc__.split("\n\n")[0], argv)
    cfg = QUICK if args.quick else FULL
    report = benchlib.Report("server", quick=args.quick)
    report.setup["client"] = ("one sequential client in a separate process, same interpreter, "
                              "for every impl")
    impls, skipped = implementations()
    for impl in sorted(skipped):
        report.skip(impl, skipped[impl])
    if "pool" in impls:
        report.setup["pool_size"] = impls["pool"][0].pool_size
        report.setup["pool_queue_size"] = impls["pool"][0].queue_size
    progress("bench_server on Python %s: %s", sys.version.split()[0], ", ".join(sorted(impls)))
    bench_shutdown(report, impls, cfg)
    client = Client()
    try:
        bench_traffic(report, impls, cfg, client, "cpr")
        bench_traffic(report, impls, cfg, client, "keepalive")
    finally:
        client.close()
    bench_memory(report, impls, cfg)
    report.emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
