"""Helpers for the compatserver tests: the server table, handlers, clients.

Every server a test creates comes from :func:`make_server`, which stops it
on the way out with ``conftest_serve.stop()``: its loop shut down and joined,
the server closed, forked children reaped, each wait bounded, so a broken
server fails the test instead of hanging the run.  Serve one with
``with make_server(cls) as server, serving(server):`` or ``start(server)``.
"""
import contextlib
import os
import shutil
import socket
import tempfile
import threading
import warnings

import compatserver
from conftest_serve import TIMEOUT, stop

#: Every concrete server class of the running interpreter, by name.
SERVER_NAMES = sorted(
    name for name in compatserver.__all__
    if name.endswith("Server") and name != "BaseServer")
SERVERS = [getattr(compatserver, name) for name in SERVER_NAMES]
THREADING_SERVERS = [c for c in SERVERS if issubclass(c, compatserver.ThreadingMixIn)]
FORKING_SERVERS = [c for c in SERVERS
                   if hasattr(compatserver, "ForkingMixIn")
                   and issubclass(c, compatserver.ForkingMixIn)]
HAS_UNIX = hasattr(socket, "AF_UNIX")


def is_stream(cls):
    return cls.socket_type == socket.SOCK_STREAM


def is_unix(cls):
    return HAS_UNIX and cls.address_family == socket.AF_UNIX


def kind(cls):
    """'sync', 'threading' or 'forking'."""
    if issubclass(cls, compatserver.ThreadingMixIn):
        return "threading"
    if cls in FORKING_SERVERS:
        return "forking"
    return "sync"


class EchoStreamHandler(compatserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline())


class EchoDatagramHandler(compatserver.DatagramRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.read())


def handler_calling(cls, action, reply=b"done\n"):
    """A handler of the right kind for *cls* that runs action(handler), then replies.

    The reply of a datagram handler is sent by finish(), after *action*.
    """
    base = (compatserver.StreamRequestHandler if is_stream(cls)
            else compatserver.DatagramRequestHandler)

    class Handler(base):
        def handle(self):
            self.rfile.readline()
            action(self)
            self.wfile.write(reply)

    return Handler


def echo_handler(cls):
    return EchoStreamHandler if is_stream(cls) else EchoDatagramHandler


@contextlib.contextmanager
def tempdir():
    path = tempfile.mkdtemp(prefix="cs-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


_counter = [0]


def address_for(cls, directory):
    if is_unix(cls):
        _counter[0] += 1
        return os.path.join(directory, "s%d.sock" % _counter[0])
    return ("127.0.0.1", 0)


@contextlib.contextmanager
def make_server(cls, handler=None, **attrs):
    """Create *cls* on port 0 (or a socket in a temp dir); stop it after.

    *attrs* become class attributes of a subclass (before ``__init__``).
    On the way out, ``stop()`` shuts down and joins a loop that
    ``start()`` or ``serving()`` left running, then closes the server.
    """
    with tempdir() as directory:
        namespace = dict(attrs)
        server_cls = type("Test" + cls.__name__, (cls,), namespace)
        server = server_cls(address_for(cls, directory),
                            handler or echo_handler(cls))
        server.test_dir = directory
        try:
            yield server
        finally:
            stop(server)


def client(server, directory=None):
    """A connected client socket with a timeout."""
    cls = type(server)
    sock = socket.socket(cls.address_family,
                         socket.SOCK_STREAM if is_stream(cls) else socket.SOCK_DGRAM)
    sock.settimeout(TIMEOUT)
    if is_unix(cls) and not is_stream(cls):
        _counter[0] += 1
        sock.bind(os.path.join(server.test_dir, "c%d.sock" % _counter[0]))
    sock.connect(server.server_address)
    return sock


def recv_line(sock, limit=1 << 20):
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def request(server, payload=b"hello\n"):
    """Send *payload*, return the reply (one line, or one datagram)."""
    sock = client(server)
    try:
        if is_stream(type(server)):
            sock.sendall(payload)
            return recv_line(sock)
        sock.send(payload)
        return sock.recv(65536)
    finally:
        sock.close()


def request_in_background(server, payload=b"hello\n"):
    """Run :func:`request` in a thread; its reply, or the exception, lands in .result.

    For the tests where a datagram handler outlives the server's socket
    (it replies through that socket, so no reply comes): the client then
    gives up after a second instead of failing the thread.
    """
    stream = is_stream(type(server))

    def run():
        sock = client(server)
        if not stream:
            sock.settimeout(1.0)
        try:
            if stream:
                sock.sendall(payload)
                thread.result = recv_line(sock)
            else:
                sock.send(payload)
                thread.result = sock.recv(65536)
        except socket.error as exc:
            thread.result = exc
        finally:
            sock.close()

    thread = threading.Thread(target=run)
    thread.daemon = True
    thread.result = None
    thread.start()
    return thread


@contextlib.contextmanager
def fork_warning_ignored():
    """3.12+ warns when a multi-threaded process forks; the tests do on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=".*fork.*")
        yield
