"""A Ctrl-C that lands while os.fork() runs its Python at-fork hooks.

Since 3.7 ``os.fork()`` runs the functions given to ``os.register_at_fork``
(``logging`` registers one, so every program that imports it has one).  A
``KeyboardInterrupt`` raised inside such a hook is printed as "Exception
ignored in ..." and dropped: the Ctrl-C is lost and the forking server goes
on serving (seen in the demo's Ctrl-C test on 3.10).  compatserver's
``ForkingMixIn`` raises it once the fork is done and the child recorded,
or, when the fork fails, before the fork's error propagates.
Run in a child process: a hook cannot be unregistered.
"""
import errno
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script):
    """Run *script* in a new interpreter: ``(exit status, stdout lines, stderr)``."""
    proc = subprocess.Popen([sys.executable, "-c", script, ROOT],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out.splitlines(), err


SCRIPT = r'''
import os, signal, socket, sys
sys.path.insert(0, sys.argv[1])
import compatserver

armed = []

def after_in_parent():
    if armed:
        del armed[:]
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10000):  # the SIGINT handler runs here, in the hook
            pass

os.register_at_fork(after_in_parent=after_in_parent)


class Handler(compatserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"served\n")


server = compatserver.ForkingTCPServer(("127.0.0.1", 0), Handler)
client = socket.create_connection(server.server_address, 15)
request, address = server.get_request()
armed.append(True)
try:
    server.process_request(request, address)
except KeyboardInterrupt:
    print("interrupted, children recorded: %d" % len(server.active_children))
else:
    print("not interrupted")
print(client.makefile("rb").readline().decode().strip())
server.server_close()
print("children left: %d" % len(server.active_children or ()))
'''


@pytest.mark.skipif(not hasattr(os, "register_at_fork"),
                    reason="at-fork hooks in Python are 3.7+")
def test_a_ctrl_c_in_an_at_fork_hook_is_raised_after_the_fork():
    assert run(SCRIPT) == (0, [
        "interrupted, children recorded: 1",
        "served",
        "children left: 0",
    ], "")


FAILING_FORK = r'''
import errno, os, signal, socket, sys
sys.path.insert(0, sys.argv[1])
import compatserver


def failing_fork():
    # A Ctrl-C lands while the fork runs, and the fork fails.
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10000):  # the SIGINT handler runs here
        pass
    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")


os.fork = failing_fork


class Handler(compatserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"served\n")


server = compatserver.ForkingTCPServer(("127.0.0.1", 0), Handler)
client = socket.create_connection(server.server_address, 15)
try:
    server.handle_request()
except KeyboardInterrupt as exc:
    print("interrupted, children recorded: %d" % len(server.active_children))
    print("the fork's error: %r" % (getattr(exc, "__context__", None),))
else:
    print("not interrupted")
print("client read %r" % client.makefile("rb").readline())
server.server_close()
'''


@pytest.mark.skipif(not hasattr(os, "register_at_fork"),
                    reason="the SIGINT handler is held for the fork on 3.7+")
def test_a_ctrl_c_during_a_failed_fork_is_raised_not_lost():
    assert run(FAILING_FORK) == (0, [
        "interrupted, children recorded: 0",
        "the fork's error: %r" % (OSError(errno.EAGAIN, "Resource temporarily unavailable"),),
        "client read b''",  # the request was closed, not left open
    ], "")
