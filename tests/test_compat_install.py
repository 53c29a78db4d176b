"""compatserver.install(): code importing socketserver gets compatserver.

Every check runs in a child process started with the interpreter running the
tests: install() changes ``sys.modules`` for the whole process, and its
warning would be an error under pytest's ``filterwarnings = error``.

The stdlib's own users of socketserver are tested with their own suites from
the stdlib's ``test`` package (``test_httpservers``, ``test_xmlrpc``,
``test_docxmlrpc``, ``test_wsgiref``, ``test_logging``), each run twice in the
same conditions: once on the plain stdlib, to tell the environment's failures
from compatserver's, and once after ``compatserver.install()``.  Every test
must pass in both, except the documented differences below, which must pass
on the plain stdlib (otherwise they are not differences).
"""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import compatserver

pytestmark = pytest.mark.conformance

#: ``socketserver``, or ``SocketServer`` on Python 2.7.
STDLIB_NAME = compatserver.stdlib.__name__

#: The directory that holds the compatserver package this run tests: the
#: children import the same one.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(
    compatserver.__file__)))

#: Seconds a small child may take; a suite's child gets SUITE_TIMEOUT.
CHILD_TIMEOUT = 60
SUITE_TIMEOUT = 420

# Suite -> {"Class.test_method": why it differs with compatserver on purpose}.
# Skipped in the run under install() only; the plain run must pass them.
DOCUMENTED_DIFFERENCES = {
}

# Suite -> {"Class.test_method": why the environment cannot run it}.  Skipped
# the same way in both runs.
ENVIRONMENT_SKIPS = {
}

#: Suite -> the fewest tests it runs on any interpreter, roughly halved: a
#: suite that silently ran (almost) nothing fails.
MIN_TESTS = {
    "test_httpservers": 20,
    "test_xmlrpc": 30,
    "test_docxmlrpc": 5,
    "test_wsgiref": 12,
    "test_logging": 24,
}
SUITES = sorted(MIN_TESTS)


class Child(object):
    """A Python child process running *code*, killed after *timeout* seconds.

    The child writes a JSON result to the file named by its first argument.
    """

    def __init__(self, code, args, cwd, timeout=CHILD_TIMEOUT):
        self.result_path = os.path.join(cwd, "result.json")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [PACKAGE_PARENT] + [p for p in [env.get("PYTHONPATH")] if p])
        self.timed_out = False
        self.started = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, self.result_path] + list(args),
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._timer = threading.Timer(timeout, self._kill)
        self._timer.daemon = True
        self._timer.start()
        self._done = threading.Event()
        self.out = self.err = b""
        # Read both pipes from the start: a suite writes far more than a
        # pipe holds, and a child blocked on a full pipe would never end.
        self._reader = threading.Thread(target=self._communicate)
        self._reader.daemon = True
        self._reader.start()

    def _kill(self):
        self.timed_out = True
        self.proc.kill()

    def _communicate(self):
        self.out, self.err = self.proc.communicate()
        self.elapsed = time.time() - self.started
        self._timer.cancel()
        self._done.set()

    def wait(self):
        """Wait for the child and return its JSON result."""
        assert self._done.wait(SUITE_TIMEOUT + 30), "child never ended"
        report = (self.out + self.err).decode("utf-8", "replace")
        assert not self.timed_out, "child killed after its timeout:\n" + report
        assert self.proc.returncode == 0, report[-20000:]
        with open(self.result_path) as f:
            result = json.load(f)
        result["report"] = report
        return result


def run_child(code, tmp_path, *args):
    return Child(code, args, str(tmp_path)).wait()


CHILD_HTTP = r'''
import json, sys, threading, time
import compatserver
monotonic = getattr(time, "monotonic", time.time)  # Python 2: none
spec = getattr(compatserver, "__spec__", None)  # Python 2: none
out = {"first": compatserver.install(), "second": compatserver.install()}
# six would resolve this by importing the stdlib's name again, now
# compatserver, and give compatserver six's __spec__.
import six.moves.socketserver as moved
out["six_moves_stdlib"] = moved is compatserver.stdlib
out["spec_kept"] = getattr(compatserver, "__spec__", None) is spec
del moved  # a global holding the stdlib module: install() would name us
name = compatserver.stdlib.__name__
out["is_compatserver"] = __import__(name) is compatserver
try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from http.client import HTTPConnection
except ImportError:  # Python 2
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer
    from httplib import HTTPConnection
out["subclass"] = issubclass(HTTPServer, compatserver.TCPServer)
# http.server is built on compatserver now: nothing holds the stdlib's.
out["after_import"] = compatserver.install()


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello " + self.path.encode("ascii")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Hello)
thread = threading.Thread(target=server.serve_forever)
thread.daemon = True
thread.start()
try:
    conn = HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    conn.request("GET", "/x")
    response = conn.getresponse()
    out["status"] = response.status
    out["body"] = response.read().decode("ascii")
    conn.close()
    # Let the loop go back to its wait: the stdlib's would now need most of
    # its 0.5 s poll interval to notice shutdown().
    time.sleep(0.1)
    start = monotonic()
    server.shutdown()
    out["shutdown"] = monotonic() - start
    thread.join(10)
    out["joined"] = not thread.is_alive()
finally:
    server.server_close()
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
'''


