"""The demo: ``python -m compatserver echo|upper|chat``, run as a subprocess."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest_proc import environment, sigint_default

WAIT = 10.0
SERVER_KINDS = ["sync", "threading"] + (["forking"] if hasattr(os, "fork") else [])
LISTENING = re.compile(r"^python -m compatserver (\w+) \((\w+)\) listening on "
                       r"127\.0\.0\.1:(\d+)$")


def run_demo(*args):
    return subprocess.Popen([sys.executable, "-m", "compatserver"] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=environment(), preexec_fn=sigint_default)


def communicate(proc):
    """Wait (bounded) for *proc*; return (status, stdout, stderr) as text."""
    deadline = time.time() + WAIT
    while proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
    out, err = proc.communicate()
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


class Demo(object):
    def __init__(self, *args):
        self.opened = []
        self.proc = run_demo(*args)
        line = self.proc.stdout.readline().decode("utf-8").rstrip("\n")
        match = LISTENING.match(line)
        if match is None:
            status, out, err = communicate(self.proc)
            raise AssertionError("no address line: %r %r %r" % (line, out, err))
        self.port = int(match.group(3))

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), WAIT)
        reader = sock.makefile("rb")
        self.opened.append((sock, reader))
        return sock, reader

    def interrupt(self):
        self.proc.send_signal(signal.SIGINT)
        return communicate(self.proc)

    def kill(self):
        """Close every client socket, and the demo if it still runs."""
        for sock, reader in self.opened:
            close(sock, reader)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def close(sock, reader):
    reader.close()
    sock.close()


@pytest.mark.parametrize("server", SERVER_KINDS)
def test_echo_names_the_worker_and_ctrl_c_stops_cleanly(server):
    demo = Demo("echo", "--server", server)
    try:
        sock, reader = demo.connect()
        sock.sendall(u"h\u00e9llo\n".encode("utf-8"))
        reply = reader.readline().decode("utf-8")
        close(sock, reader)
    finally:
        status, out, err = demo.interrupt()
        demo.kill()
    worker = {"sync": r"MainThread", "threading": r"Thread-\d+.*",
              "forking": r"process \d+"}[server]
    assert re.match(u"^" + worker + u": h\u00e9llo\n$", reply) is not None, reply
    assert (status, out, err) == (0, "stopping\n", "")


def test_upper_upper_cases_each_line():
    demo = Demo("upper")
    try:
        sock, reader = demo.connect()
        sock.sendall(b"one\ntwo")
        sock.shutdown(socket.SHUT_WR)  # the last line has no newline
        assert reader.readline() == b"ONE\n"
        assert reader.readline() == b"TWO\n"
        assert reader.readline() == b""
        close(sock, reader)
    finally:
        status, out, err = demo.interrupt()
        demo.kill()
    assert (status, err) == (0, "")


def test_chat_broadcasts_and_cleans_up_when_a_client_leaves():
    demo = Demo("chat")
    try:
        a, ra = demo.connect()
        a_name = "127.0.0.1:%d" % a.getsockname()[1]
        assert ra.readline().decode() == "* you are %s\n" % a_name
        b, rb = demo.connect()
        b_name = "127.0.0.1:%d" % b.getsockname()[1]
        assert rb.readline().decode() == "* you are %s\n" % b_name
        assert ra.readline().decode() == "* %s joined\n" % b_name
        b.sendall(b"hello\n")
        assert ra.readline().decode() == "%s: hello\n" % b_name
        close(b, rb)
        assert ra.readline().decode() == "* %s left\n" % b_name
        # The one left still chats with a newcomer: the leaver is gone.
        c, rc = demo.connect()
        c_name = "127.0.0.1:%d" % c.getsockname()[1]
        assert rc.readline().decode() == "* you are %s\n" % c_name
        assert ra.readline().decode() == "* %s joined\n" % c_name
        a.sendall(b"hi\n")
        assert rc.readline().decode() == "%s: hi\n" % a_name
        # Ctrl-C with clients still connected: they see the end of stream,
        # perhaps after the others' departures.
        status, out, err = demo.interrupt()
        rest = rc.read().decode().splitlines()
        assert all(re.match(r"^\* 127\.0\.0\.1:\d+ left$", line) for line in rest), rest
        close(a, ra)
        close(c, rc)
    finally:
        demo.kill()
    assert (status, out, err) == (0, "stopping\n", "")


def test_a_port_in_use_is_one_line_and_status_1():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        status, out, err = communicate(run_demo("echo", "--port", str(port)))
    finally:
        holder.close()
    assert status == 1
    assert out == ""
    assert err == ("python -m compatserver: error: cannot listen on "
                   "127.0.0.1:%d: Address already in use\n" % port)


@pytest.mark.parametrize("args, message", [
    (["shout"], "argument demo: invalid choice: 'shout'"),
    (["echo", "--port", "70000"],
     "argument --port: '70000' is not a port number (0-65535)"),
    (["echo", "--server", "magic"], "argument --server: invalid choice: 'magic'"),
])
def test_bad_arguments_are_one_error_line_and_status_2(args, message):
    status, out, err = communicate(run_demo(*args))
    assert status == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[-1].startswith("python -m compatserver: error: ")
    assert message in lines[-1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_chat_refuses_the_forking_server():
    status, out, err = communicate(run_demo("chat", "--server", "forking"))
    assert status == 2
    assert err.splitlines()[-1] == (
        "python -m compatserver: error: chat shares its clients between "
        "handlers: use --server threading or sync")
