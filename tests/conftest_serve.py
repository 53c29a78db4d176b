"""Server lifecycle for every test: start a loop, stop it, wait for things.

The names the tests use, on top of the public helpers of
:mod:`compatserver.testing` (issue 14), so that those are exercised by every
test that runs a server: :func:`serving`, :func:`start` and :func:`stop`
delegate to them, with the project's one :data:`TIMEOUT`.  A server that
does not stop fails the test with a ``ServingError`` (an ``AssertionError``)
that says which step hung, instead of hanging the run.

Methods for the caller: :func:`serving`, :func:`start`, :func:`stop`,
:func:`wait_until`, :func:`call_with_timeout`, :func:`run_in_thread`.
"""
import contextlib
import threading
import time

from compatserver import testing

#: The longest any single step (a shutdown(), a join, a wait for a count)
#: may take before the test fails.  15 s rather than the 10 s the compat
#: tests once used: the matrix runs two interpreters at once on a noisy
#: two-core machine, and the load tests' 1000-connection bursts and forking
#: servers' children were seen to need more than 10 s there.  A bound that
#: is too tight only makes a flaky failure; a working server answers in
#: milliseconds, so a generous bound costs nothing when the code is right.
TIMEOUT = testing.DEFAULT_TIMEOUT

#: The name of the thread :func:`start` runs ``serve_forever()`` in.
LOOP_THREAD_NAME = testing.LOOP_THREAD_NAME


def run_in_thread(func, *args, **kwargs):
    """Start a daemon thread running ``func(*args)``; return the thread.

    The only keyword is *name*, the thread's name.  Daemon: a thread stuck
    because of a bug must not keep the test run from exiting.
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError("unexpected keyword arguments: %r" % sorted(kwargs))
    thread = threading.Thread(target=func, args=args, name=name)
    thread.daemon = True
    thread.start()
    return thread


def call_with_timeout(func, timeout=TIMEOUT):
    """Call *func* in a helper thread; return the seconds it took.

    Raises AssertionError if it has not returned within *timeout* seconds,
    and re-raises whatever *func* raised.
    """
    started = time.time()
    done, _ = testing._call_with_timeout(func, timeout)
    if not done:
        raise AssertionError("%s() did not return within %g s"
                             % (getattr(func, "__name__", func), timeout))
    return time.time() - started


def wait_until(predicate, timeout=TIMEOUT, what="condition", interval=0.002):
    """Poll *predicate* every *interval* seconds until it is true.

    Raises AssertionError naming *what* after *timeout* seconds.
    """
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(interval)


def start(server, poll_interval=0.5):
    """Run ``server.serve_forever(poll_interval)`` in a thread.

    Returns the thread once the loop runs, and records it as
    ``server.test_thread`` for :func:`stop`.  A later :func:`start` (serving
    again after a shutdown) replaces the record.
    """
    server.test_thread = testing.start(server, poll_interval, TIMEOUT)
    return server.test_thread


def stop(server, timeout=TIMEOUT):
    """Stop *server* for good (:func:`compatserver.testing.stop`).

    Shuts down the loop :func:`start` started, if it still runs, joins it,
    closes the server; no forked child may be left.  Safe to call again,
    and after the test has shut down or closed the server itself.  Threads
    are not checked here (a test may have started its own): :func:`serving`
    checks them.
    """
    thread = getattr(server, "test_thread", None)
    try:
        testing.stop(server, thread, timeout)
    finally:
        server.test_thread = None


@contextlib.contextmanager
def serving(server, poll_interval=0.5, timeout=TIMEOUT):
    """Serve *server* in a thread for the ``with`` block, then stop it.

    :func:`compatserver.testing.serving`, which also fails when a thread
    started while serving (a handler, a worker) outlives the teardown.
    Takes a constructed server and yields it; ``server.test_thread`` is the
    loop's thread.
    """
    before = threading.enumerate()
    try:
        start(server, poll_interval)
        yield server
    finally:
        thread = getattr(server, "test_thread", None)
        server.test_thread = None
        testing.stop(server, thread, timeout, threads_before=before)
