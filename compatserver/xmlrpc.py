"""The stdlib's XML-RPC servers, with compatserver's loop, on every interpreter.

``import compatserver.xmlrpc`` replaces ``import xmlrpc.server`` (on Python
2.7: ``SimpleXMLRPCServer`` and ``DocXMLRPCServer``).  The servers and
request handlers are subclasses of the running stdlib's classes of the same
name, so ``isinstance`` checks keep working; the servers carry
:class:`~compatserver.LoopMixIn` and the handlers are
:class:`compatserver.http.BaseHTTPRequestHandler`\\ s (whose documentation
says what that smooths between 2.7 and 3.x).  The XML-RPC protocol, the
marshalling and the documentation pages are the running stdlib's.

Added: :class:`ThreadingXMLRPCServer`, :class:`ThreadPoolXMLRPCServer`,
:class:`ThreadingDocXMLRPCServer`, :class:`ThreadPoolDocXMLRPCServer`.
The dispatcher and helpers that are not servers (``SimpleXMLRPCDispatcher``,
``CGIXMLRPCRequestHandler``, ``XMLRPCDocGenerator``, ``ServerHTMLDoc``,
``DocCGIXMLRPCRequestHandler``, ``list_public_methods``,
``resolve_dotted_attribute``) are the stdlib's own objects, importable from
here under the same names on every version.
"""
from __future__ import absolute_import

from ._compat import xmlrpc_modules
from ._loop import LoopMixIn, unless_inherited
from ._pool import ThreadPoolMixIn
from ._servers import ThreadingMixIn
from .http import BaseHTTPRequestHandler

_server, _doc = xmlrpc_modules()

# The stdlib's own: no socketserver in them, nothing to change.
SimpleXMLRPCDispatcher = _server.SimpleXMLRPCDispatcher
CGIXMLRPCRequestHandler = _server.CGIXMLRPCRequestHandler
list_public_methods = _server.list_public_methods
resolve_dotted_attribute = _server.resolve_dotted_attribute
XMLRPCDocGenerator = _doc.XMLRPCDocGenerator
ServerHTMLDoc = _doc.ServerHTMLDoc
DocCGIXMLRPCRequestHandler = _doc.DocCGIXMLRPCRequestHandler

__all__ = [
    "SimpleXMLRPCServer", "ThreadingXMLRPCServer", "ThreadPoolXMLRPCServer",
    "DocXMLRPCServer", "ThreadingDocXMLRPCServer", "ThreadPoolDocXMLRPCServer",
    "SimpleXMLRPCRequestHandler", "DocXMLRPCRequestHandler",
    "SimpleXMLRPCDispatcher", "CGIXMLRPCRequestHandler",
    "XMLRPCDocGenerator", "ServerHTMLDoc", "DocCGIXMLRPCRequestHandler",
    "list_public_methods", "resolve_dotted_attribute",
]


class SimpleXMLRPCRequestHandler(BaseHTTPRequestHandler,
                                 _server.SimpleXMLRPCRequestHandler):
    """XML-RPC request handler: POST to one of ``rpc_paths``.

    .. versionadded:: 0.1
    """


class DocXMLRPCRequestHandler(SimpleXMLRPCRequestHandler,
                              _doc.DocXMLRPCRequestHandler):
    """XML-RPC request handler that also answers GET with the HTML documentation.

    .. versionadded:: 0.1
    """


class SimpleXMLRPCServer(unless_inherited(LoopMixIn, _server.SimpleXMLRPCServer),
                         _server.SimpleXMLRPCServer):
    """Simple XML-RPC server, handling one request at a time.

    Takes the stdlib's arguments; *requestHandler* defaults to
    :class:`compatserver.xmlrpc.SimpleXMLRPCRequestHandler`.  Register
    functions with ``register_function()``, ``register_instance()``,
    ``register_introspection_functions()``,
    ``register_multicall_functions()``.

    .. versionadded:: 0.1
    """

    def __init__(self, addr, requestHandler=SimpleXMLRPCRequestHandler,
                 *args, **kwargs):
        super(SimpleXMLRPCServer, self).__init__(
            addr, requestHandler, *args, **kwargs)


class DocXMLRPCServer(SimpleXMLRPCServer, _doc.DocXMLRPCServer):
    """XML-RPC server that also serves its own HTML documentation on GET.

    *requestHandler* defaults to
    :class:`compatserver.xmlrpc.DocXMLRPCRequestHandler`.

    .. versionadded:: 0.1
    """

    def __init__(self, addr, requestHandler=DocXMLRPCRequestHandler,
                 *args, **kwargs):
        super(DocXMLRPCServer, self).__init__(
            addr, requestHandler, *args, **kwargs)


class ThreadingXMLRPCServer(ThreadingMixIn, SimpleXMLRPCServer):
    """XML-RPC server that handles each request in a new thread.

    ``daemon_threads`` is true, as for ``ThreadingHTTPServer``.  The
    registered functions run in several threads at once.

    .. versionadded:: 0.1
    """

    daemon_threads = True


class ThreadPoolXMLRPCServer(ThreadPoolMixIn, SimpleXMLRPCServer):
    """XML-RPC server that handles each request in one of a pool of threads.

    ``request_queue_size`` is 128, as for
    :class:`compatserver.ThreadPoolTCPServer`.

    .. versionadded:: 0.1
    """

    request_queue_size = 128


class ThreadingDocXMLRPCServer(ThreadingMixIn, DocXMLRPCServer):
    """Documenting XML-RPC server that handles each request in a new thread.

    .. versionadded:: 0.1
    """

    daemon_threads = True


class ThreadPoolDocXMLRPCServer(ThreadPoolMixIn, DocXMLRPCServer):
    """Documenting XML-RPC server that handles each request in one of a pool
    of threads.

    .. versionadded:: 0.1
    """

    request_queue_size = 128
