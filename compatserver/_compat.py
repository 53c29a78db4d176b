"""The one place that knows which Python is running.

Every decision that depends on the interpreter is taken here, once, at
import; the other modules import the names below and are version-blind.
Capabilities are tested by name (``hasattr(os, "fork")``); the version is read
only where the same name behaves differently (PEP 475's EINTR retry, the
Python 2 file object behind ``wfile``).
"""
import errno
import logging
import math
import os
import select
import socket
import sys
import time

import six
from six.moves import socketserver as stdlib

__all__ = [
    "stdlib", "PY2", "HAS_FORK", "HAS_UNIX", "HAS_REUSEPORT", "monotonic",
    "poll_ms", "wait_for", "socket_writer", "DISCONNECT_ERRNOS", "is_disconnect",
    "text_type", "NewStyle", "STDLIB_NAME", "SIX_MOVES_NAME", "library_logger",
]

#: The name the stdlib module is imported under on this interpreter:
#: ``SocketServer`` on Python 2.7, ``socketserver`` on 3.x.
STDLIB_NAME = stdlib.__name__
#: The name of the same module through six: ``six.moves.socketserver``.
SIX_MOVES_NAME = six.moves.__name__ + ".socketserver"

PY2 = six.PY2
text_type = six.text_type

#: Capabilities, tested by name as CPython's own socketserver.py does.
HAS_FORK = hasattr(os, "fork")
HAS_UNIX = hasattr(socket, "AF_UNIX")
HAS_REUSEPORT = hasattr(socket, "SO_REUSEPORT")

# time.monotonic() is 3.3+; on Python 2 wall-clock time is the best there is.
monotonic = getattr(time, "monotonic", time.time)


def poll_ms(timeout):
    """Convert a timeout in seconds (or None) to poll()'s milliseconds.

    Rounded up: poll(0) would turn a 0.3 ms wait into a busy loop.
    """
    if timeout is None:
        return None
    if timeout <= 0:
        return 0
    return int(math.ceil(timeout * 1000.0))


if PY2:  # Python 2
    class _NewStyleMeta(type):  # Python 2
        """Python 2: the class-creation rules of Python 3.6+ for our classes.

        Mixing a new-style class with an old-style one (every class of
        ``SocketServer``, ``BaseHTTPServer``, ``SimpleXMLRPCServer``) puts
        ``object`` in the MRO *before* the old-style bases' own bases, so
        ``object.__init__`` shadows ``TCPServer.__init__``: ``class
        S(ThreadingMixIn, HTTPServer)`` raised ``TypeError: object() takes
        no parameters``.  :meth:`mro` moves ``object`` to the end, where it
        is on Python 3 (the old-style classes keep their depth-first order;
        ``__bases__`` is left as written).  And ``__init_subclass__``
        (PEP 487, Python 3.6) runs.
        """

        def mro(cls):  # Python 2
            order = type.mro(cls)  # Python 2
            order.remove(object)  # Python 2
            return order + [object]  # Python 2

        def __init__(cls, name, bases, namespace):  # Python 2
            type.__init__(cls, name, bases, namespace)  # Python 2
            hook = getattr(super(cls, cls), "__init_subclass__", None)  # Python 2
            if hook is not None:  # Python 2
                hook()  # Python 2

    #: The base of compatserver's server mix-ins: ``object`` on Python 3; on
    #: Python 2, ``object`` with the metaclass above.
    NewStyle = _NewStyleMeta("NewStyle", (object,), {"__slots__": ()})  # Python 2
else:
    NewStyle = object


