"""The stdlib's WSGI reference server, with compatserver's loop.

``import compatserver.wsgi`` replaces ``import wsgiref.simple_server``.
:class:`WSGIServer` and :class:`WSGIRequestHandler` are subclasses of the
running stdlib's, so ``isinstance`` checks keep working; the server carries
:class:`~compatserver.LoopMixIn` and the handler is a
:class:`compatserver.http.BaseHTTPRequestHandler` (whose documentation says
what that smooths between 2.7 and 3.x).  The WSGI protocol is the stdlib's:
its handler still reports ``wsgi.multithread`` as false, even in the
threaded servers here.

Added: :class:`ThreadingWSGIServer`, :class:`ThreadPoolWSGIServer`, and
:func:`make_server` that takes them as *server_class*.
"""
from __future__ import absolute_import

from wsgiref import simple_server as _simple

from ._loop import LoopMixIn, unless_inherited
from ._pool import ThreadPoolMixIn
from ._servers import ThreadingMixIn
from .http import BaseHTTPRequestHandler

__all__ = [
    "WSGIServer", "ThreadingWSGIServer", "ThreadPoolWSGIServer",
    "WSGIRequestHandler", "make_server",
]


class WSGIServer(unless_inherited(LoopMixIn, _simple.WSGIServer), _simple.WSGIServer):
    """WSGI server that handles one request at a time.

    Methods for the caller: ``set_app(application)``, ``get_app()``, and
    those of :class:`compatserver.http.HTTPServer`.

    .. versionadded:: 0.1
    """


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """WSGI server that handles each request in a new thread.

    ``daemon_threads`` is true, as for ``ThreadingHTTPServer``.

    .. versionadded:: 0.1
    """

    daemon_threads = True


class ThreadPoolWSGIServer(ThreadPoolMixIn, WSGIServer):
    """WSGI server that handles each request in one of a pool of threads.

    ``request_queue_size`` is 128, as for
    :class:`compatserver.ThreadPoolTCPServer`.

    .. versionadded:: 0.1
    """

    request_queue_size = 128


class WSGIRequestHandler(BaseHTTPRequestHandler, _simple.WSGIRequestHandler):
    """Request handler that runs the server's WSGI application.

    .. versionadded:: 0.1
    """


def make_server(host, port, app, server_class=WSGIServer,
                handler_class=WSGIRequestHandler):
    """Create a new WSGI server listening on *host* and *port* for *app*.

    *server_class* may be any of this module's servers, or a class built
    with compatserver's mix-ins (``class S(ThreadingMixIn, WSGIServer)``).

    .. versionadded:: 0.1
    """
    server = server_class((host, port), handler_class)
    server.set_app(app)
    return server
