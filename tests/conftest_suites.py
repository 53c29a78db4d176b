"""Child processes, and the stdlib's own server suites run in them.

One runner for two test files.  Each interpreter's own ``test_httpservers``,
``test_xmlrpc``, ``test_docxmlrpc``, ``test_wsgiref`` and ``test_logging``
(from the stdlib's ``test`` package) run in a child process, once per mode:

``stdlib``
    the plain stdlib, to tell the environment's failures from compatserver's;
``compatserver``
    after ``compatserver.install()`` (``test_compat_install.py``);
``substituted``
    on the plain stdlib, with compatserver's server and handler classes set
    on the stdlib modules the suites take them from, before the suite is
    imported (``test_compat_conformance_servers.py``).

Every run of every suite starts at once, the first time a test asks for
:func:`suite_runs`, and both files share the plain runs: the whole matrix
stays within a few minutes on two cores.  A child cannot leak what it changes
(``sys.modules``, module attributes) into the pytest process.
"""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import compatserver

#: The directory that holds the compatserver package this run tests: the
#: children import the same one.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(
    compatserver.__file__)))

#: Seconds a small child may take; a suite's child gets SUITE_TIMEOUT.
CHILD_TIMEOUT = 60
SUITE_TIMEOUT = 420

# Suite -> {"Class.test_method": why the environment cannot run it}.  Skipped
# the same way in every mode.
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
MODES = ("stdlib", "compatserver", "substituted")

