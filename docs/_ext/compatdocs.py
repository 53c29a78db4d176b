"""The site's local Sphinx extension: measured pages and offline stdlib links.

``compat-matrix``
    The compatibility matrix, from the probe results that ``.ci/docs.sh``
    records under every interpreter (``docs/_tools/probes.py``, one JSON file
    per interpreter in :confval:`compatdocs_probe_dir`).

``bench-results``
    Plots (SVG, drawn by :func:`svgplot.bar_chart`) and tables of the JSON
    that ``make bench`` writes (:confval:`compatdocs_bench_results`).

Both register their input files as dependencies, so a new measurement
rebuilds the page, and turn a missing or malformed input into a warning that
names the directive and the file (an error under ``-W``).

Missing references to standard-library names (``socketserver.TCPServer``,
``threading.Thread``, ``OSError``) become links to docs.python.org: what
intersphinx would do, without fetching an inventory the build machine cannot
reach.
"""
import builtins
import io
import json
import math
import os
import re
import sys

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

import svgplot
from analysis.model import write_if_changed  # keeps mtimes, so no rebuild loop

logger = logging.getLogger(__name__)


def version_key(text):
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def short_version(text):
    return ".".join(text.split(".")[:2])


def group_versions(versions, keys):
    """Runs of consecutive interpreters with the same key: ``[("3.8-3.11", key)]``."""
    runs = []
    for v, k in zip(versions, keys):
        if runs and runs[-1][2] == k:
            runs[-1][1] = v
        else:
            runs.append([v, v, k])
    return [(a if a == b else "%s-%s" % (a, b), k) for a, b, k in runs]


def rst_escape(text):
    return re.sub(r"([\\`*_|])", r"\\\1", text)


def cell(lines):
    """A list-table cell: one line block per entry."""
    if not lines:
        return ["     -"]
    out = ["     - | " + lines[0]]
    out.extend("       | " + line for line in lines[1:])
    return out


def load_json(path):
    with io.open(path, encoding="utf-8") as f:
        return json.load(f)


