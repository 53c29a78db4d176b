"""Point 1 and 2: the names, the stdlib bases, new-style classes, reuse_port."""
import os
import socket

import pytest

import compatserver
from compatserver import stdlib

from conftest_compat import SERVERS, make_server

HAS_FORK = hasattr(os, "fork")
HAS_UNIX = hasattr(socket, "AF_UNIX")

ADDITIONS = ["TextStreamRequestHandler", "TextDatagramRequestHandler",
             "LineTooLong", "ClientDecodeError", "is_disconnect", "LoopMixIn",
             "install", "uninstall", "InstallWarning"]

STDLIB_NAMES = [
    "BaseServer", "TCPServer", "UDPServer", "ThreadingMixIn",
    "ThreadingTCPServer", "ThreadingUDPServer",
    "BaseRequestHandler", "StreamRequestHandler", "DatagramRequestHandler",
]
if HAS_FORK:
    STDLIB_NAMES += ["ForkingMixIn", "ForkingTCPServer", "ForkingUDPServer"]
if HAS_UNIX:
    STDLIB_NAMES += ["UnixStreamServer", "UnixDatagramServer",
                     "ThreadingUnixStreamServer", "ThreadingUnixDatagramServer"]
if HAS_FORK and HAS_UNIX:
    STDLIB_NAMES += ["ForkingUnixStreamServer", "ForkingUnixDatagramServer"]

# Names another part of the project adds to __all__ (issue 5's pool).
OTHER_AREAS = {"ThreadPoolMixIn", "ThreadPoolTCPServer", "ThreadPoolUDPServer",
               "ThreadPoolUnixStreamServer", "ThreadPoolUnixDatagramServer"}


def test_all_is_the_stdlib_names_plus_the_documented_additions():
    ours = set(compatserver.__all__) - OTHER_AREAS
    assert ours == set(STDLIB_NAMES) | set(ADDITIONS)
    assert len(compatserver.__all__) == len(set(compatserver.__all__))


def test_every_public_stdlib_name_exists():
    public = [n for n in dir(stdlib) if not n.startswith("_")
              and getattr(getattr(stdlib, n), "__module__", None) == stdlib.__name__]
    assert "BaseServer" in public and "TCPServer" in public
    missing = [n for n in public if not hasattr(compatserver, n)]
    assert missing == []
    # BaseServer is public on 2.7 too, although its __all__ lacks it.
    assert "BaseServer" in compatserver.__all__


def test_stdlib_module_is_exposed():
    import six
    assert compatserver.stdlib is six.moves.socketserver
    assert compatserver.stdlib.__name__ in ("socketserver", "SocketServer")


@pytest.mark.parametrize("name", STDLIB_NAMES)
def test_class_subclasses_its_stdlib_namesake_where_it_exists(name):
    ours = getattr(compatserver, name)
    std = getattr(stdlib, name, None)
    if std is None:
        # ForkingUnix*Server before 3.12 (gh-103673): built from the parts.
        assert name.startswith("ForkingUnix")
        assert issubclass(ours, stdlib.ForkingMixIn)
        assert issubclass(ours, stdlib.UnixStreamServer if "Stream" in name
                          else stdlib.UnixDatagramServer)
    else:
        assert issubclass(ours, std)


@pytest.mark.parametrize("name", STDLIB_NAMES + ["TextStreamRequestHandler",
                                                  "TextDatagramRequestHandler"])
def test_classes_are_new_style(name):
    cls = getattr(compatserver, name)
    assert isinstance(cls, type)
    assert issubclass(cls, object)
    assert cls.__module__ == "compatserver"


@pytest.mark.parametrize("cls", SERVERS, ids=lambda c: c.__name__)
def test_super_and_properties_work_in_server_subclasses(cls):
    calls = []

    class Server(cls):
        @property
        def timeout(self):
            return self._timeout

        @timeout.setter
        def timeout(self, value):
            calls.append(value)
            self._timeout = value

        def server_activate(self):
            calls.append("activate")
            super(Server, self).server_activate()

    with make_server(Server) as server:
        server.timeout = 0.01
        assert server.timeout == 0.01
        assert calls == ["activate", 0.01]
        assert server.handle_request() is None  # timed out, via the property


