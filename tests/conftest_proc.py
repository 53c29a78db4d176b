"""Starting a child process that a test will stop with Ctrl-C (SIGINT).

A process started with SIGINT ignored keeps it ignored across exec, and a
Python started that way never raises KeyboardInterrupt.  bash ignores SIGINT
for every background job of a non-interactive shell, so a test run launched
with ``&`` (a CI runner, ``nohup make test &``) would see the demos shrug off
the Ctrl-C the tests send.  The child gets the default disposition back.
"""
import signal


def sigint_default():
    """``preexec_fn`` for :class:`subprocess.Popen`: SIGINT as at a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
