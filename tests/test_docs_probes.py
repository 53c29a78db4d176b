"""The compatibility matrix's probes (docs/_tools/probes.py) measure what they claim.

Runs on every interpreter of the matrix: a few fast probes against the stdlib
and compatserver, each in its child process as ``make docs`` runs them, with
the outcome the running interpreter must give.  The outcomes differ by version
for the stdlib (that is the point of the matrix), never for compatserver.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBES = os.path.join(ROOT, "docs", "_tools", "probes.py")
PY2 = sys.version_info[0] == 2

#: probe id -> (stdlib outcome on this interpreter, compatserver outcome).
EXPECTED = {
    "classes": ("super() raises TypeError" if PY2 else "new-style", "new-style"),
    "with": ("AttributeError" if PY2 else "works, closes the socket", "works, closes the socket"),
    "wfile_write": ("None" if PY2 else "6", "6"),
    "readline_type": ("bytes", "bytes"),
    "systemexit": ("swallowed" if PY2 else "re-raised", "re-raised"),
    "handle_error_stream": ("stdout and stderr" if PY2 else "stderr", "stderr"),
    "server_close_in_handler": (
        "returns" if sys.version_info < (3, 7) else "RuntimeError", "returns"),
    "service_actions": ("never called" if PY2 else "called", "called"),
    "server_close_while_serving": ("loop dies with EBADF" if PY2 else "loop keeps spinning",
                                   "loop stops"),
    # gh-103673: the stdlib has the forking Unix servers from 3.12.
    "forking_unix": ("present; serves in a child process" if sys.version_info >= (3, 12) else "absent",
                     "present; serves in a child process"),
    # Issue 10: the stdlib docs' idiom with the module's ThreadingMixIn.
    "http_idiom": ("serves; shutdown() waits for the next poll",
                   "serves; shutdown() woken at once"),
    "xmlrpc_idiom": ("serves; shutdown() waits for the next poll",
                     "serves; shutdown() woken at once"),
}


def run(*args):
    # The child imports compatserver as this process does: the installed
    # package in the test matrix, the checkout with PYTHONPATH set.
    proc = subprocess.Popen([sys.executable, PROBES] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


def test_probes_report_the_expected_outcomes_side_by_side():
    status, out, err = run("--only", ",".join(sorted(EXPECTED)), "--jobs", "4")
    assert status == 0, err
    report = json.loads(out)
    assert report["python"] == "%d.%d.%d" % sys.version_info[:3]
    got = dict((p["id"], (p["stdlib"]["key"], p["compatserver"]["key"])) for p in report["probes"])
    assert got == EXPECTED
    # One progress line per (probe, module) on stderr, nothing else there.
    assert len(err.strip().splitlines()) == 2 * len(EXPECTED)


def test_one_probe_in_this_process_prints_its_outcome():
    status, out, err = run("--one", "wfile_write", "compatserver")
    assert (status, err) == (0, "")
    assert json.loads(out) == {"key": "6", "text": "6"}


@pytest.mark.parametrize("args, message", [
    (["--only", "nope"], "unknown probe ids: nope"),
    (["--one", "nope", "stdlib"], "unknown probe 'nope'"),
    (["--one", "with", "asyncore"], "MODULE must be stdlib or compatserver, not 'asyncore'"),
])
def test_bad_arguments_are_refused_clearly(args, message):
    status, out, err = run(*args)
    assert status != 0
    assert message in err
    assert out == ""


def test_outputs_records_what_each_worked_example_prints(tmp_path):
    # docs/_tools/outputs.py, which make docs runs under every interpreter: each
    # example's --demo runs and its output is recorded for the walkthrough.
    outputs = os.path.join(ROOT, "docs", "_tools", "outputs.py")
    out = str(tmp_path / "outputs.json")
    proc = subprocess.Popen([sys.executable, outputs, "--out", out], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    with open(out) as f:
        report = json.load(f)
    examples = report["examples"]
    assert sorted(examples) == ["chat.py", "threaded_echo.py", "upper_echo.py"]
    assert [(n, e["status"], e["stderr"]) for n, e in sorted(examples.items())] == [
        (n, 0, "") for n in sorted(examples)]
    assert examples["upper_echo.py"]["stdout"] == "HELLO\n"
    # Thread names: "Thread-2" up to 3.9, "Thread-2 (process_request_thread)" from 3.10.
    suffix = " (process_request_thread)" if sys.version_info >= (3, 10) else ""
    assert examples["threaded_echo.py"]["stdout"] == (
        "Thread-2%s: one\nThread-3%s: two\n" % (suffix, suffix))


def test_outputs_refuses_a_folder_without_examples(tmp_path):
    outputs = os.path.join(ROOT, "docs", "_tools", "outputs.py")
    proc = subprocess.Popen([sys.executable, outputs, "--out", str(tmp_path / "x.json"),
                             "--examples", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 2
    assert stderr.decode().strip().splitlines() == [
        "outputs.py: no examples (*.py) in %s" % tmp_path]
