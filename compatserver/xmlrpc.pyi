# Type information for compatserver.xmlrpc (see __init__.pyi): the stdlib's
# XML-RPC servers on compatserver's loop; the other names are the stdlib's.
import xmlrpc.server as _stdlib
from xmlrpc.server import (
    CGIXMLRPCRequestHandler as CGIXMLRPCRequestHandler,
    DocCGIXMLRPCRequestHandler as DocCGIXMLRPCRequestHandler,
    ServerHTMLDoc as ServerHTMLDoc,
    SimpleXMLRPCDispatcher as SimpleXMLRPCDispatcher,
    XMLRPCDocGenerator as XMLRPCDocGenerator,
    list_public_methods as list_public_methods,
    resolve_dotted_attribute as resolve_dotted_attribute,
)

from . import LoopMixIn, ThreadingMixIn, ThreadPoolMixIn
from .http import BaseHTTPRequestHandler

__all__: list[str]

class SimpleXMLRPCServer(LoopMixIn, _stdlib.SimpleXMLRPCServer): ...
class ThreadingXMLRPCServer(ThreadingMixIn, SimpleXMLRPCServer): ...
class ThreadPoolXMLRPCServer(ThreadPoolMixIn, SimpleXMLRPCServer): ...
class DocXMLRPCServer(SimpleXMLRPCServer, _stdlib.DocXMLRPCServer): ...
class ThreadingDocXMLRPCServer(ThreadingMixIn, DocXMLRPCServer): ...
class ThreadPoolDocXMLRPCServer(ThreadPoolMixIn, DocXMLRPCServer): ...

class SimpleXMLRPCRequestHandler(BaseHTTPRequestHandler, _stdlib.SimpleXMLRPCRequestHandler): ...
class DocXMLRPCRequestHandler(SimpleXMLRPCRequestHandler, _stdlib.DocXMLRPCRequestHandler): ...
