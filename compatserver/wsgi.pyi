# Type information for compatserver.wsgi (see __init__.pyi): wsgiref's
# server on compatserver's loop.
from _typeshed.wsgi import WSGIApplication
from wsgiref import simple_server as _stdlib

from . import LoopMixIn, ThreadingMixIn, ThreadPoolMixIn
from .http import BaseHTTPRequestHandler

__all__: list[str]

class WSGIServer(LoopMixIn, _stdlib.WSGIServer): ...
class ThreadingWSGIServer(ThreadingMixIn, WSGIServer): ...
class ThreadPoolWSGIServer(ThreadPoolMixIn, WSGIServer): ...
class WSGIRequestHandler(BaseHTTPRequestHandler, _stdlib.WSGIRequestHandler): ...

def make_server(host: str, port: int, app: WSGIApplication,
                server_class: type[_stdlib.WSGIServer] = ...,
                handler_class: type[_stdlib.WSGIRequestHandler] = ...) -> _stdlib.WSGIServer: ...
