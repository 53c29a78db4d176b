"""Issue 11, item 3: a client error is one log line, the handler's bug a traceback.

A client that sends an over-long line or undecodable bytes, resets the
connection mid-line or is slower than the handler's ``timeout`` makes every
server class log one WARNING line on the ``compatserver`` logger, ``client
<address>: <reason>``, and no traceback; the server keeps serving.  An error
of the handler's own code (a ``ValueError``, a ``UnicodeDecodeError`` of its
own decoding) still prints the banner and the traceback on stderr.  With no
logging configured the line reaches stderr, never stdout, on every
interpreter (Python 2.7 has no ``logging.lastResort``); with a handler
configured, only that handler gets it.
"""
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading

import pytest

import compatserver

from conftest_compat import SERVERS, client, is_stream, is_unix, make_server, recv_line
from conftest_proc import run_python
from conftest_serve import TIMEOUT, serving, wait_until

pytestmark = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")

MAX_LINE = 100
#: The handler's ``timeout`` in the slow-client case: short, so the test is
#: quick, and the client never sends the end of its line.
HANDLER_TIMEOUT = 0.3

#: Bad input kind -> the reason the log line gives, exactly.
REASONS = {
    "long": "line longer than %d bytes" % MAX_LINE,
    "undecodable": "undecodable utf-8 input: invalid start byte at position 0",
    "reset": "disconnected (ECONNRESET)",
    "slow": "timed out",
}
STREAM_KINDS = ["long", "undecodable", "reset", "slow"]
# A datagram has no line limit (max_packet_size bounds it), no connection
# to reset and no read that waits.
DATAGRAM_KINDS = ["undecodable"]

CASES = [(cls, kind) for cls in SERVERS
         for kind in (STREAM_KINDS if is_stream(cls) else DATAGRAM_KINDS)]
CASE_IDS = ["%s-%s" % (cls.__name__, kind) for cls, kind in CASES]
ids = lambda c: c.__name__  # noqa: E731

DASHES = "-" * 40
BAD_CLIENTS = 2


class Lines(compatserver.TextStreamRequestHandler):
    """Answer each line in upper case, up to ``fine``.

    Not until the end of the stream: a forked child holds a copy of the
    test's client sockets that were open when it forked, so it would never
    see the end of the stream.
    """

    max_line_length = MAX_LINE

    def handle(self):
        for line in self.lines():
            self.write(line.upper())
            if line == u"fine\n":
                return


class SlowLines(Lines):
    timeout = HANDLER_TIMEOUT


class Datagrams(compatserver.TextDatagramRequestHandler):
    def handle(self):
        self.write(self.text.upper())


def text_handler(cls, kind):
    if not is_stream(cls):
        return Datagrams
    return SlowLines if kind == "slow" else Lines


class FileHandler(logging.Handler):
    """Appends each message as a line to a file, from any thread or process.

    One ``os.write()`` on an ``O_APPEND`` descriptor per record: a forked
    child's lines land in the same file, whole.
    """

    def __init__(self, path):
        logging.Handler.__init__(self, logging.DEBUG)
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def emit(self, record):
        os.write(self.fd, (self.format(record) + "\n").encode("utf-8"))

    def close(self):
        # Twice: by the fixture, then by logging.shutdown() at exit.
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        logging.Handler.close(self)

    def lines(self):
        with open(self.path, "rb") as f:
            return f.read().decode("utf-8").splitlines()


@pytest.fixture
def client_log():
    """A handler on the ``compatserver`` logger; ``.lines()`` reads what it got."""
    directory = tempfile.mkdtemp(prefix="cs-log-")
    handler = FileHandler(os.path.join(directory, "log"))
    logger = logging.getLogger("compatserver")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        handler.close()
        shutil.rmtree(directory, ignore_errors=True)


def drain(sock):
    """Read until the server closes the connection (EOF or a reset)."""
    try:
        while sock.recv(65536):
            pass
    except socket.error:
        pass  # the server closed with our unread bytes: an RST


def expected_address(server, sock):
    """How the log line names the client of *sock*."""
    if is_unix(type(server)):
        # A stream client is unbound; a datagram client has bound a path.
        return "(unnamed)" if is_stream(type(server)) else sock.getsockname()
    return "127.0.0.1:%d" % sock.getsockname()[1]


# The resetting client runs in a process of its own: a forking server's
# child holds a copy of every socket the test process had open when it
# forked, the client's own included, and a close() with SO_LINGER 0 sends an
# RST only when it closes the last copy.
RESET_CLIENT = r"""
import socket, struct, sys
family = getattr(socket, sys.argv[1])
address = (sys.argv[2], int(sys.argv[3])) if family == socket.AF_INET else sys.argv[2]
sock = socket.socket(family, socket.SOCK_STREAM)
sock.settimeout(float(sys.argv[-1]))
sock.connect(address)
sock.sendall(b"hello\npart")
reply = b""
while not reply.endswith(b"\n"):
    chunk = sock.recv(64)
    if not chunk:
        break
    reply += chunk
name = sock.getsockname()
sys.stdout.write("%r %s\n" % (reply, name[1] if family == socket.AF_INET else ""))
sys.stdout.flush()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
sock.close()
"""


