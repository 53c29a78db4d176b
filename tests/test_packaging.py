"""The distribution: what it holds, and that it works once unpacked or installed.

The installed package is the one this checkout describes (in tox); the
version is in one place; the sdist holds every file git tracks and its
tests collect and run once unpacked; the wheel built from it is
``py2.py3-none-any`` with the license, the stubs and the pytest plugin, and
that plugin works from a separate project directory (the user guide's
testing example, run as its tox.ini says) against the installed wheel; the
stubs satisfy mypy; and the lint of ``make test`` passes.

The round trips build and install for real, so they run on the oldest and
the newest interpreter only (2.7 and 3.13), which bracket what a user has.
"""
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile

import pytest

import analysis
import compatserver

try:
    from configparser import ConfigParser
except ImportError:  # Python 2
    from ConfigParser import SafeConfigParser as ConfigParser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_TOX = bool(os.environ.get("TOX_ENV_NAME"))
EXAMPLE = os.path.join(ROOT, "docs", "guide", "examples", "testing")
OLDEST, NEWEST = sys.version_info < (3,), sys.version_info >= (3, 13)
round_trip = pytest.mark.skipif(
    not (OLDEST or NEWEST),
    reason="the build and install round trips run on 2.7 and 3.13 only")
#: A build or a pytest run in a child process.
CHILD_TIMEOUT = 90


def _files(root):
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if not name.endswith((".pyc", ".pyo")):
                found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def _run(args, cwd, env=None, timeout=CHILD_TIMEOUT):
    """Run *args*; return (exit status, stdout and stderr as text)."""
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        out = proc.communicate()[0].decode("utf-8", "replace")
    finally:
        killer.cancel()
    return proc.returncode, out


