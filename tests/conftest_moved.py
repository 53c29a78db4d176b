"""Helpers for the tests of the servers whose stdlib modules were renamed.

``test_compat_http.py``, ``test_compat_xmlrpc.py`` and
``test_compat_wsgi.py`` run the same life cycle on every server they build:
the stdlib's idiom ``class X(mixin, StdlibServer)`` with each compatserver
mix-in, and compatserver's ready-made classes.  :func:`check_life_cycle`
serves one request with ``poll_interval=30`` (the stdlib's loop would need
up to that long to notice a shutdown), stops the server, and requires every
descriptor and thread to be gone; :func:`check_shutdown_from_handler` has a
handler stop its own server.
"""
import os
import socket

import compatserver
from compatserver import stdlib

from conftest_compat import fork_warning_ignored
from conftest_load import assert_back_to, resources
from conftest_serve import TIMEOUT, call_with_timeout, start, stop

#: The poll interval of the loops under test: far beyond SHUTDOWN_BOUND.
POLL = 30.0
#: shutdown() must return well within this (it takes milliseconds).
SHUTDOWN_BOUND = 5.0

#: (mix-in, kind): every compatserver mix-in of this interpreter.
MIXINS = [(compatserver.ThreadingMixIn, "threading"),
          (compatserver.ThreadPoolMixIn, "pool"),
          (compatserver.LoopMixIn, "sync")]
if hasattr(compatserver, "ForkingMixIn"):
    MIXINS.append((compatserver.ForkingMixIn, "forking"))
MIXIN_IDS = [kind for _, kind in MIXINS]


class UsersOwnServer(stdlib.TCPServer):
    """A user's subclass of the stdlib TCPServer, which compatserver cannot see."""

    allow_reuse_address = True


def idiom(mixin, base):
    """``class X(mixin, base): pass``, as the stdlib's documentation writes it."""
    return type("X" + base.__name__, (mixin, base), {})




def check_life_cycle(make, call):
    """Serve ``call(server)`` once, then stop the server: fast, leaving nothing.

    *make()* builds the server on 127.0.0.1 port 0; *call(server)* makes one
    real request and asserts on its answer.
    """
    baseline = resources()
    with fork_warning_ignored():
        server = make()
        try:
            start(server, POLL)
            call(server)
            took = call_with_timeout(server.shutdown)
            assert took < SHUTDOWN_BOUND, "shutdown() took %.1f s" % took
            server.test_thread.join(TIMEOUT)
            assert not server.test_thread.is_alive()
        finally:
            stop(server)
    assert_back_to(baseline)


def check_shutdown_from_handler(make, call_shutdown):
    """A handler calls ``server.shutdown()``: no deadlock, the loop ends.

    *call_shutdown(server)* makes the request whose handler calls it and
    asserts that the handler still answered.
    """
    baseline = resources()
    server = make()
    try:
        start(server, POLL)
        call_shutdown(server)
        server.test_thread.join(SHUTDOWN_BOUND)
        assert not server.test_thread.is_alive(), "the loop did not stop"
    finally:
        stop(server)
    assert_back_to(baseline)


def http_exchange(address, request):
    """Send the raw *request* bytes; return ``(status line, headers, body)``.

    Reads until the server closes the connection (HTTP/1.0).  Header names
    are lower-cased; values are the raw bytes.
    """
    sock = socket.create_connection(address, TIMEOUT)
    try:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("ascii")] = value.strip()
    return lines[0], headers, body


def http_get(address, path, method="GET"):
    """``http_exchange()`` of an HTTP/1.0 request for *path*."""
    return http_exchange(address, ("%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n"
                                   % (method, path)).encode("latin-1"))


def scratch_dir(tmpdir, files):
    """Write ``{relative path: bytes}`` under *tmpdir*; return its path."""
    root = str(tmpdir)
    for name, data in files.items():
        path = os.path.join(root, *name.split("/"))
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, "wb") as f:
            f.write(data)
    return root