#: (stdlib module, compatserver module, names): in ``substituted`` mode each
#: name the stdlib module has is set to compatserver's object of that name.
#: The stdlib modules of the other major version do not import and are left
#: out, as are names a version lacks (``ThreadingHTTPServer`` before 3.7).
#: The helpers that are no servers (``SimpleXMLRPCDispatcher``,
#: ``MultiPathXMLRPCServer``, ``ServerHTMLDoc`` ...) stay the stdlib's.
SUBSTITUTIONS = [
    ("http.server", "compatserver.http", (
        "HTTPServer", "ThreadingHTTPServer", "BaseHTTPRequestHandler",
        "SimpleHTTPRequestHandler", "CGIHTTPRequestHandler")),
    ("BaseHTTPServer", "compatserver.http", (  # Python 2
        "HTTPServer", "BaseHTTPRequestHandler")),
    ("SimpleHTTPServer", "compatserver.http", (  # Python 2
        "SimpleHTTPRequestHandler",)),
    ("CGIHTTPServer", "compatserver.http", (  # Python 2
        "CGIHTTPRequestHandler",)),
    ("xmlrpc.server", "compatserver.xmlrpc", (
        "SimpleXMLRPCServer", "DocXMLRPCServer",
        "SimpleXMLRPCRequestHandler", "DocXMLRPCRequestHandler")),
    ("SimpleXMLRPCServer", "compatserver.xmlrpc", (  # Python 2
        "SimpleXMLRPCServer", "SimpleXMLRPCRequestHandler")),
    ("DocXMLRPCServer", "compatserver.xmlrpc", (  # Python 2
        "DocXMLRPCServer", "DocXMLRPCRequestHandler")),
    ("wsgiref.simple_server", "compatserver.wsgi", (
        "WSGIServer", "WSGIRequestHandler", "make_server")),
]


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
        self.elapsed = None
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

    def stop(self):
        """Kill the child if it still runs, and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self._done.wait(30)


def run_child(code, tmp_path, *args):
    """Run *code* in a child; return its JSON result."""
    return Child(code, args, str(tmp_path)).wait()


CHILD_SUITE = r'''
import importlib, json, sys, traceback, unittest
result_path, mode, suite_name, skips, substitutions = sys.argv[1:6]
skips = set(json.loads(skips))
import compatserver
out = {"mode": mode}
if mode == "compatserver":
    # Before anything imports http.server, xmlrpc.server, logging.config ...
    out["stale"] = compatserver.install()
    name = compatserver.stdlib.__name__
    out["installed"] = sys.modules[name] is compatserver
# id() of each stdlib object replaced, and of compatserver's that replaced
# it, -> its "module.name"; the objects themselves kept alive, so that no
# other object takes an id.
replaced, substitutes, kept_alive = {}, {}, []
if mode == "substituted":
    import types
    out["substituted"] = []
    substitutions = json.loads(substitutions)
    # compatserver's modules first, each built on the stdlib's classes: a
    # stdlib module imported after a substitution (xmlrpc.server after
    # http.server's) would derive from compatserver's.
    for ours_name in sorted(set(s[1] for s in substitutions)):
        importlib.import_module(ours_name)
    for std_name, ours_name, names in substitutions:
        try:
            std = importlib.import_module(std_name)
        except ImportError:  # the other major version's module
            continue
        ours = sys.modules[ours_name]
        # The suite imports a copy of the module, with compatserver's
        # classes: the stdlib's own functions keep reading the module they
        # were defined in.  DocXMLRPCServer.__init__ and
        # MultiPathXMLRPCServer.__init__ call SimpleXMLRPCServer.__init__(
        # self, ...) by its module global name; set to compatserver's class
        # it would be called with an instance that is no subclass of it.
        view = types.ModuleType(std.__name__)
        view.__dict__.update(vars(std))
        for name in names:
            if hasattr(std, name):
                original, substitute = getattr(std, name), getattr(ours, name)
                kept_alive.append(original)
                replaced[id(original)] = std_name + "." + name
                substitutes[id(substitute)] = ours_name + "." + name
                setattr(view, name, substitute)
                out["substituted"].append(std_name + "." + name)
        sys.modules[std_name] = view
        if "." in std_name:  # import http.server gives the package's attribute
            package, _, child = std_name.rpartition(".")
            setattr(sys.modules[package], child, view)
from test import support
module = importlib.import_module("test." + suite_name)
if mode == "compatserver":
    # Every module the suite imported (the test module too) is built on
    # compatserver, none on the stdlib: install() names none.
    out["stale_after_import"] = compatserver.install()
if mode == "substituted":
    # The substitution took: the stdlib modules hold compatserver's objects,
    # and no test module (the suite, or one it imported such as
    # test_httpservers for test_wsgiref) kept a stdlib one in a global.
    out["still_stdlib"] = [
        "%s.%s" % (name, attr)
        for name, attr in (s.rsplit(".", 1) for s in out["substituted"])
        if id(getattr(sys.modules[name], attr)) in replaced]
    out["suite_globals"] = {}
    out["stale_globals"] = []
    for test_module in list(sys.modules.values()):
        if not getattr(test_module, "__name__", "").startswith("test."):
            continue
        for attr, value in vars(test_module).items():
            if id(value) in replaced:
                out["stale_globals"].append("%s.%s: %s" % (
                    test_module.__name__, attr, replaced[id(value)]))
            elif test_module is module and id(value) in substitutes:
                out["suite_globals"][attr] = substitutes[id(value)]

def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            for test in flatten(item):
                yield test
        else:
            yield item


def key(test):
    return "%s.%s" % (type(test).__name__, test.id().rsplit(".", 1)[-1])


def short(test_id):
    # "test.test_x.Class.test_method (subtest)" -> "Class.test_method"
    return ".".join(test_id.split(" ", 1)[0].split(".")[-2:])


def run(suite):
    """Run *suite* without the skipped tests; record the outcome."""
    kept = unittest.TestSuite()
    found = set()
    for test in flatten(suite):
        if key(test) in skips:
            found.add(key(test))
        else:
            kept.addTest(test)
    ran = out.setdefault("ran", [])
    kept_ids = [test.id() for test in flatten(kept)]
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(kept)
    # Added up: a test_main() may call run_unittest() more than once.
    out["run"] = out.get("run", 0) + result.testsRun
    out["ran"] = sorted(set(ran) | set(short(i) for i in kept_ids))
    out["skips_found"] = sorted(set(out.get("skips_found", [])) | found)
    out.setdefault("skipped", {}).update(
        (short(test.id()), reason) for test, reason in result.skipped)
    problems = out.setdefault("problems", {})
    problems.update((short(test.id()), text[-3000:])
                    for test, text in result.failures + result.errors)
    problems.update((short(test.id()), "unexpected success")
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

# (suite, mode) -> Child, shared by every test file of one pytest process.
_runs = {}


def _start_all(tmp_path_factory):
    if not _runs:
        substitutions = json.dumps(SUBSTITUTIONS)
        skips = dict(
            (suite, json.dumps(sorted(ENVIRONMENT_SKIPS.get(suite, {}))))
            for suite in SUITES)
        for suite in SUITES:
            for mode in MODES:
                cwd = str(tmp_path_factory.mktemp("%s-%s" % (suite, mode)))
                _runs[suite, mode] = Child(
                    CHILD_SUITE, [mode, suite, skips[suite], substitutions],
                    cwd, timeout=SUITE_TIMEOUT)
    return _runs


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory):
    """Start every suite in every mode at once; yield {(suite, mode): Child}.

    Imported by each test file that uses it: each import is a fixture of its
    own, and the children are started once for all of them.
    """
    runs = _start_all(tmp_path_factory)
    yield runs
    for child in runs.values():
        child.stop()


def _problems(result):
    return "\n\n".join("%s\n%s" % item for item in sorted(
        result["problems"].items()))


def compare(runs, suite, mode, differences):
    """Assert the *mode* run of *suite* passes as the plain run does.

    *differences* maps "Class.test_method" to why compatserver differs on
    purpose: each of them that this interpreter's suite has must pass on the
    plain stdlib and fail in *mode* (else it is no difference).  Every other
    test runs, passes or is skipped by the suite alike in both.  Return the
    two results, plain first.
    """
    plain = runs[suite, "stdlib"].wait()
    ours = runs[suite, mode].wait()
    print("%s on %s: %d tests (%d skipped by the suite), %.1f s on the "
          "stdlib, %.1f s %s"
          % (suite, sys.version.split()[0], ours["run"], len(ours["skipped"]),
             runs[suite, "stdlib"].elapsed, runs[suite, mode].elapsed, mode))
    assert "run" in plain and "run" in ours, "no suite ran"
    # Failures of the plain run are the environment's (or documented
    # differences that are none): skip them in ENVIRONMENT_SKIPS, with why.
    assert plain["problems"] == {}, (
        "the plain stdlib fails:\n" + _problems(plain)
        + plain["report"][-5000:])
    assert plain["run"] >= MIN_TESTS[suite], plain["report"][-5000:]
    documented = set(differences) & set(plain["ran"])
    unexplained = dict((k, v) for k, v in ours["problems"].items()
                       if k not in documented)
    assert unexplained == {}, (
        "in mode %s:\n" % mode + "\n\n".join(
            "%s\n%s" % item for item in sorted(unexplained.items()))
        + ours["report"][-5000:])
    assert sorted(documented - set(ours["problems"])) == [], (
        "documented differences that pass: remove them")
    # The same tests ran in both, and the suite skipped the same ones itself:
    # a test that skips itself only in one mode would hide a difference.
    assert ours["ran"] == plain["ran"]
    assert ours["run"] == plain["run"]
    assert ours["skips_found"] == plain["skips_found"]
    assert ours["skipped"] == plain["skipped"]
    return plain, ours
