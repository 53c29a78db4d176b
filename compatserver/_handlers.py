"""Request handler classes, and the text handler that reads and writes str."""
import io
import socket

from ._compat import is_disconnect, socket_writer, stdlib, text_type

__all__ = [
    "BaseRequestHandler", "StreamRequestHandler", "DatagramRequestHandler",
    "TextStreamRequestHandler", "TextDatagramRequestHandler", "LineTooLong",
    "is_disconnect",
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

    Raised by :meth:`TextStreamRequestHandler.readline`; the connection is
    then closed and the server reports it once through ``handle_error()``.

    .. versionadded:: 0.1
    """


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
    ``errors='strict'``) raise :exc:`UnicodeDecodeError`; out of
    :meth:`handle`, either ends *that* connection and is reported once by the
    server's ``handle_error()``; the server keeps serving.

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
        ``max_line_length`` bytes.
        """
        limit = self.max_line_length
        line = self.rfile.readline(limit + 1)
        if len(line) > limit:
            raise LineTooLong("line longer than %d bytes from %s"
                              % (limit, self.client_address))
        return line.decode(self.encoding, self.errors)

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
    ``errors='strict'``) raise :exc:`UnicodeDecodeError` from :meth:`setup`:
    that datagram gets no reply and the server reports it once through
    ``handle_error()``.

    .. versionadded:: 0.1
    """

    encoding = "utf-8"
    errors = "strict"

    def setup(self):
        super(TextDatagramRequestHandler, self).setup()
        self.text = self.packet.decode(self.encoding, self.errors)

    def write(self, text):
        """Encode *text* into the reply; return the number of characters."""
        _check_text(text)
        self.wfile.write(text.encode(self.encoding, self.errors))
        return len(text)
