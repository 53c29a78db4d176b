"""Request handler classes, and the text handler that reads and writes str."""
import codecs
import errno
import io
import socket

from ._compat import is_disconnect, socket_writer, stdlib, text_type

__all__ = [
    "BaseRequestHandler", "StreamRequestHandler", "DatagramRequestHandler",
    "TextStreamRequestHandler", "TextDatagramRequestHandler", "LineTooLong",
    "ClientDecodeError", "is_disconnect",
]


class BaseRequestHandler(stdlib.BaseRequestHandler, object):
    """Base class for request handler classes.

    One instance per request: the constructor sets ``request``,
    ``client_address`` and ``server``, then calls :meth:`setup`,
    :meth:`handle` and, even if ``handle()`` raised, :meth:`finish`.
    Methods that may be overridden: ``setup()``, ``handle()``, ``finish()``.

    .. versionchanged:: 0.1
       A new-style class on Python 2.7 too.
    """


class StreamRequestHandler(BaseRequestHandler, stdlib.StreamRequestHandler):
    """Define ``self.rfile`` and ``self.wfile`` for stream sockets.

    ``wfile.write(data)`` takes a bytes-like object, sends all of it and
    returns the number of bytes on every version.

    .. versionchanged:: 0.1
       On Python 2.7, ``wfile.write()`` returns the byte count (it returned
       None) and refuses ``unicode`` (it applied ``str()``), as on Python 3.
       :meth:`finish` no longer raises when the client has gone away.
    """

    def setup(self):
        self.connection = self.request
        if self.timeout is not None:
            self.connection.settimeout(self.timeout)
        if self.disable_nagle_algorithm:
            self.connection.setsockopt(socket.IPPROTO_TCP,
                                       socket.TCP_NODELAY, True)
        self.rfile = self.connection.makefile("rb", self.rbufsize)
        self.wfile = socket_writer(self.connection, self.wbufsize)

    def finish(self):
        """Flush and close the files.

        A client that disconnected (see :func:`is_disconnect`) does not make
        this raise: what could not be sent is dropped.
        """
        if not self.wfile.closed:
            try:
                self.wfile.flush()
            except socket.error:
                # A final socket error may have occurred here, such as
                # the local error ECONNABORTED.
                pass
        try:
            self.wfile.close()
        except socket.error as exc:
            # A buffered wfile flushes again on close (every version).
            if not is_disconnect(exc):
                raise
        self.rfile.close()


class DatagramRequestHandler(BaseRequestHandler,
                             stdlib.DatagramRequestHandler):
    """Define ``self.rfile`` and ``self.wfile`` for datagram sockets.

    Both are :class:`io.BytesIO`; what the handler writes to ``wfile`` is
    sent back to the client as one datagram by :meth:`finish`.

    .. versionchanged:: 0.1
       Bytes files on Python 2.7 too (``StringIO`` there), so
       ``wfile.write()`` returns the byte count.
    """

    def setup(self):
        self.packet, self.socket = self.request
        self.rfile = io.BytesIO(self.packet)
        self.wfile = io.BytesIO()


class LineTooLong(ValueError):
    """A client sent a line longer than ``max_line_length`` bytes.

    Raised by :meth:`TextStreamRequestHandler.readline`.  Out of ``handle()``
    it ends that connection, and the server's ``handle_error()`` logs it as
    a client error: one line, no traceback.

    .. versionadded:: 0.1
    """


class ClientDecodeError(UnicodeDecodeError):
    """A client sent bytes that do not decode with the handler's encoding.

    Raised instead of a plain :exc:`UnicodeDecodeError` (which it is, with
    the same attributes) by :meth:`TextStreamRequestHandler.readline` and
    :meth:`TextDatagramRequestHandler.setup`, so that the server's
    ``handle_error()`` can tell bad input, a client error logged in one
    line, from a ``UnicodeDecodeError`` of the handler's own code, a bug
    reported with its traceback.

    .. versionadded:: 0.1
    """


def _decode(data, encoding, errors):
    """``data.decode(encoding, errors)``, raising :exc:`ClientDecodeError`."""
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        error = exc
    # Raised out of the except block: on Python 3 the codec's error would
    # otherwise be chained to it as "During handling of ...".
    raise ClientDecodeError(error.encoding, error.object, error.start,
                            error.end, error.reason)



# -- client errors -----------------------------------------------------------
#
# What a client can make a handler raise however correct the handler is: a
# line too long, bytes that do not decode (both raised by the text handlers
# below, never by the handler's own code), a connection that went away, a
# client slower than the handler's timeout.  The server's handle_error()
# logs these as one line each (see LoopMixIn.handle_error()); anything else
# is the handler's own bug and gets the traceback.

