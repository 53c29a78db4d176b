"""The stdlib's HTTP server, with compatserver's loop, on every interpreter.

``import compatserver.http`` replaces ``import http.server`` (on Python 2.7:
``BaseHTTPServer``, ``SimpleHTTPServer`` and ``CGIHTTPServer``).  Each class
is a subclass of the running stdlib's class of the same name, so
``isinstance`` checks keep working; the servers carry
:class:`~compatserver.LoopMixIn` (``shutdown()`` wakes the loop at once, and
is safe from a handler), the handlers are
:class:`~compatserver.StreamRequestHandler`\\ s.

The HTTP protocol itself (parsing, keep-alive, the HTML of error pages,
``error_message_format``, MIME types, directory listings, CGI) is left to the
running stdlib.  What compatserver decided to make the same, because the
same handler code trips over it on Python 2.7 and 3.x:

- ``wfile`` takes bytes-like objects only and ``write()`` returns the byte
  count, on every version (2.7 silently applied ``str()`` and returned
  None); a client that disconnected does not make ``finish()`` raise.
  Text goes out encoded by the handler, as on Python 3.
- Header lines are buffered until ``end_headers()`` and encoded as Latin-1
  (a ``unicode`` value works on 2.7 as a ``str`` does on 3.x; bytes values
  are sent as they are), and :meth:`~BaseHTTPRequestHandler.send_response_only`
  and :meth:`~BaseHTTPRequestHandler.flush_headers` exist on 2.7 too
  (bpo-3709, Python 3.3).  2.7 wrote one line at a time to ``wfile``.
- ``send_error(code, message=None, explain=None)`` on 2.7 too: the
  *explain* argument, a ``Content-Length`` header, and a body encoded as
  UTF-8 (bpo-12921, Python 3.4).  Without ``Content-Length`` a client of a
  keep-alive connection cannot tell where the error page ends.
- ``log_message()`` writes to ``sys.stderr`` (as every version does) with
  control characters escaped (``\\x1b`` for ESC, ``\\\\`` for a backslash)
  on every version: gh-100001, a security fix in 3.12 and the 3.7.16,
  3.8.16, 3.9.16, 3.10.9 and 3.11.1 releases, missing from 2.7 and 3.6, so a
  client could write terminal escapes into the log.
- ``address_string()`` returns the client's IP address (as 3.x does); 2.7
  looked the host name up in the DNS for each call.
- ``SimpleHTTPRequestHandler`` takes ``directory=`` on 2.7 and 3.6 too
  (bpo-28707, Python 3.7).

Left as they are: ``error_message_format`` and ``error_content_type`` (2.7's
page has no charset: override them if your messages are not ASCII),
``server_version`` / ``sys_version``, ``protocol_version`` (HTTP/1.0 by
default everywhere), the set of ``extensions_map`` types and the directory
listing's HTML, which differ between every few releases and which clients
do not parse.  ``CGIHTTPRequestHandler`` is deprecated by Python 3.13
(gh-109096): there it warns with :exc:`DeprecationWarning` for each request,
and compatserver passes that warning on.
"""
from __future__ import absolute_import

import os
import re
import sys

from ._compat import (
    HTTP_DIRECTORY_ARGUMENT, HTTP_HEADERS_BUFFERED, http_modules, text_type)
from ._handlers import StreamRequestHandler
from ._loop import LoopMixIn, unless_inherited, without_inherited
from ._pool import ThreadPoolMixIn
from ._servers import ThreadingMixIn

_base, _simple, _cgi = http_modules()

__all__ = [
    "HTTPServer", "ThreadingHTTPServer", "ThreadPoolHTTPServer",
    "BaseHTTPRequestHandler", "SimpleHTTPRequestHandler",
]
if hasattr(_cgi, "CGIHTTPRequestHandler"):
    __all__.append("CGIHTTPRequestHandler")


# -- servers -----------------------------------------------------------------

class HTTPServer(unless_inherited(LoopMixIn, _base.HTTPServer), _base.HTTPServer):
    """HTTP server that handles one request at a time.

    The stdlib's ``HTTPServer`` (it records ``server_name`` and
    ``server_port`` when it binds) with compatserver's loop:
    :meth:`~compatserver.LoopMixIn.shutdown` returns at once, and only asks
    the loop to stop when a handler calls it.

    .. versionadded:: 0.1
    """


def _threading_http_server():
    # The stdlib's ThreadingHTTPServer (3.7+, bpo-31639) is a base too where
    # it exists, so that isinstance() checks against it hold; behind
    # compatserver's classes, which replace its loop and thread handling.
    bases = (ThreadingMixIn, HTTPServer)
    std = getattr(_base, "ThreadingHTTPServer", None)
    if std is not None:
        bases += (std,)
    return type("ThreadingHTTPServer", without_inherited(bases), {
        "__module__": __name__, "daemon_threads": True,
        "__doc__": """HTTP server that handles each request in a new thread.

    ``daemon_threads`` is true, as for the stdlib's ``ThreadingHTTPServer``:
    a handler thread waiting on an idle keep-alive connection does not keep
    the interpreter alive.  ``server_close()`` still waits for handler
    threads (see :class:`compatserver.ThreadingMixIn`): give handlers a
    ``timeout`` if they speak HTTP/1.1 to clients that keep connections
    open, or set ``block_on_close_timeout``.

    .. versionadded:: 0.1
       On every version; the stdlib has it since 3.7 (bpo-31639).
    """})


