"""Every benchmarks/bench_*.py keeps the contract of benchmarks/README.md.

Each script runs with ``--quick`` under the running interpreter; the test
checks the shape of what it prints (one JSON object, the right names, every
implementation measured or skipped with a reason), never the figures, which
belong to ``make bench``.
"""
from __future__ import division

import json
import os
import platform
import subprocess
import sys
import threading

import pytest
from six.moves import StringIO

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(ROOT, "benchmarks")
sys.path.insert(0, BENCH_DIR)
import benchlib  # noqa: E402  (benchmarks/ is a directory of scripts, not a package)

SCRIPTS = sorted(f for f in os.listdir(BENCH_DIR) if f.startswith("bench_") and f.endswith(".py"))
RUN_TIMEOUT = 100  # --quick promises 15 s; a loaded two-core machine gets slack


_RUNS = {}


def run_script(filename, *args):
    """Run a bench script like the harness does; return (status, stdout, stderr).

    Each (script, arguments) runs once per test session: the quick runs
    take seconds and several tests read the same output.
    """
    key = (filename,) + args
    if key not in _RUNS:
        _RUNS[key] = _run_script(filename, *args)
    return _RUNS[key]


def _run_script(filename, *args):
    proc = subprocess.Popen([sys.executable, os.path.join(BENCH_DIR, filename)] + list(args),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(RUN_TIMEOUT, proc.kill)
    timer.start()
    try:
        out, err = proc.communicate()
    finally:
        timer.cancel()
    assert proc.returncode != -9, "%s %s did not finish in %d s" % (filename, args, RUN_TIMEOUT)
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8", "replace")


def good():
    return {"benchmark": "server", "python": "3.13.0", "quick": False,
            "setup": {"client": "separate process", "rounds": 7},
            "results": [{"metric": "shutdown_median", "impl": "stdlib", "value": 251.3,
                         "unit": "ms"},
                        {"metric": "shutdown_median", "impl": "compat", "value": 0.2,
                         "unit": "ms", "target": ["<=", 5]}],
            "ratios": [{"metric": "cpr_throughput", "num": "compat", "den": "stdlib",
                        "value": 0.98, "target": [">=", 0.95]}],
            "skipped": [{"impl": "pool", "reason": "does not exist yet"}]}


# -- benchlib -------------------------------------------------------------

def test_percentile_interpolates_like_numpy():
    assert benchlib.percentile([4, 1, 3, 2], 50) == 2.5
    assert benchlib.percentile([1, 2, 3, 4, 5], 99) == pytest.approx(4.96)
    assert benchlib.percentile([7], 99) == 7
    assert benchlib.median([3, 1, 2]) == 2
    with pytest.raises(ValueError, match="empty"):
        benchlib.percentile([], 50)
    with pytest.raises(ValueError, match="between|within"):
        benchlib.percentile([1], 101)


def _binomial_tail(n, k):
    # P(X <= k) for X ~ Binomial(n, 1/2), exactly, from factorials.
    from fractions import Fraction
    from math import factorial
    return sum(Fraction(factorial(n), factorial(i) * factorial(n - i)) for i in range(k + 1)) / 2 ** n


@pytest.mark.parametrize("n, ranks", [(6, (1, 6)), (10, (2, 9)), (20, (6, 15)), (27, (8, 20)), (61, (23, 39))])
def test_median_interval_is_the_sign_test_interval(n, ranks):
    # Values given out of order, so that the function sorts them.
    values = [float(v) for v in reversed(range(1, n + 1))]
    low, high = benchlib.median_interval(values)
    assert (low, high) == ranks
    # The ranks are the widest-but-one: k-1 values outside on a side keeps
    # the two tails within 5%, k does not.
    k = ranks[0]
    assert 2 * _binomial_tail(n, k - 1) <= 0.05 < 2 * _binomial_tail(n, k)


def test_median_interval_needs_six_values_at_95_percent():
    assert benchlib.median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert benchlib.median_interval([]) is None
    assert benchlib.median_interval([1.0, 2.0, 3.0, 4.0, 5.0], confidence=0.9) == (1.0, 5.0)


def test_validate_accepts_the_readme_example():
    assert benchlib.validate(good(), "server") == []
    # The same object after a JSON round trip (unicode strings on Python 2).
    assert benchlib.validate(json.loads(json.dumps(good())), "server") == []


@pytest.mark.parametrize("mutate, problem", [
    (lambda d: d.pop("ratios"), "missing key 'ratios'"),
    (lambda d: d.update(extra=1), "unknown key 'extra'"),
    (lambda d: d.update(benchmark="Server"), "benchmark must match [a-z0-9_]+, got 'Server'"),
    (lambda d: d.update(python="3"), "python must be a version X.Y.Z, got '3'"),
    (lambda d: d.update(quick="no"), "quick must be true or false, got 'no'"),
    (lambda d: d["results"][0].update(value=None),
     "results[0]: value must be a finite number, got None"),
    (lambda d: d["results"][0].update(value=float("nan")),
     "results[0]: value must be a finite number, got nan"),
    (lambda d: d["results"][0].update(value=True),
     "results[0]: value must be a finite number, got True"),
    (lambda d: d["results"][0].update(unit="msec"),
     "results[0]: unit must be one of ms, us, s, req/s, MB, KB, count, %, x, got 'msec'"),
    (lambda d: d["results"][1].update(target=["=<", 5]),
     "results[1]: target must be [op, number] with op in <=/</>=/>, got ['=<', 5]"),
    (lambda d: d["results"][1].update(impl="stdlib"),
     "results[1]: metric 'shutdown_median' for impl 'stdlib' already given in results[0]"),
    (lambda d: d["ratios"][0].pop("den"),
     "ratios[0]: den must be a short lowercase name, got None"),
    (lambda d: d["skipped"][0].update(reason=" "),
     "skipped[0] must be {\"impl\": ..., \"reason\": ...} with a reason, got "),
])
def test_validate_names_each_problem(mutate, problem):
    obj = good()
    mutate(obj)
    problems = benchlib.validate(obj, "server")
    assert len(problems) == 1
    assert problems[0].replace("u'", "'").startswith(problem)


def test_validate_checks_the_name_against_the_file():
    assert benchlib.validate(good(), "http") == [
        "benchmark is 'server' but the script is bench_http.py"]
    assert benchlib.validate([1], "server") == ["the output is not a JSON object but list"]


def test_report_computes_ratios_and_emits_one_line():
    report = benchlib.Report("demo", quick=True)
    report.result("throughput", "stdlib", 2000.0, "req/s")
    report.result("throughput", "compat", 1900.0, "req/s")
    assert report.ratio("throughput", "compat", "stdlib", target=(">=", 0.95))["value"] == 0.95
    report.skip("pool", "not there")
    stream = StringIO()
    report.emit(stream)
    text = stream.getvalue()
    assert text.count("\n") == 1
    obj = json.loads(text)
    assert obj["python"] == platform.python_version()
    assert obj["ratios"] == [{"metric": "throughput", "num": "compat", "den": "stdlib",
                              "value": 0.95, "target": [">=", 0.95]}]
    assert obj["skipped"] == [{"impl": "pool", "reason": "not there"}]
    assert benchlib.meets(0.95, obj["ratios"][0]["target"])
    assert not benchlib.meets(0.949, [">=", 0.95])


def test_report_refuses_to_print_a_broken_object():
    report = benchlib.Report("demo", quick=False)
    report.result("latency", "stdlib", float("inf"), "ms")
    stream = StringIO()
    with pytest.raises(ValueError, match=r"results\[0\]: value must be a finite number"):
        report.emit(stream)
    assert stream.getvalue() == ""


def test_communicate_returns_the_output_or_kills_at_the_timeout():
    proc = subprocess.Popen([sys.executable, "-c", "print('done')"], stdout=subprocess.PIPE)
    out, _ = benchlib.communicate(proc, 60)
    assert (out.strip(), proc.returncode) == (b"done", 0)
    started = benchlib.clock()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.PIPE)
    out, _ = benchlib.communicate(proc, 0.5)
    assert (out, proc.returncode) == (b"", -9)
    assert benchlib.clock() - started < 30


