"""Server lifecycle for every test: start a loop, stop it, wait for things.

One copy of the loop-in-a-thread, the bounded shutdown and the polling wait,
shared by ``conftest_compat`` (the server table, echo handlers, clients) and
``conftest_load`` (counting servers, the Command handler, fd/thread checks),
so that a fix to stopping a server lands once.

The contract, which a public ``compatserver.testing.serving()`` could keep
(issue 14): :func:`serving` takes a *constructed* server; every wait is
bounded by :data:`TIMEOUT`; a server that does not stop fails the test with
an ``AssertionError`` that says which step hung, instead of hanging the run.

Methods for the caller: :func:`serving`, :func:`start`, :func:`stop`,
:func:`wait_until`, :func:`call_with_timeout`, :func:`run_in_thread`.
"""
import contextlib
import threading
import time

#: The longest any single step (a shutdown(), a join, a wait for a count)
#: may take before the test fails.  15 s rather than the 10 s the compat
#: tests once used: the matrix runs two interpreters at once on a noisy
#: two-core machine, and the load tests' 1000-connection bursts and forking
#: servers' children were seen to need more than 10 s there.  A bound that
#: is too tight only makes a flaky failure; a working server answers in
#: milliseconds, so a generous bound costs nothing when the code is right.
TIMEOUT = 15.0

#: The name of the thread :func:`start` runs ``serve_forever()`` in.
LOOP_THREAD_NAME = "serve-forever"


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
    outcome = {}

    def run():
        try:
            outcome["value"] = func()
        except BaseException as exc:  # re-raised in the caller
            outcome["error"] = exc

    started = time.time()
    thread = run_in_thread(run, name="call-with-timeout")
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError("%s() did not return within %g s"
                             % (getattr(func, "__name__", func), timeout))
    if "error" in outcome:
        raise outcome["error"]
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


def loop_running(server):
    """True once *server*'s ``serve_forever()`` loop runs.

    compatserver's servers record the thread of a running loop; a stdlib
    server (the HTTP tests serve one for comparison) cannot tell, so it
    counts as running once its thread has started.
    """
    return getattr(server, "_loop_thread", True) is not None


def start(server, poll_interval=0.5):
    """Run ``server.serve_forever(poll_interval)`` in a thread.

    Returns the thread once the loop runs, and records it as
    ``server.test_thread`` for :func:`stop`.  A later :func:`start` (serving
    again after a shutdown) replaces the record.
    """
    thread = run_in_thread(server.serve_forever, poll_interval, name=LOOP_THREAD_NAME)
    server.test_thread = thread
    wait_until(lambda: loop_running(server) or not thread.is_alive(),
               what="serve_forever() to start")
    assert thread.is_alive(), "serve_forever() returned at once"
    return thread


def stop(server, timeout=TIMEOUT):
    """Stop *server* for good: each step bounded by *timeout* seconds.

    shutdown() the loop :func:`start` started, if it still runs; join its
    thread; server_close(); then no forked child may be left.  Safe to call
    again, and after the test has shut down or closed the server itself
    (server_close() twice is harmless on every server here).
    """
    thread = getattr(server, "test_thread", None)
    try:
        if thread is not None:
            if thread.is_alive():
                # Only a loop that runs: the stdlib's shutdown() without one
                # waits for ever (gh-85265).
                call_with_timeout(server.shutdown, timeout)
            thread.join(timeout)
            assert not thread.is_alive(), (
                "serve_forever() did not return within %g s" % timeout)
            server.test_thread = None
    finally:
        # Even when the loop would not stop: the socket is freed, and
        # compatserver's server_close() stops a loop still running.
        call_with_timeout(server.server_close, timeout)
    children = getattr(server, "active_children", None)
    assert not children, "children left behind: %r" % (children,)


@contextlib.contextmanager
def serving(server, poll_interval=0.5, timeout=TIMEOUT):
    """Serve *server* in a thread for the ``with`` block, then :func:`stop` it.

    Takes a constructed server and yields it; stopped and closed however the
    block ends, even if the loop never started.
    """
    try:
        start(server, poll_interval)
        yield server
    finally:
        stop(server, timeout)
