"""compatserver.xmlrpc: the stdlib's XML-RPC servers on every interpreter.

``class X(mixin, SimpleXMLRPCServer)`` and ``class X(mixin,
DocXMLRPCServer)`` with each compatserver mix-in, and the ready-made
classes: a call through the stdlib's client, a shutdown() that does not wait
for the poll, a function that shuts its own server down.
"""
import pytest
from six.moves import xmlrpc_client

import compatserver
import compatserver.xmlrpc as cs_xmlrpc
from compatserver import _compat

from conftest_moved import (
    MIXIN_IDS, MIXINS, check_life_cycle, check_shutdown_from_handler, http_get,
    idiom)
from conftest_serve import TIMEOUT, serving

STD_SERVER, STD_DOC = _compat.xmlrpc_modules()


class TimeoutTransport(xmlrpc_client.Transport):
    """The stdlib's transport, with a timeout on its connections."""

    def make_connection(self, host):
        connection = xmlrpc_client.Transport.make_connection(self, host)
        connection.timeout = TIMEOUT
        return connection


def call(server, name, *args):
    transport = TimeoutTransport()
    proxy = xmlrpc_client.ServerProxy("http://127.0.0.1:%d/RPC2"
                                      % server.server_address[1],
                                      transport=transport)
    try:
        return getattr(proxy, name)(*args)
    finally:
        transport.close()


def build(cls):
    """*cls* on port 0 with ``pow`` and ``stop`` (which shuts it down)."""
    server = cls(("127.0.0.1", 0), logRequests=False)

    def stop():
        server.shutdown()
        return True

    server.register_function(pow)
    server.register_function(stop)
    server.register_introspection_functions()
    return server


def answers_pow(server):
    assert call(server, "pow", 2, 5) == 32


def answers_stop(server):
    assert call(server, "stop") is True


def ids(cls):
    return cls.__name__


class UsersXMLRPCServer(STD_SERVER.SimpleXMLRPCServer):
    """A user's subclass that calls the stdlib's __init__ by name (2.7 style)."""

    def __init__(self, addr, **kwargs):
        STD_SERVER.SimpleXMLRPCServer.__init__(
            self, addr, cs_xmlrpc.SimpleXMLRPCRequestHandler, **kwargs)


STDLIB_SERVERS = [STD_SERVER.SimpleXMLRPCServer, STD_DOC.DocXMLRPCServer,
                  UsersXMLRPCServer]
READY_MADE = [getattr(cs_xmlrpc, name) for name in cs_xmlrpc.__all__
              if name.endswith("Server")]


@pytest.mark.parametrize("mixin", [m for m, _ in MIXINS], ids=MIXIN_IDS)
@pytest.mark.parametrize("base", STDLIB_SERVERS, ids=ids)
def test_idiom_serves_and_stops_at_once(mixin, base):
    check_life_cycle(lambda: build(idiom(mixin, base)), answers_pow)


@pytest.mark.parametrize("mixin", [m for m, k in MIXINS if k != "forking"],
                         ids=[k for k in MIXIN_IDS if k != "forking"])
@pytest.mark.parametrize("base", STDLIB_SERVERS, ids=ids)
def test_idiom_shutdown_from_a_function(mixin, base):
    check_shutdown_from_handler(lambda: build(idiom(mixin, base)), answers_stop)


@pytest.mark.parametrize("cls", READY_MADE, ids=ids)
def test_ready_made_serves_and_stops_at_once(cls):
    check_life_cycle(lambda: build(cls), answers_pow)


@pytest.mark.parametrize("cls", READY_MADE, ids=ids)
def test_ready_made_shutdown_from_a_function(cls):
    check_shutdown_from_handler(lambda: build(cls), answers_stop)


def test_ready_made_names_and_bases():
    assert [c.__name__ for c in READY_MADE] == [
        "SimpleXMLRPCServer", "ThreadingXMLRPCServer", "ThreadPoolXMLRPCServer",
        "DocXMLRPCServer", "ThreadingDocXMLRPCServer", "ThreadPoolDocXMLRPCServer"]
    for cls in READY_MADE:
        compatserver._loop.check_bases(cls)
        assert issubclass(cls, STD_SERVER.SimpleXMLRPCServer)
        assert cls.__module__ == "compatserver.xmlrpc"
    for cls in READY_MADE[3:]:
        assert issubclass(cls, STD_DOC.DocXMLRPCServer)
    assert issubclass(cs_xmlrpc.ThreadingXMLRPCServer, compatserver.ThreadingMixIn)
    assert issubclass(cs_xmlrpc.ThreadPoolDocXMLRPCServer, compatserver.ThreadPoolMixIn)
    assert issubclass(cs_xmlrpc.DocXMLRPCRequestHandler,
                      STD_DOC.DocXMLRPCRequestHandler)
    assert issubclass(cs_xmlrpc.SimpleXMLRPCRequestHandler,
                      compatserver.StreamRequestHandler)
    # The helpers are the stdlib's own objects.
    assert cs_xmlrpc.SimpleXMLRPCDispatcher is STD_SERVER.SimpleXMLRPCDispatcher
    assert cs_xmlrpc.list_public_methods is STD_SERVER.list_public_methods
    assert not set(cs_xmlrpc.__all__) & set(compatserver.__all__)


def test_default_handlers_are_compatservers():
    with build(cs_xmlrpc.SimpleXMLRPCServer) as server:
        assert server.RequestHandlerClass is cs_xmlrpc.SimpleXMLRPCRequestHandler
    with build(cs_xmlrpc.ThreadingDocXMLRPCServer) as server:
        assert server.RequestHandlerClass is cs_xmlrpc.DocXMLRPCRequestHandler


def test_doc_server_serves_its_documentation():
    server = build(cs_xmlrpc.ThreadingDocXMLRPCServer)
    server.set_server_title("Compat title")
    with serving(server):
        status, headers, body = http_get(server.server_address, "/")
        assert call(server, "system.listMethods")[:1] == ["pow"]
    assert status == b"HTTP/1.0 200 OK"
    assert int(headers["content-length"]) == len(body)
    assert b"<title>Python: Compat title</title>" in body


def test_a_get_is_a_501_page_with_content_length():
    # The stdlib's send_error(): compatserver's on 2.7 (bpo-12921).
    with serving(build(cs_xmlrpc.ThreadingXMLRPCServer)) as server:
        status, headers, body = http_get(server.server_address, "/RPC2")
    assert status.startswith(b"HTTP/1.0 501 ")
    assert int(headers["content-length"]) == len(body)