def test_http_server_imported_after_install_is_compatserver(tmp_path):
    result = run_child(CHILD_HTTP, tmp_path)
    assert result["first"] == [] and result["second"] == []
    assert result["is_compatserver"]
    assert result["six_moves_stdlib"] and result["spec_kept"]
    assert result["subclass"]
    assert result["after_import"] == []
    assert (result["status"], result["body"]) == (200, "hello /x")
    assert result["joined"]
    # The stdlib's loop takes up to its 0.5 s poll (gh-88932).
    assert result["shutdown"] < 0.25, result


CHILD_BEFORE = r'''
import json, sys, warnings
try:
    import http.server as before
except ImportError:  # Python 2
    import BaseHTTPServer as before
import compatserver
out = {"before": before.__name__}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out["first"] = compatserver.install()
    out["second"] = compatserver.install()
out["warnings"] = [
    {"category": "%s.%s" % (w.category.__module__, w.category.__name__),
     "user_warning": issubclass(w.category, UserWarning),
     "message": str(w.message), "filename": w.filename}
    for w in caught]
name = compatserver.stdlib.__name__
out["installed"] = sys.modules[name] is compatserver
out["still_stdlib"] = not issubclass(before.HTTPServer, compatserver.TCPServer)
out["uninstall"] = [compatserver.uninstall(), compatserver.uninstall()]
out["restored"] = sys.modules[name] is compatserver.stdlib
try:
    import xmlrpc.server as after
except ImportError:  # Python 2
    import SimpleXMLRPCServer as after
out["after_uninstall_compat"] = issubclass(after.SimpleXMLRPCServer,
                                           compatserver.TCPServer)
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
'''


def test_modules_imported_before_are_named_in_one_warning(tmp_path):
    result = run_child(CHILD_BEFORE, tmp_path)
    before = result["before"]
    assert before == ("BaseHTTPServer" if STDLIB_NAME == "SocketServer"
                      else "http.server")
    # compatserver's own modules, six.moves and the stdlib module hold the
    # stdlib module too and are not named.
    assert result["first"] == [before]
    assert result["second"] == result["first"]
    assert result["installed"] and result["still_stdlib"]
    assert [w["category"] for w in result["warnings"]] == [
        "compatserver.InstallWarning"], result["warnings"]
    warning = result["warnings"][0]
    assert warning["user_warning"]
    # The caller of install(): the child's -c code ("-c" on Python 2).
    assert warning["filename"] in ("<string>", "-c")
    assert warning["message"] == (
        "compatserver.install(): %s imported before install() and still use "
        "the stdlib's %s classes; import them after compatserver.install(), "
        "or re-import them" % (before, STDLIB_NAME))
    assert result["uninstall"] == [True, False]
    assert result["restored"]
    assert not result["after_uninstall_compat"]


CHILD_SUBMODULES = r'''
import json, sys, traceback
import compatserver
out = {"stale": compatserver.install(), "errors": {}}
for name in ("compatserver.http", "compatserver.xmlrpc", "compatserver.wsgi"):
    try:
        __import__(name)
    except Exception:
        out["errors"][name] = traceback.format_exc()
# Each server still carries compatserver's loop and is still the stdlib's.
out["servers"] = {}
for module, std_name, names in (
        ("http", "HTTPServer", ("HTTPServer", "ThreadingHTTPServer", "ThreadPoolHTTPServer")),
        ("xmlrpc", "SimpleXMLRPCServer", ("SimpleXMLRPCServer", "ThreadingXMLRPCServer")),
        ("wsgi", "WSGIServer", ("WSGIServer", "ThreadingWSGIServer"))):
    mod = getattr(compatserver, module, None)
    if mod is None:
        continue
    for name in names:
        cls = getattr(mod, name)
        out["servers"][module + "." + name] = [
            issubclass(cls, compatserver.LoopMixIn),
            any(k.__name__ == std_name and not k.__module__.startswith("compatserver")
                for k in cls.__mro__)]
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
'''


def test_compatserver_submodules_import_after_install(tmp_path):
    result = run_child(CHILD_SUBMODULES, tmp_path)
    assert result["stale"] == []
    assert result["errors"] == {}, "\n".join(result["errors"].values())
    assert len(result["servers"]) == 7
    assert all(v == [True, True] for v in result["servers"].values()), result["servers"]


