#!/usr/bin/env python
"""Measure socketserver behaviour, the stdlib's and compatserver's, side by side.

The compatibility matrix of the docs (``docs/matrix.rst``) is built from what
this script prints, so every claim on that page is measured on each build.  It
runs on Python 2.7 and 3.6-3.13 (no f-strings, no annotations)::

    python probes.py                     # every probe, both modules: JSON on stdout
    python probes.py --out FILE          # the same, written to FILE
    python probes.py --one ID MODULE     # one probe against "stdlib" or "compatserver"

Each (probe, module) pair runs in a child process of the same interpreter with
a time limit, so a probe that deadlocks (the stdlib's ``shutdown()`` inside a
handler does) is reported as such and cannot hold up the others or leak threads
or signal handlers into them.

A probe returns ``{"key": ..., "text": ...}``: ``key`` is the outcome in a few
words, the same wherever the behaviour is the same (the matrix compares keys
across interpreters); ``text`` adds the measured figures.
"""
from __future__ import division, print_function

import argparse
import errno
import gc
import io
import json
import os
import platform
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
#: Seconds a probe may take in its child process before it is killed.
PROBE_TIMEOUT = 30.0
#: How long a probe waits before calling something blocked.
BLOCKED_AFTER = 1.0

PROBES = []


class Probe(object):
    def __init__(self, ident, title, doc, func, timeout, timing, upstream=()):
        self.ident = ident
        self.title = title
        self.doc = doc
        self.func = func
        self.timeout = timeout
        self.timing = timing
        self.upstream = [list(pair) for pair in upstream]


def probe(ident, title, doc, timeout=PROBE_TIMEOUT, timing=False, upstream=()):
    """Register a probe: ``ident`` is stable, ``title`` is the matrix row.

    ``timeout`` bounds the child process: past it the probe's outcome is
    "hang", which is a finding, not an error.  ``timing`` marks a probe whose
    outcome is a latency: ``--kind timing`` runs those alone, one at a time,
    when the machine is quieter.  ``upstream`` names the CPython changes
    that changed the measured behaviour, as ``(version, issue)`` pairs
    (``("3.7", "bpo-31233")``): the walkthrough cites them where the
    recorded outcome changes between interpreters.
    """
    def register(func):
        PROBES.append(Probe(ident, title, doc, func, timeout, timing, upstream))
        return func
    return register


def outcome(key, text=None):
    return {"key": key, "text": text if text is not None else key}


def load(which):
    """The module under test: the running stdlib's or compatserver."""
    if which == "stdlib":
        try:
            import socketserver as mod
        except ImportError:  # Python 2
            import SocketServer as mod  # noqa: N813
        return mod
    if which == "compatserver":
        import compatserver as mod
        return mod
    raise ValueError("module must be 'stdlib' or 'compatserver', not %r" % (which,))


# -- helpers -----------------------------------------------------------------

def exc_name(exc):
    return type(exc).__name__


def request(address, payload=b"ping\n", timeout=5.0, read=True):
    """Connect, send ``payload``, read until the server closes; return bytes."""
    conn = socket.create_connection(address, timeout=timeout)
    try:
        conn.sendall(payload)
        chunks = []
        while read:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        conn.close()


def start_thread(target, *args):
    t = threading.Thread(target=target, args=args)
    t.daemon = True
    t.start()
    return t


class Serving(object):
    """serve_forever() in a daemon thread, with a bounded stop."""

    def __init__(self, server, poll_interval=0.5):
        self.server = server
        self.error = None
        self.returned = threading.Event()
        self.thread = start_thread(self._run, poll_interval)

    def _run(self, poll_interval):
        try:
            self.server.serve_forever(poll_interval)
        except BaseException as e:  # reported, not lost
            self.error = e
        finally:
            self.returned.set()

    def stop(self, timeout=5.0):
        stopper = start_thread(self.server.shutdown)
        stopper.join(timeout)
        self.returned.wait(timeout)
        self.server.server_close()


class OutputCapture(object):
    """Capture file descriptors 1 and 2 (so ``print`` and ``logging`` both count)."""

    def __enter__(self):
        self.files = {}
        self.saved = {}
        for fd in (1, 2):
            sys.stdout.flush()
            sys.stderr.flush()
            f = tempfile.TemporaryFile()
            self.saved[fd] = os.dup(fd)
            os.dup2(f.fileno(), fd)
            self.files[fd] = f
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        self.out = {}
        for fd in (1, 2):
            os.dup2(self.saved[fd], fd)
            os.close(self.saved[fd])
            f = self.files[fd]
            f.seek(0)
            self.out[fd] = f.read().decode("utf-8", "replace")
            f.close()
        return False