ThreadingHTTPServer = _threading_http_server()


class ThreadPoolHTTPServer(ThreadPoolMixIn, HTTPServer):
    """HTTP server that handles each request in one of a pool of threads.

    A worker serves one connection from the first request to the last: a
    keep-alive connection (a handler with ``protocol_version =
    "HTTP/1.1"``) holds its worker while the client keeps it open, so size
    ``pool_size`` for the connections you serve at once and give the handler
    a ``timeout``.  ``request_queue_size`` is 128, as for
    :class:`compatserver.ThreadPoolTCPServer`.

    .. versionadded:: 0.1
    """

    request_queue_size = 128


# -- request handlers ----------------------------------------------------------

# gh-100001: C0 and C1 control characters, and the backslash, escaped in log
# lines; the same characters as the 3.12 table.
_CONTROL_CHARS = re.compile(u"[\x00-\x1f\x7f-\x9f\\\\]")


def _escape_control(match):
    char = match.group()
    return "\\\\" if char == "\\" else "\\x%02x" % ord(char)


def _latin1(line):
    # A header line as Python 3 sends it; a Python 2 byte string as it is.
    if isinstance(line, text_type):
        return line.encode("latin-1", "strict")
    return line


def _html_escape(text):
    # html.escape(text, quote=False), which Python 2 does not have.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class BaseHTTPRequestHandler(unless_inherited(StreamRequestHandler, _base.BaseHTTPRequestHandler),
                             _base.BaseHTTPRequestHandler):
    """HTTP request handler base class.

    The stdlib's handler, whose ``do_<COMMAND>()`` methods subclasses
    define, on compatserver's :class:`~compatserver.StreamRequestHandler`:
    ``wfile.write()`` takes bytes and returns the byte count on every
    version, and a client that disconnected does not make ``finish()``
    raise.  Header lines are buffered until :meth:`end_headers`.

    .. versionadded:: 0.1
    .. versionchanged:: 0.1
       On Python 2.7: header lines buffered and Latin-1 encoded,
       :meth:`send_response_only`, :meth:`flush_headers` (bpo-3709) and
       ``send_error(explain=...)`` with ``Content-Length`` (bpo-12921);
       :meth:`address_string` without a DNS lookup.  On 2.7 and 3.6:
       control characters escaped in the log (gh-100001).
    """

    def address_string(self):
        """Return the client address (its IP address, never looked up)."""
        return self.client_address[0]

    if not hasattr(_base.BaseHTTPRequestHandler, "_control_char_table"):
        # 2.7, 3.6 (gh-100001 came to 3.7.16+ and 3.12).

        def log_message(self, format, *args):
            """Log an arbitrary message on ``sys.stderr``.

            Prefixed with the client's address and the date and time;
            control characters escaped so that a client cannot write
            terminal escape sequences into the log.
            """
            message = _CONTROL_CHARS.sub(_escape_control, format % args)
            sys.stderr.write("%s - - [%s] %s\n" % (
                self.address_string(), self.log_date_time_string(), message))

    if not HTTP_HEADERS_BUFFERED:  # Python 2

        def send_response(self, code, message=None):  # Python 2
            """Add the status line and Server and Date headers; log the request."""
            self.log_request(code)  # Python 2
            self.send_response_only(code, message)  # Python 2
            self.send_header("Server", self.version_string())  # Python 2
            self.send_header("Date", self.date_time_string())  # Python 2

        def send_response_only(self, code, message=None):  # Python 2
            """Add the status line to the header buffer (no log, no headers)."""
            if self.request_version != "HTTP/0.9":  # Python 2
                if message is None:  # Python 2
                    message = self.responses.get(code, ("",))[0]  # Python 2
                self._buffer_header_line("%s %d %s\r\n" % (  # Python 2
                    self.protocol_version, code, message))

        def send_header(self, keyword, value):  # Python 2
            """Add a MIME header line to the header buffer."""
            if self.request_version != "HTTP/0.9":  # Python 2
                self._buffer_header_line("%s: %s\r\n" % (keyword, value))  # Python 2
            if keyword.lower() == "connection":  # Python 2
                if value.lower() == "close":  # Python 2
                    self.close_connection = True  # Python 2
                elif value.lower() == "keep-alive":  # Python 2
                    self.close_connection = False  # Python 2

        def end_headers(self):  # Python 2
            """Add the blank line ending the headers, and send them."""
            if self.request_version != "HTTP/0.9":  # Python 2
                self._buffer_header_line(b"\r\n")  # Python 2
                self.flush_headers()  # Python 2

        def flush_headers(self):  # Python 2
            """Send the buffered header lines to ``wfile``."""
            lines = self.__dict__.pop("_headers_buffer", None)  # Python 2
            if lines:  # Python 2
                self.wfile.write(b"".join(lines))  # Python 2

        # True while a method of 2.7's that expects each line on the wire
        # at once runs (CGIHTTPRequestHandler.run_cgi()).
        _headers_unbuffered = False  # Python 2

        def _buffer_header_line(self, line):  # Python 2
            self.__dict__.setdefault("_headers_buffer", []).append(  # Python 2
                _latin1(line))
            if self._headers_unbuffered:  # Python 2
                self.flush_headers()  # Python 2

        def send_error(self, code, message=None, explain=None):  # Python 2
            """Send and log an error reply.

            *message* is the reason phrase (by default the short entry of
            ``responses`` for *code*), *explain* the text of the page (by
            default the long entry).  The page and its ``Content-Length``
            are sent for every code but those without a body (1xx, 204, 205,
            304); a reply to HEAD keeps the ``Content-Length`` and leaves
            the page out, as on Python 3.
            """
            shortmsg, longmsg = self.responses.get(code, ("???", "???"))  # Python 2
            if message is None:  # Python 2
                message = shortmsg  # Python 2
            if explain is None:  # Python 2
                explain = longmsg  # Python 2
            self.log_error("code %d, message %s", code, message)  # Python 2
            self.send_response(code, message)  # Python 2
            self.send_header("Connection", "close")  # Python 2
            body = None  # Python 2
            if code >= 200 and code not in (204, 205, 304):  # Python 2
                body = self.error_message_format % {  # Python 2
                    "code": code, "message": _html_escape(message),
                    "explain": _html_escape(explain)}
                if isinstance(body, text_type):  # Python 2
                    body = body.encode("utf-8", "replace")  # Python 2
                self.send_header("Content-Type", self.error_content_type)  # Python 2
                self.send_header("Content-Length", str(len(body)))  # Python 2
            self.end_headers()  # Python 2
            if self.command != "HEAD" and body:  # Python 2
                self.wfile.write(body)  # Python 2