# --- the stdlib's own suites --------------------------------------------

CHILD_SUITE = r'''
import importlib, json, sys, traceback, unittest
result_path, mode, suite_name, skips = sys.argv[1:5]
skips = set(json.loads(skips))
import compatserver
out = {"mode": mode}
if mode == "compatserver":
    # Before anything imports http.server, xmlrpc.server, logging.config ...
    out["stale"] = compatserver.install()
    name = compatserver.stdlib.__name__
    out["installed"] = sys.modules[name] is compatserver
from test import support
module = importlib.import_module("test." + suite_name)
if mode == "compatserver":
    # Every module the suite imported (the test module too) is built on
    # compatserver, none on the stdlib: install() names none.
    out["stale_after_import"] = compatserver.install()


def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            for test in flatten(item):
                yield test
        else:
            yield item


def key(test):
    return "%s.%s" % (type(test).__name__, test.id().rsplit(".", 1)[-1])


def run(suite):
    """Run *suite* without the skipped tests; record the outcome."""
    kept = unittest.TestSuite()
    found = set()
    for test in flatten(suite):
        if key(test) in skips:
            found.add(key(test))
        else:
            kept.addTest(test)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(kept)
    # Added up: a test_main() may call run_unittest() more than once.
    out["run"] = out.get("run", 0) + result.testsRun
    out["skips_found"] = sorted(set(out.get("skips_found", [])) | found)
    out.setdefault("skipped", {}).update(
        (test.id(), reason) for test, reason in result.skipped)
    problems = out.setdefault("problems", {})
    problems.update((test.id(), text[-3000:])
                    for test, text in result.failures + result.errors)
    problems.update((test.id(), "unexpected success")
                    for test in result.unexpectedSuccesses)
    return result


if hasattr(module, "test_main"):
    # The module picks its own test classes (and locale, thread checks ...)
    # in test_main(); support.run_unittest() hands the suite to _run_suite().
    support._run_suite = run
    module.test_main()
else:
    run(unittest.TestLoader().loadTestsFromModule(module))
with open(result_path, "w") as f:
    json.dump(out, f)
'''


@pytest.fixture(scope="module")
def suite_children(tmp_path_factory):
    """Start both runs of every suite at once; yield {(suite, mode): Child}."""
    children = {}
    for suite in SUITES:
        for mode in ("stdlib", "compatserver"):
            skips = dict(ENVIRONMENT_SKIPS.get(suite, {}))
            if mode == "compatserver":
                skips.update(DOCUMENTED_DIFFERENCES.get(suite, {}))
            cwd = str(tmp_path_factory.mktemp("%s-%s" % (suite, mode)))
            children[suite, mode] = Child(
                CHILD_SUITE, [mode, suite, json.dumps(sorted(skips))], cwd,
                timeout=SUITE_TIMEOUT)
    yield children
    for child in children.values():
        if child.proc.poll() is None:
            child.proc.kill()
        child._done.wait(30)


def _problems(result):
    return "\n\n".join("%s\n%s" % item for item in sorted(
        result["problems"].items()))


@pytest.mark.timeout(SUITE_TIMEOUT + 60)
@pytest.mark.parametrize("suite", SUITES)
def test_stdlib_suite_passes_under_install(suite, suite_children):
    plain = suite_children[suite, "stdlib"].wait()
    ours = suite_children[suite, "compatserver"].wait()
    print("%s on %s: %d tests (%d skipped by the suite), %.1f s on the "
          "stdlib, %.1f s under install()"
          % (suite, sys.version.split()[0], ours["run"], len(ours["skipped"]),
             suite_children[suite, "stdlib"].elapsed,
             suite_children[suite, "compatserver"].elapsed))
    assert "run" in plain and "run" in ours, "no suite ran"
    assert ours["installed"] and ours["stale"] == []
    assert ours["stale_after_import"] == []
    # Failures of the plain run are the environment's (or documented
    # differences that are none): skip them in ENVIRONMENT_SKIPS, with why.
    assert plain["problems"] == {}, (
        "the plain stdlib fails:\n" + _problems(plain)
        + plain["report"][-5000:])
    assert ours["problems"] == {}, (
        "under compatserver.install():\n" + _problems(ours)
        + ours["report"][-5000:])
    assert plain["run"] >= MIN_TESTS[suite], plain["report"][-5000:]
    # The same tests ran in both, less the documented differences, each of
    # which exists in this interpreter's suite.
    documented = sorted(DOCUMENTED_DIFFERENCES.get(suite, {}))
    assert ours["skips_found"] == sorted(
        set(documented) | set(plain["skips_found"]))
    assert ours["run"] == plain["run"] - len(documented)
    # And the suite skipped the same ones itself: a test that skips itself
    # only under compatserver would hide a difference.
    assert ours["skipped"] == plain["skipped"]
