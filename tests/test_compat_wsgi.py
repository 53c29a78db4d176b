"""compatserver.wsgi: wsgiref's server with compatserver's loop.

``class X(mixin, wsgiref.simple_server.WSGIServer)`` with each compatserver
mix-in, the ready-made classes and :func:`compatserver.wsgi.make_server`.
"""
from wsgiref import simple_server

import pytest

import compatserver
import compatserver.wsgi as cs_wsgi

from conftest_moved import (
    MIXIN_IDS, MIXINS, check_life_cycle, check_shutdown_from_handler, http_get,
    idiom)


def app_for(holder):
    """A WSGI app; ``/shutdown`` stops ``holder[0]`` first."""
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/shutdown":
            holder[0].shutdown()
        body = ("app saw %s" % environ["PATH_INFO"]).encode("ascii")
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app


def build(server_class):
    holder = []
    server = cs_wsgi.make_server("127.0.0.1", 0, app_for(holder),
                                 server_class=server_class)
    holder.append(server)
    return server


def answers_body(server):
    status, headers, body = http_get(server.server_address, "/hi")
    assert (status, body) == (b"HTTP/1.0 200 OK", b"app saw /hi")
    assert headers["content-type"] == b"text/plain"


def answers_after_shutdown(server):
    assert http_get(server.server_address, "/shutdown")[2] == b"app saw /shutdown"


def ids(cls):
    return cls.__name__


READY_MADE = [cs_wsgi.WSGIServer, cs_wsgi.ThreadingWSGIServer,
              cs_wsgi.ThreadPoolWSGIServer]


@pytest.mark.parametrize("mixin", [m for m, _ in MIXINS], ids=MIXIN_IDS)
def test_idiom_serves_and_stops_at_once(mixin):
    cls = idiom(mixin, simple_server.WSGIServer)
    check_life_cycle(lambda: build(cls), answers_body)


@pytest.mark.parametrize("mixin", [m for m, k in MIXINS if k != "forking"],
                         ids=[k for k in MIXIN_IDS if k != "forking"])
def test_idiom_shutdown_from_the_app(mixin):
    cls = idiom(mixin, simple_server.WSGIServer)
    check_shutdown_from_handler(lambda: build(cls), answers_after_shutdown)


@pytest.mark.parametrize("cls", READY_MADE, ids=ids)
def test_ready_made_serves_and_stops_at_once(cls):
    check_life_cycle(lambda: build(cls), answers_body)


@pytest.mark.parametrize("cls", READY_MADE, ids=ids)
def test_ready_made_shutdown_from_the_app(cls):
    check_shutdown_from_handler(lambda: build(cls), answers_after_shutdown)


def test_names_and_bases():
    assert cs_wsgi.__all__ == ["WSGIServer", "ThreadingWSGIServer",
                               "ThreadPoolWSGIServer", "WSGIRequestHandler",
                               "make_server"]
    for cls in READY_MADE:
        compatserver._loop.check_bases(cls)
        assert issubclass(cls, simple_server.WSGIServer)
    assert cs_wsgi.ThreadingWSGIServer.daemon_threads is True
    assert cs_wsgi.ThreadPoolWSGIServer.request_queue_size == 128
    assert issubclass(cs_wsgi.WSGIRequestHandler, simple_server.WSGIRequestHandler)
    assert issubclass(cs_wsgi.WSGIRequestHandler, compatserver.StreamRequestHandler)


def test_make_server_defaults():
    with cs_wsgi.make_server("127.0.0.1", 0, app_for([])) as server:
        assert type(server) is cs_wsgi.WSGIServer
        assert server.RequestHandlerClass is cs_wsgi.WSGIRequestHandler
        assert server.get_app() is not None
