"""Recorded flows of every scenario, pinned per interpreter, and the flow/diff logic."""
import os
import sys

import pytest

from analysis import diff, flow, scenarios
from analysis.model import Flow, Step
from analysis.trace import available_tracers

PY2 = sys.version_info[0] == 2
MINOR = sys.version_info[:2]

# The classic path from construction to handle(), as the tutorials tell it
# (issue 3), and what each interpreter really adds, recorded with
# `python -m analysis versions threading-tcp` on 2.7.18, 3.6.15, 3.7.16,
# 3.8.18, 3.9.18, 3.10.13, 3.11.7, 3.12.1 and 3.13.0.
CONSTRUCTION = [
    "TCPServer.__init__",
    "BaseServer.__init__",
    "TCPServer.server_bind",
    "TCPServer.server_activate",
]
EINTR = ["_eintr_retry"]  # 2.7: select() wrapped in a retry loop (PEP 475 made it go in 3.5)
THREADS = ["_Threads.append", "_Threads.reap"]  # 3.8.18+/3.9+: bpo-37193 reaps finished threads
WRITER = ["_SocketWriter.__init__"]  # 3.6+: wfile is a _SocketWriter (sendall), not a makefile()


def pinned_threading_tcp(minor):
    steps = CONSTRUCTION + ["BaseServer.serve_forever"]
    steps += EINTR if minor == (2, 7) else []
    steps += ["TCPServer.fileno", "BaseServer._handle_request_noblock", "TCPServer.get_request",
              "BaseServer.verify_request", "ThreadingMixIn.process_request"]
    steps += THREADS if minor >= (3, 8) else []
    steps += ["ThreadingMixIn.process_request_thread", "BaseServer.finish_request",
              "BaseRequestHandler.__init__", "StreamRequestHandler.setup"]
    steps += WRITER if minor >= (3, 6) else []
    return steps + ["UpperStreamHandler.handle"]


PINNED = dict(
    (minor, pinned_threading_tcp(minor))
    for minor in [(2, 7), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]
)


@pytest.mark.parametrize("tracer", available_tracers())
def test_threading_tcp_flow_is_pinned(tracer):
    trace = scenarios.run("threading-tcp", tracer=tracer)
    result = flow.build(trace)
    assert result.qualnames() == PINNED[MINOR]
    hops = [s.qualname for s in result.steps if s.hop]
    assert hops == ["ThreadingMixIn.process_request_thread"]
    by_name = dict((s.qualname, s) for s in result.steps)
    start = by_name["ThreadingMixIn.process_request_thread"]
    assert start.role == "worker" and start.thread.startswith("Thread-")
    assert start.call_file.replace(".pyc", ".py").endswith("threading.py")
    assert by_name["TCPServer.__init__"].role == "main"
    assert by_name["TCPServer.__init__"].note == "Constructor.  May be extended, do not override."
    assert by_name["ThreadingMixIn.process_request"].note == "Start a new thread to process the request."
    # Steps nest as the calls did, and call lines are lines of the caller.
    assert [s.depth for s in result.steps[:5]] == [0, 1, 1, 1, 0]
    finish = by_name["BaseServer.finish_request"]
    assert finish.call_line > start.line
    assert [s.index for s in result.steps] == list(range(1, len(result.steps) + 1))
    assert result.python["version"] == "%d.%d.%d" % sys.version_info[:3]


def test_trace_of_threading_tcp_has_lanes_and_a_hop():
    trace = scenarios.run("threading-tcp")
    roles = sorted(t.role for t in trace.threads)
    assert roles == ["client", "main", "worker"]
    worker = [t for t in trace.threads if t.role == "worker"][0]
    starter = trace.call(worker.started_by)
    assert starter.qualname == "ThreadingMixIn.process_request"
    assert starter.spawned_threads == [worker.id]
    assert len(trace.hops) == 1 and trace.hops[0].thread == worker.id
    assert trace.call(trace.hops[0].first_call).qualname == "ThreadingMixIn.process_request_thread"
    qualnames = [c.qualname for c in trace.calls]
    # The clean shutdown is recorded too: the client lane asks, the main lane closes.
    shutdown = trace.calls[qualnames.index("BaseServer.shutdown")]
    assert trace.thread(shutdown.thread).role == "client"
    closes = [c for c in trace.calls if c.function == "server_close" and c.depth == 0]
    assert [c.owner for c in closes] == (["TCPServer"] if PY2 else ["ThreadingMixIn"])


