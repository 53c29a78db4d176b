"""CPython's own test_socketserver.py, run against compatserver.

Each interpreter's test suite for its socketserver (``test/test_socketserver.py``
in the stdlib's ``test`` package; it imports ``SocketServer`` on 2.7) is loaded
with ``socketserver`` / ``SocketServer`` replaced by ``compatserver`` in
``sys.modules`` and run with a unittest runner.  Every test must pass, except
the documented differences in ``DOCUMENTED_DIFFERENCES``.
"""
import io
import os
import sys
import threading
import types
import unittest
import warnings

import pytest

import compatserver

pytestmark = pytest.mark.conformance

# Test id suffix -> why compatserver differs on purpose.
DOCUMENTED_DIFFERENCES = {
    "MiscTestCase.test_all": (
        "compares __all__ with the names whose __module__ is 'socketserver'; "
        "compatserver's classes live in compatserver and its __all__ adds "
        "TextStreamRequestHandler, TextDatagramRequestHandler, LineTooLong, "
        "ClientDecodeError, is_disconnect, the ThreadPool* servers, BaseServer "
        "(2.7) and the Unix/forking combinations"),
    "SocketServerTest.test_InterruptServerSelectCall": (
        "2.7 only: replaces select.select() with a mock that raises EINTR "
        "once and counts its calls; compatserver waits with select.poll() "
        "(select() fails for descriptors above 1023) and its own EINTR "
        "retry, with the remaining time, is tested in test_compat_signals.py"),
}


def _find_test_file():
    """Return the path of the running stdlib's test_socketserver.py, or None."""
    try:
        import test
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(os.path.abspath(test.__file__)),
                        "test_socketserver.py")
    return path if os.path.exists(path) else None


TEST_FILE = _find_test_file()


def _load_cpython_tests(path):
    """Execute *path* as a module that sees compatserver as socketserver."""
    with io.open(path, "rb") as f:
        source = f.read()
    module = types.ModuleType("cpython_test_socketserver")
    module.__file__ = path
    names = ("socketserver", "SocketServer")
    saved = dict((name, sys.modules.get(name)) for name in names)
    try:
        for name in names:
            sys.modules[name] = compatserver
        exec(compile(source, path, "exec"), module.__dict__)
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return module


def _default_thread_excepthook():
    """The interpreter's own threading.excepthook (3.8+), or None.

    pytest replaces threading.excepthook to turn any exception in a thread,
    SystemExit included, into a warning; regrtest keeps the default, which
    ignores SystemExit, and test_threading_not_handled counts on that.
    """
    if not hasattr(threading, "excepthook"):
        return None  # Python 2.7, 3.6, 3.7
    hook = getattr(threading, "__excepthook__", None)  # 3.10+
    if hook is None:
        import _thread
        hook = _thread._excepthook  # 3.8, 3.9
    return hook


def _iter_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            for test in _iter_tests(item):
                yield test
        else:
            yield item


@pytest.mark.skipif(TEST_FILE is None,
                    reason="this interpreter has no test package "
                           "(test/test_socketserver.py not installed)")
def test_cpython_test_socketserver_passes_with_compatserver(tmp_path, monkeypatch):
    # ErrorHandlerTest writes its log file (TESTFN) in the current directory.
    monkeypatch.chdir(str(tmp_path))
    module = _load_cpython_tests(TEST_FILE)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    skipped = []
    for test in _iter_tests(loader.loadTestsFromModule(module)):
        key = "%s.%s" % (type(test).__name__, test.id().rsplit(".", 1)[-1])
        if key in DOCUMENTED_DIFFERENCES:
            skipped.append(key)
            continue
        suite.addTest(test)
    stream = io.StringIO() if sys.version_info[0] >= 3 else io.BytesIO()
    hook = _default_thread_excepthook()
    if hook is not None:
        monkeypatch.setattr(threading, "excepthook", hook)
    with warnings.catch_warnings():
        # CPython runs this file under regrtest's default warning filters,
        # not pytest's "error"; 3.12+ warns when a multi-threaded process
        # forks, which these tests do on purpose (serve_forever in a thread).
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=".*fork.*")
        result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    report = stream.getvalue()
    if not isinstance(report, str):  # Python 2: bytes is str
        report = report.decode("utf-8", "replace")
    assert result.testsRun > 10, report
    assert result.wasSuccessful(), report
    # Every file has exactly one of the documented differences (test_all on
    # 3.x, test_InterruptServerSelectCall on 2.7): a renamed test upstream
    # would make the list stale, and this says so.
    assert len(skipped) == 1, skipped
