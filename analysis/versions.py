"""Record one scenario under every interpreter found, in parallel.

Interpreters come from ``--pythons`` (versions such as ``2.7`` or paths),
else from pyenv (the versions joined in ``PYENV_VERSION``, ``2.7.18:3.13.0``,
or every installed one when it names only one: pyenv's shims set it to the
version they resolved),
else from ``PATH`` (``python2.7`` ... ``python3.14``, pyenv's shims left out: a
shim runs the version pyenv selects, not the one its name says).  A version
named in ``--pythons`` is looked for among every version pyenv has installed
first, whatever ``PYENV_VERSION`` selects, then on ``PATH``.  Where the checkout has
a tox environment for that version (``.tox/py313/bin/python``) it is used
instead of the bare interpreter, because it has ``six``, which the
``compat-`` scenarios need.

Each interpreter runs ``python -m analysis record SCENARIO --out DIR`` with
``PYTHONPATH`` pointing at the checkout (and, last, at this process's
``six.py`` for interpreters that have none: see :func:`_environment`), which
writes::

    DIR/<scenario>/<X.Y.Z>.trace.json   the Trace
    DIR/<scenario>/<X.Y.Z>.flow.json    the Flow from __init__ to handle (do_GET for http)
    DIR/<scenario>/<X.Y.Z>.mro.json     an MROSet: the server class, then the handler class
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from analysis import _compat

__all__ = ["Interpreter", "find_interpreters", "run_all", "output_paths", "VersionsError"]

#: The minor versions looked for on PATH, oldest first.
KNOWN_MINORS = ("2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(PACKAGE_DIR)


class VersionsError(RuntimeError):
    """No interpreter to run, or one named that does not exist (one line)."""


class Interpreter(object):
    """An interpreter to run a scenario under: a label (``3.13``) and an executable."""

    def __init__(self, label, executable):
        self.label = label
        self.executable = executable

    def __repr__(self):
        return "Interpreter(%r, %r)" % (self.label, self.executable)

    @property
    def display(self):
        """``python3.13`` for a version, the path itself for a path."""
        return self.label if os.sep in self.label else "python" + self.label


def output_paths(out, scenario, version):
    """``{"trace": ..., "flow": ..., "mro": ...}``: where a run's files go."""
    base = os.path.join(out, scenario, version)
    return dict((kind, "%s.%s.json" % (base, kind)) for kind in ("trace", "flow", "mro"))


def _which(name):
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _tox_python(minor):
    path = os.path.join(CHECKOUT, ".tox", "py" + minor.replace(".", ""), "bin", "python")
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root and os.path.isdir(root):
        return root
    if _which("pyenv"):
        try:
            out = subprocess.check_output(["pyenv", "root"], stderr=subprocess.STDOUT)
        except (OSError, subprocess.CalledProcessError):
            return None
        root = _compat.text(out).strip()
        return root if os.path.isdir(root) else None
    return None


def _pyenv_interpreters(every=False):
    """pyenv's interpreters: those PYENV_VERSION selects, or all (*every*)."""
    root = _pyenv_root()
    if root is None:
        return []
    wanted = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
    if len(wanted) < 2 or every:
        # pyenv's shims export the one version they resolved into every
        # child; a single version is that, not a choice of interpreters.
        wanted = []
    versions_dir = os.path.join(root, "versions")
    try:
        installed = sorted(os.listdir(versions_dir))
    except OSError:
        return []
    found = []
    for version in wanted or installed:
        match = re.match(r"^(\d+)\.(\d+)\.\d+$", version)
        if not match or version not in installed:
            continue
        minor = "%s.%s" % match.groups()
        exe = os.path.join(versions_dir, version, "bin", "python" + minor)
        if os.path.isfile(exe):
            found.append(Interpreter(minor, exe))
    return found


def _is_shim(path, root):
    """True for a pyenv shim: it runs whatever version pyenv selects, or fails with pyenv's message."""
    directory = os.path.dirname(os.path.abspath(path))
    if root and directory == os.path.join(os.path.abspath(root), "shims"):
        return True
    # A pyenv whose root this process does not know: its layout gives it away.
    return os.path.basename(directory) == "shims" and os.path.isfile(
        os.path.join(os.path.dirname(directory), "libexec", "pyenv"))


def _path_interpreters():
    """The ``pythonX.Y`` on PATH, pyenv's shims left out (pyenv's own list has them)."""
    root = _pyenv_root()
    found = []
    for minor in KNOWN_MINORS:
        exe = _which("python" + minor)
        if exe and not _is_shim(exe, root):
            found.append(Interpreter(minor, exe))
    return found


