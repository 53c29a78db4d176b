"""The tracer's overhead: 2000 echo requests, traced and untraced, in one run.

Workload: a ThreadingTCPServer with the scenarios' UpperStreamHandler, one
connection per request from a client in the main thread; a round times the
2000 requests only (the tracer and the server are started before the clock
and stopped after it).

Each round runs in a process of its own: a fresh interpreter of the same
executable imports this module, runs a warm-up of 50 requests with the
implementation on, then the timed round, and prints its figures (see
worker()).  The rounds are interleaved implementation by implementation
(A B C D, A D C B ...: untraced first, then the others in turn, reversed
every other pass), 7 passes, and each implementation's fastest round is
compared with the untraced fastest round (see main() for why).

Each pass runs every implementation twice: on every CPU the process may use
(``echo_2000_wall``, ``echo_2000_cpu``), as a server runs, and pinned to one
CPU (``echo_2000_wall_1cpu``).  On two CPUs a round is mostly the threads
waking each other up across them: untraced, 3.9 took 0.45-0.48 s a round
there and 0.17 s pinned, for the same requests, and analysis's fastest round
was faster than the untraced one in both of two runs.  Pinned, a round is the
work done, and the tracer's share of it is what the targets compare.

Why a process per round: until December 2026 every round ran in this one
process, and a round's cost depended on the implementation that ran before
it.  On 3.7, analysis's rounds right after viztracer's were 10-20% slower
than its rounds right after the untraced one (median of the per-round
analysis/viztracer ratios 1.10-1.19 in four runs, where the fastest-of-7
ratio was 1.01 and 1.02 in two of them), while with each implementation
alone in a process analysis/viztracer was 0.89-0.98 by the median round
(3.6-3.9, three processes each; 0.87-1.06 by the fastest, 11 of 12 below
1).  What one tool leaves in the heap (viztracer's buffers, analysis's
records) is not the next one's cost; a user traces a server in a process of
its own, and so does this benchmark.

``untraced``
    no hook at all.
``analysis``
    ``analysis.trace.Tracer`` with its default backend (``instrument``: the
    recorded functions' code swapped for the run), filtered to socketserver
    and the handler's module: it records every call there with owner,
    thread and call site.
``analysis-settrace``, ``analysis-monitoring``
    the same tracer on the global hooks: ``sys.settrace`` everywhere (the
    default below 3.12 until issue 13), ``sys.monitoring`` on 3.12+ (the
    default there until December 2026), so that the default is shown to be
    the faster one on each interpreter.
``floor``
    the least any tracer on a global hook pays (sys.monitoring on 3.12+,
    sys.settrace below): a callback that keeps only the code object of each
    call into the same modules (filter decided once per code object,
    ``DISABLE`` outside it on sys.monitoring), in every thread.
    ``analysis / floor`` below 1 is a tracer that no longer pays that floor.
``viztracer``, ``hunter``
    the two tools people use for the same question, recording at least the
    calls analysis records, in every thread, where they are installed for
    this interpreter: hunter filtered to the same modules; viztracer, whose
    file filter loses every thread but the main one, with only the stdlib
    modules the flow calls down into left out (see VizTracerTool).  They
    are found in the interpreter's site-packages or in the checkout's
    ``.venv-analysis/pyXY``, which ``make bench`` fills from
    ``benchmarks/requirements-tracers.txt`` (``.ci/bench-tools.sh``); where
    they are not, they are skipped with the reason.
``viztracer-files``
    viztracer filtered to the same files, as this benchmark ran it until
    December 2026: shown for what it costs and records (the main thread's
    calls, ``calls_per_request`` 4-6 where analysis records 14-17), not as
    a bound.

Paired rounds: after the 7 passes of every implementation come 20 more of
the pair the target compares (``untraced``, ``analysis``, ``viztracer``),
pinned, and each pass's analysis/viztracer ratio is one pair.  Over the 27
pairs the benchmark reports the median ratio (``_1cpu_paired``) and the
sign test's 95% interval of that median (``_paired_low``, ``_paired_high``;
benchlib.median_interval()).  The fastest of 7 rounds is the least disturbed
figure of one implementation, but two implementations that differ by less
than the machine's noise swap places from run to run on it: in two runs at
the same commit (December 2026), analysis/viztracer was 1.003 then 0.953 on
3.6, and 0.951 then 1.012 on 3.9.  The interval says whether a difference
is larger than that noise: 61 pairs of pinned rounds, each in a process of
its own, gave medians of 0.977 [0.969, 0.987] on 3.6 and 0.993 [0.981,
1.006] on 3.9.

Targets (issue 13), on the pinned rounds: analysis below viztracer by the
whole interval (``_paired_high`` < 1) on 3.6-3.13; on 2.7, where neither
viztracer nor hunter installs, ``_paired_high`` of analysis/untraced <= 1.3;
below hunter too, on the fastest rounds (0.17-0.42 in December 2026: no
interval needed).  Where the process cannot be pinned (one CPU, or neither
``os.sched_setaffinity`` nor ``taskset``), the targets are on the rounds on
every CPU, and the pinned ones are skipped with the reason.
"""
from __future__ import division, print_function

