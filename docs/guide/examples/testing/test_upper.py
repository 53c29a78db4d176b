"""upper.py's server, tested the same way on Python 2.7 and 3.x."""
import socket

import pytest

import compatserver
from compatserver.testing import serving

from upper import Upper


def ask(address, line, family=socket.AF_INET):
    """Send *line* to the server at *address*; return the line it answers."""
    client = socket.socket(family, socket.SOCK_STREAM)
    try:
        client.settimeout(5)
        client.connect(address)
        client.sendall(line)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = client.recv(1024)
            if not chunk:
                break
            answer += chunk
        return answer
    finally:
        client.close()


def test_upper(serve):
    # A server on 127.0.0.1, port 0, served in a thread; stopped after the
    # test, which fails if a handler thread is still running by then.
    server = serve(compatserver.ThreadingTCPServer, Upper)
    assert ask(server.server_address, b"hello\n") == b"HELLO\n"


def test_upper_daemon_threads(serve):
    # Keyword arguments are set on the server before it binds.
    server = serve(compatserver.ThreadingTCPServer, Upper, daemon_threads=True)
    assert server.daemon_threads
    assert ask(server.server_address, b"tox\n") == b"TOX\n"


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_upper_unix(serve):
    # The Unix classes get a socket in a temporary directory.
    server = serve(compatserver.ThreadingUnixStreamServer, Upper)
    assert ask(server.server_address, b"unix\n", socket.AF_UNIX) == b"UNIX\n"


def test_upper_without_the_fixture():
    # serving() does the same in any test framework, or none.
    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), Upper)
    with serving(server, timeout=5):
        assert ask(server.server_address, b"serving\n") == b"SERVING\n"