def normalise(line):
    """Hide what changes from run to run: ports, addresses, thread numbers."""
    line = re.sub(r"\d+\.\d+\.\d+\.\d+", "HOST", line)
    line = re.sub(r"\b\d{2,5}\b", "N", line)
    line = re.sub(r"0x[0-9a-f]+", "0x...", line)
    return line.strip()


class SignalStorm(object):
    """SIGALRM every ``interval`` seconds, with a handler that does nothing."""

    def __init__(self, interval=0.01):
        self.interval = interval
        self.count = 0

    def _handler(self, signum, frame):
        self.count += 1

    def __enter__(self):
        self.previous = signal.signal(signal.SIGALRM, self._handler)
        signal.setitimer(signal.ITIMER_REAL, self.interval, self.interval)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, self.previous)
        return False


def fmt_ms(seconds):
    ms = seconds * 1000.0
    if ms < 10:
        return "%.1f ms" % ms
    return "%.0f ms" % ms


def median(values):
    values = sorted(values)
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2.0


# -- the probes --------------------------------------------------------------

@probe("classes", "Classes are new-style: ``super()`` and property setters work in subclasses",
       "A TCPServer subclass calls super().__init__ and sets a property.")
def p_classes(mod):
    class Server(mod.TCPServer):
        def __init__(self, *args, **kwargs):
            self._label = None
            super(Server, self).__init__(*args, **kwargs)

        @property
        def label(self):
            return self._label

        @label.setter
        def label(self, value):
            self._label = "set:" + value

    try:
        server = Server((HOST, 0), mod.BaseRequestHandler)
    except TypeError as e:
        return outcome("super() raises TypeError", "super() raises TypeError: %s" % e)
    try:
        server.label = "x"
        if server.label != "set:x":
            return outcome("property setter ignored")
        return outcome("new-style", "new-style: super() and property setters work")
    finally:
        server.server_close()


@probe("with", "``with Server(...) as server:``",
       "The server is used as a context manager; the socket is closed on exit.",
       upstream=[("3.6", "bpo-26404")])
def p_with(mod):
    server = mod.TCPServer((HOST, 0), mod.BaseRequestHandler)
    sock = server.socket
    try:
        with server:
            pass
    except AttributeError as e:
        server.server_close()
        return outcome("AttributeError", "AttributeError: %s" % e)
    closed = sock.fileno() == -1 if sys.version_info[0] >= 3 else _closed_py2(sock)
    return outcome("works, closes the socket" if closed else "works, socket left open")


def _closed_py2(sock):  # Python 2: a closed socket raises on fileno()
    try:
        sock.fileno()
    except socket.error:
        return True
    return False


def _measure_shutdown(mod, delay, poll_interval=0.5):
    server = mod.TCPServer((HOST, 0), mod.BaseRequestHandler)
    serving = Serving(server, poll_interval)
    time.sleep(delay)
    t0 = time.time()
    server.shutdown()
    serving.returned.wait(5.0)
    latency = time.time() - t0
    server.server_close()
    return latency


@probe("shutdown_latency", "``shutdown()`` latency with the default ``poll_interval`` (0.5 s)",
       "serve_forever() runs in a thread; shutdown() is called 0.05 to 0.45 s after the "
       "loop started, five times: the time until shutdown() returns.", timing=True)
def p_shutdown_latency(mod):
    samples = [_measure_shutdown(mod, d) for d in (0.05, 0.15, 0.25, 0.35, 0.45)]
    worst = max(samples)
    # Polling shows in the median: the five calls land 0.05 to 0.45 s into
    # a 0.5 s poll, so a polled loop has a median near 250 ms.  The maximum
    # also catches a busy machine, so it is shown, not judged.
    key = "woken at once" if median(samples) <= 0.05 else "waits for the next poll"
    return outcome(key, "%s: median %s, max %s" % (key, fmt_ms(median(samples)), fmt_ms(worst)))


@probe("shutdown_sigalrm", "``shutdown()`` latency under a signal every 10 ms",
       "serve_forever() runs in the main thread while SIGALRM arrives every 10 ms; "
       "another thread calls shutdown() 0.25 s later: the time until serve_forever() returns.",
       timeout=6.0, timing=True)
def p_shutdown_sigalrm(mod):
    server = mod.TCPServer((HOST, 0), mod.BaseRequestHandler)
    called = []

    def stop():
        time.sleep(0.25)
        called.append(time.time())
        server.shutdown()

    try:
        with SignalStorm():
            start_thread(stop)
            server.serve_forever()
            latency = time.time() - called[0]
    finally:
        server.server_close()
    key = "woken at once" if latency <= 0.05 else "delayed"
    return outcome(key, "%s: %s" % (key, fmt_ms(latency)))


