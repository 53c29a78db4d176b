"""Descriptor exhaustion: accept() fails with EMFILE, the loop backs off.

The server runs in a child process whose ``RLIMIT_NOFILE`` is lowered to a
few descriptors above what it has open, so that the connections this test
opens use them up.  The connection that accept() cannot take waits in the
backlog and the listening socket stays readable: the stdlib's loop, and
compatserver's before it backed off, retried at once and spun a whole CPU
until a descriptor freed up.  Measured here: the child's CPU time over a
second of exhaustion, and that it serves again by itself once the clients
that hold the descriptors go away.
"""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest_serve import TIMEOUT

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

CHILD = r'''
import json, os, resource, sys, threading, time
import compatserver

class Handler(compatserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline()
        if line:
            self.wfile.write(b"ok " + line)

server_class = getattr(compatserver, sys.argv[1])
class Server(server_class):
    daemon_threads = True
    request_queue_size = 64
    block_on_close_timeout = 5.0

server = Server(("127.0.0.1", 0), Handler)
thread = threading.Thread(target=server.serve_forever, args=(0.5,))
thread.daemon = True
thread.start()
deadline = time.time() + 10
while server._loop_thread is None and time.time() < deadline:
    time.sleep(0.005)
# A pool starts its first worker with the first connection: the limit is
# set once the server runs and has what it needs, plus room for 4 clients.
open_now = len(os.listdir("/proc/self/fd"))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 4, hard))
print(json.dumps({"port": server.server_address[1]}))
sys.stdout.flush()
for command in iter(sys.stdin.readline, ""):
    command = command.strip()
    if command == "cpu":
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({"cpu": usage.ru_utime + usage.ru_stime}))
        sys.stdout.flush()
    elif command == "quit":
        break
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
server.shutdown()
server.server_close()
'''


def ask(proc, command):
    proc.stdin.write((command + "\n").encode("ascii"))
    proc.stdin.flush()
    return json.loads(proc.stdout.readline().decode("ascii"))


@pytest.mark.parametrize("server_class", ["ThreadingTCPServer", "ThreadPoolTCPServer"])
def test_accept_backs_off_while_descriptors_run_out_then_recovers(server_class):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, server_class],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    clients = []
    try:
        port = json.loads(proc.stdout.readline().decode("ascii"))["port"]
        # More than the child has descriptors for: the first ones are taken
        # by handlers (which wait for a line), the rest wait in the backlog.
        for _ in range(12):
            clients.append(socket.create_connection(("127.0.0.1", port), TIMEOUT))
        time.sleep(0.5)
        before = ask(proc, "cpu")["cpu"]
        time.sleep(1.0)
        spent = ask(proc, "cpu")["cpu"] - before
        # Spinning on accept() costs about a second of CPU per second; the
        # back-off retries at most every second after the first few.
        assert spent < 0.3, "%.2f s of CPU in 1 s of EMFILE" % spent
        # The other clients leave: their handlers end, descriptors free up,
        # and the loop takes the waiting connections by itself, the last
        # one's too.
        for sock in clients[:-1]:
            sock.close()
        last = clients[-1]
        last.settimeout(TIMEOUT)
        last.sendall(b"hello\n")
        assert last.makefile("rb").readline() == b"ok hello\n"
    finally:
        for sock in clients:
            sock.close()
        if proc.poll() is None:
            try:
                proc.stdin.write(b"quit\n")
                proc.stdin.flush()
            except (IOError, OSError):
                pass
        deadline = time.time() + TIMEOUT
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stdin.close()