def test_super_works_in_handler_subclasses():
    class Handler(compatserver.StreamRequestHandler):
        def setup(self):
            super(Handler, self).setup()  # the base's setup() makes rfile and wfile
            self.was_setup = True

        def handle(self):
            self.wfile.write(self.rfile.readline().upper())

    assert Handler.setup is not compatserver.StreamRequestHandler.setup
    assert issubclass(Handler, object)
    here, there = socket.socketpair()
    try:
        there.sendall(b"ping\n")
        handler = Handler(here, ("peer", 0), None)  # runs setup(), handle(), finish()
        assert handler.was_setup
        assert there.recv(100) == b"PING\n"
    finally:
        here.close()
        there.close()


@pytest.mark.parametrize("cls", SERVERS, ids=lambda c: c.__name__)
def test_allow_reuse_port_sets_so_reuseport_where_it_exists(cls):
    assert cls.allow_reuse_port is False
    if not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("this platform has no SO_REUSEPORT")
    if cls.address_family != socket.AF_INET:
        pytest.skip("SO_REUSEPORT is for IP sockets")
    with make_server(cls, allow_reuse_port=True) as server:
        assert server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        # A second server binds the same port, which needs the option on both.
        host, port = server.server_address
        twin = cls((host, port), server.RequestHandlerClass, bind_and_activate=False)
        try:
            twin.allow_reuse_port = True
            twin.server_bind()
            assert twin.server_address == server.server_address
        finally:
            twin.server_close()
    with make_server(cls) as server:
        assert not server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


@pytest.mark.parametrize("cls", SERVERS, ids=lambda c: c.__name__)
def test_context_manager_closes_the_socket(cls):
    with make_server(cls) as server:
        with server as entered:
            assert entered is server
        assert socket_is_closed(server.socket)


def socket_is_closed(sock):
    try:
        return sock.fileno() == -1  # Python 3
    except socket.error:
        return True  # Python 2: a closed socket's fileno() raises EBADF


# Where each member differs from some stdlib version, its docstring says so
# with the upstream issue (Sphinx autodoc builds the API pages from them).
DOCUMENTED_CHANGES = [
    ("BaseServer.serve_forever", ["versionchanged", "gh-88932", "bpo-7978"]),
    ("BaseServer.shutdown", ["versionchanged", "gh-88932", "bpo-39797", "bpo-41093"]),
    ("BaseServer.handle_request", ["versionchanged", "bpo-7978"]),
    ("BaseServer._handle_request_noblock", ["bpo-23430"]),
    ("BaseServer.__exit__", ["versionadded", "bpo-26404"]),
    ("BaseServer.service_actions", ["versionadded"]),
    ("BaseServer.handle_error", ["versionchanged", "sys.stderr"]),
    ("TCPServer.server_bind", ["versionchanged", "bpo-16594"]),
    ("ThreadingMixIn", ["versionchanged", "bpo-37193", "bpo-33540"]),
    ("ForkingMixIn", ["versionchanged", "bpo-31151"]),
    ("ForkingUnixStreamServer", ["versionadded", "gh-103673"]),
    ("ForkingUnixDatagramServer", ["versionadded", "gh-103673"]),
    ("StreamRequestHandler", ["versionchanged", "wfile.write()"]),
    ("TextStreamRequestHandler", ["versionadded", "max_line_length"]),
    ("TextDatagramRequestHandler", ["versionadded", "max_packet_size"]),
    ("LineTooLong", ["versionadded"]),
    ("ClientDecodeError", ["versionadded", "UnicodeDecodeError"]),
]


@pytest.mark.parametrize("path, words", DOCUMENTED_CHANGES,
                         ids=[path for path, _ in DOCUMENTED_CHANGES])
def test_docstrings_name_the_change_and_the_upstream_issue(path, words):
    obj = compatserver
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            pytest.skip("%s does not exist on this platform" % path)
    doc = obj.__doc__ or ""
    missing = [word for word in words if word not in doc]
    assert missing == []