@probe("handle_request_sigalrm", "``handle_request()`` with ``timeout = 0.5`` under a signal every 10 ms",
       "No client connects; SIGALRM arrives every 10 ms: how long handle_request() takes.",
       timeout=6.0, timing=True)
def p_handle_request_sigalrm(mod):
    class Server(mod.TCPServer):
        timeout = 0.5

    server = Server((HOST, 0), mod.BaseRequestHandler)
    try:
        with SignalStorm():
            t0 = time.time()
            server.handle_request()
            took = time.time() - t0
    finally:
        server.server_close()
    key = "keeps its timeout" if took < 0.75 else "overruns its timeout"
    return outcome(key, "%s: %.2f s" % (key, took))


@probe("shutdown_no_loop", "``shutdown()`` when no loop is running",
       "shutdown() is called before serve_forever() was ever started; then serve_forever() "
       "is started and a client connects.")
def p_shutdown_no_loop(mod):
    class Handler(mod.BaseRequestHandler):
        def handle(self):
            self.request.sendall(b"served")

    server = mod.TCPServer((HOST, 0), Handler)
    stopper = start_thread(server.shutdown)
    stopper.join(BLOCKED_AFTER)
    if stopper.is_alive():
        key = "blocks until a loop runs"
        serving = Serving(server, 0.05)   # releases the blocked shutdown()
        serving.returned.wait(5.0)
        server.server_close()
        return outcome(key, "blocks until a loop runs (still blocked after %.0f s)" % BLOCKED_AFTER)
    serving = Serving(server, 0.05)
    try:
        serving.returned.wait(0.3)
        if serving.returned.is_set():
            return outcome("returns, but the next serve_forever() exits at once")
        reply = request(server.server_address, b"", timeout=5.0)
        return outcome("returns; the next loop serves" if reply == b"served"
                       else "returns; the next loop does not reply")
    finally:
        serving.stop()


@probe("shutdown_in_handler", "``shutdown()`` called inside a handler of a plain ``TCPServer``",
       "The handler calls self.server.shutdown() on the serving thread itself.")
def p_shutdown_in_handler(mod):
    done = threading.Event()

    class Handler(mod.BaseRequestHandler):
        def handle(self):
            self.server.shutdown()
            done.set()

    server = mod.TCPServer((HOST, 0), Handler)
    serving = Serving(server, 0.5)
    try:
        request(server.server_address, b"x", timeout=5.0, read=False)
    except socket.error:
        pass
    if not done.wait(BLOCKED_AFTER * 2):
        # Left stuck on purpose: the child process exits with os._exit().
        return outcome("deadlock", "deadlock (no return after %.0f s)" % (BLOCKED_AFTER * 2))
    stopped = serving.returned.wait(5.0)
    server.server_close()
    return outcome("returns; the loop stops" if stopped else "returns; the loop keeps running")


@probe("server_close_while_serving", "``server_close()`` while ``serve_forever()`` runs, without ``shutdown()``",
       "serve_forever(0.5) runs in a thread; server_close() is called from another: does the "
       "loop end within a second, and if not, how much CPU does it burn in the next half second.")
def p_server_close_while_serving(mod):
    server = mod.TCPServer((HOST, 0), mod.BaseRequestHandler)
    with OutputCapture():  # 2.7's dying thread prints its traceback
        serving = Serving(server, 0.5)
        time.sleep(0.1)
        server.server_close()
        ended = serving.returned.wait(1.0)
        if not ended:
            t0, c0 = time.time(), sum(os.times()[:2])
            time.sleep(0.5)
            cpu = (sum(os.times()[:2]) - c0) / (time.time() - t0)
    if not ended:
        return outcome("loop keeps spinning", "loop keeps spinning (%.1f CPU-s per s)" % cpu)
    if serving.error is not None:
        e = serving.error
        code = errno.errorcode.get(getattr(e, "errno", None), exc_name(e))
        return outcome("loop dies with %s" % code, "loop dies with %s: %s" % (code, e))
    return outcome("loop stops")


@probe("threads_kept", "Finished handler ``Thread`` objects kept by ``ThreadingTCPServer``",
       "200 sequential requests, then the number of finished threading.Thread objects the "
       "process still holds (gc).",
       upstream=[("3.7", "bpo-31233"), ("3.8", "bpo-37193")])
