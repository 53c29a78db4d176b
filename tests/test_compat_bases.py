"""compatserver's mix-ins on server classes built on the stdlib's socketserver.

The rule (compatserver/_loop.py): compatserver's classes come first among the
bases, and then they bring compatserver's loop with them.  A class that
breaks the rule fails when it is created, on every interpreter alike, with a
message that says what to write instead.
"""
import socket

import pytest

import compatserver
from compatserver import stdlib

from conftest_serve import TIMEOUT, call_with_timeout, serving

try:
    from http.server import HTTPServer
except ImportError:  # Python 2
    from BaseHTTPServer import HTTPServer

MIXINS = [compatserver.ThreadingMixIn, compatserver.ThreadPoolMixIn,
          compatserver.LoopMixIn]
if hasattr(compatserver, "ForkingMixIn"):
    MIXINS.append(compatserver.ForkingMixIn)


class UsersOwnServer(stdlib.TCPServer):
    """A user's subclass of the stdlib TCPServer, which compatserver cannot see."""

    allow_reuse_address = True


class Echo(compatserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline())


def assert_echoes(server):
    sock = socket.create_connection(server.server_address, TIMEOUT)
    try:
        sock.sendall(b"hi\n")
        assert sock.makefile("rb").readline() == b"hi\n"
    finally:
        sock.close()


def ids(cls):
    return cls.__name__


@pytest.mark.parametrize("mixin", MIXINS, ids=ids)
@pytest.mark.parametrize("base", [HTTPServer, UsersOwnServer], ids=ids)
def test_a_mixin_first_brings_compatservers_loop(mixin, base):
    cls = type("Mixed", (mixin, base), {})
    mro = cls.__mro__
    # The loop is ours, ahead of the stdlib's BaseServer ...
    for name in ("serve_forever", "shutdown", "server_close", "handle_error",
                 "_handle_request_noblock", "__exit__"):
        supplier = next(k for k in mro if name in vars(k))
        assert supplier.__module__.startswith("compatserver"), (name, supplier)
    # ... the stdlib-based class keeps its own methods and its isinstance ...
    assert issubclass(cls, base) and issubclass(cls, stdlib.BaseServer)
    # ... and object comes last (Python 2: after the old-style bases too,
    # so that object.__init__ does not shadow TCPServer.__init__).
    assert mro[-1] is object
    assert isinstance(cls, type)


@pytest.mark.parametrize("mixin", MIXINS, ids=ids)
def test_a_mixin_first_serves_and_stops_at_once(mixin):
    cls = type("Mixed", (mixin, UsersOwnServer), {})
    # poll_interval is 30 s: the stdlib's loop would take up to that long to
    # notice the shutdown, and call_with_timeout() fails after TIMEOUT.
    with serving(cls(("127.0.0.1", 0), Echo), poll_interval=30.0) as server:
        assert_echoes(server)
        # Well under the poll: the stdlib's loop would take up to 30 s.
        assert call_with_timeout(server.shutdown) < 5.0
        server.test_thread.join(TIMEOUT)
        assert not server.test_thread.is_alive()


def test_the_stdlib_server_first_is_refused_with_the_fix():
    with pytest.raises(TypeError) as info:
        type("Wrong", (HTTPServer, compatserver.ThreadingMixIn), {})
    message = str(info.value)
    assert message.startswith("Wrong: %s.BaseServer.serve_forever would run "
                              "instead of compatserver.LoopMixIn.serve_forever"
                              % stdlib.__name__), message
    assert message.endswith("class Wrong(ThreadingMixIn, HTTPServer)"), message


@pytest.mark.parametrize("name", ["ThreadingMixIn", "ForkingMixIn"])
def test_the_stdlib_mixin_with_compatserver_classes_is_refused(name):
    if not hasattr(stdlib, name):
        pytest.skip("no os.fork here")
    with pytest.raises(TypeError) as info:
        type("Mixed", (getattr(stdlib, name), compatserver.TCPServer), {})
    assert str(info.value) == (
        "Mixed: %s.%s cannot be mixed with compatserver's classes (it would "
        "bring the stdlib's thread or process handling back); use "
        "compatserver.%s instead" % (stdlib.__name__, name, name))


def test_compatservers_own_combinations_pass_the_check():
    # They carry the stdlib's class of the same name behind ours.
    for name in compatserver.__all__:
        obj = getattr(compatserver, name)
        if isinstance(obj, type) and issubclass(obj, compatserver.LoopMixIn):
            compatserver._loop.check_bases(obj)
    assert issubclass(compatserver.ThreadingTCPServer, stdlib.ThreadingMixIn)


@pytest.mark.parametrize("mixin", MIXINS, ids=ids)
def test_a_subclass_that_calls_the_stdlib_init_by_name_works(mixin):
    # Python 2 code (and SimpleXMLRPCServer itself) call TCPServer.__init__
    # by name: no __init__ of compatserver's has to run (the pool's state
    # too is made on first use).
    class Server(mixin, UsersOwnServer):
        def __init__(self, address, handler):
            stdlib.TCPServer.__init__(self, address, handler)

    with serving(Server(("127.0.0.1", 0), Echo), poll_interval=30.0) as server:
        assert_echoes(server)
        call_with_timeout(server.shutdown)
        server.test_thread.join(TIMEOUT)
        assert not server.test_thread.is_alive()
