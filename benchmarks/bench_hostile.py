"""Measure the thread pool with silent connections open.

``ThreadPoolTCPServer`` parks a connection that has not sent anything in its
loop's poller instead of giving it a worker (compatserver/_pool.py, issue
11).  Two figures per interpreter:

``silent_cpr_throughput``
    a well-behaved sequential client's connection-per-request echo
    throughput (bench_server's client, in its own process) against one pool
    server with no other connection open (``pool``) and with ``SILENT``
    connections open that never send a byte (``pool_silent``), rounds
    interleaved; the ratio ``pool_silent / pool`` has the issue's target,
    at least 0.9.
``parked_memory``
    the growth of this process's RSS per parked connection, after
    ``SILENT`` connections are parked (the client sockets live in another
    process, so only the server's side is counted).

Runs on Python 2.7 and 3.6-3.13; prints one JSON object on stdout (see
README.md).
"""
from __future__ import division, print_function

import socket
import subprocess
import sys
import time

import benchlib
from benchlib import median, progress
from bench_server import HERE, HOST, SOCKET_TIMEOUT, Client, Served, echo_handler, rss_bytes

try:
    import compatserver
except ImportError as exc:  # say why
    compatserver = None
    COMPAT_IMPORT_ERROR = "compatserver does not import: %s" % (exc,)
else:
    COMPAT_IMPORT_ERROR = None

SILENT = 1000
FULL = {"rounds": 9, "requests": 1000, "silent": SILENT}
QUICK = {"rounds": 2, "requests": 50, "silent": 50}


def silent_main(port, count):
    """The silent clients' process: open *count* connections, hold them until stdin closes."""
    socks = []
    for _ in range(count):
        socks.append(socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT))
    sys.stdout.write("open\n")
    sys.stdout.flush()
    sys.stdin.read()
    for sock in socks:
        sock.close()


class SilentClients(object):
    """*count* connections to *port* that never send, held by another process."""

    def __init__(self, port, count):
        code = ("import sys; sys.path.insert(0, %r); import bench_hostile; "
                "bench_hostile.silent_main(%d, %d)" % (HERE, port, count))
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, universal_newlines=True)
        if self.proc.stdout.readline().strip() != "open":
            raise RuntimeError("the silent clients could not connect (exit status %s)"
                               % self.proc.wait())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
        self.proc.stdout.close()


def _rss():
    try:
        return rss_bytes()
    except (IOError, OSError):
        return None


def wait_for(predicate, what, timeout=60.0):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise RuntimeError("timed out waiting for %s" % what)
        time.sleep(0.01)


def pool_class():
    class Pool(compatserver.ThreadPoolTCPServer):
        # Room for the silent connections and the client's.
        max_connections = SILENT + 100
        request_queue_size = 1024
    return Pool


def bench(report, cfg):
    handler = echo_handler(compatserver.BaseRequestHandler)
    cls = pool_class()
    quiet, busy = Served(cls, handler), Served(cls, handler)
    quiet.start()
    busy.start()
    client = Client()
    silent = None
    try:
        rss_before = _rss()
        silent = SilentClients(busy.server_address[1], cfg["silent"])
        wait_for(lambda: busy.server.pool_stats()["parked"] == cfg["silent"],
                 "%d parked connections" % cfg["silent"])
        rss_after = _rss()
        report.setup["parked"] = busy.server.pool_stats()["parked"]
        report.setup["workers_with_silent_open"] = busy.server.pool_stats()["workers"]
        if rss_before is not None and rss_after is not None:
            report.result("parked_memory", "pool_silent",
                          round((rss_after - rss_before) / 1024.0 / cfg["silent"], 2), "KB")
        else:
            report.skip("pool_silent", "no /proc/self/statm to read the RSS from",
                        metric="parked_memory")
        servers = [("pool", quiet), ("pool_silent", busy)]
        rates = dict((name, []) for name, _ in servers)
        for r in range(cfg["rounds"]):
            order = servers if r % 2 == 0 else servers[::-1]
            for name, served in order:
                out = client.run("cpr", served.server_address[1], cfg["requests"])
                if out["errors"]:
                    raise RuntimeError("%s: %d wrong replies" % (name, out["errors"]))
                rates[name].append(cfg["requests"] / out["elapsed"])
            progress("round %d/%d: %s", r + 1, cfg["rounds"],
                     ", ".join("%s %.0f/s" % (n, rates[n][-1]) for n, _ in servers))
        report.setup["workers_after"] = busy.server.pool_stats()["workers"]
        for name, _ in servers:
            report.result("silent_cpr_throughput", name, round(median(rates[name]), 1), "req/s")
        report.ratio("silent_cpr_throughput", "pool_silent", "pool",
                     value=round(median([a / b for a, b in zip(rates["pool_silent"],
                                                               rates["pool"])]), 4),
                     target=(">=", 0.9))
    finally:
        if silent is not None:
            silent.close()
        client.close()
        quiet.stop()
        busy.stop()


def main(argv=None):
    args = benchlib.parse_args(__doc__.split("\n\n")[0], argv)
    cfg = QUICK if args.quick else FULL
    report = benchlib.Report("hostile", quick=args.quick)
    report.setup.update({"client": "sequential connection-per-request client process",
                         "silent_connections": cfg["silent"], "rounds": cfg["rounds"],
                         "requests_per_round": cfg["requests"]})
    if compatserver is None:
        report.skip("pool", COMPAT_IMPORT_ERROR)
    else:
        bench(report, cfg)
    report.emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