def client_error_reason(exc):
    """The reason to log if *exc* is a client error, else None.

    The wording is pinned by the tests, and the same on every version:
    ``line longer than 65536 bytes``, ``undecodable utf-8 input: invalid
    start byte at position 0``, ``disconnected (ECONNRESET)``, ``timed
    out``.
    """
    if isinstance(exc, LineTooLong):
        return str(exc)
    if isinstance(exc, ClientDecodeError):
        try:
            # 'utf8' on Python 2.7, 'utf-8' on 3.x: the codec's own name.
            encoding = codecs.lookup(exc.encoding).name
        except LookupError:
            encoding = exc.encoding
        return "undecodable %s input: %s at position %d" % (
            encoding, exc.reason, exc.start)
    if is_disconnect(exc):
        return "disconnected (%s)" % errno.errorcode.get(exc.errno, exc.errno)
    # After is_disconnect(): on Python 2.7, socket.timeout is a socket.error.
    if isinstance(exc, socket.timeout):
        return "timed out"
    return None


def format_address(address):
    """*address* as a log line shows it: ``host:port``, ``[::1]:port``, a path."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[:2]
        return ("[%s]:%s" if ":" in str(host) else "%s:%s") % (host, port)
    if not address:
        return "(unnamed)"  # an unbound Unix socket: '' or None
    if isinstance(address, bytes) and not isinstance(address, str):
        return repr(address)  # Python 3: a Unix path that is not text
    return str(address)

def _check_text(text):
    if not isinstance(text, text_type):
        raise TypeError("write() argument must be %s, not %s"
                        % (text_type.__name__, type(text).__name__))


class TextStreamRequestHandler(StreamRequestHandler):
    """Stream handler that reads and writes text (``str``; ``unicode`` on 2.7).

    Class variables that may be overridden:

    - ``encoding`` (``'utf-8'``): the encoding of the connection; it must
      encode ``'\\n'`` as the single byte ``b'\\n'`` (UTF-8, ASCII, Latin-1
      do; UTF-16 does not).
    - ``errors`` (``'strict'``): the codec error policy, as for
      :meth:`bytes.decode`.
    - ``max_line_length`` (65536): the longest line :meth:`readline`
      accepts, in bytes, line ending included.

    Memory stays bounded whatever the client sends: at most
    ``max_line_length + 1`` bytes of a line are read.  An over-long line
    raises :exc:`LineTooLong` and undecodable bytes (with
    ``errors='strict'``) raise :exc:`ClientDecodeError`, a
    :exc:`UnicodeDecodeError`; out of :meth:`handle`, either ends *that*
    connection and is logged by the server's ``handle_error()`` as a client
    error, one WARNING line on the ``compatserver`` logger without a
    traceback; the server keeps serving.

    .. versionadded:: 0.1
    """

    encoding = "utf-8"
    errors = "strict"
    max_line_length = 65536

    def setup(self):
        if u"\n".encode(self.encoding) != b"\n":
            raise ValueError("encoding %r does not encode '\\n' as b'\\n'; "
                             "TextStreamRequestHandler needs an "
                             "ASCII-compatible encoding" % (self.encoding,))
        super(TextStreamRequestHandler, self).setup()

    def readline(self):
        """Read one line and return it decoded, line ending kept.

        Returns an empty string at end of stream.  Raises
        :exc:`LineTooLong` when no line ending arrives within
        ``max_line_length`` bytes, and :exc:`ClientDecodeError` when the
        line does not decode.
        """
        limit = self.max_line_length
        line = self.rfile.readline(limit + 1)
        if len(line) > limit:
            raise LineTooLong("line longer than %d bytes" % limit)
        return _decode(line, self.encoding, self.errors)

    def lines(self):
        """Iterate over :meth:`readline` until the end of the stream."""
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def write(self, text):
        """Encode *text* and send all of it; return the number of characters."""
        _check_text(text)
        self.wfile.write(text.encode(self.encoding, self.errors))
        return len(text)


class TextDatagramRequestHandler(DatagramRequestHandler):
    """Datagram handler whose request and reply are text.

    :attr:`text` is the datagram decoded with ``encoding`` (``'utf-8'``)
    and ``errors`` (``'strict'``); :meth:`write` encodes text into the reply
    that :meth:`finish` sends as one datagram.  A datagram is at most the
    server's ``max_packet_size`` bytes (8192 by default), so memory is
    bounded without a line limit.  Undecodable bytes (with
    ``errors='strict'``) raise :exc:`ClientDecodeError`, a
    :exc:`UnicodeDecodeError`, from :meth:`setup`: that datagram gets no
    reply and the server's ``handle_error()`` logs it as a client error, one
    WARNING line on the ``compatserver`` logger.

    .. versionadded:: 0.1
    """

    encoding = "utf-8"
    errors = "strict"

    def setup(self):
        super(TextDatagramRequestHandler, self).setup()
        self.text = _decode(self.packet, self.encoding, self.errors)

    def write(self, text):
        """Encode *text* into the reply; return the number of characters."""
        _check_text(text)
        self.wfile.write(text.encode(self.encoding, self.errors))
        return len(text)
