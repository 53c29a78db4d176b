"""Plumbing shared by the ``bench_*.py`` scripts and the harness.

It implements the contract written in ``benchmarks/README.md``: the ``--quick``
argument, progress on stderr, and one JSON object on the last line of stdout,
checked before it is printed.  Runs on Python 2.7 and 3.6-3.13.

A bench script uses it as::

    import benchlib

    args = benchlib.parse_args("what this measures")
    report = benchlib.Report("server", quick=args.quick)
    report.result("shutdown_median", "stdlib", 251.3, "ms", target=("<=", 5))
    report.ratio("cpr_throughput", "compat", "stdlib", value=0.98, target=(">=", 0.95))
    report.skip("pool", "compatserver.ThreadPoolTCPServer does not exist yet")
    report.emit()

``validate()`` is what the harness and ``tests/test_bench_contract.py`` check
every script's output with.
"""
from __future__ import division, print_function

import argparse
import json
import math
import numbers
import os
import platform
import re
import sys
import threading
import time

UNITS = ("ms", "us", "s", "req/s", "MB", "KB", "count", "%", "x")
OPS = ("<=", "<", ">=", ">")
NAME_RE = re.compile(r"^[a-z0-9_]+$")
# impl and metric names: short, lowercase; impl names may carry a dash or a
# dot ("compat-pool", "http.server").
LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
# json.loads gives unicode on Python 2 and str on 3; both are text here.
TEXT = (str, type(u""))
REQUIRED = ("benchmark", "python", "quick", "results", "ratios")
OPTIONAL = ("setup", "skipped")

# time.perf_counter is the monotonic high-resolution clock on 3.3+; on 2.7
# time.time is the best there is (its resolution on Linux is 1 us).
clock = getattr(time, "perf_counter", time.time)


