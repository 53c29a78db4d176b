"""Serve a server in a test, stop it for good, fail clearly when it would not.

For your own test suites, on Python 2.7 and 3.6-3.13 and on pytest 4.6
through the newest (or no test framework at all)::

    from compatserver.testing import serving

    def test_upper():
        server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), Upper)
        with serving(server):
            ...  # talk to server.server_address

:func:`serving` runs ``serve_forever()`` in a thread for the ``with`` block.
On the way out, however the block ends, it shuts the loop down, closes the
server, joins the loop, and waits for the handler threads and forked
children the server started.  The whole of that has one deadline
(*timeout*, :data:`DEFAULT_TIMEOUT` seconds): whatever still runs after it
(the loop, a handler thread, a child process) is a :exc:`ServingError` that
names it, instead of a test run that hangs or leaks into the next test.

With pytest, the plugin installed with compatserver (``pytest11`` entry
point, module ``compatserver._pytest_plugin``) adds the ``serve`` fixture
factory::

    def test_upper(serve):
        server = serve(compatserver.ThreadingTCPServer, Upper)

It works with compatserver's servers and with the stdlib's (and those built
on it, such as ``http.server.HTTPServer``).

Methods for the caller: :func:`serving`, :func:`start`, :func:`stop`.
"""
import contextlib
import os
import signal
import threading
import time

from ._compat import monotonic

__all__ = ["serving", "start", "stop", "ServingError", "DEFAULT_TIMEOUT"]

#: Seconds the teardown of :func:`serving` may take in all before it fails.
#: Generous: a server that works stops in milliseconds, and a test matrix
#: often runs on a busy machine, where a tight bound only makes flaky runs.
DEFAULT_TIMEOUT = 15.0

#: The name of the thread that runs ``serve_forever()``.
LOOP_THREAD_NAME = "serve-forever"


class ServingError(AssertionError):
    """A served server did not stop cleanly within the deadline.

    An ``AssertionError``, so that test runners report it as a failure.  The
    message says which step hung and what still runs.
    """


def _run_in_thread(func, name):
    # Daemon: a thread stuck because of a bug must not keep the test run
    # from exiting.
    thread = threading.Thread(target=func, name=name)
    thread.daemon = True
    thread.start()
    return thread


def _call_with_timeout(func, timeout, name="call-with-timeout"):
    """Call *func* in a helper thread; return (finished, helper thread).

    Re-raises what *func* raised.  When *func* has not returned after
    *timeout* seconds, returns (False, thread) and leaves it running.
    """
    outcome = {}

    def run():
        try:
            outcome["value"] = func()
        except BaseException as exc:  # re-raised in the caller
            outcome["error"] = exc

    thread = _run_in_thread(run, name)
    thread.join(timeout)
    if thread.is_alive():
        return False, thread
    if "error" in outcome:
        raise outcome["error"]
    return True, thread


def _wait_until(predicate, deadline, interval=0.002):
    """Poll *predicate* until it is true (True) or *deadline* passes (False)."""
    while not predicate():
        if monotonic() >= deadline:
            return False
        time.sleep(min(interval, max(0.0, deadline - monotonic())))
        interval = min(interval * 2, 0.05)
    return True


def _loop_running(server):
    # compatserver's servers record the thread of a running loop; a stdlib
    # server cannot tell, so it counts as running once its thread started.
    return getattr(server, "_loop_thread", True) is not None


def start(server, poll_interval=0.5, timeout=DEFAULT_TIMEOUT):
    """Run ``server.serve_forever(poll_interval)`` in a new thread.

    Returns the thread once the loop runs.  Raises :exc:`ServingError` if
    the loop has not started within *timeout* seconds or returned at once.
    """
    thread = _run_in_thread(lambda: server.serve_forever(poll_interval),
                            LOOP_THREAD_NAME)
    deadline = monotonic() + timeout
    if not _wait_until(lambda: _loop_running(server) or not thread.is_alive(),
                       deadline):
        raise ServingError("serve_forever() did not start within %g s" % timeout)
    if not thread.is_alive():
        raise ServingError("serve_forever() returned at once")
    return thread