# Each stdlib scenario: the steps that must be there, in order (others may
# sit between them), its target, and the role of the target's thread.
EXPECTED = {
    "tcp": (["TCPServer.__init__", "BaseServer.serve_forever", "BaseServer.process_request",
             "BaseServer.finish_request", "StreamRequestHandler.setup", "UpperStreamHandler.handle"], "main"),
    "udp": (["TCPServer.__init__", "UDPServer.server_activate", "UDPServer.get_request",
             "BaseServer.process_request", "DatagramRequestHandler.setup", "UpperDatagramHandler.handle"], "main"),
    "threading-udp": (["TCPServer.__init__", "UDPServer.get_request", "ThreadingMixIn.process_request",
                       "ThreadingMixIn.process_request_thread", "DatagramRequestHandler.setup",
                       "UpperDatagramHandler.handle"], "worker"),
    "forking-tcp": (["TCPServer.__init__", "ForkingMixIn.process_request", "BaseServer.finish_request",
                     "UpperStreamHandler.handle"], "child"),
    "unix-stream": (["TCPServer.__init__", "TCPServer.server_bind", "TCPServer.get_request",
                     "UpperStreamHandler.handle"], "main"),
    "http": (["TCPServer.__init__", "HTTPServer.server_bind", "TCPServer.server_bind",
              "BaseHTTPRequestHandler.handle", "BaseHTTPRequestHandler.handle_one_request",
              "BaseHTTPRequestHandler.parse_request", "HelloHTTPHandler.do_GET"], "main"),
}


def in_order(expected, actual):
    position = 0
    for name in expected:
        try:
            position = actual.index(name, position) + 1
        except ValueError:
            return False
    return True


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stdlib_scenarios(name):
    expected, role = EXPECTED[name]
    trace = scenarios.run(name)
    result = flow.build(trace, target=scenarios.get(name).target)
    assert in_order(expected, result.qualnames()), result.qualnames()
    assert result.steps[-1].qualname == expected[-1]
    assert result.steps[-1].role == role
    assert result.steps[0].qualname == "TCPServer.__init__"
    if role == "child":
        child = [t for t in trace.threads if t.role == "child"]
        assert len(child) == 1 and child[0].pid not in (None, os.getpid())
        assert child[0].started_by == [c for c in trace.calls if c.qualname == "ForkingMixIn.process_request"][0].id
        assert [s.qualname for s in result.steps if s.hop] == ["BaseServer.finish_request"]


COMPAT = [n for n in scenarios.names() if n.startswith("compat-")]


@pytest.mark.parametrize("name", COMPAT)
def test_compat_scenarios_reach_the_handler_through_compatserver(name):
    scenario = scenarios.get(name)
    trace = scenarios.run(name)
    assert "compatserver" in trace.modules
    result = flow.build(trace, target=scenario.target)
    assert result.steps[-1].function == scenario.target
    modules = set(s.module for s in result.steps)
    assert any(m.startswith("compatserver") for m in modules), modules
    server_cls, _ = scenarios.scenario_classes(name)
    assert server_cls.__module__.startswith("compatserver") or name == "compat-http"


def test_user_classes_replace_the_scenarios():
    trace = scenarios.run(
        "tcp", server="socketserver:ThreadingTCPServer", handler="analysis.examples:UpperStreamHandler"
    )
    assert "ThreadingMixIn.process_request_thread" in [c.qualname for c in trace.calls]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="nope"), "unknown scenario 'nope' (known: threading-tcp, tcp, udp, "),
        (dict(name="tcp", server="nope:Server"), "unknown class nope:Server"),
        (dict(name="tcp", server="analysis.examples:UpperStreamHandler"),
         "analysis.examples:UpperStreamHandler is not a server class (not a subclass of "),
    ],
)
def test_scenario_errors_are_one_line(kwargs, message):
    with pytest.raises(scenarios.ScenarioError) as info:
        scenarios.run(**kwargs)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_scenario_names():
    assert scenarios.names() == [
        "threading-tcp", "tcp", "udp", "threading-udp", "forking-tcp", "unix-stream", "http",
        "compat-threading-tcp", "compat-tcp", "compat-udp", "compat-threading-udp",
        "compat-forking-tcp", "compat-unix-stream", "compat-http",
    ]