def _child_env(pythonpath):
    """The environment of a child that must see *pythonpath*, not this run."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "TOX_ENV_NAME", "PYTEST_ADDOPTS", "MYPYPATH"):
        env.pop(name, None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def test_the_version_is_in_compatserver_only():
    with io.open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as f:
        assert not re.search(r"^version\s*=", f.read(), re.M)
    status, out = _run([sys.executable, "setup.py", "--version"], ROOT)
    assert status == 0, out
    assert out.strip().splitlines()[-1] == compatserver.__version__
    # The changelog has the version's section, or the next one's.
    with io.open(os.path.join(ROOT, "CHANGELOG.rst"), encoding="utf-8") as f:
        headings = re.findall(r"^(\S.*)\n-+$", f.read(), re.M)
    assert headings[0] == "Unreleased"
    assert any(h.startswith(compatserver.__version__ + " (") for h in headings)


@pytest.mark.skipif(not IN_TOX, reason="only meaningful against the installed sdist (tox)")
@pytest.mark.parametrize("package", [compatserver, analysis], ids=["compatserver", "analysis"])
def test_installed_package_is_not_the_checkout_and_has_every_file(package):
    # tox installs the sdist; a test that imported the checkout instead would
    # miss packaging mistakes such as a subpackage or data file left out.
    installed = os.path.dirname(os.path.abspath(package.__file__))
    name = package.__name__
    assert installed != os.path.join(ROOT, name)
    assert "site-packages" in installed.split(os.sep)
    missing = _files(os.path.join(ROOT, name)) - _files(installed)
    assert not missing, "files of %s missing from the installed package: %s" % (name, sorted(missing))


# Build products and tool environments: never part of a source tree.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".tox", ".venv*", "__pycache__", "*.pyc", "*.egg-info", "build",
    "dist", "_build", "_generated", "logs", ".pytest_cache", ".mypy_cache")


def _build(hook, source, outdir):
    """Call setuptools' PEP 517 *hook* in *source*; return the file's path."""
    os.mkdir(outdir)
    status, out = _run([sys.executable, "-c",
                        "import sys; from setuptools import build_meta; "
                        "print(build_meta.%s(sys.argv[1]))" % hook, outdir],
                       source, _child_env(None))
    assert status == 0, out
    return os.path.join(outdir, out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def work():
    directory = tempfile.mkdtemp(prefix="compatserver-packaging-")
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def sdist(work):
    """The sdist built from a copy of this source tree."""
    source = os.path.join(work, "source")
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    return _build("build_sdist", source, os.path.join(work, "sdist"))


@pytest.fixture(scope="module")
def unpacked(work, sdist):
    """The sdist unpacked: the root of its source tree."""
    # The "data" filter where it exists (3.12+, backported to some 3.8+
    # releases); 3.14 makes it the default and 3.12+ warns without it.
    kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    archive = tarfile.open(sdist)
    try:
        archive.extractall(os.path.join(work, "unpacked"), **kwargs)
    finally:
        archive.close()
    name = os.path.basename(sdist)[:-len(".tar.gz")]
    return os.path.join(work, "unpacked", name)


@pytest.fixture(scope="module")
def wheel(work, unpacked):
    """The wheel built from the unpacked sdist, as pip would."""
    return _build("build_wheel", unpacked, os.path.join(work, "wheel"))


@pytest.fixture(scope="module")
def installed(work, wheel):
    """A directory the wheel is installed into (pip --target), for PYTHONPATH."""
    target = os.path.join(work, "installed")
    status, out = _run([sys.executable, "-m", "pip", "install", "--no-deps",
                        "--no-index", "--no-compile", "--target", target, wheel],
                       work, _child_env(None))
    assert status == 0, out
    return target


@round_trip
@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, ".git")),
                    reason="not a git checkout (an unpacked sdist, say)")
def test_the_sdist_has_every_file_git_tracks(unpacked):
    status, out = _run(["git", "ls-files"], ROOT)
    assert status == 0, out
    tracked = set(path for path in out.splitlines()
                  if os.path.exists(os.path.join(ROOT, path))
                  and os.path.basename(path) != ".gitignore")
    shipped = set(p.replace(os.sep, "/") for p in _files(unpacked))
    assert not tracked - shipped, "MANIFEST.in leaves out %s" % sorted(tracked - shipped)
    assert "LICENSE" in shipped and "CHANGELOG.rst" in shipped
    # Build products stay out.
    assert not [p for p in shipped if "/_build/" in p or "/_generated/" in p]


@round_trip
def test_the_unpacked_sdist_collects_every_test_and_runs_them(unpacked):
    env = _child_env(unpacked)  # its own compatserver, not the installed one
    status, out = _run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                        "-p", "no:cacheprovider"], unpacked, env)
    assert status == 0, out
    assert " error" not in out, out
    collected = set(line.split("::")[0] for line in out.splitlines() if "::" in line)
    # A module that skips itself whole (the docs check outside tox -e docs).
    collected.update(re.findall(r"^SKIPPED \[\d+\] (tests/\w+\.py):", out, re.M))
    expected = set("tests/" + name for name in os.listdir(os.path.join(unpacked, "tests"))
                   if name.startswith("test_") and name.endswith(".py")
                   and not (OLDEST and name.endswith("_py3.py")))
    assert expected - collected == set(), out
    status, out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/test_testing.py"],
                       unpacked, env)
    assert status == 0, out
    assert re.search(r"\b\d+ passed\b", out.splitlines()[-1]), out


@round_trip
def test_the_wheel_is_universal_with_license_stubs_and_plugin(wheel):
    assert os.path.basename(wheel).endswith("-py2.py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = [n for n in names if n.endswith(".dist-info/METADATA")][0]
        metadata = archive.read(info).decode("utf-8")
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt"))
    assert set(n.split("/")[0] for n in names) == set(
        ["compatserver", "analysis", info.split("/")[0]])
    for name in ("py.typed", "__init__.pyi", "testing.pyi", "http.pyi", "wsgi.pyi",
                 "xmlrpc.pyi", "testing.py", "_pytest_plugin.py"):
        assert "compatserver/" + name in names
    assert [n for n in names if re.search(r"\.dist-info/(licenses/)?LICENSE$", n)]
    for header in ("Author: The compatserver maintainers",
                   "Maintainer: The compatserver maintainers", "License: MIT",
                   "Version: " + compatserver.__version__):
        assert header in metadata.splitlines()
    if not OLDEST:  # setuptools 44, the last for 2.7, does not write it
        assert "License-File: LICENSE" in metadata.splitlines()
    assert b"[pytest11]\ncompatserver = compatserver._pytest_plugin" in entry_points


_WHERE = '''
import os
import compatserver


def test_the_plugin_comes_from_the_installed_wheel(request):
    plugin = request.config.pluginmanager.get_plugin("compatserver")
    target = os.environ["COMPATSERVER_TARGET"]
    assert plugin is not None, "the pytest11 entry point was not loaded"
    assert os.path.dirname(plugin.__file__) == os.path.join(target, "compatserver")
    assert os.path.dirname(compatserver.__file__) == os.path.join(target, "compatserver")
'''


_LEAK = '''
import socket
import threading

import compatserver

entered = threading.Event()


class Hang(compatserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline()
        entered.set()
        threading.Event().wait(30)  # a daemon thread: the run does not wait


def test_a_leaked_handler_thread_fails_the_test(serve):
    serve.timeout = 0.3
    server = serve(compatserver.ThreadingTCPServer, Hang,
                   block_on_close=False, daemon_threads=True)
    client = socket.create_connection(server.server_address, 10)
    client.sendall(b"hang\\n")
    assert entered.wait(10)
    client.close()
'''


def _sample_tox_ini():
    parser = ConfigParser()
    parser.read(os.path.join(EXAMPLE, "tox.ini"))
    return parser


def test_the_guide_tox_ini_tests_every_interpreter_with_the_plugin():
    parser = _sample_tox_ini()
    envlist = [e.strip() for e in parser.get("tox", "envlist").split(",")]
    assert envlist == ["py27", "py36", "py37", "py38", "py39", "py310",
                       "py311", "py312", "py313"]
    assert parser.get("testenv", "deps").split() == ["compatserver", "pytest"]
    assert parser.get("testenv", "commands").strip() == "pytest {posargs}"


@round_trip
def test_the_guide_example_passes_against_the_installed_wheel(work, installed):
    # A separate project directory: the guide's example, with the tox.ini
    # command run by this interpreter, compatserver from the wheel only.
    project = os.path.join(work, "project")
    shutil.copytree(EXAMPLE, project, ignore=_NOT_SOURCE)
    for name, text in (("test_where.py", _WHERE), ("test_leak.py", _LEAK)):
        with io.open(os.path.join(project, name), "w", encoding="utf-8") as f:
            f.write(text.decode("ascii") if OLDEST else text)
    command = _sample_tox_ini().get("testenv", "commands").split()
    assert command[0] == "pytest"
    command = [sys.executable, "-m", "pytest"] + [
        arg for arg in command[1:] if arg != "{posargs}"] + [
        "-p", "no:cacheprovider", "-W", "error", "-rs"]
    env = _child_env(installed)
    env["COMPATSERVER_TARGET"] = installed
    status, out = _run(command, project, env)
    # The example's four tests, test_where and test_leak pass; test_leak's
    # teardown is an error that names the thread.
    assert status == 1, out
    assert re.search(r"\b6 passed, 1 error", out.splitlines()[-1]), out
    assert ("ServingError: ThreadingTCPServer did not stop within 0.3 s: "
            "threads still running: Thread-") in out, out


_GOOD = '''
import compatserver
from compatserver import http, wsgi, xmlrpc
from compatserver.testing import ServingError, serving


class Upper(compatserver.TextStreamRequestHandler):
    def handle(self) -> None:
        for line in self.lines():
            count: int = self.write(line.upper())
            assert count >= 0


def run() -> None:
    server = compatserver.ThreadPoolTCPServer(("127.0.0.1", 0), Upper)
    server.pool_size = 4
    server.block_on_close_timeout = 2.5
    workers: int = server.pool_stats()["workers"]
    with serving(server, timeout=5) as served:
        print(served.server_address, workers)
    forking = compatserver.ForkingUnixStreamServer("/tmp/socket", Upper)
    forking.collect_children(blocking=True)
    moved: list[str] = compatserver.install()
    print(moved, ServingError, compatserver.__version__)


def app(environ: dict[str, object], start_response: object) -> list[bytes]:
    return [b"ok"]


def run_others() -> None:
    web = http.ThreadingHTTPServer(("127.0.0.1", 0), http.SimpleHTTPRequestHandler)
    web.block_on_close_timeout = 1.0
    rpc = xmlrpc.ThreadPoolXMLRPCServer(("127.0.0.1", 0), logRequests=False)
    rpc.register_function(run)
    print(rpc.pool_stats(), web.server_port)
    wsgi.make_server("127.0.0.1", 0, app, server_class=wsgi.ThreadingWSGIServer).shutdown()
'''

_BAD = '''
import compatserver
import compatserver.http

server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), compatserver.StreamRequestHandler)
server.serve_forever(poll_interval="fast")
server.block_on_close_timeout = "soon"
server.no_such_attribute
compatserver.http.ThreadingHTTPServer(("127.0.0.1", 0), compatserver.http.SimpleHTTPRequestHandler).pool_stats()
'''

_BAD_ERRORS = [
    'bad.py:6: error: Argument "poll_interval" to "serve_forever" of "LoopMixIn"'
    ' has incompatible type "str"; expected "float"  [arg-type]',
    'bad.py:7: error: Incompatible types in assignment (expression has type "str",'
    ' variable has type "float | None")  [assignment]',
    'bad.py:8: error: "ThreadingTCPServer" has no attribute "no_such_attribute"'
    '  [attr-defined]',
    'bad.py:9: error: "ThreadingHTTPServer" has no attribute "pool_stats"  [attr-defined]',
]


@round_trip
@pytest.mark.skipif(not NEWEST, reason="mypy runs on the newest interpreter (3.13)")
def test_the_installed_stubs_satisfy_mypy(work, installed):
    # The stubs as the wheel installs them, found through py.typed.
    directory = os.path.join(work, "typing")
    os.mkdir(directory)
    for name, text in (("good.py", _GOOD), ("bad.py", _BAD)):
        with io.open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(text)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
            "--cache-dir", os.path.join(directory, "cache")]
    env = _child_env(installed)
    status, out = _run(mypy + ["good.py"], directory, env)
    assert (status, out) == (0, "")
    status, out = _run(mypy + ["bad.py"], directory, env)
    assert out.splitlines() == _BAD_ERRORS


#: What the lint covers: both packages, the tests and the benchmarks.
LINTED = ["compatserver", "analysis", "tests", "benchmarks"]


@pytest.mark.skipif(not NEWEST, reason="the lint runs on the newest interpreter (3.13)")
def test_lint_finds_no_unused_import_and_no_undefined_name():
    # flake8 with setup.cfg's [flake8] section: pyflakes' F401, F821-F823.
    status, out = _run([sys.executable, "-m", "flake8"] + LINTED, ROOT,
                       _child_env(None))
    assert (status, out) == (0, ""), "flake8 (pyflakes) found:\n" + out