import glob
import json
import os
import resource
import socket
import subprocess
import sys
import threading

import benchlib

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)


def _add_tool_venv():
    # viztracer and hunter live in a venv of this interpreter's version when
    # the interpreter itself does not have them; appended, so nothing in it
    # shadows the stdlib or the checkout.
    tag = "py%d%d" % sys.version_info[:2]
    for site in glob.glob(os.path.join(CHECKOUT, ".venv-analysis", tag, "lib", "python*", "site-packages")):
        if site not in sys.path:
            sys.path.append(site)


_add_tool_venv()
if CHECKOUT not in sys.path:
    sys.path.insert(0, CHECKOUT)

from analysis import examples  # noqa: E402
from analysis._compat import socketserver  # noqa: E402
from analysis.trace import DEFAULT_TRACER, Tracer, available_tracers  # noqa: E402

MODULES = [socketserver.__name__, examples.__name__]
# The cheapest global hook this interpreter has: what "floor" measures.
FLOOR_HOOK = "sys.monitoring" if "sys.monitoring" in available_tracers() else "sys.settrace"
FILES = [os.path.splitext(m.__file__)[0] + ".py" for m in (socketserver, examples)]


def _target():
    # Issue 13: on 2.7, where neither viztracer nor hunter installs, the
    # bound is the untraced run's; on 3.6+ it is viztracer's (see main()).
    if sys.version_info[0] == 2:
        return ("<=", 1.3)
    return None


class NoTracer(object):
    name = "untraced"

    def start(self):
        pass

    def stop(self):
        return 0


class AnalysisTracer(object):
    def __init__(self, name, hook):
        self.name = name
        self.hook = hook
        self.tracer = None

    def start(self):
        self.tracer = Tracer(MODULES, tracer=self.hook)
        self.tracer.start()

    def stop(self):
        self.tracer.stop()
        calls = len(self.tracer.trace("bench").calls)
        self.tracer = None
        return calls