if PY2:  # Python 2
    # bpo-7978: Python 2 does not retry a wait interrupted by a signal.  The
    # error is select.error, which is *not* an OSError/EnvironmentError on 2.7
    # (python-future's backport catches OSError and so never retries).  Resume
    # with the time that is left, not the whole timeout again: SocketServer's
    # own _eintr_retry restarted the full timeout, so a signal every 10 ms made
    # handle_request(timeout=1) last for ever.
    def wait_for(poller, timeout):
        """``poller.poll()`` for at most *timeout* seconds, resuming after EINTR."""
        if timeout is None:
            while True:  # Python 2
                try:  # Python 2
                    return poller.poll()  # Python 2
                except select.error as exc:  # Python 2
                    if exc.args[0] != errno.EINTR:  # Python 2
                        raise  # Python 2
        deadline = monotonic() + timeout  # Python 2
        while True:  # Python 2
            try:  # Python 2
                return poller.poll(poll_ms(timeout))  # Python 2
            except select.error as exc:  # Python 2
                if exc.args[0] != errno.EINTR:  # Python 2
                    raise  # Python 2
            timeout = deadline - monotonic()  # Python 2
            if timeout <= 0:  # Python 2
                return []  # Python 2

else:
    def wait_for(poller, timeout):
        """``poller.poll()`` for at most *timeout* seconds.

        PEP 475 (3.5): the interpreter itself resumes an interrupted poll()
        with the remaining time.
        """
        return poller.poll(poll_ms(timeout))


if PY2:  # Python 2
    class _SocketWriter(socket._fileobject):  # Python 2
        """``socket._fileobject`` whose ``write()`` returns the byte count.

        Python 2's ``write()`` returns None and silently applies ``str()`` to
        its argument; Python 3's ``_SocketWriter`` / ``BufferedWriter`` return
        the number of bytes and refuse text.
        """

        def write(self, data):  # Python 2
            if isinstance(data, text_type):  # Python 2
                raise TypeError("a bytes-like object is required, not 'unicode'")
            if isinstance(data, memoryview):  # Python 2
                data = data.tobytes()  # Python 2: bytes(view) is its repr
            elif isinstance(data, bytearray):  # Python 2
                data = bytes(data)  # Python 2
            elif not isinstance(data, bytes):  # Python 2
                raise TypeError("a bytes-like object is required, not %r"
                                % type(data).__name__)
            socket._fileobject.write(self, data)  # Python 2
            return len(data)  # Python 2

    def socket_writer(sock, bufsize):  # Python 2
        """The ``wfile`` of a stream handler; ``write()`` returns the count."""
        return _SocketWriter(sock, "wb", bufsize)  # Python 2

else:
    def socket_writer(sock, bufsize):
        """The ``wfile`` of a stream handler, exactly as Python 3.6+ makes it."""
        if bufsize == 0:
            # Unbuffered: sendall() on every write, so nothing is held back
            # and a write interrupted by a signal is not truncated (bpo-26721).
            return stdlib._SocketWriter(sock)
        return sock.makefile("wb", bufsize)


#: errno values that mean "the peer went away".  Python 3 raises them as
#: BrokenPipeError / ConnectionResetError / ConnectionAbortedError; Python 2
#: raises a bare socket.error (or IOError) carrying the same errno.
DISCONNECT_ERRNOS = frozenset(
    getattr(errno, name) for name in
    ("EPIPE", "ECONNRESET", "ECONNABORTED", "ESHUTDOWN", "ENOTCONN")
    if hasattr(errno, name))


def is_disconnect(exc):
    """Return True if *exc* says the other end of a socket went away.

    Works on Python 2, which has no ``BrokenPipeError`` or
    ``ConnectionResetError`` (their errno arrives in a plain
    ``socket.error``), and on Python 3, where those are ``OSError``
    subclasses carrying the same errno.
    """
    return (isinstance(exc, EnvironmentError)
            and getattr(exc, "errno", None) in DISCONNECT_ERRNOS)


# -- a library's log records when the application configured no logging -----
#
# Python 3.2+ hands a record that finds no handler in its logger's chain to
# logging.lastResort, which writes the message alone on the current
# sys.stderr (WARNING and above).  Python 2.7 prints "No handlers could be
# found for logger ..." once and drops the record, and every later one: a
# server would lose its client-error lines unless the application configured
# logging.  So on 2.7 the library's logger gets a handler that does what
# lastResort does, under the same condition (no other handler in the chain,
# counted as Logger.callHandlers() counts them): once the application adds a
# handler anywhere on the way to the root, it stays silent.