# -- every script ---------------------------------------------------------

def test_there_are_scripts():
    assert "bench_server.py" in SCRIPTS


@pytest.mark.parametrize("filename", SCRIPTS)
def test_quick_run_keeps_the_contract(filename):
    status, out, err = run_script(filename, "--quick")
    assert status == 0, err[-3000:]
    assert out.endswith("\n") and out.count("\n") == 1, "stdout must be one JSON line: %r" % out[:500]
    obj = json.loads(out)
    name = filename[len("bench_"):-len(".py")]
    assert benchlib.validate(obj, name) == []
    assert obj["benchmark"] == name
    assert obj["python"] == platform.python_version()
    assert obj["quick"] is True
    assert obj["results"] or obj.get("skipped"), "measured nothing and said nothing about why"


@pytest.mark.parametrize("filename", SCRIPTS)
def test_unknown_argument_is_a_usage_error(filename):
    status, out, err = run_script(filename, "--no-such-option")
    assert status == 2
    assert out == ""
    assert "usage:" in err and "--no-such-option" in err


def test_server_bench_measures_every_impl_or_says_why():
    status, out, err = run_script("bench_server.py", "--quick")
    assert status == 0, err[-3000:]
    obj = json.loads(out)
    measured = {}
    for r in obj["results"]:
        measured.setdefault(r["impl"], set()).add(r["metric"])
    skipped = {s["impl"] for s in obj.get("skipped", []) if "metric" not in s}
    traffic = {"cpr_throughput", "cpr_p50", "cpr_p99",
               "keepalive_throughput", "keepalive_p50", "keepalive_p99"}
    shutdown = {"shutdown_median", "shutdown_max",
                "shutdown_sigalrm_median", "shutdown_sigalrm_max", "shutdown_sigalrm_censored"}
    memory = {"threads_retained", "active_threads_growth", "rss_growth"}
    assert measured["raw"] == traffic
    assert measured["stdlib"] == traffic | shutdown | memory
    for impl, expected in (("compat", traffic | shutdown | memory), ("pool", traffic | shutdown)):
        assert (impl in skipped) != (impl in measured), (impl, sorted(skipped), sorted(measured))
        if impl in measured:
            assert measured[impl] == expected
    ratios = {(r["metric"], r["num"], r["den"]) for r in obj["ratios"]}
    assert ("cpr_throughput", "stdlib", "raw") in ratios
    if "compat" in measured:
        assert ("cpr_throughput", "compat", "stdlib") in ratios
    # shutdown() returned each time, and the sample counts are said.
    assert obj["setup"]["shutdown_samples_stdlib"] == 4
    assert all(r["value"] >= 0 for r in obj["results"] if r["metric"].startswith("shutdown"))