def _describe(threads):
    return ", ".join(sorted("%s (daemon)" % t.name if t.daemon else t.name
                            for t in threads))


def _children(server):
    return sorted(getattr(server, "active_children", None) or ())


def _kill(pids):
    # A child that outlived the deadline would outlive the test run too.
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:  # already gone, or not our child
            pass


def stop(server, thread=None, timeout=DEFAULT_TIMEOUT, threads_before=None):
    """Stop *server* for good within *timeout* seconds in all.

    Shuts down the loop running in *thread* (the thread :func:`start`
    returned; None when no loop was started), joins it, then calls
    ``server_close()`` (which, for compatserver's servers and the stdlib's
    on 3.7+, waits for handler threads and children) and reaps the forked
    children.  With *threads_before* (the threads that ran before the server
    started), every other thread still running is a leak too; without it,
    only the loop and the children are checked.

    Raises :exc:`ServingError` naming what still runs after the deadline;
    children still running then are killed first.  ``server_close()`` is
    called even if the loop would not stop, so the socket is freed.  Safe to
    call after the test has shut down or closed the server itself.
    """
    deadline = monotonic() + timeout
    helpers = []
    problems = []
    try:
        if thread is not None and thread.is_alive():
            # Only while the loop runs: the stdlib's shutdown() without a
            # loop waits for ever (gh-85265).
            done, helper = _call_with_timeout(
                server.shutdown, max(0.0, deadline - monotonic()), "shutdown")
            helpers.append(helper)
            if not done:
                problems.append("shutdown() did not return")
        if thread is not None:
            thread.join(max(0.0, deadline - monotonic()))
            if thread.is_alive():
                problems.append("serve_forever() did not return")
    finally:
        # Even when the loop would not stop: the socket is freed, and
        # compatserver's server_close() stops a loop still running.
        done, helper = _call_with_timeout(
            server.server_close, max(0.0, deadline - monotonic()), "server_close")
        helpers.append(helper)
    if not done:
        problems.append("server_close() did not return")

    def children_left():
        collect = getattr(server, "collect_children", None)
        if collect is not None and _children(server):
            collect()
        return not _children(server)

    _wait_until(children_left, deadline)
    children = _children(server)

    leaked = []
    if threads_before is not None:
        ignore = set(threads_before) | set(helpers)
        ignore.add(threading.current_thread())

        def leaked_threads():
            return [t for t in threading.enumerate()
                    if t not in ignore and t.is_alive()]

        _wait_until(lambda: not leaked_threads(), deadline)
        leaked = leaked_threads()
    if not (problems or children or leaked):
        return
    parts = []
    if problems:
        parts.append("; ".join(problems))
    if leaked:
        parts.append("threads still running: %s" % _describe(leaked))
    if children:
        _kill(children)
        parts.append("forked children still running (killed): %s"
                     % ", ".join(str(pid) for pid in children))
    raise ServingError("%s did not stop within %g s: %s"
                       % (type(server).__name__, timeout, "; ".join(parts)))


@contextlib.contextmanager
def serving(server, timeout=DEFAULT_TIMEOUT, poll_interval=0.5):
    """Serve *server* in a thread for the ``with`` block; yield it.

    Takes a constructed (bound and listening) server.  On the way out,
    however the block ends, :func:`stop` shuts it down, closes it and joins
    its loop within *timeout* seconds in all, and raises
    :exc:`ServingError` if the loop, a thread started while serving (a
    handler thread, a pool worker) or a forked child still runs then.
    """
    before = threading.enumerate()
    thread = None
    try:
        thread = start(server, poll_interval, timeout)
        yield server
    finally:
        stop(server, thread, timeout, threads_before=before)