def test_flow_from_and_to():
    trace = scenarios.run("threading-tcp")
    result = flow.build(trace, start="serve_forever", target="finish_request")
    assert result.steps[0].qualname == "BaseServer.serve_forever"
    assert result.steps[-1].qualname == "BaseServer.finish_request"
    assert (result.start, result.target) == ("serve_forever", "finish_request")
    with pytest.raises(flow.FlowError) as info:
        flow.build(trace, target="nothing")
    assert str(info.value) == "no call named 'nothing' after TCPServer.__init__ in the threading-tcp trace"
    with pytest.raises(flow.FlowError) as info:
        flow.build(trace, start="nothing")
    assert str(info.value) == "no call named 'nothing' in the threading-tcp trace"


def make_flow(version, qualnames):
    steps = []
    for i, q in enumerate(qualnames, 1):
        owner, _, function = q.rpartition(".")
        steps.append(Step(index=i, owner=owner or None, function=function, qualname=q, module="socketserver"))
    python = {"version": version, "implementation": "CPython", "executable": "python", "hexversion": 0}
    return Flow(scenario="threading-tcp", python=python, steps=steps)


def test_diff_statuses():
    old = make_flow("2.7.18", ["BaseServer.serve_forever", "_eintr_retry", "TCPServer.server_close",
                               "BaseServer.__init__", "UpperStreamHandler.handle"])
    new = make_flow("3.13.0", ["BaseServer.serve_forever", "ThreadingMixIn.server_close",
                               "BaseServer.__init__", "_Threads.append", "UpperStreamHandler.handle"])
    result = diff.diff([new, old])  # sorted by version, oldest first
    assert result.versions == ["2.7.18", "3.13.0"]
    rows = [(r.key, r.status, r.per_version["2.7.18"], r.per_version["3.13.0"]) for r in result.rows]
    assert rows == [
        ("serve_forever", "same", "BaseServer", "BaseServer"),
        ("_eintr_retry", "removed", "socketserver", None),
        ("server_close", "owner-changed", "TCPServer", "ThreadingMixIn"),
        ("__init__", "same", "BaseServer", "BaseServer"),
        ("append", "added", None, "_Threads"),
        ("handle", "same", "UpperStreamHandler", "UpperStreamHandler"),
    ]


def test_diff_errors():
    a = make_flow("3.12.1", ["A.f"])
    with pytest.raises(diff.DiffError) as info:
        diff.diff([a])
    assert str(info.value) == "a diff needs at least two flows, got 1"
    with pytest.raises(diff.DiffError) as info:
        diff.diff([a, make_flow("3.12.1", ["A.f"])])
    assert str(info.value) == "two flows of the same interpreter version: 3.12.1, 3.12.1"
    other = make_flow("3.13.0", ["A.f"])
    other.scenario = "udp"
    with pytest.raises(diff.DiffError) as info:
        diff.diff([a, other])
    assert str(info.value) == "flows of different scenarios: threading-tcp, udp"


def test_diff_of_pinned_flows_names_what_each_version_adds():
    flows = [make_flow(v, PINNED[m]) for v, m in [("2.7.18", (2, 7)), ("3.7.16", (3, 7)), ("3.13.0", (3, 13))]]
    result = diff.diff(flows)
    changed = dict((r.key, (r.status, [r.per_version[v] for v in result.versions])) for r in result.rows
                   if r.status != "same")
    assert changed == {
        "_eintr_retry": ("removed", ["socketserver", None, None]),
        "append": ("added", [None, None, "_Threads"]),
        "reap": ("added", [None, None, "_Threads"]),
        "__init__#4": ("added", [None, "_SocketWriter", "_SocketWriter"]),
    }


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_a_forked_child_is_named_by_fork_order_and_files_are_absolute():
    # Named by pid, the child made every recording of a forking scenario
    # differ and the docs re-read their pages; Python 2 recorded the path a
    # module was imported by, relative for a relative sys.path entry.
    for _ in range(2):
        trace = scenarios.run("forking-tcp")
        children = [t for t in trace.threads if t.role == "child"]
        assert [t.name for t in children] == ["child-1"]
        assert children[0].pid and children[0].pid != os.getpid()
        result = flow.build(trace)
        assert [s.thread for s in result.steps if s.role == "child"][:1] == ["child-1"]
        assert all(os.path.isabs(c.file) for c in trace.calls if c.file)
        assert all(os.path.isabs(c.call_file) for c in trace.calls if c.call_file)
