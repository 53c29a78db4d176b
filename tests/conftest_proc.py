"""Child processes of the tests: this interpreter, the compatserver under test.

A process started with SIGINT ignored keeps it ignored across exec, and a
Python started that way never raises KeyboardInterrupt.  bash ignores SIGINT
for every background job of a non-interactive shell, so a test run launched
with ``&`` (a CI runner, ``nohup make test &``) would see the demos shrug off
the Ctrl-C the tests send.  The child gets the default disposition back.
"""
import os
import signal
import subprocess
import sys
import threading

import compatserver

from conftest_serve import TIMEOUT


def sigint_default():
    """``preexec_fn`` for :class:`subprocess.Popen`: SIGINT as at a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def environment():
    """``os.environ`` with the compatserver under test first on ``PYTHONPATH``."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(compatserver.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def run_python(script, *args):
    """Run *script* with this interpreter and compatserver; return (status, out, err) as text.

    Bounded: a child that has not finished within 2 * TIMEOUT is killed.
    """
    proc = subprocess.Popen([sys.executable, "-c", script] + list(args), env=environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=sigint_default)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(proc.communicate()))
    reader.daemon = True
    reader.start()
    reader.join(TIMEOUT * 2)
    if reader.is_alive():
        proc.kill()
        reader.join(TIMEOUT)
        raise AssertionError("the child did not finish within %g s" % (TIMEOUT * 2))
    out, err = outcome[0]
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