def p_threads_kept(mod):
    class Handler(mod.BaseRequestHandler):
        def handle(self):
            self.request.sendall(b"ok")

    server = mod.ThreadingTCPServer((HOST, 0), Handler)
    serving = Serving(server, 0.05)
    try:
        for _ in range(200):
            request(server.server_address, b"", timeout=5.0)
        time.sleep(0.2)  # the last handler thread finishes after its reply
        # One more request: reaping happens when a request is processed.
        request(server.server_address, b"", timeout=5.0)
        time.sleep(0.2)
        gc.collect()
        kept = [o for o in gc.get_objects()
                if isinstance(o, threading.Thread) and not o.is_alive()
                and o.ident is not None and o is not serving.thread]
        n = len(kept)
    finally:
        serving.stop()
    key = "reaped" if n <= 2 else "all kept until server_close()"
    return outcome(key, "%s: %d of 201 kept" % (key, n))


@probe("server_close_waits", "``server_close()`` while a threaded handler runs (0.5 s)",
       "A ThreadingTCPServer handler sleeps 0.5 s; the loop is shut down and server_close() "
       "is called while it runs: how long server_close() takes.",
       upstream=[("3.7", "bpo-31233"), ("3.7", "bpo-33540")])
def p_server_close_waits(mod):
    started = threading.Event()
    finished = threading.Event()

    class Handler(mod.BaseRequestHandler):
        def handle(self):
            started.set()
            time.sleep(0.5)
            finished.set()

    server = mod.ThreadingTCPServer((HOST, 0), Handler)
    serving = Serving(server, 0.05)
    client = start_thread(request, server.server_address, b"x", 5.0, False)
    if not started.wait(5.0):
        serving.stop()
        return outcome("handler never started")
    server.shutdown()
    t0 = time.time()
    server.server_close()
    took = time.time() - t0
    waited = finished.is_set()
    client.join(5.0)
    finished.wait(5.0)
    key = "waits for the handler" if waited else "returns at once"
    return outcome(key, "%s (%.2f s)" % (key, took))


@probe("server_close_in_handler", "``server_close()`` inside a threaded handler",
       "A ThreadingTCPServer handler calls self.server.server_close().",
       upstream=[("3.7", "bpo-31233")])
def p_server_close_in_handler(mod):
    result = []
    returned = threading.Event()

    class Handler(mod.BaseRequestHandler):
        def handle(self):
            try:
                self.server.server_close()
                result.append(outcome("returns"))
            except Exception as e:
                result.append(outcome(exc_name(e), "%s: %s" % (exc_name(e), e)))
            returned.set()

    server = mod.ThreadingTCPServer((HOST, 0), Handler)
    serving = Serving(server, 0.05)
    try:
        request(server.server_address, b"x", timeout=5.0, read=False)
    except socket.error:
        pass
    if not returned.wait(BLOCKED_AFTER * 2):
        return outcome("blocks", "blocks (no return after %.0f s)" % (BLOCKED_AFTER * 2))
    with OutputCapture():  # the loop may report the closed socket
        start_thread(server.shutdown).join(5.0)
        serving.returned.wait(5.0)
    return result[0]


@probe("service_actions", "``service_actions()`` hook called by ``serve_forever()``",
       "A subclass counts the calls during 0.3 s of serve_forever(0.05).",
       upstream=[("3.3", "bpo-11109")])
def p_service_actions(mod):
    calls = []

    class Server(mod.TCPServer):
        def service_actions(self):
            calls.append(1)

    server = Server((HOST, 0), mod.BaseRequestHandler)
    serving = Serving(server, 0.05)
    time.sleep(0.3)
    serving.stop()
    return outcome("called" if calls else "never called",
                   "called (%d times in 0.3 s)" % len(calls) if calls else "never called")


@probe("fd_over_1023", "A listening socket whose descriptor is above 1023",
       "1100 descriptors are opened first, so the server socket gets a number above 1023; "
       "then one request is served with handle_request().")