def parse_args(description, argv=None):
    """Parse the arguments every bench script takes (``--quick``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true",
        help="a run of a few seconds with small counts: checks the plumbing, "
             "the figures mean little")
    return parser.parse_args(argv)


def progress(message, *args):
    """Write one progress line on stderr (never stdout: stdout carries the JSON)."""
    if args:
        message = message % args
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def which(name):
    """The path of program *name* on ``PATH``, or None (2.7 has no shutil.which)."""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def communicate(proc, timeout):
    """``proc.communicate()``, killing *proc* if it has not ended after *timeout* seconds.

    Python 2.7's ``communicate()`` takes no timeout.  A killed process
    ends with ``returncode`` ``-9``.
    """
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        return proc.communicate()
    finally:
        timer.cancel()


def percentile(values, p):
    """Return the *p*-th percentile (0-100) of *values*, linearly interpolated.

    The same definition as ``numpy.percentile``'s default, so that figures
    can be checked against it.
    """
    if not values:
        raise ValueError("percentile of an empty list")
    if not 0 <= p <= 100:
        raise ValueError("percentile must be within 0 and 100, got %r" % (p,))
    data = sorted(values)
    k = (len(data) - 1) * (p / 100.0)
    lo = int(math.floor(k))
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def median(values):
    """Return the median of *values*."""
    return percentile(values, 50)


def median_interval(values, confidence=0.95):
    """An interval that holds the median of the distribution *values* come from: ``(low, high)``, or None.

    The sign test's interval, which assumes nothing of the distribution:
    each value lies above the median with probability 1/2, so the k-th
    smallest and the k-th largest of n values bracket it unless k-1 or fewer
    of them fall on one side, a binomial (n, 1/2) tail.  k is the largest
    for which both tails together are at most ``1 - confidence``.  None when
    there are too few values for any k (fewer than 6 at 0.95).
    """
    data = sorted(values)
    n = len(data)
    tail = (1.0 - confidence) / 2
    k = 0
    term = cumulative = 0.5 ** n  # P(X = 0), P(X <= 0)
    while cumulative <= tail and k < n // 2:
        k += 1
        term = term * (n - k + 1) / k  # P(X = k)
        cumulative += term
    if k == 0:
        return None
    return data[k - 1], data[n - k]


def _is_number(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and not (isinstance(value, float) and (math.isnan(value) or math.isinf(value))))


def _check_target(where, target, problems):
    if not (isinstance(target, (list, tuple)) and len(target) == 2
            and target[0] in OPS and _is_number(target[1])):
        problems.append("%s: target must be [op, number] with op in %s, got %r"
                        % (where, "/".join(OPS), target))


def validate(obj, name=None):
    """Return the list of ways *obj* breaks the contract (empty when it keeps it).

    *name*, when given, is the benchmark name the file name implies.
    """
    problems = []
    if not isinstance(obj, dict):
        return ["the output is not a JSON object but %s" % type(obj).__name__]
    for key in REQUIRED:
        if key not in obj:
            problems.append("missing key %r" % key)
    for key in sorted(set(obj) - set(REQUIRED) - set(OPTIONAL)):
        problems.append("unknown key %r" % key)
    bench = obj.get("benchmark")
    if "benchmark" in obj:
        if not (isinstance(bench, TEXT) and NAME_RE.match(bench)):
            problems.append("benchmark must match [a-z0-9_]+, got %r" % (bench,))
        elif name is not None and bench != name:
            problems.append("benchmark is %r but the script is bench_%s.py" % (bench, name))
    if "python" in obj and not (isinstance(obj["python"], TEXT)
                                and re.match(r"^\d+\.\d+\.\d+", obj["python"])):
        problems.append("python must be a version X.Y.Z, got %r" % (obj["python"],))
    if "quick" in obj and not isinstance(obj["quick"], bool):
        problems.append("quick must be true or false, got %r" % (obj["quick"],))
    if "setup" in obj:
        setup = obj["setup"]
        if not isinstance(setup, dict):
            problems.append("setup must be an object, got %r" % (setup,))
        else:
            for key, value in sorted(setup.items()):
                if not (isinstance(value, TEXT) or _is_number(value) or isinstance(value, bool)):
                    problems.append("setup[%r] must be a string or a number, got %r" % (key, value))
    seen = {}
    results = obj.get("results", [])
    if not isinstance(results, list):
        problems.append("results must be a list")
        results = []
    for i, r in enumerate(results):
        where = "results[%d]" % i
        if not isinstance(r, dict):
            problems.append("%s is not an object" % where)
            continue
        for key in sorted(set(r) - {"metric", "impl", "value", "unit", "target"}):
            problems.append("%s: unknown key %r" % (where, key))
        for key in ("metric", "impl"):
            if not (isinstance(r.get(key), TEXT) and LABEL_RE.match(r[key])):
                problems.append("%s: %s must be a short lowercase name, got %r"
                                % (where, key, r.get(key)))
        if not _is_number(r.get("value")):
            problems.append("%s: value must be a finite number, got %r" % (where, r.get("value")))
        if r.get("unit") not in UNITS:
            problems.append("%s: unit must be one of %s, got %r"
                            % (where, ", ".join(UNITS), r.get("unit")))
        if "target" in r:
            _check_target(where, r["target"], problems)
        pair = (r.get("metric"), r.get("impl"))
        if pair in seen:
            problems.append("%s: metric %r for impl %r already given in results[%d]"
                            % (where, pair[0], pair[1], seen[pair]))
        else:
            seen[pair] = i
    ratios = obj.get("ratios", [])
    if not isinstance(ratios, list):
        problems.append("ratios must be a list")
        ratios = []
    for i, r in enumerate(ratios):
        where = "ratios[%d]" % i
        if not isinstance(r, dict):
            problems.append("%s is not an object" % where)
            continue
        for key in sorted(set(r) - {"metric", "num", "den", "value", "target"}):
            problems.append("%s: unknown key %r" % (where, key))
        for key in ("metric", "num", "den"):
            if not (isinstance(r.get(key), TEXT) and LABEL_RE.match(r[key])):
                problems.append("%s: %s must be a short lowercase name, got %r"
                                % (where, key, r.get(key)))
        if not _is_number(r.get("value")):
            problems.append("%s: value must be a finite number, got %r" % (where, r.get("value")))
        if "target" in r:
            _check_target(where, r["target"], problems)
    skipped = obj.get("skipped", [])
    if not isinstance(skipped, list):
        problems.append("skipped must be a list")
        skipped = []
    for i, s in enumerate(skipped):
        where = "skipped[%d]" % i
        if not (isinstance(s, dict) and isinstance(s.get("impl"), TEXT)
                and isinstance(s.get("reason"), TEXT) and s["reason"].strip()):
            problems.append("%s must be {\"impl\": ..., \"reason\": ...} with a reason, got %r"
                            % (where, s))
        elif set(s) - {"impl", "reason", "metric"}:
            problems.append("%s: unknown key %r" % (where, sorted(set(s) - {"impl", "reason", "metric"})[0]))
    return problems


def meets(value, target):
    """Return whether *value* meets *target*, an ``[op, number]`` pair."""
    op, bound = target
    return {"<=": value <= bound, "<": value < bound,
            ">=": value >= bound, ">": value > bound}[op]


class Report(object):
    """The JSON object one run of a bench script prints."""

    def __init__(self, benchmark, quick):
        self.benchmark = benchmark
        self.quick = bool(quick)
        self.setup = {}
        self.results = []
        self.ratios = []
        self.skipped = []

    def result(self, metric, impl, value, unit, target=None):
        """Record one measured figure."""
        entry = {"metric": metric, "impl": impl, "value": value, "unit": unit}
        if target is not None:
            entry["target"] = list(target)
        self.results.append(entry)
        return entry

    def value(self, metric, impl):
        """Return the figure recorded for *metric* and *impl*."""
        for r in self.results:
            if r["metric"] == metric and r["impl"] == impl:
                return r["value"]
        raise KeyError("no result for metric %r impl %r" % (metric, impl))

    def ratio(self, metric, num, den, value=None, target=None):
        """Record the ratio *num* / *den* for *metric*.

        Without *value*, it is computed from the two recorded figures; pass
        *value* when it comes from paired rounds (the median of per-round
        ratios, say).
        """
        if value is None:
            value = self.value(metric, num) / self.value(metric, den)
        entry = {"metric": metric, "num": num, "den": den, "value": value}
        if target is not None:
            entry["target"] = list(target)
        self.ratios.append(entry)
        return entry

    def skip(self, impl, reason, metric=None):
        """Record that *impl* (for *metric*, or at all) could not be measured, and why."""
        entry = {"impl": impl, "reason": reason}
        if metric is not None:
            entry["metric"] = metric
        self.skipped.append(entry)
        progress("skipped %s%s: %s", impl, " (%s)" % metric if metric else "", reason)
        return entry

    def as_dict(self):
        obj = {"benchmark": self.benchmark, "python": platform.python_version(),
               "quick": self.quick, "results": self.results, "ratios": self.ratios}
        if self.setup:
            obj["setup"] = self.setup
        if self.skipped:
            obj["skipped"] = self.skipped
        return obj

    def emit(self, stream=None):
        """Check the report and print it as the last line of stdout.

        Raises ValueError, printing nothing, when the report breaks the contract.
        """
        obj = self.as_dict()
        problems = validate(obj, self.benchmark)
        if problems:
            raise ValueError("the report breaks the bench contract: " + "; ".join(problems))
        stream = sys.stdout if stream is None else stream
        stream.write(json.dumps(obj, sort_keys=False, allow_nan=False) + "\n")
        stream.flush()
