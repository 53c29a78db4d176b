"""Helpers for the load and fault tests (``test_load_*.py``).

A server under test is built on 127.0.0.1 port 0 and served with
``conftest_serve.serving(cls((HOST, 0), Command))``, which shuts it down,
joins its loop and closes it, each step bounded in time.  The server
classes record what reaches ``handle_error()`` (instead of printing it) and
count the requests they accepted and finished, so that a test waits for an
exact count instead of sleeping.
"""
import errno
import hashlib
import os
import socket
import struct
import sys
import threading
import time

import compatserver
from conftest_serve import TIMEOUT

HOST = "127.0.0.1"

BASES = {
    "sync": compatserver.TCPServer,
    "threading": compatserver.ThreadingTCPServer,
    "pool": compatserver.ThreadPoolTCPServer,
}
#: Server kinds that serve clients concurrently.
CONCURRENT = ["threading", "pool"]
ALL_KINDS = ["sync", "threading", "pool"]

BIG = 1024 * 1024


def server_class(kind, record_errors=True, **attrs):
    """A subclass of compatserver's *kind* server that counts its requests.

    ``accepted``: requests given to ``process_request()``; ``done``:
    requests shut down (the reply sent and the socket closed).  With
    *record_errors*, ``handle_error()`` appends the exception to ``errors``
    instead of printing it.  *attrs* become class attributes (before
    ``__init__``, so ``request_queue_size`` takes effect).
    """
    base = BASES[kind]
    # A backlog of 5 (TCPServer's default) makes a quick series of connects
    # wait a whole second for a SYN retry; the tests are about other things.
    attrs.setdefault("request_queue_size", 128)

    class Counting(base):
        def __init__(self, *args, **kwargs):
            self.counts_lock = threading.Lock()
            self.accepted = 0
            self.done = 0
            self.errors = []
            super(Counting, self).__init__(*args, **kwargs)

        def process_request(self, request, client_address):
            with self.counts_lock:
                self.accepted += 1
            super(Counting, self).process_request(request, client_address)

        def shutdown_request(self, request):
            super(Counting, self).shutdown_request(request)
            with self.counts_lock:
                self.done += 1

        if record_errors:
            def handle_error(self, request, client_address):
                exc = sys.exc_info()[1]
                with self.counts_lock:
                    self.errors.append(exc)

    Counting.__name__ = "Counting" + base.__name__
    for name, value in attrs.items():
        setattr(Counting, name, value)
    return Counting


class Command(compatserver.StreamRequestHandler):
    """Reads one command line and acts on it; the faults come from the client.

    ``echo ...``: replies ``echo: <line>``; ``boom``: raises ValueError;
    ``big``: replies ``BIG`` bytes; ``readall``: reads to EOF and replies
    with the length and SHA-1 of what followed the line; ``hold S``: sleeps
    S seconds, then replies ``held\\n`` and 256 KB.
    """

    #: Nothing a client does may hold a handler for ever.
    timeout = TIMEOUT

    def handle(self):
        line = self.rfile.readline()
        if line.startswith(b"boom"):
            raise ValueError("boom from handler")
        if line.startswith(b"big"):
            self.wfile.write(b"x" * BIG)
        elif line.startswith(b"readall"):
            rest = self.rfile.read()
            self.wfile.write(digest_reply(rest))
        elif line.startswith(b"hold"):
            time.sleep(float(line.split()[1]))
            self.wfile.write(HELD_REPLY)
        elif line.startswith(b"exit"):
            raise SystemExit(3)
        else:
            self.wfile.write(b"echo: " + line)


HELD_REPLY = b"held\n" + b"h" * (256 * 1024)


def digest_reply(data):
    return ("%d %s\n" % (len(data), hashlib.sha1(data).hexdigest())).encode("ascii")


def connect(address, timeout=TIMEOUT):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(address)
    return sock


def read_to_eof(sock):
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.error as exc:
            # Python 2 (no PEP 475): a test that sends SIGALRM to the process
            # interrupts this recv() when the kernel hands the signal to a
            # client thread, which it does when the main thread already has
            # one pending (seen under load).  3.5+ resumes by itself.
            if exc.args[0] == errno.EINTR:
                continue
            raise
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def exchange(address, data, half_close=False):
    """Send *data*, optionally shut down the write side, read to EOF."""
    sock = connect(address)
    try:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_to_eof(sock)
    finally:
        sock.close()


def reset(sock):
    """Close *sock* with an RST instead of a FIN (SO_LINGER, zero timeout)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def send_ignoring_disconnect(sock, data):
    """sendall() that stops quietly when the server has closed the connection."""
    try:
        sock.sendall(data)
    except socket.error as exc:
        if not compatserver.is_disconnect(exc):
            raise


def assert_serving(server, n=3):
    """The server still answers other clients, correctly."""
    for i in range(n):
        line = ("echo still serving %d\n" % i).encode("ascii")
        assert exchange(server.server_address, line) == b"echo: " + line


def open_fds():
    """The number of open descriptors of this process (Linux), or None."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def resources():
    """(open descriptors, the set of live threads) of this process."""
    return open_fds(), frozenset(threading.enumerate())


def assert_back_to(baseline, timeout=TIMEOUT):
    """Descriptors return to *baseline*'s count and no thread started since is
    still alive (a joined thread may be listed for a moment on Python 2;
    threads that ended, such as pytest-timeout's timer, do not matter)."""
    fds, threads = baseline
    deadline = time.time() + timeout
    while True:
        now_fds, now_threads = resources()
        new_threads = now_threads - threads
        if (now_fds == fds and not new_threads) or time.time() > deadline:
            break
        time.sleep(0.01)
    assert (now_fds, sorted(t.name for t in new_threads)) == (fds, []), (
        "open fds went from %r to %r (%r); threads left running: %r"
        % (fds, now_fds, fd_targets(), sorted(t.name for t in new_threads)))


def fd_targets():
    """What each open descriptor points at, for a failure message."""
    targets = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            targets.append("%s:%s" % (fd, os.readlink("/proc/self/fd/" + fd)))
        except OSError:
            pass
    return targets