class FloorTracer(object):
    """The hook alone: keeps the code object of each call into MODULES."""

    name = "floor"

    def __init__(self, hook):
        self.hook = hook
        self.codes = None
        self.saved = None
        self.tool = None

    def start(self):
        wanted = frozenset(MODULES)
        decided = {}
        codes = self.codes = []
        keep = codes.append
        if self.hook == "sys.monitoring":
            mon = sys.monitoring
            disable = mon.DISABLE
            getframe = sys._getframe

            def on_start(code, offset):
                ours = decided.get(id(code))  # a code object's hash is not cached
                if ours is None:
                    ours = decided[id(code)] = getframe(1).f_globals.get("__name__") in wanted
                if not ours:
                    return disable
                keep(code)

            self.tool = [i for i in (mon.PROFILER_ID, 3, 4, 5) if mon.get_tool(i) is None][0]
            mon.use_tool_id(self.tool, "bench_trace floor")
            mon.register_callback(self.tool, mon.events.PY_START, on_start)
            mon.restart_events()
            mon.set_events(self.tool, mon.events.PY_START)
        else:
            def on_call(frame, event, arg):
                code = frame.f_code
                ours = decided.get(id(code))
                if ours is None:
                    ours = decided[id(code)] = frame.f_globals.get("__name__") in wanted
                if ours:
                    keep(code)

            self.saved = sys.gettrace()
            threading.settrace(on_call)
            sys.settrace(on_call)

    def stop(self):
        if self.hook == "sys.monitoring":
            mon = sys.monitoring
            mon.set_events(self.tool, 0)
            mon.register_callback(self.tool, mon.events.PY_START, None)
            mon.free_tool_id(self.tool)
        else:
            sys.settrace(self.saved)
            threading.settrace(None)
        # Keyed by id(): a code object compiled at run time and freed can
        # leave its id to another one, and the floor may then miss a call,
        # which only makes it cheaper (analysis.trace keeps every code it
        # has seen alive instead).
        calls, self.codes = len(self.codes), None
        return calls


class VizTracerTool(object):
    """viztracer recording the calls analysis records, in every thread.

    Its file filter cannot be the recorded files: with ``include_files``,
    nothing below a frame it does not record is recorded (its maintainer's
    explanation in viztracer#292), and every thread begins in threading.py,
    so it records the main thread's calls and no handler's (``viztracer-files``
    below).  Here it records every Python call but those of the stdlib
    modules the flow only calls down into (``socket``, ``enum``,
    ``_weakrefset``: nothing there calls back into the recorded files), C
    calls off.  What it records in the recorded files is counted too
    (``flow_calls_per_request``): at least what analysis records.
    """

    name = "viztracer"

    def __init__(self):
        import viztracer

        self.module = viztracer
        self.version = viztracer.__version__
        self.tracer = None
        self.flow_calls = None

    def options(self):
        leaves = [os.path.splitext(m.__file__)[0] + ".py" for m in _leaf_modules()]
        return {"exclude_files": leaves, "ignore_c_function": True}

    def start(self):
        self.tracer = self.module.VizTracer(verbose=0, tracer_entries=5000000, **self.options())
        self.tracer.start()

    def stop(self):
        self.tracer.stop()
        entries = self.tracer.parse()  # how many calls it kept (after the clock)
        data = getattr(self.tracer, "data", None)  # the parsed events (every version measured here)
        if data is not None:
            self.flow_calls = sum(1 for e in data["traceEvents"] if e.get("ph") == "X" and _in_files(e["name"]))
        self.tracer.clear()
        self.tracer = None
        return entries


class VizTracerFilesTool(VizTracerTool):
    """viztracer filtered to the recorded files: the main thread's calls only (see VizTracerTool)."""

    name = "viztracer-files"

    def options(self):
        return {"include_files": list(FILES)}


def _leaf_modules():
    import enum
    import _weakrefset

    return [socket, enum, _weakrefset]


def _in_files(name):
    # viztracer names a Python call "function (path:line)".
    return name.endswith(")") and name.rsplit(" (", 1)[-1].rsplit(":", 1)[0] in FILES


class HunterTool(object):
    name = "hunter"

    def __init__(self):
        import hunter

        self.module = hunter
        self.version = hunter.__version__
        self.tracer = None
        self.events = []

    def start(self):
        events = self.events = []

        def action(event):
            events.append((event.module, event.function, event.lineno))

        self.tracer = self.module.trace(module_in=MODULES, kind="call", action=action, threading_support=True)

    def stop(self):
        self.tracer.stop()
        self.tracer = None
        return len(self.events)


