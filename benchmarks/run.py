#!/usr/bin/env python3
"""Run every ``benchmarks/bench_*.py`` under every interpreter present.

This is ``make bench``.  The runs go one at a time (the machine has two cores
and a benchmark must not share them with another), each under the
interpreter's tox environment (``.tox/pyXY``, which has ``six``) with
``PYTHONPATH`` set to the checkout.  A progress line shows what runs; at the
end a table per benchmark goes to stdout and everything, with the facts of
the machine and of its load, to ``benchmarks/results.json`` (the docs'
benchmarks page plots it).  A partial run (``--only``, ``--pythons``) updates
only its own entries of that file.

The contract a bench script keeps is in ``benchmarks/README.md``.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import benchlib  # noqa: E402  (the directory above is not a package)

VERSIONS = ("2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
FULL_TIMEOUT = 600.0
QUICK_TIMEOUT = 60.0
STDERR_TAIL = 20


def env_name(version):
    """``"3.10"`` -> ``"py310"``, the tox environment of that interpreter."""
    return "py" + version.replace(".", "")


def benchmarks(bench_dir=HERE):
    """Return ``{name: path}`` of every ``bench_<name>.py`` in *bench_dir*."""
    found = {}
    for filename in sorted(os.listdir(bench_dir)):
        m = re.match(r"^bench_([a-z0-9_]+)\.py$", filename)
        if m:
            found[m.group(1)] = os.path.join(bench_dir, filename)
    return found


def pyenv_environ():
    """``os.environ`` with every pyenv interpreter callable (like .ci/interpreters.sh)."""
    env = dict(os.environ)
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "versions", "--bare"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True).stdout
        versions = [v for v in out.split() if re.match(r"^\d+\.\d+\.\d+$", v)]
        if versions:
            env["PYENV_VERSION"] = ":".join(versions)
    return env


def present(versions, env):
    """Return the versions among *versions* whose ``pythonX.Y`` runs."""
    found = []
    for version in versions:
        exe = shutil.which("python" + version, path=env.get("PATH"))
        if exe and subprocess.run([exe, "-c", "import sys"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0:
            found.append(version)
    return found


def _has_six(exe, env):
    return os.path.exists(exe) and subprocess.run(
        [exe, "-c", "import six"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL).returncode == 0


def tox_python(version, env, log):
    """Return the python of ``.tox/pyXY``, creating the environment if it is missing."""
    name = env_name(version)
    exe = os.path.join(ROOT, ".tox", name, "bin", "python")
    if _has_six(exe, env):
        return exe
    log("creating the tox environment %s (it gives the interpreter six) ..." % name)
    tools = subprocess.run(["bash", os.path.join(ROOT, ".ci", "tools.sh")], env=env,
                           stdout=subprocess.PIPE, universal_newlines=True)
    if tools.returncode != 0:
        raise RuntimeError(".ci/tools.sh could not set up tox (exit status %d)" % tools.returncode)
    tox = os.path.join(tools.stdout.strip(), "tox")
    made = subprocess.run([tox, "-e", name, "--notest"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, stdin=subprocess.DEVNULL)
    if made.returncode != 0 or not _has_six(exe, env):
        raise RuntimeError("tox -e %s --notest failed:\n%s" % (name, made.stdout[-2000:]))
    return exe


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return list(os.getloadavg())


def busiest_processes(count=8):
    """The processes that used at least 1% CPU (ps's lifetime average): what else was running."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,etime,args", "--sort=-pcpu", "--no-headers"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    lines = []
    for line in out.splitlines():
        fields = line.split(None, 2)
        if len(fields) < 3 or fields[0] == str(os.getpid()) or "ps -eo" in line:
            continue
        if float(fields[1]) < 1.0:  # sorted: the rest are idle too
            break
        fields = [fields[0], " ".join(fields[1:])]
        lines.append(" ".join(fields[1].split())[:160])
        if len(lines) == count:
            break
    return lines


def machine():
    """Facts about the machine the figures come from."""
    facts = {"cores": os.cpu_count(), "system": platform.system(), "kernel": platform.release(),
             "arch": platform.machine()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    facts["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            facts["memory_gb"] = round(kb / 1048576.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    return facts


class Run(object):
    """One bench script under one interpreter, as a child process."""

    def __init__(self, exe, script, quick, timeout):
        self.exe, self.script, self.quick, self.timeout = exe, script, quick, timeout
        self.stdout = []
        self.stderr = []
        self.last_line = ""
        self.proc = None
        self.started = time.time()
        self.duration = 0.0

    def kill(self):
        """Kill the run and everything it started (it leads its own session)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _read(self, stream, sink, track):
        for line in iter(stream.readline, ""):
            sink.append(line)
            if track and line.strip():
                self.last_line = line.strip()
        stream.close()

    def execute(self):
        """Run it; return ``(status, output_or_None, error_text)``."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        argv = [self.exe, self.script] + (["--quick"] if self.quick else [])
        self.started = time.time()
        try:
            proc = self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                universal_newlines=True, errors="replace", start_new_session=True)
        except OSError as exc:
            return "failed", None, "could not start %s: %s" % (self.exe, exc)
        readers = [threading.Thread(target=self._read, args=(proc.stdout, self.stdout, False)),
                   threading.Thread(target=self._read, args=(proc.stderr, self.stderr, True))]
        for t in readers:
            t.daemon = True
            t.start()
        timed_out = False
        try:
            proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.kill()
            proc.wait()
        for t in readers:
            t.join(10)
        self.duration = time.time() - self.started
        tail = "".join(self.stderr[-STDERR_TAIL:])
        if timed_out:
            return "timeout", None, "killed after %.0f s\n%s" % (self.timeout, tail)
        if proc.returncode != 0:
            return "failed", None, "exit status %d\n%s" % (proc.returncode, tail)
        lines = [line for line in self.stdout if line.strip()]
        if not lines:
            return "failed", None, "printed nothing on stdout\n" + tail
        try:
            obj = json.loads(lines[-1])
        except ValueError as exc:
            return "failed", None, "the last line of stdout is not JSON (%s): %r" % (
                exc, lines[-1][:200])
        name = re.match(r"^bench_(.*)\.py$", os.path.basename(self.script)).group(1)
        problems = benchlib.validate(obj, name)
        if len(lines) > 1:
            problems.append("stdout has %d lines besides the JSON one (progress goes to stderr)"
                            % (len(lines) - 1))
        if problems:
            return "failed", obj, "breaks the contract:\n  " + "\n  ".join(problems)
        return "ok", obj, ""


# -- the table ------------------------------------------------------------

def fmt(value):
    """Format a figure for the table: about three significant digits."""
    if isinstance(value, int):
        return str(value)
    a = abs(value)
    if a >= 100:
        return "%.0f" % value
    if a >= 10:
        return "%.1f" % value
    if a >= 1:
        return "%.2f" % value
    return "%.3f" % value


def _mark(entry):
    if "target" not in entry:
        return ""
    return "" if benchlib.meets(entry["value"], entry["target"]) else "!"


def _grid(header, rows):
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate([header] + rows):
        cells = [row[i].ljust(widths[i]) if i < 2 else row[i].rjust(widths[i])
                 for i in range(len(row))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def render(runs):
    """Return the human tables for *runs* (the ``runs`` list of results.json)."""
    out = []
    order = {env_name(v): i for i, v in enumerate(VERSIONS)}
    by_bench = {}
    for run in runs:
        by_bench.setdefault(run["benchmark"], []).append(run)
    missed = []
    checked = 0
    for bench in sorted(by_bench):
        bruns = sorted(by_bench[bench], key=lambda r: (order.get(r["env"], 99), r["env"]))
        envs = [r["env"] for r in bruns]
        out.append("")
        out.append("== %s ==" % bench)
        rows, seen = [], {}
        for kind in ("results", "ratios"):
            for run in bruns:
                for entry in (run.get("output") or {}).get(kind, []) if run["status"] == "ok" else []:
                    if kind == "results":
                        key = (entry["metric"], entry["impl"], entry["unit"])
                    else:
                        key = (entry["metric"], "%s/%s" % (entry["num"], entry["den"]), "x")
                    if key not in seen:
                        seen[key] = {"targets": []}
                        rows.append(key)
                    if "target" in entry and entry["target"] not in seen[key]["targets"]:
                        seen[key]["targets"].append(entry["target"])
                    seen[key][run["env"]] = entry
                    checked += "target" in entry
                    if _mark(entry):
                        missed.append("%s %s %s %s: %s %s (target %s %s)" % (
                            bench, run["env"], key[0], key[1], fmt(entry["value"]), key[2],
                            entry["target"][0], fmt(entry["target"][1])))
        if rows:
            header = ["metric", "impl", "unit"] + envs + ["target"]
            table = []
            for key in rows:
                cells = []
                for env in envs:
                    entry = seen[key].get(env)
                    cells.append(fmt(entry["value"]) + _mark(entry) if entry else "-")
                # A target may depend on the interpreter (pool/stdlib: 1.2 on 2.7, 1.5 on 3.x).
                targets = " | ".join("%s %s" % (t[0], fmt(t[1])) for t in seen[key]["targets"])
                table.append([key[0], key[1], key[2]] + cells + [targets])
            out.extend(_grid(header, table))
        skipped = {}
        for run in bruns:
            for s in (run.get("output") or {}).get("skipped", []):
                label = s["impl"] + (" (%s)" % s["metric"] if s.get("metric") else "")
                skipped.setdefault((label, s["reason"]), []).append(run["env"])
        for (label, reason), where in sorted(skipped.items()):
            out.append("  skipped %s on %s: %s" % (label, " ".join(where), reason))
        for run in bruns:
            if run["status"] != "ok":
                out.append("  %s on %s: %s" % (run["status"].upper(), run["env"],
                                                run["error"].strip().splitlines()[0]))
    if missed:
        out.append("")
        out.append("targets missed (marked ! above):")
        out.extend("  " + m for m in missed)
    elif checked:
        out.append("")
        out.append("every target met (%d figures checked)" % checked)
    return "\n".join(out) + "\n"


def merge(old, new_runs):
    """Return *old*'s runs with those of the same benchmark and env replaced by *new_runs*."""
    fresh = {(r["benchmark"], r["env"]) for r in new_runs}
    kept = [r for r in old.get("runs", []) if (r["benchmark"], r["env"]) not in fresh]
    return kept + list(new_runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only bench_NAME.py (repeat, or separate with commas)")
    parser.add_argument("--pythons", metavar="X.Y,...",
                        help="only these interpreter versions, e.g. 2.7,3.13 (default: all present)")
    parser.add_argument("--interpreter", action="append", metavar="PATH",
                        help="run under this python executable instead of the tox environments "
                             "(repeatable; it must have six)")
    parser.add_argument("--quick", action="store_true",
                        help="pass --quick to every script: seconds each, to check the plumbing")
    parser.add_argument("--output", metavar="PATH",
                        help="where to write the JSON (default benchmarks/results.json, "
                             "benchmarks/results-quick.json with --quick)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="kill a run after this long (default %d, %d with --quick)"
                             % (FULL_TIMEOUT, QUICK_TIMEOUT))
    parser.add_argument("--bench-dir", default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    available = benchmarks(args.bench_dir)
    names = sorted(available)
    if args.only:
        names = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
        unknown = [n for n in names if n not in available]
        if unknown:
            parser.error("no benchmark named %s; there are: %s"
                         % (", ".join(unknown), ", ".join(sorted(available)) or "none"))
    if not names:
        parser.error("no bench_*.py in %s" % args.bench_dir)

    tty = sys.stderr.isatty()

    def log(message):
        sys.stderr.write(("\r\033[K" if tty else "") + message + "\n")
        sys.stderr.flush()

    env = pyenv_environ()
    targets = []  # (env label, executable)
    if args.interpreter:
        for exe in args.interpreter:
            if not _has_six(exe, env):
                parser.error("%s does not run or has no six" % exe)
            version = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                     stdout=subprocess.PIPE, universal_newlines=True,
                                     env=env).stdout.strip()
            targets.append((env_name(version), exe))
    else:
        wanted = VERSIONS
        if args.pythons:
            wanted = [v.strip() for v in args.pythons.split(",") if v.strip()]
            bad = [v for v in wanted if v not in VERSIONS]
            if bad:
                parser.error("unknown Python version %s; choose among %s"
                             % (", ".join(bad), ", ".join(VERSIONS)))
        found = present(wanted, env)
        absent = [v for v in wanted if v not in found]
        if args.pythons and absent:
            parser.error("python%s is not installed" % ", python".join(absent))
        if not found:
            parser.error("no Python interpreter found (looked for python2.7, python3.6 ... "
                         "python3.13 on PATH and in pyenv)")
        for version in found:
            try:
                targets.append((env_name(version), tox_python(version, env, log)))
            except RuntimeError as exc:
                log("make bench: %s" % exc)
                return 1

    output = args.output or os.path.join(
        HERE, "results-quick.json" if args.quick else "results.json")
    timeout = args.timeout or (QUICK_TIMEOUT if args.quick else FULL_TIMEOUT)
    jobs = [(name, label, exe) for name in names for label, exe in targets]
    started = datetime.datetime.now(datetime.timezone.utc)
    header = {"load_at_start": loadavg(), "busiest_at_start": busiest_processes()}
    log("make bench: %d runs (%s) x (%s), one at a time; load %s" % (
        len(jobs), ", ".join(names), ", ".join(l for l, _ in targets),
        " ".join("%.2f" % x for x in header["load_at_start"])))
    runs = []
    for i, (name, label, exe) in enumerate(jobs, 1):
        prefix = "[%*d/%d] %-8s %-6s" % (len(str(len(jobs))), i, len(jobs), name, label)
        run = Run(exe, available[name], args.quick, timeout)
        load_before = loadavg()
        busiest_before = busiest_processes()
        result = {}

        def execute(run=run, result=result):
            try:
                outcome = run.execute()
            except Exception as exc:  # reported as a failed run, the others go on
                run.kill()
                outcome = ("failed", None, "the harness could not run it: %r" % (exc,))
            result.update(zip(("status", "output", "error"), outcome))

        worker = threading.Thread(target=execute)
        worker.daemon = True
        worker.start()
        if not tty:
            log(prefix + " ...")
        try:
            while worker.is_alive():
                worker.join(0.5)
                if tty and worker.is_alive():
                    width = shutil.get_terminal_size((100, 20)).columns
                    line = "%s %4.0fs  %s" % (prefix, time.time() - run.started, run.last_line)
                    sys.stderr.write("\r\033[K" + line[:width - 1])
                    sys.stderr.flush()
        except KeyboardInterrupt:
            # The run leads its own session, so Ctrl-C did not reach it.
            run.kill()
            worker.join(10)
            log("make bench: interrupted during %s on %s; %s left as it was"
                % (name, label, os.path.relpath(output)))
            return 130
        status = result["status"]
        log_dir = os.path.join(os.path.dirname(os.path.abspath(output)), "logs")
        os.makedirs(log_dir, exist_ok=True)
        log_path = os.path.join(log_dir, "%s-%s.log" % (name, label))
        with open(log_path, "w") as f:
            f.write("".join(run.stderr))
        log("%s %s in %.0fs%s" % (prefix, status, run.duration,
                                  "" if status == "ok" else ": " + result["error"].strip()
                                  .splitlines()[0]))
        if status != "ok":
            for line in result["error"].strip().splitlines()[1:]:
                log("    " + line)
            log("    (whole stderr in %s)" % os.path.relpath(log_path))
        output_obj = result["output"]
        runs.append({
            "benchmark": name, "env": label, "executable": exe,
            "python": (output_obj or {}).get("python") or platform_version(exe),
            "status": status, "error": result["error"],
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(run.duration, 1),
            "load_before": load_before, "load_after": loadavg(),
            "busiest_before": busiest_before,
            "log": os.path.relpath(log_path, os.path.dirname(os.path.abspath(output))),
            "output": output_obj if status == "ok" else None,
        })

    doc = {"generated": started.isoformat(timespec="seconds"), "quick": args.quick,
           "command": " ".join(["benchmarks/run.py"] + list(sys.argv[1:] if argv is None else argv)),
           "machine": machine(), "load_at_start": header["load_at_start"],
           "busiest_at_start": header["busiest_at_start"], "load_at_end": loadavg()}
    all_runs = runs
    partial = bool(args.only or args.pythons or args.interpreter)
    if partial and os.path.exists(output):
        try:
            with open(output) as f:
                old = json.load(f)
        except ValueError:
            old = {}
        if old.get("quick") == args.quick:
            all_runs = merge(old, runs)
    doc["runs"] = all_runs
    tmp = output + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, output)

    if args.quick:
        sys.stdout.write("\n--quick: a plumbing check with small counts; these are not "
                         "measurements\n")
    sys.stdout.write(render(runs))
    sys.stdout.write("\nmachine: %s; load at start %s, at end %s; written to %s\n" % (
        ", ".join("%s %s" % kv for kv in sorted(doc["machine"].items())),
        " ".join("%.2f" % x for x in doc["load_at_start"]),
        " ".join("%.2f" % x for x in doc["load_at_end"]), os.path.relpath(output)))
    failed = [r for r in runs if r["status"] != "ok"]
    if failed:
        log("make bench: %d of %d runs failed: %s" % (len(failed), len(runs), ", ".join(
            "%s/%s" % (r["benchmark"], r["env"]) for r in failed)))
        return 1
    return 0


def platform_version(exe):
    """The full version of *exe* (when its run printed nothing to read it from)."""
    try:
        return subprocess.run([exe, "-c", "import platform; print(platform.python_version())"],
                              stdout=subprocess.PIPE, universal_newlines=True,
                              timeout=30).stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