class SimpleHTTPRequestHandler(BaseHTTPRequestHandler,
                               _simple.SimpleHTTPRequestHandler):
    """Serve files from *directory* (the current directory by default).

    GET and HEAD; the MIME type from ``guess_type()``; a listing for a
    directory without an ``index.html``.

    .. versionadded:: 0.1
    .. versionchanged:: 0.1
       The *directory* keyword argument on 2.7 and 3.6 too (bpo-28707,
       Python 3.7).
    """

    if not HTTP_DIRECTORY_ARGUMENT:  # 2.7, 3.6
        #: The directory served; None: the current directory at each
        #: request.  A class attribute too, so that a subclass whose
        #: ``__init__`` does not call this one (2.7-era test doubles do)
        #: still translates paths as the stdlib's does.
        directory = None

        def __init__(self, *args, **kwargs):
            directory = kwargs.pop("directory", None)
            self.directory = os.getcwd() if directory is None else directory
            super(SimpleHTTPRequestHandler, self).__init__(*args, **kwargs)

        def translate_path(self, path):
            """Translate a /-separated URL path to a path under :attr:`directory`."""
            # The stdlib's version joins the URL's parts to os.getcwd(),
            # having dropped '..' and drive letters: move the result under
            # self.directory instead.
            cwd = os.getcwd()
            translated = super(SimpleHTTPRequestHandler, self).translate_path(path)
            if self.directory is None:
                return translated
            rest = translated[len(cwd):].lstrip(os.sep)
            result = os.path.join(self.directory, rest)
            if translated.endswith(os.sep) and not result.endswith(os.sep):
                result += os.sep
            return result


if "CGIHTTPRequestHandler" in __all__:
    class CGIHTTPRequestHandler(SimpleHTTPRequestHandler,
                                _cgi.CGIHTTPRequestHandler):
        """Serve files, and the output of CGI scripts in ``cgi_directories``.

        Deprecated by Python 3.13 (gh-109096), which warns for each request
        with :exc:`DeprecationWarning`; compatserver passes the warning on.

        .. versionadded:: 0.1
        """

        if not HTTP_HEADERS_BUFFERED:  # Python 2

            def run_cgi(self):  # Python 2
                """Run the CGI script; it writes the headers and the body."""
                # 2.7's run_cgi() sends the status line with send_response()
                # and lets the script (another process, or a pipe copied to
                # wfile) write the rest: the line must be on the wire first.
                # 3.x calls flush_headers() there.
                self._headers_unbuffered = True  # Python 2
                try:  # Python 2
                    return super(CGIHTTPRequestHandler, self).run_cgi()  # Python 2
                finally:  # Python 2
                    self._headers_unbuffered = False  # Python 2