def _cpu():
    # CPU seconds of this process, all threads, to the microsecond (2.7 too).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_round(impl, requests):
    """Time *requests* echo requests with *impl* on: (wall s, calls recorded, CPU s)."""
    impl.start()
    try:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), examples.UpperStreamHandler)
        server.daemon_threads = True
        loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="server")
        loop.daemon = True
        loop.start()
        address = server.server_address
        try:
            started = benchlib.clock()
            cpu_started = _cpu()
            for _ in range(requests):
                sock = socket.create_connection(address, timeout=10)
                try:
                    sock.sendall(examples.MESSAGE)
                    reply = b""
                    while not reply.endswith(b"\n"):
                        chunk = sock.recv(4096)
                        if not chunk:
                            break
                        reply += chunk
                finally:
                    sock.close()
                if reply != examples.REPLY:
                    raise RuntimeError("bad reply %r" % (reply,))
            elapsed = benchlib.clock() - started
            cpu = _cpu() - cpu_started
        finally:
            server.shutdown()
            loop.join(10)
            server.server_close()
    finally:
        calls = impl.stop()
    return elapsed, calls, cpu


def implementations():
    """Every implementation this benchmark measures here: ``[(name, factory)]``.

    In the order of a pass; ``untraced`` first.  A factory raises ImportError
    (or anything else) when its tool cannot run on this interpreter.
    """
    impls = [
        ("untraced", NoTracer),
        ("analysis", lambda: AnalysisTracer("analysis", DEFAULT_TRACER)),
        # The hooks the default replaced, and what any tracer on the
        # cheapest of them pays.
        ("floor", lambda: FloorTracer(FLOOR_HOOK)),
        ("analysis-settrace", lambda: AnalysisTracer("analysis-settrace", "sys.settrace")),
    ]
    if FLOOR_HOOK != "sys.settrace":
        impls.append(("analysis-monitoring", lambda: AnalysisTracer("analysis-monitoring", FLOOR_HOOK)))
    for cls in (VizTracerTool, VizTracerFilesTool, HunterTool):
        impls.append((cls.name, cls))
    return impls


# Passes of the target's pair (untraced, analysis, viztracer) after the
# passes of every implementation, for the paired ratios.
PAIRED_PASSES = 20
# Requests run before the timed round in each worker: imports, first
# connections, code object caches, the tracer's first decisions.
WARMUP = 50
# A worker that has not printed its figures by then is killed, and the run fails.
WORKER_TIMEOUT = 180
# The two ways a round runs: on every CPU the process may use, as a server
# runs, or with the process pinned to one CPU (see main()).
ALL_CPUS = "all"
ONE_CPU = "1cpu"


def worker(argv=None):
    """One timed round in this process: ``NAME REQUESTS WARMUP CPU`` in, one JSON line out.

    main() runs it as ``python -c`` in a child process; the figures are the
    last line of stdout (progress goes to stderr, which the parent shares).
    CPU is ``-``, or the CPU to pin this process to (where the parent could
    not pin it beforehand, see pinning()).
    """
    name, requests, warmup, cpu = argv if argv is not None else sys.argv[1:]
    if cpu != "-":
        os.sched_setaffinity(0, [int(cpu)])
    impl = dict(implementations())[name]()
    one_round(impl, int(warmup))
    seconds, calls, cpu_seconds = one_round(impl, int(requests))
    figures = {"seconds": seconds, "cpu": cpu_seconds, "calls": calls,
               "flow_calls": getattr(impl, "flow_calls", None)}
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()


def pinning():
    """``(prefix, cpu argument, cpu)`` that pin a worker to *cpu*; or ``(None, None, why not)``.

    The CPU is the last one this process may run on.  Python 3 pins the
    worker itself (``os.sched_setaffinity``); 2.7 has no call for it, and
    starts the worker under ``taskset``.
    """
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) < 2:
            return None, None, "this process may use one CPU only: every round already runs on one"
        return [], str(allowed[-1]), allowed[-1]
    taskset = benchlib.which("taskset")
    if taskset is None:
        return None, None, "no os.sched_setaffinity on Python %s and no taskset on PATH" % (
            benchlib.platform.python_version(),)
    import multiprocessing

    count = multiprocessing.cpu_count()
    if count < 2:
        return None, None, "this machine has one CPU: every round already runs on one"
    return [taskset, "-c", str(count - 1)], "-", count - 1


_WORKER_CODE = "import sys; sys.path.insert(0, %r); import bench_trace; bench_trace.worker()" % HERE


