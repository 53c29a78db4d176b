"""The pytest plugin installed with compatserver: the ``serve`` fixture.

Registered through the ``pytest11`` entry point, so every test suite run
where compatserver is installed has it.  It does nothing unless a test asks
for ``serve``: no hook, no option, no thread.  Works on pytest 4.6 (the last
for Python 2.7) through the newest.

``serve(ServerClass, HandlerClass, **attributes)`` returns a server bound to
127.0.0.1, port 0 (or to a socket in a new temporary directory for the Unix
classes), with *attributes* set on it before it binds (``allow_reuse_address``,
``daemon_threads``, ``block_on_close_timeout`` ...), listening and served by
``serve_forever()`` in a thread.  At the end of the test each server is
stopped with :func:`compatserver.testing.stop`; a loop, a handler thread or a
forked child still running then fails the test.  ``serve.timeout`` (default
:data:`compatserver.testing.DEFAULT_TIMEOUT`) is the deadline of each
server's teardown.
"""
import shutil
import socket
import tempfile
import threading

import pytest

from . import testing


class ServeFactory(object):
    """The ``serve`` fixture's value: call it to start a server."""

    def __init__(self):
        self.timeout = testing.DEFAULT_TIMEOUT
        self._threads_before = threading.enumerate()
        self._served = []  # (server, loop thread), in start order
        self._tempdirs = []

    def _address(self, server_class):
        family = getattr(server_class, "address_family", None)
        if family is not None and family == getattr(socket, "AF_UNIX", None):
            # Short: a Unix socket path has a limit of about 100 bytes,
            # which pytest's own tmp_path can exceed.
            directory = tempfile.mkdtemp(prefix="serve-")
            self._tempdirs.append(directory)
            return directory + "/socket"
        return ("127.0.0.1", 0)

    def __call__(self, server_class, handler_class, **attributes):
        """Start a *server_class* server with *handler_class*; return it."""
        server = server_class(self._address(server_class), handler_class,
                              bind_and_activate=False)
        try:
            for name, value in attributes.items():
                setattr(server, name, value)
            server.server_bind()
            server.server_activate()
        except BaseException:
            server.server_close()
            raise
        thread = None
        try:
            thread = testing.start(server, timeout=self.timeout)
        finally:
            # Registered even if the loop did not start: it is closed.
            self._served.append((server, thread))
        return server

    def close(self):
        """Stop every server, newest first; raise the first failure."""
        failure = None
        try:
            served = list(reversed(self._served))
            for i, (server, thread) in enumerate(served):
                # The threads are checked with the last server stopped,
                # when none of the others runs any more.
                last = i == len(served) - 1
                try:
                    testing.stop(server, thread, self.timeout,
                                 self._threads_before if last else None)
                except testing.ServingError as exc:
                    failure = failure or exc
        finally:
            del self._served[:]
            for directory in self._tempdirs:
                shutil.rmtree(directory, ignore_errors=True)
        if failure is not None:
            raise failure


@pytest.fixture
def serve():
    """A factory: ``serve(ServerClass, HandlerClass, **attributes)``.

    Returns a started server on 127.0.0.1 port 0 (a temporary socket path
    for the Unix classes), stopped at the end of the test, which fails if
    the server's loop, threads or forked children outlive the deadline.
    """
    factory = ServeFactory()
    try:
        yield factory
    finally:
        factory.close()