def reset_client(server):
    """Reset the connection in the middle of the second line, from a child process."""
    if is_unix(type(server)):
        args = ["AF_UNIX", server.server_address]
    else:
        args = ["AF_INET"] + [str(part) for part in server.server_address]
    status, out, err = run_python(RESET_CLIENT, *(args + [str(TIMEOUT)]))
    assert status == 0, err
    reply, _, port = out.rstrip("\n").rpartition(" ")
    assert reply == repr(b"HELLO\n")
    return "(unnamed)" if is_unix(type(server)) else "127.0.0.1:%s" % port


def bad_client(server, kind):
    """Play a bad client of *kind*; return the address the log should name."""
    if kind == "reset" and is_stream(type(server)):
        return reset_client(server)
    sock = client(server)
    try:
        address = expected_address(server, sock)
        if not is_stream(type(server)):
            sock.send(b"\xff\xfe bad")
        elif kind in ("long", "undecodable"):
            try:
                sock.sendall(b"x" * 5000 + b"\n" if kind == "long"
                             else b"\xff\xfe bad\n")
            except socket.error:
                pass  # the server read its fill and closed: a reset
            drain(sock)
        else:
            # A good line first, so the handler is waiting in the middle of
            # the second when the client stops sending.
            sock.sendall(b"hello\npart")
            assert recv_line(sock) == b"HELLO\n"
            drain(sock)  # the handler times out and closes
    finally:
        sock.close()
    return address


def good_request(server):
    sock = client(server)
    try:
        if is_stream(type(server)):
            sock.sendall(b"fine\n")
            return recv_line(sock)
        sock.send(b"fine")
        return sock.recv(65536)
    finally:
        sock.close()


@pytest.mark.parametrize("cls, kind", CASES, ids=CASE_IDS)
def test_each_bad_client_is_one_log_line_and_the_server_goes_on(cls, kind, client_log,
                                                              capfd):
    with make_server(cls, text_handler(cls, kind)) as server, serving(server):
        addresses = [bad_client(server, kind) for _ in range(BAD_CLIENTS)]
        wait_until(lambda: len(client_log.lines()) >= BAD_CLIENTS,
                   what="%d client-error lines" % BAD_CLIENTS, interval=0.01)
        assert good_request(server) == (b"FINE\n" if is_stream(cls) else b"FINE")
    reason = REASONS[kind]
    if kind == "reset" and is_unix(cls):
        # A Unix socket has no RST: the handler reads "part" and the end of
        # the stream, and its reply is what fails.
        reason = "disconnected (EPIPE)"
    expected = ["client %s: %s" % (address, reason) for address in addresses]
    assert sorted(client_log.lines()) == sorted(expected)
    out, err = capfd.readouterr()
    assert out == ""
    assert "Traceback" not in err and "Exception occurred" not in err, err


def own_value_error(handler):
    raise ValueError("boom")


def own_decode_error(handler):
    b"\xff own bytes".decode("utf-8")


@pytest.mark.parametrize("action, last_line", [
    (own_value_error, "ValueError: boom"),
    (own_decode_error, "invalid start byte"),
], ids=["ValueError", "UnicodeDecodeError"])
@pytest.mark.parametrize("cls", SERVERS, ids=ids)
def test_an_error_of_the_handler_itself_keeps_the_banner_and_traceback(
        cls, action, last_line, client_log, capfd):
    base = Lines if is_stream(cls) else Datagrams

    class Handler(base):
        def handle(self):
            # Good input, decoded by compatserver; "hello" is the request
            # the handler fails on.
            text = self.readline() if is_stream(cls) else self.text
            if text.strip() == u"hello":
                action(self)
            self.write(text.upper())

    def handle_error(self, request, client_address):
        # The default, then a mark in the log file: the test waits for that
        # rather than polling capfd, whose readouterr() drops what is
        # written while it empties the capture file.
        cls.handle_error(self, request, client_address)
        os.write(client_log.fd, b"handle_error returned\n")

    with make_server(cls, Handler, handle_error=handle_error) as server, \
            serving(server):
        sock = client(server)
        try:
            if is_stream(cls):
                sock.sendall(b"hello\n")
                drain(sock)
            else:
                sock.send(b"hello")
            # The datagram client stays open until the report: finish()
            # still sends the (empty) reply, and to a closed Unix socket
            # that fails, which would be the error reported.
            wait_until(client_log.lines, what="handle_error() to return",
                       interval=0.01)
        finally:
            sock.close()
        assert good_request(server) == (b"FINE\n" if is_stream(cls) else b"FINE")
    out, err = capfd.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == DASHES
    assert lines[1].startswith("Exception occurred during processing of request from ")
    assert lines[2] == "Traceback (most recent call last):"
    assert last_line in lines[-2] and lines[-1] == DASHES
    assert err.count("Exception occurred") == 1
    # No client-error line: only the mark.
    assert client_log.lines() == ["handle_error returned"]