def run_worker(name, requests, warmup, prefix=(), cpu="-"):
    """Run worker() for *name* in a new interpreter; return its figures (a dict)."""
    argv = list(prefix) + [sys.executable, "-c", _WORKER_CODE, name, str(requests), str(warmup), cpu]
    proc = subprocess.Popen(argv, cwd=CHECKOUT, stdout=subprocess.PIPE, universal_newlines=True)
    out, _ = benchlib.communicate(proc, WORKER_TIMEOUT)
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        how = ("killed after %d s" % WORKER_TIMEOUT if proc.returncode == -9
               else "exit status %s" % proc.returncode)
        raise RuntimeError("the %s round failed (%s); its stderr is above" % (name, how))
    return json.loads(lines[-1])


def main():
    args = benchlib.parse_args("the tracer's overhead on 2000 echo requests, with viztracer and hunter side by side")
    report = benchlib.Report("trace", quick=args.quick)
    requests = 100 if args.quick else 2000
    passes = 1 if args.quick else 7
    paired_passes = 5 if args.quick else PAIRED_PASSES
    warmup = 10 if args.quick else WARMUP
    # Which implementations run here: each is built once in this process,
    # to know its version or why it is skipped; the rounds build their own.
    impls = []
    versions = {}
    for name, factory in implementations():
        try:
            tool = factory()
        except ImportError as exc:
            report.skip(name, "not installed for Python %s (%s)" % (benchlib.platform.python_version(), exc))
            continue
        except Exception as exc:  # a tool that installs but cannot start here
            report.skip(name, "cannot start: %s: %s" % (type(exc).__name__, exc))
            continue
        if getattr(tool, "version", None):
            versions[name] = tool.version
        impls.append(name)
    # Two ways to run a round.  On every CPU, as a server runs: there the
    # client, the server loop and each handler are threads that wake each
    # other up, often on the other CPU, and that costs more than the
    # requests' own work (a round takes 2.7 times as long as on one CPU,
    # 3.9; some untraced rounds are slower than traced ones): the tracers'
    # differences drown in it.  Pinned to one CPU, the same threads take
    # turns on it, and a round's time is the work done: the interpreter's,
    # the kernel's and the tracer's.  That is the overhead the targets are
    # about.
    prefix, pin, cpu = pinning()
    modes = [(ALL_CPUS, (), "-")]
    if prefix is None:
        report.skip("analysis", "not run pinned to one CPU: %s" % cpu, metric="echo_%d_wall_1cpu" % requests)
    else:
        modes.append((ONE_CPU, prefix, pin))
    report.setup = {
        "workload": "ThreadingTCPServer, UpperStreamHandler, one connection per request, client in the main thread",
        "requests": requests,
        "rounds": passes,
        "round_process": "each round in a new process, after a warm-up of %d requests" % warmup,
        "cpus": "every CPU (_wall, _cpu) and pinned to CPU %s (_1cpu)" % cpu if prefix is not None else "every CPU",
        "analysis_hook": DEFAULT_TRACER,
        "floor_hook": FLOOR_HOOK,
        "filter": ", ".join(MODULES),
    }
    for name, version in sorted(versions.items()):
        report.setup[name + "_version"] = version
    # The machine is shared: say how busy it was, next to the figures.
    report.setup["load_average_at_start"] = round(os.getloadavg()[0], 2)
    times = dict(((mode, name), []) for mode, _, _ in modes for name in impls)
    cpus = dict((name, []) for name in impls)
    calls = {}
    flow_calls = {}
    for r in range(passes):
        order = impls if r % 2 == 0 else [impls[0]] + impls[:0:-1]
        for mode, prefix, pin in modes:
            for name in order:
                figures = run_worker(name, requests, warmup, prefix, pin)
                times[mode, name].append(figures["seconds"])
                if mode == ALL_CPUS:
                    cpus[name].append(figures["cpu"])
                if figures["calls"]:
                    calls[name] = figures["calls"]
                if figures["flow_calls"] is not None:
                    flow_calls[name] = figures["flow_calls"]
                benchlib.progress("round %d %-4s %-18s %.3f s wall %.3f s CPU", r + 1, mode, name,
                                  figures["seconds"], figures["cpu"])
    # The pair the target compares, run again and again side by side in the
    # target's mode (see "Paired rounds" in the module's docstring).
    target_mode, prefix, pin = modes[-1]
    against = "viztracer" if "viztracer" in impls else "untraced"
    pair = ["untraced", "analysis"] + (["viztracer"] if against == "viztracer" else [])
    paired = dict((name, list(times[target_mode, name])) for name in pair)
    for r in range(paired_passes):
        for name in (pair if r % 2 == 0 else [pair[0]] + pair[:0:-1]):
            figures = run_worker(name, requests, warmup, prefix, pin)
            paired[name].append(figures["seconds"])
            benchlib.progress("paired round %d %-4s %-18s %.3f s wall", r + 1, target_mode, name, figures["seconds"])
    # The machine is shared and noisy (another interpreter's tests run at
    # the same time): a round can only be slowed down by that, never sped
    # up, so each implementation's fastest round is its least disturbed
    # figure, and the ratios compare those.  The medians are reported too.
    wall = "echo_%d_wall" % requests
    pinned = wall + "_1cpu"
    for name in impls:
        report.result(wall, name, min(times[ALL_CPUS, name]), "s")
        report.result(wall + "_median", name, benchlib.median(times[ALL_CPUS, name]), "s")
        # CPU time of the process (all its threads) over the same requests:
        # less sensitive to the other processes on the machine than wall time.
        report.result("echo_%d_cpu" % requests, name, min(cpus[name]), "s")
        if (ONE_CPU, name) in times:
            report.result(pinned, name, min(times[ONE_CPU, name]), "s")
            report.result(pinned + "_median", name, benchlib.median(times[ONE_CPU, name]), "s")
    # What each tool recorded: the same work, or not (a tool that does not
    # follow the handler threads records far fewer calls, and costs less).
    for name in impls[1:]:
        if name in calls:
            report.result("calls_per_request", name, calls[name] / float(requests), "count")
        if name in flow_calls:
            report.result("flow_calls_per_request", name, flow_calls[name] / float(requests), "count")
    report.setup["load_average_at_end"] = round(os.getloadavg()[0], 2)
    # The targets are on the pinned rounds where there are some; the
    # ratios of the rounds on every CPU are shown for what a server sees.
    metrics = [wall] + ([pinned] if (ONE_CPU, "analysis") in times else [])
    target_metric = metrics[-1]
    for metric in metrics:
        for name in impls[1:]:
            report.ratio(metric, name, "untraced")
        report.ratio(metric, "analysis", "floor")
        if "analysis-settrace" in impls:
            report.ratio(metric, "analysis-settrace", "floor")
        if "viztracer" in impls:
            report.ratio(metric, "analysis", "viztracer")
        if "hunter" in impls:
            report.ratio(metric, "analysis", "hunter", target=("<", 1) if metric == target_metric else None)
    # The target: analysis below viztracer (2.7: within 1.3x untraced) by
    # the whole interval of the paired rounds' median ratio.
    ratios = [a / b for a, b in zip(paired["analysis"], paired[against])]
    report.ratio(target_metric + "_paired", "analysis", against, value=benchlib.median(ratios))
    interval = benchlib.median_interval(ratios)
    if interval is None:
        report.skip("analysis", "%d pairs of rounds: too few for a 95%% interval" % len(ratios),
                    metric=target_metric + "_paired_high")
    else:
        report.ratio(target_metric + "_paired_low", "analysis", against, value=interval[0])
        report.ratio(target_metric + "_paired_high", "analysis", against, value=interval[1],
                     target=_target() if against == "untraced" else ("<", 1))
    report.setup["paired_rounds"] = len(ratios)
    for name in impls[1:]:
        report.ratio("echo_%d_cpu" % requests, name, "untraced")
    report.emit()


if __name__ == "__main__":
    main()