def merge_reports(folder, files, note=lambda path: None):
    """One report per interpreter, from its files (``3.13.0.json``, ``3.13.0-timing.json``).

    The latency probes run separately, after the others, so each interpreter
    may have two files; their probes are merged back into PROBES order.
    """
    by_python = {}
    for name in files:
        path = os.path.join(folder, name)
        note(path)
        try:
            report = load_json(path)
            report["probes"][0]["stdlib"]["key"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise ValueError("%s is not a probe report: %s" % (path, e))
        merged = by_python.get(report["python"])
        if merged is None:
            by_python[report["python"]] = report
        else:
            merged["probes"] = merged["probes"] + report["probes"]
            merged["measured_at"] = max(merged["measured_at"], report["measured_at"])
    reports = sorted(by_python.values(), key=lambda r: version_key(r["python"]))
    for r in reports:
        r["probes"].sort(key=lambda p: p.get("order", 0))
    return reports


def note_recording(env, folder):
    """Make the document being read depend on the recording that filled *folder*.

    Sphinx 9 takes a folder given to ``note_dependency()`` for a missing
    file and reads the document again on every build (the matrix and the
    walkthrough were read again by each no-change ``make docs``).  ``make
    docs`` rewrites its stamp, ``docs/_generated/.inputs``, whenever it
    records, an interpreter added or gone included: that file stands for
    the folder.
    """
    stamp = os.path.join(os.path.dirname(os.path.normpath(folder)), ".inputs")
    if os.path.isfile(stamp):
        env.note_dependency(stamp)


def parse(directive, lines):
    """Parse generated reST, section titles included, in place of the directive."""
    node = nodes.Element()
    source = directive.get_source_info()[0]
    nested_parse_with_titles(directive.state, StringList(lines, source=source), node,
                             directive.content_offset)
    return node.children


class CompatMatrix(SphinxDirective):
    """``.. compat-matrix::`` with the option ``:details:`` to add the per-probe tables."""

    has_content = False
    option_spec = {"details": directives.flag}

    FAILED = ("probe error", "cannot import", "hang")

    def warn(self, message):
        logger.warning("compat-matrix: %s", message, location=self.get_location())
        return []

    def run(self):
        folder = self.config.compatdocs_probe_dir
        if not os.path.isdir(folder):
            return self.warn("no probe results: %s does not exist (run `make docs`)" % folder)
        # The recording too: an interpreter added since the last build adds a file.
        note_recording(self.env, folder)
        files = sorted(f for f in os.listdir(folder) if f.endswith(".json"))
        if not files:
            return self.warn("no probe results in %s (run `make docs`)" % folder)
        try:
            reports = merge_reports(folder, files, self.env.note_dependency)
        except (ValueError, KeyError, IndexError, TypeError) as e:
            return self.warn(str(e))
        versions = [short_version(r["python"]) for r in reports]
        ids = [p["id"] for p in reports[0]["probes"]]
        for r in reports[1:]:
            if [p["id"] for p in r["probes"]] != ids:
                return self.warn("probe reports list different probes (%s vs %s): "
                                 "re-run the probes" % (reports[0]["python"], r["python"]))
        lines = self.summary(reports, versions, ids)
        if "details" in self.options:
            lines += self.details(reports, versions, ids)
        return parse(self, lines)

    def summary(self, reports, versions, ids):
        stamps = sorted(r["measured_at"] for r in reports)
        lines = [
            "Measured %s to %s on %s, %s (%s), by ``docs/_tools/probes.py``."
            % (stamps[0], stamps[-1], reports[0]["implementation"],
               reports[0]["platform"], reports[0]["machine"]),
            "Interpreters: %s." % ", ".join(r["python"] for r in reports),
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :class: compat-summary",
            "   :widths: 30 30 30 10",
            "",
            "   * - behaviour",
            "     - stdlib",
            "     - compatserver",
            "     - compatserver the same everywhere",
        ]
        for i, ident in enumerate(ids):
            probe = reports[0]["probes"][i]
            std = [r["probes"][i]["stdlib"]["key"] for r in reports]
            cmp_ = [r["probes"][i]["compatserver"]["key"] for r in reports]
            same = len(set(cmp_)) == 1 and not any(k in self.FAILED for k in cmp_)
            lines.append("   * - :ref:`%s <probe-%s>`" % (rst_escape_title(probe["title"]), ident))
            lines += cell(["%s: %s" % (v, rst_escape(k)) for v, k in group_versions(versions, std)])
            lines += cell(["%s: %s" % (v, rst_escape(k)) for v, k in group_versions(versions, cmp_)])
            lines.append("     - %s" % ("yes" if same else "**no**"))
        lines.append("")
        return lines

    def details(self, reports, versions, ids):
        lines = ["", "Every measurement", "-----------------", ""]
        for i, ident in enumerate(ids):
            probe = reports[0]["probes"][i]
            title = probe["title"]
            lines += [".. _probe-%s:" % ident, "", title, "~" * (len(title) + 4), "",
                      rst_escape(probe["doc"]), "",
                      ".. list-table::", "   :header-rows: 1", "   :widths: 10 45 45",
                      "   :class: compat-details", "",
                      "   * - Python", "     - stdlib", "     - compatserver"]
            for r in reports:
                p = r["probes"][i]
                lines.append("   * - %s" % r["python"])
                for which in ("stdlib", "compatserver"):
                    lines.append("     - %s" % rst_escape(p[which]["text"]))
            lines.append("")
        return lines


# -- the narrative walkthrough: measured behaviour and recorded outputs ----------

def _series_tuple(series):
    return tuple(int(p) for p in series.split("."))


def _consecutive(previous, current):
    """Whether *current* is the minor release right after *previous* (3.6 -> 3.7)."""
    a, b = _series_tuple(previous), _series_tuple(current)
    return a[0] == b[0] and b[1] == a[1] + 1


def behaviour_notes(versions, outcomes, upstream=()):
    """What a probe measured on each interpreter, newest first, changes marked.

    *versions* are series (``"2.7"``, ``"3.13"``), oldest first, *outcomes*
    the ``(key, text)`` measured on each (runs are grouped by key and show
    the text of their newest interpreter), *upstream* ``[(version, issue)]``.  Returns reST
    bullet lines: one per run of consecutive interpreters with the same
    outcome, the newest run first; a run that starts right after the
    previous release (3.6 -> 3.7) reads "Changed in 3.7", with the issues
    that *upstream* dates in between; other runs read "On 2.7".
    """
    runs = []
    for version, (key, text) in zip(versions, outcomes):
        # Same outcome: same key and the same words once figures are masked
        # (0.46 s and 0.48 s are one outcome; ``str`` and ``bytes`` are not).
        key = (key, re.sub(r"\d+(\.\d+)?", "N", text))
        if runs and runs[-1][3] == key:
            runs[-1][1], runs[-1][2] = version, text
        else:
            runs.append([version, version, text, key])
    previous = None
    described = []
    for first, last, text, _ in runs:
        span = first if first == last else "%s-%s" % (first, last)
        issues = [issue for since, issue in upstream
                  if (previous is None or _series_tuple(previous) < _series_tuple(since))
                  and _series_tuple(since) <= _series_tuple(first)]
        cite = ", ".join(issues)
        if previous is not None and _consecutive(previous, first):
            head = "Changed in %s%s" % (first, " (%s)" % cite if cite else "")
            head += "" if first == last else ", on %s" % span
        else:
            head = "On %s" % span
            if cite and previous is not None:
                since = [s for s, i in upstream if i in issues]
                head += " (%s, since %s)" % (cite, ", ".join(sorted(set(since))))
        described.append("- %s: %s" % (head, rst_escape(text)))
        previous = last
    described.reverse()
    return described


def example_output_blocks(outputs, newest):
    """reST for the recorded output of one example: shown once, differences marked.

    *outputs* is ``[(series, stdout)]`` oldest first.  The newest output
    is shown in full; each other group of interpreters with a different
    output gets the lines that differ, with their line numbers.
    """
    groups = []
    for version, text in outputs:
        for group in groups:
            if group[1] == text:
                group[0].append(version)
                break
        else:
            groups.append(([version], text))
    versions = [v for v, _ in outputs]
    newest_text = dict(outputs)[newest]
    same = [g for g in groups if g[1] == newest_text][0][0]

    def label(chosen):
        return _label(versions, chosen)

    lines = [".. code-block:: text", "   :caption: Output on %s (recorded when this site was built)"
             % label(same), ""]
    lines += ["   " + line for line in newest_text.splitlines()] or ["   (nothing)"]
    lines.append("")
    base = newest_text.splitlines()
    for vs, text in groups:
        if text == newest_text:
            continue
        other = text.splitlines()
        changed = [(n, line) for n, line in enumerate(other, 1)
                   if n > len(base) or base[n - 1] != line]
        dropped = len(base) - len(other) if len(base) > len(other) else 0
        lines.append("On %s the output differs%s:" % (
            label(vs), "" if not dropped else " (%d line(s) fewer)" % dropped))
        lines += ["", ".. code-block:: text", ""]
        lines += ["   line %d: %s" % (n, line) for n, line in changed] or ["   (no other line)"]
        lines.append("")
    return lines


def _label(versions, chosen):
    runs = [v for v, keep in group_versions(versions, [v in chosen for v in versions]) if keep]
    return ", ".join(runs[:-1]) + (" and " if len(runs) > 1 else "") + runs[-1]


class _GeneratedInput(SphinxDirective):
    def warn(self, message):
        logger.warning("%s: %s", self.name, message, location=self.get_location())
        return []


class ProbeNotes(_GeneratedInput):
    """``.. probe-notes:: ID [ID ...]``: what the stdlib did on each interpreter.

    The probes' recorded outcomes for the interpreter's own ``socketserver``
    (the compatibility matrix's "stdlib" column) as a short list per probe,
    newest interpreter first, each change with the upstream issue the probe
    names.
    """

    required_arguments = 1
    optional_arguments = 20

    def run(self):
        folder = self.config.compatdocs_probe_dir
        if not os.path.isdir(folder):
            return self.warn("no probe results: %s does not exist (run `make docs`)" % folder)
        note_recording(self.env, folder)
        files = sorted(f for f in os.listdir(folder) if f.endswith(".json"))
        try:
            reports = merge_reports(folder, files, self.env.note_dependency)
        except (ValueError, KeyError, IndexError, TypeError) as e:
            return self.warn(str(e))
        if not reports:
            return self.warn("no probe results in %s (run `make docs`)" % folder)
        versions = [short_version(r["python"]) for r in reports]
        lines = []
        for ident in self.arguments:
            found = [[p for p in r["probes"] if p["id"] == ident] for r in reports]
            if not all(found):
                return self.warn("no probe %r in every report of %s" % (ident, folder))
            probes = [f[0] for f in found]
            title = probes[-1]["title"]
            lines += ["%s. *Measured:* %s" % (title, rst_escape(probes[-1]["doc"])), ""]
            lines += behaviour_notes(versions, [(p["stdlib"]["key"], p["stdlib"]["text"])
                                                for p in probes],
                                     [tuple(u) for u in probes[-1].get("upstream", [])])
            lines.append("")
        box = nodes.container(classes=["compat-behaviour"])
        box.extend(parse(self, lines))
        return [box]


class ExampleOutput(_GeneratedInput):
    """``.. example-output:: NAME.py``: what the example printed, per interpreter.

    Reads the files ``docs/_tools/outputs.py`` writes under every
    interpreter (:confval:`compatdocs_output_dir`); a run that failed is a
    warning (an error under ``-W``), not a page that shows a wrong output.
    """

    required_arguments = 1

    def run(self):
        folder = self.config.compatdocs_output_dir
        if not os.path.isdir(folder):
            return self.warn("no recorded outputs: %s does not exist (run `make docs`)" % folder)
        note_recording(self.env, folder)
        name = self.arguments[0]
        outputs = []
        for file in sorted((f for f in os.listdir(folder) if f.endswith(".json")), key=version_key):
            path = os.path.join(folder, file)
            self.env.note_dependency(path)
            try:
                report = load_json(path)
                result = report["examples"][name]
                status, stdout = result["status"], result["stdout"]
            except (ValueError, KeyError, TypeError) as e:
                return self.warn("%s has no recorded output of %s (%s)" % (path, name, e))
            if status != 0 or result.get("stderr"):
                # A traceback on stderr is a broken example even when it exits 0.
                return self.warn("%s exited with status %s on Python %s: %s" % (
                    name, status, report["python"], result.get("stderr", "")[-300:]))
            outputs.append((short_version(report["python"]), stdout))
        if not outputs:
            return self.warn("no recorded outputs in %s (run `make docs`)" % folder)
        return parse(self, example_output_blocks(outputs, outputs[-1][0]))


class WalkthroughAppendices(SphinxDirective):
    """``.. walkthrough-appendices::``: links to the per-interpreter pages.

    The pages ``X.Y`` next to the document (generated by
    ``analysis.sphinxext``), newest first, as plain links: they are
    reference appendices, ``:orphan:``, outside the toctree and so outside
    the reader's Previous / Next chain.
    """

    def run(self):
        folder = self.env.docname.rpartition("/")[0]
        prefix = folder + "/" if folder else ""
        pages = [d[len(prefix):] for d in self.env.found_docs
                 if d.startswith(prefix) and re.match(r"^\d+\.\d+$", d[len(prefix):])]
        if not pages:
            logger.warning("walkthrough-appendices: no per-interpreter pages next to %s",
                           self.env.docname, location=self.get_location())
            return []
        pages.sort(key=version_key, reverse=True)
        return parse(self, [", ".join(":doc:`Python %s <%s>`" % (p, p) for p in pages) + "."])


def rst_escape_title(title):
    """A title as the text of a :ref: (no inline markup allowed there)."""
    return title.replace("``", "").replace("<", "\\<").replace(">", "\\>")


# -- benchmarks --------------------------------------------------------------

IMPL_ORDER = ["stdlib", "compat", "pool", "raw"]

#: The benchmarks page speaks the reader's words: what each measurement is,
#: not the JSON's key (a key missing here is shown with spaces for
#: underscores, so a new metric still renders).
METRIC_WORDS = {
    "shutdown_median": "shutdown() latency, median",
    "shutdown_max": "shutdown() latency, worst",
    "shutdown_sigalrm_median": "shutdown() latency under a signal every 10 ms, median",
    "shutdown_sigalrm_max": "shutdown() latency under a signal every 10 ms, worst",
    "shutdown_sigalrm_censored": "shutdown() calls under signals that had not returned after 5 s",
    "cpr_throughput": "Throughput, one connection per request",
    "cpr_p50": "Latency, one connection per request, median",
    "cpr_p99": "Latency, one connection per request, 99th percentile",
    "keepalive_throughput": "Throughput, many requests on one connection",
    "keepalive_p50": "Latency, many requests on one connection, median",
    "keepalive_p99": "Latency, many requests on one connection, 99th percentile",
    "threads_retained": "Finished Thread objects the server still holds after 5000 requests",
    "active_threads_growth": "Growth of the live thread count after 5000 requests",
    "rss_growth": "Growth of the process's memory (RSS) after 5000 requests",
    "http_close_throughput": "HTTP throughput, a new connection per request",
    "http_close_p50": "HTTP latency, a new connection per request, median",
    "http_close_p99": "HTTP latency, a new connection per request, 99th percentile",
    "http_close_bad_responses": "HTTP responses that were wrong, a new connection per request",
    "http_close_socket_errors": "Socket errors the HTTP client saw, a new connection per request",
    "http_keepalive_throughput": "HTTP throughput, persistent connections",
    "http_keepalive_p50": "HTTP latency, persistent connections, median",
    "http_keepalive_p99": "HTTP latency, persistent connections, 99th percentile",
    "http_keepalive_bad_responses": "HTTP responses that were wrong, persistent connections",
    "http_keepalive_socket_errors": "Socket errors the HTTP client saw, persistent connections",
    "silent_cpr_throughput": "Throughput of a working client while 1000 silent connections "
                             "stay open",
    "parked_memory": "Memory per silent connection held by the pool",
    "echo_2000_wall": "Time to serve 2000 requests (wall clock)",
    "echo_2000_wall_median": "Time to serve 2000 requests (wall clock), median",
    "echo_2000_wall_1cpu": "Time to serve 2000 requests pinned to one CPU (wall clock)",
    "echo_2000_wall_1cpu_median": "Time to serve 2000 requests pinned to one CPU (wall clock), median",
    "echo_2000_wall_1cpu_paired": "Time to serve 2000 requests pinned to one CPU, "
                                  "median of the ratios of rounds run side by side",
    "echo_2000_wall_1cpu_paired_low": "Time to serve 2000 requests pinned to one CPU, "
                                      "low end of the 95% interval of that median",
    "echo_2000_wall_1cpu_paired_high": "Time to serve 2000 requests pinned to one CPU, "
                                       "high end of the 95% interval of that median",
    "echo_2000_cpu": "CPU time to serve 2000 requests",
    "calls_per_request": "Calls traced per request",
}

#: Each benchmark script, as a section title.
BENCH_WORDS = {
    "server": "Plain TCP servers: shutdown, throughput, memory",
    "http": "HTTP servers under load",
    "hostile": "A public port: connections that send nothing",
    "trace": "What tracing a server costs",
}

#: Implementations, as the plots' legends name them.
IMPL_WORDS = {
    "stdlib": "the interpreter's socketserver",
    "compat": "compatserver, same class",
    "pool": "compatserver's thread pool",
    "pool_silent": "the pool, with 1000 silent connections open",
    "raw": "a bare accept/recv/send loop",
    "untraced": "not traced",
    "analysis": "traced by this project's tracer",
    "analysis-settrace": "this project's tracer on sys.settrace",
    "analysis-monitoring": "this project's tracer on sys.monitoring",
    "floor": "an empty trace hook",
    "viztracer": "viztracer, recording every thread",
    "viztracer-files": "viztracer filtered to the same files (records the main thread only)",
}

#: Setup entries worth a reader's sentence (others are in results.json).
SETUP_WORDS = {
    "client": "client: %s",
    "workload": "workload: %s",
    "rounds": "%s interleaved rounds",
    "cpr_rounds": "%s interleaved rounds of connection-per-request traffic",
    "cpr_requests_per_round": "%s requests per round",
    "keepalive_requests_per_round": "%s requests per round on one connection",
    "requests_per_round": "%s requests per round",
    "requests": "%s requests",
    "seconds_per_run": "%s s per load run",
    "pool_size": "a pool of %s worker threads",
    "body_bytes": "a %s-byte response body",
    "silent_connections": "%s connections that never send anything",
    "memory_requests": "%s requests before the memory is read",
    "shutdown_poll_interval_s": "the stdlib's poll interval of %s s",
    "analysis_hook": "trace hook: %s",
    "round_process": "%s",
    "cpus": "on %s",
    "floor_hook": "the empty hook on %s",
    "paired_rounds": "%s pairs of rounds run side by side for the median ratio",
}


def metric_words(metric):
    return METRIC_WORDS.get(metric, metric.replace("_", " "))


def impl_words(impl):
    return IMPL_WORDS.get(impl, impl.replace("_", " "))


def setup_words(setup):
    """The setup entries of :data:`SETUP_WORDS`, as one sentence's parts."""
    return [SETUP_WORDS[key] % setup[key] for key in sorted(setup) if key in SETUP_WORDS]


def bench_runs(data):
    """The reports of the runs that succeeded, each with its run's metadata.

    ``data`` is what ``benchmarks/run.py`` writes (see benchmarks/README.md):
    ``{"generated", "machine", "runs": [{"status", "output", "date", ...}]}``.
    """
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ValueError("expected an object with a 'runs' list (benchmarks/README.md)")
    reports = []
    for run in data["runs"]:
        if run.get("status", "ok") != "ok" or not run.get("output"):
            continue
        report = dict(run["output"])
        report["_run"] = run
        reports.append(report)
    return reports


def describe_machine(data):
    m = data.get("machine") or {}
    parts = []
    if m.get("cpu"):
        parts.append("%s CPU" % m["cpu"])
    if m.get("cores"):
        parts.append("%s cores" % m["cores"])
    if m.get("memory_gb"):
        parts.append("%s GB" % m["memory_gb"])
    if m.get("system"):
        parts.append("%s %s %s" % (m["system"], m.get("kernel", ""), m.get("arch", "")))
    return ", ".join(p.strip() for p in parts)


class BenchResults(SphinxDirective):
    """``.. bench-results::``: every metric of ``make bench`` as a plot and a table."""

    has_content = False

    def warn(self, message):
        logger.warning("bench-results: %s", message, location=self.get_location())
        return []

    def run(self):
        path = self.config.compatdocs_bench_results
        self.env.note_dependency(path)
        if not os.path.exists(path):
            return self.warn("%s does not exist: run `make bench` first" % path)
        try:
            data = load_json(path)
            runs = bench_runs(data)
            for r in runs:
                r["benchmark"], r["python"], r["results"]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            return self.warn("%s is not a benchmark results file: %s" % (path, e))
        if data.get("quick"):
            return self.warn("%s is a --quick run (a plumbing check, not a measurement)" % path)
        if not runs:
            return self.warn("%s has no successful run" % path)
        failed = [r for r in data["runs"] if r.get("status", "ok") != "ok"]
        outdir = os.path.join(self.env.srcdir, "_generated", "bench")
        os.makedirs(outdir, exist_ok=True)
        docdir = os.path.dirname(self.env.doc2path(self.env.docname))
        lines = [
            "Measured on one machine (%s); the file was written %s."
            % (describe_machine(data) or "not described", data.get("generated", "(no date)")),
        ]
        if data.get("load_at_start"):
            lines[-1] += (" The machine's load average (1, 5 and 15 minutes) when the run "
                          "started: %s; each interpreter's own start and load are in the "
                          "tables below." % ", ".join("%.2f" % x for x in data["load_at_start"]))
        lines.append("")
        for r in failed:
            lines += ["- Failed run: ``bench_%s.py`` under %s (%s)."
                      % (r.get("benchmark", "?"), r.get("python") or r.get("env", "?"), r.get("status")), ""]
        for bench in sorted(set(r["benchmark"] for r in runs)):
            lines += self.benchmark(bench, [r for r in runs if r["benchmark"] == bench], outdir, docdir)
        return parse(self, lines)

    def benchmark(self, bench, runs, outdir, docdir):
        runs.sort(key=lambda r: version_key(r["python"]))
        pythons = [short_version(r["python"]) for r in runs]
        title = "%s (``bench_%s.py``)" % (BENCH_WORDS.get(bench, bench), bench)
        lines = [title, "-" * (len(title) + 2), ""]
        setups = [r.get("setup") for r in runs if r.get("setup")]
        if setups and setup_words(setups[-1]):
            lines += ["Setup: %s." % rst_escape("; ".join(setup_words(setups[-1]))), ""]
        lines += [".. list-table:: When each interpreter's run was made",
                  "   :header-rows: 1", "   :class: bench-table", "",
                  "   * - Python", "     - started", "     - duration", "     - load before (1, 5, 15 min)"]
        for r in runs:
            run = r["_run"]
            lines += ["   * - %s" % r["python"], "     - %s" % run.get("date", ""),
                      "     - %s" % ("%.0f s" % run["duration_s"] if "duration_s" in run else ""),
                      "     - %s" % ", ".join("%.2f" % x for x in run.get("load_before") or [])]
        lines.append("")
        metrics = []
        for r in runs:
            for res in r["results"]:
                if res["metric"] not in metrics:
                    metrics.append(res["metric"])
        for metric in metrics:
            values, unit, target = {}, None, None
            for r, py in zip(runs, pythons):
                for res in r["results"]:
                    if res["metric"] == metric and _finite(res["value"]):
                        values[(py, res["impl"])] = float(res["value"])
                        unit = res["unit"]
                        target = res.get("target") or target
            if not values:
                continue
            impls = sorted(set(i for _, i in values), key=lambda i: (
                IMPL_ORDER.index(i) if i in IMPL_ORDER else len(IMPL_ORDER), i))
            ref = (float(target[1]), "goal %s %s %s" % (target[0], target[1], unit)) if target else None
            svg = svgplot.bar_chart("%s (%s)" % (metric_words(metric), unit), pythons,
                                    [impl_words(i) for i in impls],
                                    dict(((py, impl_words(i)), v) for (py, i), v in values.items()),
                                    unit, reference=ref)
            name = "%s-%s.svg" % (bench, re.sub(r"[^a-z0-9_]+", "_", metric.lower()))
            write_if_changed(os.path.join(outdir, name), svg)
            rel = os.path.relpath(os.path.join(outdir, name), os.path.join(self.env.srcdir, docdir))
            heading = "%s (%s)" % (rst_escape(metric_words(metric)), unit)
            lines += [heading, "~" * len(heading), "",
                      ".. image:: %s" % rel.replace(os.sep, "/"),
                      "   :alt: %s, %s per interpreter and implementation" % (
                          metric_words(metric), unit),
                      "   :class: bench-plot", ""]
            lines += [".. list-table::", "   :header-rows: 1", "   :class: bench-table", "",
                      "   * - Python"] + ["     - %s" % impl_words(i) for i in impls]
            for py in pythons:
                lines.append("   * - %s" % py)
                for i in impls:
                    v = values.get((py, i))
                    lines.append("     - %s" % (svgplot._fmt(v) if v is not None else "not measured"))
            lines.append("")
        ratios = [(py, ra) for r, py in zip(runs, pythons) for ra in r.get("ratios", [])]
        for metric in sorted(set(ra["metric"] for _, ra in ratios)):
            values = {}
            pairs = []
            for py, ra in ratios:
                if ra["metric"] == metric and _finite(ra["value"]):
                    pair = "%s / %s" % (impl_words(ra["num"]), impl_words(ra["den"]))
                    values[(py, pair)] = float(ra["value"])
                    if pair not in pairs:
                        pairs.append(pair)
            if not values:
                continue
            svg = svgplot.bar_chart("%s: ratios from the same interleaved run" % metric_words(metric),
                                    pythons, pairs, values, "x", reference=(1.0, "1.0: equal"))
            name = "%s-%s-ratios.svg" % (bench, re.sub(r"[^a-z0-9_]+", "_", metric.lower()))
            write_if_changed(os.path.join(outdir, name), svg)
            rel = os.path.relpath(os.path.join(outdir, name), os.path.join(self.env.srcdir, docdir))
            heading = "%s: ratios" % rst_escape(metric_words(metric))
            lines += [heading, "~" * len(heading), "",
                      ".. image:: %s" % rel.replace(os.sep, "/"),
                      "   :alt: %s, ratios per interpreter" % metric_words(metric),
                      "   :class: bench-plot", ""]
        if ratios:
            lines += ["Ratios (same interleaved run)", "~" * 29, "",
                      ".. list-table::", "   :header-rows: 1", "   :class: bench-table", "",
                      "   * - Python", "     - measurement", "     - ratio", "     - value",
                      "     - goal"]
            for py, ra in ratios:
                t = ra.get("target")
                lines += ["   * - %s" % py, "     - %s" % rst_escape(metric_words(ra["metric"])),
                          "     - %s / %s" % (impl_words(ra["num"]), impl_words(ra["den"])),
                          "     - %.2f" % ra["value"],
                          "     - %s" % ("%s %s (%s)" % (t[0], t[1], "ok" if _meets(ra["value"], t) else "MISSED")
                                         if t else "")]
            lines.append("")
        skipped = [(py, s) for r, py in zip(runs, pythons) for s in r.get("skipped", [])]
        if skipped:
            lines += ["Not measured:", ""]
            lines += ["- %s, %s%s: %s" % (py, impl_words(s["impl"]),
                                          (", " + metric_words(s["metric"])) if s.get("metric") else "",
                                          rst_escape(s["reason"])) for py, s in skipped]
            lines.append("")
        return lines


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _meets(value, target):
    op, bound = target
    return {"<=": value <= bound, "<": value < bound, ">=": value >= bound, ">": value > bound}[op]


# -- offline links to the standard library -----------------------------------

STDLIB_MODULES = {
    "socketserver", "SocketServer", "socket", "select", "selectors", "threading", "signal",
    "logging", "io", "os", "errno", "sys", "http", "queue", "time", "subprocess", "codecs",
    "xmlrpc", "wsgiref", "pydoc", "warnings",
}
#: Names whose page is a dotted module of its own.
STDLIB_PAGES = ("http.server", "xmlrpc.server", "xmlrpc.client")
BUILTIN_TYPES = {"int", "float", "str", "bytes", "bool", "object", "type", "list", "tuple",
                 "dict", "set", "None", "unicode"}
DOCS = "https://docs.python.org/3/library/"


def stdlib_url(target):
    """The docs.python.org URL of a standard-library name, or None."""
    head = target.split(".")[0]
    if head in BUILTIN_TYPES:
        if target == "None":
            return DOCS + "constants.html#None"
        if target == "unicode":
            return "https://docs.python.org/2.7/library/functions.html#unicode"
        if "." in target:
            return DOCS + "stdtypes.html#" + target
        return DOCS + "functions.html#" + target
    obj = getattr(builtins, target, None)
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return DOCS + "exceptions.html#" + target
    if head in STDLIB_MODULES:
        if head == "SocketServer":
            return "https://docs.python.org/2.7/library/socketserver.html#" + target
        page = next((p for p in STDLIB_PAGES if target.startswith(p + ".")), head)
        return DOCS + page + ".html#" + target
    return None


def _owner_of(target, context):
    """The class and method a reference names, for compatserver's classes.

    ``compatserver.BaseServer.serve_forever``, or ``serve_forever`` in the
    docstring of a compatserver class (*context*), or
    ``BaseHTTPRequestHandler.end_headers`` in a compatserver module's
    docstring: ``(cls, "serve_forever")``, or None.
    """
    import importlib

    if target.startswith("compatserver."):
        dotted = target
    elif context and context.startswith("compatserver."):
        dotted = context + "." + target
    else:
        return None
    # The longest importable module prefix, then the class below it.
    parts = dotted.split(".")
    for cut in range(len(parts) - 2, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        names = parts[cut:]
        if len(names) != 2:
            return None
        cls = getattr(module, names[0], None)
        if isinstance(cls, type) and hasattr(cls, names[1]):
            return cls, names[1]
        return None
    return None


def supplier_of(cls, name):
    """The class in ``cls.__mro__`` whose own namespace defines *name*."""
    return next((k for k in cls.__mro__ if name in vars(k)), None)


def inherited_stdlib_url(target, context):
    """A compatserver member inherited unchanged from the stdlib, as its stdlib URL.

    ``:meth:`handle_timeout``` in the docstring of ``compatserver.BaseServer``
    names ``socketserver.BaseServer.handle_timeout``, which compatserver does
    not override: link to the stdlib's documentation of it.  The same for
    ``http.server``, ``xmlrpc.server`` and ``wsgiref`` members under
    ``compatserver.http`` and its siblings.
    """
    found = _owner_of(target, context)
    if found is None:
        return None
    klass = supplier_of(*found)
    module = klass.__module__
    if module in ("socketserver", "SocketServer"):
        return DOCS + "socketserver.html#socketserver.%s.%s" % (klass.__name__, found[1])
    if module.split(".")[0] in STDLIB_MODULES:
        return stdlib_url("%s.%s.%s" % (module, klass.__name__, found[1]))
    return None


def _documented_supplier(target, context):
    """``compatserver.LoopMixIn.serve_forever`` for ``compatserver.BaseServer.serve_forever``.

    A method that a compatserver class inherits from another compatserver
    class is documented once, on the class that defines it.
    """
    import compatserver

    found = _owner_of(target, context)
    if found is None:
        return None
    klass = supplier_of(*found)
    for module_name, module in (("compatserver", compatserver),
                                (klass.__module__, sys.modules.get(klass.__module__))):
        if module is not None and getattr(module, klass.__name__, None) is klass:
            return "%s.%s.%s" % (module_name, klass.__name__, found[1])
    return None


def resolve_stdlib(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    context = None
    if node.get("py:class"):
        context = "%s.%s" % (node.get("py:module") or "", node.get("py:class"))
        context = context.lstrip(".")
    elif node.get("py:module"):
        context = node.get("py:module")
    domain = env.domains["py"] if hasattr(env.domains, "__getitem__") else env.get_domain("py")
    documented = _documented_supplier(target, context)
    if documented is not None and documented != target:
        found = domain.resolve_xref(env, node.get("refdoc"), app.builder, node.get("reftype"),
                                    documented, node, contnode)
        if found is not None:
            return found
    url = stdlib_url(target) or inherited_stdlib_url(target, context)
    if url is None and context and "." not in target and "MixIn" in context:
        # A mix-in's docstring names a method of the server it is mixed
        # into (``:meth:`handle_error``` in ThreadingMixIn): BaseServer's.
        return resolve_stdlib_in(app, env, node, contnode, domain, target)
    if url is None:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url, reftitle="(in the Python documentation)")
    ref.append(contnode)
    return ref


def resolve_stdlib_in(app, env, node, contnode, domain, target):
    """A method of BaseServer named from a mix-in's docstring."""
    for name in ("compatserver.BaseServer." + target, _documented_supplier(
            "compatserver.BaseServer." + target, None)):
        if name:
            found = domain.resolve_xref(env, node.get("refdoc"), app.builder,
                                        node.get("reftype"), name, node, contnode)
            if found is not None:
                return found
    url = inherited_stdlib_url(target, "compatserver.BaseServer")
    if url is None:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url, reftitle="(in the Python documentation)")
    ref.append(contnode)
    return ref


def setup(app):
    app.add_config_value("compatdocs_probe_dir", "_generated/probes", "env")
    app.add_config_value("compatdocs_bench_results", "../benchmarks/results.json", "env")
    app.add_directive("compat-matrix", CompatMatrix)
    app.add_directive("bench-results", BenchResults)
    app.add_config_value("compatdocs_output_dir", "_generated/outputs", "env")
    app.add_directive("probe-notes", ProbeNotes)
    app.add_directive("example-output", ExampleOutput)
    app.add_directive("walkthrough-appendices", WalkthroughAppendices)
    app.connect("missing-reference", resolve_stdlib)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
