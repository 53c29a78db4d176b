"""Point 4: signals (EINTR) and descriptors above 1023.

The loop and handle_request() run in the main thread here, where the
interpreter delivers signals, so that every SIGALRM interrupts their wait.
"""
import contextlib
import os
import select
import signal
import textwrap
import threading
import time

import pytest

import compatserver
from compatserver import _compat

from conftest_compat import make_server, request
from conftest_proc import run_python
from conftest_serve import TIMEOUT, run_in_thread

needs_itimer = pytest.mark.skipif(not hasattr(signal, "setitimer"),
                                  reason="needs signal.setitimer")


@contextlib.contextmanager
def alarm_every(interval):
    """SIGALRM every *interval* seconds; yields the list of deliveries."""
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(1))
    signal.setitimer(signal.ITIMER_REAL, interval, interval)
    try:
        yield fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)


@needs_itimer
def test_an_interrupted_wait_resumes_with_the_remaining_time():
    read_fd, write_fd = os.pipe()
    try:
        poller = select.poll()
        poller.register(read_fd, select.POLLIN)
        with alarm_every(0.01) as fired:
            started = time.time()
            assert _compat.wait_for(poller, 0.5) == []
            elapsed = time.time() - started
        assert len(fired) >= 10
        # Restarting the whole 0.5 s after every signal (Python 2's
        # SocketServer, bpo-7978) would never end; raising EINTR would end
        # at once.
        assert 0.45 <= elapsed < 2.0
    finally:
        os.close(read_fd)
        os.close(write_fd)


@needs_itimer
def test_handle_request_timeout_is_not_delayed_by_signals():
    with make_server(compatserver.TCPServer, timeout=0.5) as server:
        timeouts = []
        server.handle_timeout = lambda: timeouts.append(1)
        with alarm_every(0.01) as fired:
            started = time.time()
            server.handle_request()
            elapsed = time.time() - started
        assert timeouts == [1]
        assert len(fired) >= 10
        assert 0.45 <= elapsed < 2.0  # 2.7 stdlib: 4 s for a 1 s timeout


@needs_itimer
def test_handle_request_serves_a_request_despite_signals():
    with make_server(compatserver.TCPServer, timeout=TIMEOUT) as server:
        replies = []
        with alarm_every(0.01):
            client = run_in_thread(lambda: replies.append(request(server)))
            server.handle_request()
        client.join(TIMEOUT)
        assert replies == [b"hello\n"]


@needs_itimer
def test_shutdown_is_not_delayed_by_signals():
    with make_server(compatserver.TCPServer) as server:
        latency = []

        def stop_later():
            time.sleep(0.3)
            started = time.time()
            server.shutdown()
            latency.append(time.time() - started)

        stopper = threading.Thread(target=stop_later)
        with alarm_every(0.01) as fired:
            stopper.start()
            server.serve_forever(poll_interval=5.0)
        stopper.join(TIMEOUT)
        assert len(fired) >= 10
        # 2.7 stdlib: 3.5 s; a woken loop: about a millisecond.
        assert latency and latency[0] < 1.0


FD_SCRIPT = textwrap.dedent("""
    import os, resource, socket, sys, threading
    import compatserver

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2048
    if hard != resource.RLIM_INFINITY and hard < want:
        print("SKIP hard limit %d" % hard)
        sys.exit(0)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    fillers = []
    while True:
        fd = os.dup(0)
        fillers.append(fd)
        if fd >= 1100:
            break

    class Echo(compatserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(self.rfile.readline())

    def ask(server):
        c = socket.create_connection(server.server_address, timeout=10)
        c.sendall(b"high fd\\n")
        reply = c.makefile("rb").readline()
        c.close()
        return reply

    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    assert server.fileno() > 1023, server.fileno()
    server.timeout = 10
    result = []
    t = threading.Thread(target=lambda: result.append(ask(server)))
    t.start()
    server.handle_request()
    t.join(10)
    assert result == [b"high fd\\n"], result
    loop = threading.Thread(target=server.serve_forever, args=(0.5,))
    loop.start()
    assert ask(server) == b"high fd\\n"
    server.shutdown()
    loop.join(10)
    server.server_close()
    print("OK")
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits (POSIX)")
def test_descriptors_above_1023_work():
    status, out, err = run_python(FD_SCRIPT)
    out = out.strip()
    if out.startswith("SKIP"):
        pytest.skip(out)
    assert (status, out) == (0, "OK"), err


@needs_itimer
def test_shutdown_from_a_signal_handler_in_the_loop_thread_stops_the_loop():
    # The stdlib deadlocks here: shutdown() waits for the loop it interrupts.
    with make_server(compatserver.TCPServer) as server:
        previous = signal.signal(signal.SIGALRM, lambda signum, frame: server.shutdown())
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            started = time.time()
            server.serve_forever(poll_interval=5.0)
            elapsed = time.time() - started
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, previous)
        assert 0.15 <= elapsed < 2.0


CTRL_C_SCRIPT = textwrap.dedent("""
    import os, signal, sys, weakref
    import compatserver

    server = compatserver.TCPServer(("127.0.0.1", 0), compatserver.BaseRequestHandler)
    turns = []

    class Thing(object):
        pass

    def landed(ref):
        # Ctrl-C while a weakref callback runs (the loop letting go of a
        # finished thread does that): Python prints the KeyboardInterrupt
        # as "Exception ignored" and drops it.
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100000):
            pass

    def service_actions():
        turns.append(1)
        if len(turns) == 1:
            thing = Thing()
            kept = weakref.ref(thing, landed)
            del thing
        elif len(turns) > 200:
            server.shutdown()  # ends the test within seconds either way

    server.service_actions = service_actions
    try:
        server.serve_forever(poll_interval=0.01)
        print("served on after %d turns" % len(turns))
    except KeyboardInterrupt:
        print("interrupted after %d turns" % len(turns))
    finally:
        server.server_close()
    print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
""")


def test_a_ctrl_c_swallowed_where_it_landed_still_stops_the_loop():
    status, out, err = run_python(CTRL_C_SCRIPT)
    assert "KeyboardInterrupt" in err  # Python's own line: it was swallowed there
    # At the loop's next turn, and the default handler is back.
    assert (status, out.split()) == (0, ["interrupted", "after", "1", "turns", "True"]), err


def test_a_closed_wakeup_pipe_is_never_written_to():
    # The loop's Ctrl-C handler may outlive its loop by a few bytecodes;
    # the pipe's descriptor numbers may belong to another file by then.
    from compatserver._wait import WakeupPipe
    pipe = WakeupPipe()
    pipe.wake()
    pipe.close()
    read_fd, write_fd = os.pipe()  # likely the same numbers
    try:
        pipe.wake()
        os.write(write_fd, b"y")
        assert os.read(read_fd, 16) == b"y"
    finally:
        os.close(read_fd)
        os.close(write_fd)
