"""The walkthrough's worked examples run, unchanged, on the interpreter under test.

``docs/walkthrough/examples/*.py`` are shown on every walkthrough page as
"correct on 2.7 and 3.x"; the matrix runs this file under every interpreter,
so the claim is checked on all nine.  Each example's ``--demo`` serves on a
free loopback port, talks to itself with real clients, shuts down and exits;
its output is pinned here.
"""
import os
import re
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "walkthrough",
    "examples")

# Thread names are "Thread-2" before 3.10 and "Thread-2 (process_request_thread)"
# from 3.10 on; the numbers depend on the interpreter's own thread counter.
WORKER = r"Thread-\d+(?: \(process_request_thread\))?"

EXPECTED = {
    "upper_echo.py": [r"HELLO"],
    "threaded_echo.py": [WORKER + r": one", WORKER + r": two"],
    "chat.py": [r"\* welcome", r"\* joined", r"hi alice", r"\* left"],
}


def _run(name, timeout=60):
    process = subprocess.Popen(
        [sys.executable, os.path.join(EXAMPLES, name), "--demo"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = _communicate(process, timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, out.decode("utf-8"), err.decode("utf-8")


def _communicate(process, timeout):
    try:
        return process.communicate(timeout=timeout)
    except TypeError:  # Python 2: communicate() has no timeout; a timer kills instead
        pass
    import threading
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        return process.communicate()
    finally:
        timer.cancel()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_demo(name):
    code, out, err = _run(name)
    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == len(EXPECTED[name]), out
    for pattern, line in zip(EXPECTED[name], lines):
        assert re.match("^%s$" % pattern, line), (pattern, line)


def test_threaded_echo_serves_each_client_in_its_own_thread():
    code, out, _ = _run("threaded_echo.py")
    assert code == 0
    first, second = [line.split(": ")[0] for line in out.splitlines()]
    assert first != second


def test_every_example_is_tested():
    shown = sorted(n for n in os.listdir(EXAMPLES) if n.endswith(".py"))
    assert shown == sorted(EXPECTED)