if PY2:  # Python 2
    class _LastResort(logging.Handler):  # Python 2
        """Python 3's ``logging.lastResort`` for one library logger."""

        def emit(self, record):  # Python 2
            # Not getLogger(): its module lock may be held for ever in a
            # forked child (the forking servers log there).
            logger = logging.Logger.manager.loggerDict.get(record.name)  # Python 2
            while logger:  # Python 2
                if any(h is not self for h in logger.handlers):  # Python 2
                    return  # Python 2: the application's handlers have it
                logger = logger.parent if logger.propagate else None  # Python 2
            try:  # Python 2
                sys.stderr.write(self.format(record) + "\n")  # Python 2
                sys.stderr.flush()  # Python 2
            except Exception:  # Python 2
                self.handleError(record)  # Python 2

    def library_logger(name):  # Python 2
        """``logging.getLogger(name)``, whose records reach stderr unconfigured.

        Python 2.7 has no ``logging.lastResort``: the logger gets a handler
        that writes a WARNING (or worse) record's message on ``sys.stderr``
        when no other handler is on its way to the root.
        """
        logger = logging.getLogger(name)  # Python 2
        if not any(isinstance(h, _LastResort) for h in logger.handlers):  # Python 2
            logger.addHandler(_LastResort(logging.WARNING))  # Python 2
        return logger  # Python 2

else:
    def library_logger(name):
        """``logging.getLogger(name)``, whose records reach stderr unconfigured.

        Python 3.2+: ``logging.lastResort`` does it already.
        """
        return logging.getLogger(name)


# -- the stdlib servers whose modules were renamed ---------------------------
#
# compatserver.http, compatserver.xmlrpc and compatserver.wsgi subclass the
# stdlib's HTTP, XML-RPC and WSGI servers.  Their modules are imported when
# those submodules are, not by ``import compatserver`` (the XML-RPC
# documentation server pulls in pydoc): hence functions, called once at the
# submodule's import.

__all__ += ["http_modules", "xmlrpc_modules", "HTTP_HEADERS_BUFFERED",
            "HTTP_DIRECTORY_ARGUMENT"]


def http_modules():
    """Return the stdlib's HTTP server modules: ``(base, simple, cgi)``.

    ``BaseHTTPServer``, ``SimpleHTTPServer`` and ``CGIHTTPServer`` on
    Python 2.7; :mod:`http.server` three times on 3.x.
    """
    from six.moves import BaseHTTPServer, CGIHTTPServer, SimpleHTTPServer
    return BaseHTTPServer, SimpleHTTPServer, CGIHTTPServer


def xmlrpc_modules():
    """Return the stdlib's XML-RPC server modules: ``(server, doc)``.

    ``SimpleXMLRPCServer`` and ``DocXMLRPCServer`` on Python 2.7;
    :mod:`xmlrpc.server` twice on 3.x.
    """
    from six.moves import xmlrpc_server
    if PY2:  # Python 2
        import DocXMLRPCServer  # Python 2
        return xmlrpc_server, DocXMLRPCServer  # Python 2
    return xmlrpc_server, xmlrpc_server


#: Python 3.3 buffers the header lines of ``BaseHTTPRequestHandler`` until
#: ``end_headers()``, encoded as Latin-1, and added ``send_response_only()``
#: and ``flush_headers()`` (bpo-3709); 3.4's ``send_error()`` takes
#: *explain* and sends ``Content-Length`` (bpo-12921).  Python 2.7 writes
#: each line to ``wfile`` as it is sent and has none of the rest.
HTTP_HEADERS_BUFFERED = not PY2

#: ``SimpleHTTPRequestHandler(..., directory=path)`` is 3.7+ (bpo-28707).
HTTP_DIRECTORY_ARGUMENT = sys.version_info >= (3, 7)
