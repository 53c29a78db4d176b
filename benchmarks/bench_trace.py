"""The tracer's overhead: 2000 echo requests, traced and untraced, in one run.

Workload: a ThreadingTCPServer with the scenarios' UpperStreamHandler, one
connection per request from a client in the main thread; a round times the
2000 requests only (the tracer and the server are started before the clock
and stopped after it).  Implementations, interleaved round by round
(A B C D, D C B A ...); each implementation's fastest round is compared
with the untraced fastest round (see main() for why):

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

Targets (issue 13): analysis/viztracer < 1 on 3.6-3.13, analysis/untraced
<= 1.3 on 2.7 (neither tool exists there); below hunter too.
"""
from __future__ import division, print_function

import glob
import os
import resource
import socket
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
    # bound is the untraced run's; on 3.6+ it is viztracer (see main()).
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


def main():
    args = benchlib.parse_args("the tracer's overhead on 2000 echo requests, with viztracer and hunter side by side")
    report = benchlib.Report("trace", quick=args.quick)
    requests = 100 if args.quick else 2000
    rounds = 1 if args.quick else 7
    # The hooks the default replaced, and what any tracer on the cheapest
    # of them pays.
    impls = [NoTracer(), AnalysisTracer("analysis", DEFAULT_TRACER), FloorTracer(FLOOR_HOOK),
             AnalysisTracer("analysis-settrace", "sys.settrace")]
    if FLOOR_HOOK != "sys.settrace":
        impls.append(AnalysisTracer("analysis-monitoring", FLOOR_HOOK))
    versions = {}
    for cls in (VizTracerTool, VizTracerFilesTool, HunterTool):
        try:
            tool = cls()
        except ImportError as exc:
            report.skip(cls.name, "not installed for Python %s (%s)" % (benchlib.platform.python_version(), exc))
            continue
        except Exception as exc:  # a tool that installs but cannot start here
            report.skip(cls.name, "cannot start: %s: %s" % (type(exc).__name__, exc))
            continue
        versions[tool.name] = tool.version
        impls.append(tool)
    report.setup = {
        "workload": "ThreadingTCPServer, UpperStreamHandler, one connection per request, client in the main thread",
        "requests": requests,
        "rounds": rounds,
        "analysis_hook": DEFAULT_TRACER,
        "floor_hook": FLOOR_HOOK,
        "filter": ", ".join(MODULES),
    }
    for name, version in sorted(versions.items()):
        report.setup[name + "_version"] = version
    # The machine is shared: say how busy it was, next to the figures.
    report.setup["load_average_at_start"] = round(os.getloadavg()[0], 2)
    # Warm-up: imports, first connections, code object caches.
    for impl in impls:
        one_round(impl, 20)
    times = dict((impl.name, []) for impl in impls)
    cpus = dict((impl.name, []) for impl in impls)
    calls = {}
    for r in range(rounds):
        order = impls if r % 2 == 0 else [impls[0]] + impls[:0:-1]
        for impl in order:
            seconds, recorded, cpu = one_round(impl, requests)
            times[impl.name].append(seconds)
            cpus[impl.name].append(cpu)
            if recorded:
                calls[impl.name] = recorded
            benchlib.progress("round %d %-18s %.3f s wall %.3f s CPU", r + 1, impl.name, seconds, cpu)
    # The machine is shared and noisy (another interpreter's tests run at
    # the same time): a round can only be slowed down by that, never sped
    # up, so each implementation's fastest round is its least disturbed
    # figure, and the ratios compare those.  The medians are reported too.
    for impl in impls:
        report.result("echo_%d_wall" % requests, impl.name, min(times[impl.name]), "s")
        report.result("echo_%d_wall_median" % requests, impl.name, benchlib.median(times[impl.name]), "s")
        # CPU time of the process (all its threads) over the same requests:
        # what the tracer itself costs, less sensitive to the other
        # processes on the machine than wall time.
        report.result("echo_%d_cpu" % requests, impl.name, min(cpus[impl.name]), "s")
    # What each tool recorded: the same work, or not (a tool that does not
    # follow the handler threads records far fewer calls, and costs less).
    for impl in impls[1:]:
        if impl.name in calls:
            report.result("calls_per_request", impl.name, calls[impl.name] / float(requests), "count")
        if getattr(impl, "flow_calls", None) is not None:
            report.result("flow_calls_per_request", impl.name, impl.flow_calls / float(requests), "count")
    report.setup["load_average_at_end"] = round(os.getloadavg()[0], 2)
    metric = "echo_%d_wall" % requests
    for impl in impls[1:]:
        target = _target() if impl.name == "analysis" else None
        report.ratio(metric, impl.name, "untraced", target=target)
    report.ratio(metric, "analysis", "floor")
    if "analysis-settrace" in times:
        report.ratio(metric, "analysis-settrace", "floor")
    for other in ("viztracer", "hunter"):
        if other in times:
            report.ratio(metric, "analysis", other, target=("<", 1))
    for impl in impls[1:]:
        report.ratio("echo_%d_cpu" % requests, impl.name, "untraced")
    report.emit()


if __name__ == "__main__":
    main()