def test_own_decode_error_is_not_a_client_decode_error():
    # And the one the text handlers raise is still a UnicodeDecodeError,
    # with its attributes, so users' ``except UnicodeDecodeError`` works.
    assert issubclass(compatserver.ClientDecodeError, UnicodeDecodeError)
    with pytest.raises(UnicodeDecodeError) as info:
        b"\xff".decode("utf-8")
    assert not isinstance(info.value, compatserver.ClientDecodeError)


@pytest.mark.parametrize("cls", [compatserver.TCPServer, compatserver.UDPServer],
                         ids=ids)
def test_the_text_handlers_raise_client_decode_error(cls):
    raised = []

    class Probe(Lines if is_stream(cls) else Datagrams):
        def setup(self):
            try:
                super(Probe, self).setup()
            except UnicodeDecodeError as exc:
                raised.append(exc)
                raise

        def handle(self):
            try:
                self.readline()
            except UnicodeDecodeError as exc:
                raised.append(exc)

    with make_server(cls, Probe, timeout=TIMEOUT) as server:
        worker = threading.Thread(target=server.handle_request)
        worker.daemon = True
        worker.start()
        sock = client(server)
        try:
            if is_stream(cls):
                sock.sendall(b"ok \xff\n")
                drain(sock)
            else:
                sock.send(b"ok \xff")
        finally:
            sock.close()
        worker.join(TIMEOUT)
        assert not worker.is_alive()
    [exc] = raised
    assert type(exc) is compatserver.ClientDecodeError
    assert (exc.start, exc.end, exc.reason) == (3, 4, "invalid start byte")
    assert exc.object.startswith(b"ok \xff")
    # Raised on its own, not "during handling of" the codec's error.
    assert getattr(exc, "__context__", None) is None


def test_a_handle_error_override_still_gets_client_errors(client_log):
    errors = []
    cls = compatserver.TCPServer
    with make_server(cls, Lines, timeout=TIMEOUT) as server:
        server.handle_error = lambda request, address: errors.append(sys.exc_info()[0])
        worker = threading.Thread(target=server.handle_request)
        worker.daemon = True
        worker.start()
        sock = client(server)
        try:
            sock.sendall(b"y" * 500 + b"\n")
            drain(sock)
        finally:
            sock.close()
        worker.join(TIMEOUT)
        assert not worker.is_alive()
    assert errors == [compatserver.LineTooLong]
    assert client_log.lines() == []


# -- in a child process: logging as the application left it ----------------

CHILD_SCRIPT = r"""
import json, logging, socket, sys
import compatserver

mode = sys.argv[1]
got = []
if mode == "root-handler":
    class Collect(logging.Handler):
        def emit(self, record):
            got.append([record.name, record.levelname, record.getMessage()])
    logging.getLogger().addHandler(Collect())


class Lines(compatserver.TextStreamRequestHandler):
    max_line_length = 100

    def handle(self):
        for line in self.lines():
            self.write(line)


server = compatserver.TCPServer(("127.0.0.1", 0), Lines)
server.timeout = 10
ports = []
for _ in range(2):
    sock = socket.create_connection(server.server_address, 10)
    ports.append(sock.getsockname()[1])
    sock.sendall(b"x" * 500 + b"\n")
    server.handle_request()
    sock.close()
server.server_close()
if mode == "root-handler":
    print(json.dumps({"ports": ports, "got": got}))
else:
    sys.stderr.write("ports %s\n" % json.dumps(ports))
"""


def run_child(mode):
    """Run CHILD_SCRIPT in *mode*; return (status, out, err)."""
    return run_python(CHILD_SCRIPT, mode)


def test_unconfigured_logging_puts_each_line_on_stderr_never_stdout():
    status, out, err = run_child("unconfigured")
    assert (status, out) == (0, ""), err
    lines = err.splitlines()
    assert lines[-1].startswith("ports "), err
    ports = json.loads(lines[-1][len("ports "):])
    assert lines[:-1] == ["client 127.0.0.1:%d: line longer than 100 bytes" % port
                          for port in ports]


def test_a_configured_handler_gets_the_line_and_nothing_else_is_printed():
    status, out, err = run_child("root-handler")
    assert (status, err) == (0, ""), err
    result = json.loads(out)
    assert result["got"] == [
        ["compatserver", "WARNING", "client 127.0.0.1:%d: line longer than 100 bytes"
         % port] for port in result["ports"]]