def find_interpreters(pythons=None, prefer_tox=True):
    """Return the :class:`Interpreter` list to run, one per minor version.

    *pythons*: versions (``"3.12"``) and / or executable paths; a version
    that cannot be found raises :class:`VersionsError`.
    """
    if pythons:
        found = []
        # pyenv's installed versions win over PATH, and every one of them
        # counts: a version named here is a choice, whatever PYENV_VERSION says.
        known = dict((i.label, i) for i in _path_interpreters() + _pyenv_interpreters(every=True))
        for spec in pythons:
            if os.sep in spec:
                if not (os.path.isfile(spec) and os.access(spec, os.X_OK)):
                    raise VersionsError("interpreter %s does not exist or is not executable" % spec)
                found.append(Interpreter(spec, spec))
                continue
            minor = spec[len("python"):] if spec.startswith("python") else spec
            exe = (_tox_python(minor) if prefer_tox else None) or (known[minor].executable if minor in known else None)
            if exe is None:
                raise VersionsError("interpreter python%s not found (pyenv, PATH or .tox)" % minor)
            found.append(Interpreter(minor, exe))
        return found
    candidates = _pyenv_interpreters() or _path_interpreters()
    seen = set()
    found = []
    for interp in candidates:
        if interp.label in seen:
            continue
        seen.add(interp.label)
        tox = _tox_python(interp.label) if prefer_tox else None
        found.append(Interpreter(interp.label, tox or interp.executable))
    if not found:
        raise VersionsError("no Python interpreter found (pyenv, PATH); give --pythons")
    return found


def _environment():
    """(environment, working directory, temporary directory or None) for the runs.

    ``PYTHONPATH`` starts with the checkout, so the target interpreter runs
    this very ``analysis`` and ``compatserver``.  When this process has
    ``six`` (a single file that runs on 2.7 and 3.x), a directory holding
    only ``six.py`` goes at the *end* of the path: an interpreter with no
    six of its own (a bare pyenv one, before ``make test`` made .tox) can
    still run the compat- scenarios, and one with its own six keeps it.
    """
    env = dict(os.environ)
    temporary = None
    if os.path.isfile(os.path.join(CHECKOUT, "setup.cfg")):
        root = CHECKOUT
    else:
        # An installed analysis (site-packages): put only our packages on
        # the target's path, never this interpreter's whole site-packages.
        root = temporary = tempfile.mkdtemp(prefix="analysis-path-")
        os.symlink(PACKAGE_DIR, os.path.join(root, "analysis"))
        try:
            import compatserver

            os.symlink(os.path.dirname(os.path.abspath(compatserver.__file__)), os.path.join(root, "compatserver"))
        except ImportError:
            pass
    trailing = []
    six_file = _compat.six_file()
    if six_file is not None:
        if temporary is None:
            temporary = tempfile.mkdtemp(prefix="analysis-path-")
        fallback = os.path.join(temporary, "fallback")
        os.mkdir(fallback)
        os.symlink(six_file, os.path.join(fallback, "six.py"))
        trailing.append(fallback)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p] + trailing)
    return env, root, temporary


def _last_line(text):
    lines = [line for line in _compat.text(text).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def run_one(interp, scenario, out, extra_args=(), timeout=120.0, env=None, cwd=None):
    """Run the ``record`` command under *interp*; return ``(ok, version or None, message)``."""
    command = [interp.executable, "-m", "analysis", "record", scenario, "--out", out] + list(extra_args)
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    except OSError as exc:
        return False, None, "cannot run %s: %s" % (interp.executable, exc)
    timer = threading.Timer(timeout, proc.kill)
    timer.daemon = True
    timer.start()
    try:
        stdout, stderr = proc.communicate()
    finally:
        timer.cancel()
    if proc.returncode != 0:
        message = _last_line(stderr) or "exit status %s" % proc.returncode
        if proc.returncode < 0:
            message = "killed after %.0f s (%s)" % (timeout, message)
        if "No module named" in message and "six" in message:
            message = "needs six, which %s lacks (pip install six)" % interp.executable
        return False, None, message
    version = _last_line(stdout)
    return True, version, ""


def run_all(scenario, out, pythons=None, extra_args=(), jobs=None, progress=None, timeout=120.0):
    """Record *scenario* under every interpreter, *jobs* at a time.

    Returns a list of ``(Interpreter, ok, version, message)`` in interpreter
    order.  *progress*: a callable taking one line (default: stderr).
    """
    interpreters = find_interpreters(pythons)
    out = os.path.abspath(out)  # the runs' working directory is the checkout
    if progress is None:

        def progress(line):
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    if jobs is None:
        jobs = max(2, min(4, _cpu_count()))
    env, root, temporary = _environment()
    try:
        return _run_all(interpreters, scenario, out, extra_args, jobs, progress, timeout, env, root)
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def _run_all(interpreters, scenario, out, extra_args, jobs, progress, timeout, env, root):
    results = [None] * len(interpreters)
    queue = list(enumerate(interpreters))
    lock = threading.Lock()
    state = {"done": 0}
    total = len(interpreters)

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                index, interp = queue.pop(0)
            started = time.time()
            ok, version, message = run_one(interp, scenario, out, extra_args, timeout, env, root)
            with lock:
                state["done"] += 1
                results[index] = (interp, ok, version, message)
                progress(
                    "[%d/%d] %s %s %s (%.1f s)%s"
                    % (
                        state["done"],
                        total,
                        interp.display,
                        scenario,
                        "ok" if ok else "FAILED",
                        time.time() - started,
                        "" if ok else ": " + message,
                    )
                )

    threads = [threading.Thread(target=worker, name="versions-%d" % i) for i in range(min(jobs, total))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(timeout * total + 10)
    return results


def _cpu_count():
    try:
        return os.cpu_count() or 2  # Python 3
    except AttributeError:  # Python 2
        import multiprocessing

        return multiprocessing.cpu_count()