def p_fd_over_1023(mod):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1200
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            return outcome("not measured", "not measured: RLIMIT_NOFILE hard limit %d" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    fillers = []
    try:
        while True:
            fd = os.open(os.devnull, os.O_RDONLY)
            fillers.append(fd)
            if fd >= 1100:
                break

        class Handler(mod.BaseRequestHandler):
            def handle(self):
                self.request.sendall(b"ok")

        class Server(mod.TCPServer):
            timeout = 5.0

        server = Server((HOST, 0), Handler)
        fileno = server.fileno()
        try:
            client = start_thread(request, server.server_address, b"", 5.0)
            try:
                server.handle_request()
            except (ValueError, select.error) as e:
                return outcome(exc_name(e), "fd %d: %s: %s" % (fileno, exc_name(e), e))
            client.join(5.0)
            return outcome("serves", "serves (fd %d)" % fileno)
        finally:
            server.server_close()
    finally:
        for fd in fillers:
            os.close(fd)


@probe("max_children", "``max_children`` of ``ForkingTCPServer`` with ``handle_request()``",
       "max_children = 2; six clients connect at once and each child handler takes 0.4 s; "
       "the server calls handle_request() six times: the most children alive at once.")
def p_max_children(mod):
    if not hasattr(os, "fork"):
        return outcome("no os.fork here")

    class Handler(mod.BaseRequestHandler):
        def handle(self):
            time.sleep(0.4)
            self.request.sendall(b"done")

    peak = [0]

    class Server(mod.ForkingTCPServer):
        max_children = 2
        timeout = 5.0

        def process_request(self, request, client_address):
            super_process(self, request, client_address)
            peak[0] = max(peak[0], len(self.active_children or ()))

    # ForkingTCPServer is old-style on 2.7 (stdlib): no super() there.
    def super_process(server, request, client_address):
        mod.ForkingMixIn.process_request(server, request, client_address)

    server = Server((HOST, 0), Handler)
    clients = [start_thread(request, server.server_address, b"", 10.0) for _ in range(6)]
    try:
        for _ in range(6):
            server.handle_request()
    finally:
        for c in clients:
            c.join(10.0)
        server.server_close()
        # Reap whatever server_close() left (2.7 and 3.6 do not wait).
        while True:
            try:
                if os.waitpid(-1, 0)[0] == 0:
                    break
            except OSError:
                break
    key = "enforced before each fork" if peak[0] <= 2 else "exceeded"
    return outcome(key, "%s: up to %d children alive at once (max_children = 2)" % (key, peak[0]))


@probe("handle_error_stream", "Where ``handle_error()`` reports a handler's exception",
       "A handler raises ValueError; the output on stdout and stderr is captured "
       "(file descriptors 1 and 2, so logging counts too). The first line is shown with "
       "addresses and numbers hidden.")
def p_handle_error_stream(mod):
    class Handler(mod.BaseRequestHandler):
        def handle(self):
            raise ValueError("probe")

    class Server(mod.TCPServer):
        timeout = 5.0

    server = Server((HOST, 0), Handler)
    try:
        with OutputCapture() as cap:
            client = start_thread(request, server.server_address, b"", 5.0)
            server.handle_request()
            client.join(5.0)
    finally:
        server.server_close()
    streams = [name for fd, name in ((1, "stdout"), (2, "stderr")) if cap.out[fd].strip()]
    if not streams:
        return outcome("nothing reported")
    first = ""
    for line in (cap.out[1] + cap.out[2]).splitlines():
        if line.strip("- \t"):
            first = normalise(line)
            break
    key = " and ".join(streams)
    return outcome(key, "%s: %s" % (key, first))


@probe("systemexit", "``SystemExit`` raised in a handler",
       "A handler raises SystemExit under handle_request().")
def p_systemexit(mod):
    class Handler(mod.BaseRequestHandler):
        def handle(self):
            raise SystemExit(3)

    class Server(mod.TCPServer):
        timeout = 5.0

    server = Server((HOST, 0), Handler)
    try:
        with OutputCapture():
            client = start_thread(request, server.server_address, b"", 5.0)
            try:
                server.handle_request()
                key = "swallowed"
            except SystemExit:
                key = "re-raised"
            client.join(5.0)
    finally:
        server.server_close()
    return outcome(key)


@probe("disconnect", "A client that resets before the reply is written",
       "The client sends a line and closes with SO_LINGER 0 (a reset); a StreamRequestHandler "
       "then writes its reply. Which exception reaches handle_error(), and from where.")
def p_disconnect(mod):
    seen = []

    class Handler(mod.StreamRequestHandler):
        def handle(self):
            self.rfile.readline()
            time.sleep(0.2)  # the reset has arrived by now
            for _ in range(3):
                self.wfile.write(b"x" * 1024)

    class Server(mod.TCPServer):
        timeout = 5.0

        def handle_error(self, request, client_address):
            exc = sys.exc_info()[1]
            tb = sys.exc_info()[2]
            where = "?"
            while tb is not None:
                name = tb.tb_frame.f_code.co_name
                if name in ("handle", "finish"):
                    where = name
                tb = tb.tb_next
            seen.append((exc, where))

    server = Server((HOST, 0), Handler)

    def client():
        conn = socket.create_connection(server.server_address, timeout=5.0)
        conn.sendall(b"hello\n")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    try:
        with OutputCapture():
            c = start_thread(client)
            server.handle_request()
            c.join(5.0)
    finally:
        server.server_close()
    if not seen:
        return outcome("nothing reported")
    exc, where = seen[0]
    code = getattr(exc, "errno", None)
    name = exc_name(exc)
    if code is None:
        return outcome("%s from %s()" % (name, where))
    # Keyed by errno, the one thing 2.7 (socket.error) and 3.x
    # (ConnectionResetError ...) have in common; the class is in the text.
    symbol = errno.errorcode.get(code, str(code))
    return outcome("%s from %s()" % (symbol, where), "%s from %s(): %s" % (symbol, where, name))


@probe("wfile_write", "``wfile.write()`` return value",
       "A StreamRequestHandler writes b'hello\\n' (6 bytes) and reports what write() returned.",
       upstream=[("3.6", "bpo-26721")])
def p_wfile_write(mod):
    got = []

    class Handler(mod.StreamRequestHandler):
        def handle(self):
            got.append(self.wfile.write(b"hello\n"))

    class Server(mod.TCPServer):
        timeout = 5.0

    server = Server((HOST, 0), Handler)
    try:
        client = start_thread(request, server.server_address, b"", 5.0)
        server.handle_request()
        client.join(5.0)
    finally:
        server.server_close()
    return outcome(repr(got[0]) if got else "handler did not run")


@probe("readline_type", "``rfile.readline()`` result type",
       "The client sends b'hello\\r\\n'; the handler reports the type and value read.")
def p_readline_type(mod):
    got = []

    class Handler(mod.StreamRequestHandler):
        def handle(self):
            got.append(self.rfile.readline())

    class Server(mod.TCPServer):
        timeout = 5.0

    server = Server((HOST, 0), Handler)
    try:
        client = start_thread(request, server.server_address, b"hello\r\n", 5.0)
        server.handle_request()
        client.join(5.0)
    finally:
        server.server_close()
    if not got:
        return outcome("handler did not run")
    value = got[0]
    # str on 2.7 *is* bytes: the key says what the value is, the text its type.
    kind = "bytes" if isinstance(value, bytes) else "text"
    name = type(value).__name__
    if value.endswith(b"\r\n"):
        return outcome(kind, "%s (%s), line ending kept" % (kind, name))
    return outcome(kind, "%s (%s): %r" % (kind, name, value))


@probe("reuse_port", "``allow_reuse_port``",
       "Whether the attribute exists; when it does, two servers that set it bind the same port.")
def p_reuse_port(mod):
    if not hasattr(mod.TCPServer, "allow_reuse_port"):
        return outcome("absent")
    if not hasattr(socket, "SO_REUSEPORT"):
        return outcome("present; no SO_REUSEPORT here")

    class Server(mod.TCPServer):
        allow_reuse_port = True

    first = Server((HOST, 0), mod.BaseRequestHandler)
    try:
        try:
            second = Server(first.server_address, mod.BaseRequestHandler)
        except socket.error as e:
            return outcome("present; second bind fails", "present; second bind fails: %s" % e)
        second.server_close()
        return outcome("present; two servers share a port")
    finally:
        first.server_close()


@probe("forking_unix", "``ForkingUnixStreamServer`` serving a request",
       "Where the class exists, one request over a Unix socket in a temporary directory, "
       "handled in a child process; the reply carries the child's pid.")
def p_forking_unix(mod):
    cls = getattr(mod, "ForkingUnixStreamServer", None)
    if cls is None:
        return outcome("absent")

    class Handler(mod.BaseRequestHandler):
        def handle(self):
            self.request.sendall(str(os.getpid()).encode("ascii"))

    class Server(cls):
        timeout = 5.0

    folder = tempfile.mkdtemp(prefix="probe-")
    path = os.path.join(folder, "s")
    server = Server(path, Handler)
    replies = []

    def client():
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(5.0)
        try:
            conn.connect(path)
            replies.append(conn.recv(64))
        finally:
            conn.close()

    try:
        c = start_thread(client)
        server.handle_request()
        c.join(5.0)
    finally:
        server.server_close()
        os.unlink(path)
        os.rmdir(folder)
    if replies and replies[0] and int(replies[0]) != os.getpid():
        return outcome("present; serves in a child process")
    return outcome("present; no reply from a child", "present; reply %r" % (replies,))


def _stdlib_server_idiom(mod, server_base, call):
    """``class S(mod.ThreadingMixIn, server_base)``: construct, serve, stop.

    *call(address)* makes one real request and returns True when the reply
    is right.  Reports what a user of the idiom meets first: a constructor
    that fails, a request that fails, a ``shutdown()`` that waits for the
    poll (called 0.1 s into a 0.5 s poll), or a ``server_close()`` that
    raises.
    """
    try:
        # A class statement, as users write it (on 2.7 type() cannot make a
        # class from old-style bases only).
        class S(mod.ThreadingMixIn, server_base):
            daemon_threads = True
        server = S(**call.server_kwargs)
    except Exception as e:
        return outcome("construction fails: %s" % exc_name(e),
                       "construction fails: %s: %s" % (exc_name(e), e))
    serving = Serving(server)
    try:
        ok = call(server.server_address)
    except Exception as e:
        serving.stop()
        return outcome("request fails: %s" % exc_name(e))
    time.sleep(0.1)
    t0 = time.time()
    stopper = start_thread(server.shutdown)
    stopper.join(5.0)
    took = time.time() - t0
    serving.returned.wait(5.0)
    try:
        server.server_close()
    except Exception as e:
        return outcome("serves; server_close() fails: %s" % exc_name(e),
                       "serves; server_close() fails: %s: %s" % (exc_name(e), e))
    if not ok:
        return outcome("wrong reply")
    # Called 0.1 s into a 0.5 s poll, a polled loop returns about 0.4 s
    # later; a woken one in milliseconds, or tens of them on a loaded
    # machine (one sample: 2.7 took over 50 ms in a matrix run beside four
    # other jobs).  0.2 s is between the two.
    key = ("serves; shutdown() woken at once" if took <= 0.2
           else "serves; shutdown() waits for the next poll")
    return outcome(key, "%s (%s)" % (key, fmt_ms(took)))


@probe("http_idiom", "``class S(ThreadingMixIn, HTTPServer)``, the stdlib docs' idiom",
       "The module's ThreadingMixIn mixed with the running stdlib's HTTPServer "
       "(``http.server``; ``BaseHTTPServer`` on 2.7): one GET, then shutdown() 0.1 s "
       "into a 0.5 s poll, then server_close().")
def p_http_idiom(mod):
    try:
        from http.server import BaseHTTPRequestHandler, HTTPServer
    except ImportError:  # Python 2
        from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    def call(address):
        reply = request(address, b"GET / HTTP/1.0\r\n\r\n")
        return reply.startswith(b"HTTP/1.0 200") and reply.endswith(b"\r\n\r\nok")
    call.server_kwargs = {"server_address": (HOST, 0), "RequestHandlerClass": Handler}
    return _stdlib_server_idiom(mod, HTTPServer, call)


@probe("xmlrpc_idiom", "``class S(ThreadingMixIn, SimpleXMLRPCServer)``",
       "The module's ThreadingMixIn mixed with the running stdlib's SimpleXMLRPCServer "
       "(``xmlrpc.server``; ``SimpleXMLRPCServer`` on 2.7), whose constructor calls "
       "``TCPServer.__init__`` by name: one call, then shutdown() 0.1 s into a 0.5 s "
       "poll, then server_close().")
def p_xmlrpc_idiom(mod):
    try:
        from xmlrpc.client import ServerProxy
        from xmlrpc.server import SimpleXMLRPCServer
    except ImportError:  # Python 2
        from SimpleXMLRPCServer import SimpleXMLRPCServer
        from xmlrpclib import ServerProxy

    class Server(SimpleXMLRPCServer):
        def __init__(self, server_address, RequestHandlerClass=None):
            SimpleXMLRPCServer.__init__(self, server_address, logRequests=False)
            self.register_function(lambda a, b: a + b, "add")

    def call(address):
        return ServerProxy("http://%s:%d/" % address[:2]).add(2, 3) == 5
    call.server_kwargs = {"server_address": (HOST, 0)}
    return _stdlib_server_idiom(mod, Server, call)


@probe("names", "Names: ``BaseServer`` in ``__all__``; ``ForkingUnixStreamServer`` and "
       "``ForkingUnixDatagramServer``",
       "Looked up on the module.")
def p_names(mod):
    in_all = "BaseServer" in getattr(mod, "__all__", ())
    forking_unix = [n for n in ("ForkingUnixStreamServer", "ForkingUnixDatagramServer")
                    if hasattr(mod, n)]
    parts = ["BaseServer in __all__" if in_all else "BaseServer not in __all__",
             "ForkingUnix* present" if len(forking_unix) == 2 else
             ("ForkingUnix* absent" if not forking_unix else "only " + forking_unix[0])]
    return outcome("; ".join(parts))


# -- running -----------------------------------------------------------------

def run_one(ident, which):
    """Run one probe in this process; return its outcome (errors become outcomes)."""
    for p in PROBES:
        if p.ident == ident:
            break
    else:
        raise SystemExit("unknown probe %r (known: %s)" % (ident, ", ".join(q.ident for q in PROBES)))
    try:
        mod = load(which)
    except ImportError as e:
        return outcome("cannot import", "cannot import %s: %s" % (which, e))
    try:
        return p.func(mod)
    except Exception as e:
        return outcome("probe error", "probe error: %s: %s" % (exc_name(e), e))


def run_child(p, which):
    """Run one probe in a child process of this interpreter, bounded in time."""
    ident, timeout = p.ident, p.timeout
    cmd = [sys.executable, os.path.abspath(__file__), "--one", ident, which]
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    t0 = time.time()
    child = subprocess.Popen(cmd, stdout=out, stderr=err)
    while child.poll() is None:
        if time.time() - t0 > timeout:
            child.kill()
            child.wait()
            return (outcome("hang", "hang: no return within %.0f s (killed)" % timeout),
                    time.time() - t0)
        time.sleep(0.02)
    took = time.time() - t0
    out.seek(0)
    err.seek(0)
    stdout = out.read().decode("utf-8", "replace")
    stderr = err.read().decode("utf-8", "replace")
    out.close()
    err.close()
    lines = stdout.strip().splitlines()
    if child.returncode != 0 or not lines:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return outcome("probe error", "probe error: exit %s: %s" % (child.returncode, tail)), took
    return json.loads(lines[-1]), took


def selected(only=None, kind="all"):
    return [p for p in PROBES if (not only or p.ident in only)
            and (kind == "all" or p.timing == (kind == "timing"))]


def run_all(only=None, jobs=2, progress=None, kind="all"):
    """Every probe against both modules, ``jobs`` child processes at a time."""
    chosen = selected(only, kind)
    todo = [(p, which) for p in chosen for which in ("stdlib", "compatserver")]
    results = {}
    lock = threading.Lock()
    queue = list(todo)

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                p, which = queue.pop(0)
            result, took = run_child(p, which)
            with lock:
                results[(p.ident, which)] = dict(result, seconds=round(took, 2))
                if progress:
                    progress("%s %d/%d %s %s: %s" % (
                        platform.python_version(), len(results), len(todo),
                        p.ident, which, result["key"]))

    threads = [start_thread(worker) for _ in range(max(1, jobs))]
    for t in threads:
        while t.is_alive():
            t.join(1.0)
    probes = []
    for p in chosen:
        probes.append({
            "id": p.ident, "order": PROBES.index(p), "title": p.title, "doc": p.doc,
            "upstream": p.upstream,
            "stdlib": results[(p.ident, "stdlib")],
            "compatserver": results[(p.ident, "compatserver")],
        })
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "probes": probes,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the JSON here instead of stdout")
    parser.add_argument("--only", help="comma-separated probe ids")
    parser.add_argument("--jobs", type=int, default=2, help="probes run at once (default 2)")
    parser.add_argument("--one", nargs=2, metavar=("ID", "MODULE"),
                        help="run one probe in this process and print its outcome")
    parser.add_argument("--kind", choices=("all", "fast", "timing"), default="all",
                        help="timing: only the latency probes; fast: all the others")
    parser.add_argument("--list", action="store_true", help="list the probe ids")
    args = parser.parse_args(argv)
    if args.list:
        for p in PROBES:
            print(p.ident)
        return 0
    if args.one:
        if args.one[1] not in ("stdlib", "compatserver"):
            parser.error("MODULE must be stdlib or compatserver, not %r" % args.one[1])
        result = run_one(*args.one)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
        # A probe may leave a deadlocked daemon thread behind on purpose.
        os._exit(0)
    only = None
    if args.only:
        only = set(args.only.split(","))
        unknown = only - set(p.ident for p in PROBES)
        if unknown:
            parser.error("unknown probe ids: %s" % ", ".join(sorted(unknown)))

    def progress(line):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    report = run_all(only, args.jobs, progress, args.kind)
    text = json.dumps(report, indent=1, sort_keys=True)
    if args.out:
        tmp = args.out + ".tmp"
        with io.open(tmp, "w", encoding="utf-8") as f:
            f.write(text.decode("utf-8") if isinstance(text, bytes) else text)
            f.write(u"\n")
        os.rename(tmp, args.out)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
