"""python -m analysis: the exact command forms, their output, and one-line errors."""
import json
import os
import subprocess
import sys

import pytest

from analysis import versions
from analysis.model import MRO, Flow, FlowDiff, MROSet, Step, Trace

SS = "SocketServer" if sys.version_info[0] == 2 else "socketserver"
VERSION = "%d.%d.%d" % sys.version_info[:3]


def run(args, cwd):
    # cwd: a temp dir, so that `-m analysis` imports the package under test
    # (the installed one under tox), never a stray checkout in the cwd.
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis"] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(cwd),
        env=dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH", "")),
    )
    out, err = proc.communicate()
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


def assert_one_line_error(result, message):
    code, out, err = result
    assert code == 1
    assert out == ""
    assert err == "analysis: error: %s\n" % message


def test_scenarios(tmpdir):
    code, out, err = run(["scenarios"], tmpdir)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "threading-tcp", "tcp", "udp", "threading-udp", "forking-tcp", "unix-stream", "http",
        "compat-threading-tcp", "compat-tcp", "compat-udp", "compat-threading-udp",
        "compat-forking-tcp", "compat-unix-stream", "compat-http",
    ]


def test_mro_text_and_json(tmpdir):
    code, out, err = run(["mro", "socketserver.ThreadingTCPServer"], tmpdir)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("%s.ThreadingTCPServer  (Python %s, " % (SS, VERSION))
    assert lines[2:7] == [
        "MRO:",
        "  1. %s.ThreadingTCPServer" % SS,
        "  2. %s.ThreadingMixIn" % SS,
        "  3. %s.TCPServer" % SS,
        "  4. %s.BaseServer" % SS,
    ]
    row = [line for line in lines if line.strip().startswith("process_request ")][0]
    assert row.split() == ["process_request", "method", "%s.ThreadingMixIn" % SS, "replaces",
                           "%s.BaseServer" % SS, row.split()[-1]]
    assert row.split()[-1].endswith(".py:%d" % MRO_LINE())
    code, out, err = run(["mro", "socketserver:ThreadingTCPServer", "--json"], tmpdir)
    assert code == 0
    assert MRO.from_dict(json.loads(out)).owner("process_request") == "%s.ThreadingMixIn" % SS


def MRO_LINE():
    from analysis._compat import socketserver

    return socketserver.ThreadingMixIn.__dict__["process_request"].__code__.co_firstlineno


def test_mro_unknown_class(tmpdir):
    code, out, err = run(["mro", "nope.Foo"], tmpdir)
    assert code == 1 and out == ""
    assert err.startswith("analysis: error: unknown class nope.Foo (nope: No module named ")
    assert err.count("\n") == 1


def test_flow_text(tmpdir):
    code, out, err = run(["flow", "threading-tcp"], tmpdir)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("threading-tcp: __init__ -> handle  (Python %s, " % VERSION)
    assert lines[1].split("|")[0].split() == ["1", "main", "MainThread"]
    assert lines[1].split("|")[1].split()[0] == "TCPServer.__init__"
    hop = [line for line in lines if "~> " in line]
    assert len(hop) == 1 and "ThreadingMixIn.process_request_thread" in hop[0] and "worker" in hop[0]
    assert "UpperStreamHandler.handle" in lines[-1] or "UpperStreamHandler.handle" in lines[-2]


def test_flow_json_from_to(tmpdir):
    code, out, err = run(["flow", "udp", "--from", "serve_forever", "--to", "finish_request", "--json"], tmpdir)
    assert (code, err) == (0, "")
    result = Flow.from_dict(json.loads(out))
    assert result.steps[0].qualname == "BaseServer.serve_forever"
    assert result.steps[-1].qualname == "BaseServer.finish_request"


def test_flow_errors(tmpdir):
    assert_one_line_error(
        run(["flow", "threading-tcp", "--to", "nothing"], tmpdir),
        "no call named 'nothing' after TCPServer.__init__ in the threading-tcp trace",
    )
    code, out, err = run(["flow", "nope"], tmpdir)
    assert code == 1 and err.startswith("analysis: error: unknown scenario 'nope' (known: threading-tcp, ")


def test_trace_json_file_and_tree(tmpdir):
    path = str(tmpdir.join("t.json"))
    code, out, err = run(["trace", "threading-udp", "--json", path], tmpdir)
    assert (code, err) == (0, "")
    trace = Trace.load(path)
    assert trace.scenario == "threading-udp"
    assert out.splitlines()[0] == "threading-udp  (Python %s, %s, %d calls, 3 threads)" % (
        VERSION, trace.tracer, len(trace.calls))
    assert "=> starts worker " in out  # the call that started the worker thread
    code, out, err = run(["trace", "tcp", "--json", "-"], tmpdir)
    assert code == 0 and Trace.from_dict(json.loads(out)).scenario == "tcp"


def test_trace_user_classes(tmpdir):
    code, out, err = run(
        ["trace", "tcp", "--server", "socketserver:ThreadingTCPServer",
         "--handler", "analysis.examples:UpperStreamHandler"], tmpdir)
    assert (code, err) == (0, "")
    assert "ThreadingMixIn.process_request_thread" in out
    assert_one_line_error(
        run(["trace", "tcp", "--server", "socketserver:Nope"], tmpdir),
        "unknown class socketserver:Nope (%s has no Nope)" % SS,
    )


def test_usage_errors_exit_2(tmpdir):
    code, out, err = run([], tmpdir)
    assert code == 2 and out == "" and err.startswith("usage: python -m analysis ")
    code, out, err = run(["diff", "only-one.json"], tmpdir)
    assert (code, out) == (2, "")
    assert err == "analysis: error: diff needs two or more files (see python -m analysis --help)\n"


def flow_file(tmpdir, name, version, qualnames):
    steps = []
    for i, q in enumerate(qualnames, 1):
        owner, _, function = q.rpartition(".")
        steps.append(Step(index=i, owner=owner or None, function=function, qualname=q, module="socketserver"))
    python = {"version": version, "implementation": "CPython", "executable": "python", "hexversion": 0}
    path = str(tmpdir.join(name))
    Flow(scenario="threading-tcp", python=python, steps=steps).dump(path)
    return path


def test_diff_text_and_json(tmpdir):
    a = flow_file(tmpdir, "a.json", "2.7.18", ["BaseServer.serve_forever", "_eintr_retry", "TCPServer.server_close"])
    b = flow_file(tmpdir, "b.json", "3.13.0", ["BaseServer.serve_forever", "ThreadingMixIn.server_close"])
    code, out, err = run(["diff", b, a], tmpdir)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "threading-tcp: 2.7.18  3.13.0",
        "step           status         2.7.18        3.13.0",
        "serve_forever  same           BaseServer    BaseServer",
        "_eintr_retry   removed        socketserver  -",
        "server_close   owner-changed  TCPServer     ThreadingMixIn",
    ]
    code, out, err = run(["diff", a, b, "--json"], tmpdir)
    assert FlowDiff.from_dict(json.loads(out)).versions == ["2.7.18", "3.13.0"]


def test_diff_errors(tmpdir):
    a = flow_file(tmpdir, "a.json", "2.7.18", ["A.f"])
    missing = str(tmpdir.join("missing.json"))
    assert_one_line_error(run(["diff", a, missing], tmpdir), "cannot read %s: No such file or directory" % missing)
    mro = str(tmpdir.join("m.json"))
    MROSet(classes=[]).dump(mro)
    assert_one_line_error(
        run(["diff", a, mro], tmpdir), "%s is a compatserver.mro-set document, not a flow or a trace" % mro
    )
    bad = tmpdir.join("bad.json")
    bad.write('{"schema": "compatserver.flow", "schema_version": 9}')
    assert_one_line_error(
        run(["diff", a, str(bad)], tmpdir),
        "%s: compatserver.flow schema_version 9 is newer than this code reads (1): upgrade compatserver" % bad,
    )


def test_versions_writes_the_documented_files(tmpdir):
    out_dir = tmpdir.join("out")
    code, out, err = run(["versions", "threading-tcp", "--pythons", sys.executable, "--out", str(out_dir)], tmpdir)
    assert code == 0, err
    assert "[1/1] %s threading-tcp ok (" % sys.executable in err
    directory = out_dir.join("threading-tcp")
    assert sorted(os.listdir(str(directory))) == [
        "%s.flow.json" % VERSION, "%s.mro.json" % VERSION, "%s.trace.json" % VERSION
    ]
    assert Trace.load(str(directory.join("%s.trace.json" % VERSION))).scenario == "threading-tcp"
    assert Flow.load(str(directory.join("%s.flow.json" % VERSION))).steps[-1].qualname == "UpperStreamHandler.handle"
    mros = MROSet.load(str(directory.join("%s.mro.json" % VERSION)))
    assert [m.cls for m in mros.classes] == ["%s.ThreadingTCPServer" % SS, "analysis.examples.UpperStreamHandler"]
    assert out.split() == [sys.executable, VERSION, str(directory.join("%s.flow.json" % VERSION))]


def test_versions_errors(tmpdir):
    assert_one_line_error(
        run(["versions", "tcp", "--pythons", "9.9", "--out", str(tmpdir)], tmpdir),
        "interpreter python9.9 not found (pyenv, PATH or .tox)",
    )
    code, out, err = run(["versions", "nope", "--out", str(tmpdir)], tmpdir)
    assert code == 1 and err.startswith("analysis: error: unknown scenario 'nope'")


def test_an_interpreter_without_six_is_named(tmpdir):
    fake = tmpdir.join("python-without-six")
    fake.write("#!/bin/sh\necho 'ImportError: No module named six' >&2\nexit 1\n")
    fake.chmod(0o755)
    ok, version, message = versions.run_one(versions.Interpreter("fake", str(fake)), "compat-tcp", str(tmpdir))
    assert (ok, version) == (False, None)
    assert message == "needs six, which %s lacks (pip install six)" % fake


# -- scripts (issue 13) ----------------------------------------------------------

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")


def test_no_command_lists_every_command(tmpdir):
    code, out, err = run([], tmpdir)
    assert (code, out) == (2, "")
    listed = [line.split()[0] for line in err.splitlines() if line.startswith("  ")]
    assert listed == ["scenarios", "mro", "trace", "flow", "walkthrough", "versions", "diff", "record"]


def test_flow_of_a_script_with_its_arguments(tmpdir):
    script = os.path.join(SCRIPTS, "thread_server.py")
    # --to after the script's own argument; the script prints to stderr, stdout is the JSON.
    code, out, err = run(["flow", script, "compat", "--to", "verify_request", "--json"], tmpdir)
    assert (code, err) == (0, "HELLO\n")
    flow = Flow.from_dict(json.loads(out))
    assert (flow.scenario, flow.steps[0].qualname, flow.steps[-1].qualname) == (
        "thread_server", "TCPServer.__init__", "QuietServer.verify_request")
    assert [s.qualname for s in flow.steps if s.hop] == ["LoopMixIn.serve_forever"]


def test_trace_and_record_of_a_script(tmpdir):
    script = os.path.join(SCRIPTS, "udp.py")
    code, out, err = run(["trace", script], tmpdir)
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith("udp  (Python %s, " % VERSION)
    assert "Shout.handle" in out
    out_dir = tmpdir.join("out")
    code, out, err = run(["record", script, "--out", str(out_dir)], tmpdir)
    assert (code, out, err) == (0, VERSION + "\n", "")
    directory = out_dir.join("udp")
    assert sorted(os.listdir(str(directory))) == [VERSION + ".flow.json", VERSION + ".mro.json",
                                                  VERSION + ".trace.json"]
    mros = MROSet.load(str(directory.join(VERSION + ".mro.json")))
    assert [m.cls for m in mros.classes] == ["%s.ThreadingUDPServer" % SS, "__main__.Shout"]


def test_the_scripts_arguments_and_ours():
    from analysis import cli

    parser = cli.build_parser()
    split = cli.split_script_args
    assert split(parser, ["flow", "s.py", "a", "--to", "x", "--port", "5", "--json"]) == (
        ["flow", "s.py", "--to", "x", "--json"], ["a", "--port", "5"])
    assert split(parser, ["versions", "s.py", "--pythons", "2.7", "3.13", "--out", "d", "--", "--out", "e"]) == (
        ["versions", "s.py", "--pythons", "2.7", "3.13", "--out", "d"], ["--out", "e"])
    assert split(parser, ["flow", "--to=x", "tcp", "--json"]) == (["flow", "--to=x", "tcp", "--json"], [])
    assert split(parser, ["diff", "a.py", "b.py"]) == (["diff", "a.py", "b.py"], [])


def test_versions_of_a_script(tmpdir):
    script = os.path.join(SCRIPTS, "two_servers.py")
    out_dir = tmpdir.join("out")
    code, out, err = run(["versions", script, "--pythons", sys.executable,
                          "--server", "UDPServer", "--out", str(out_dir)], tmpdir)
    assert code == 0, err
    flow = Flow.load(str(out_dir.join("two_servers", VERSION + ".flow.json")))
    assert flow.steps[-1].qualname == "DatagramEcho.handle"
    assert out.split() == [sys.executable, VERSION, str(out_dir.join("two_servers", VERSION + ".flow.json"))]


def in_process(capsys):
    """``run`` without a new interpreter: cli.main's status, stdout and stderr."""
    from analysis import cli

    def run(args, cwd):
        # In this directory: Python 2 finds the package's modules by the
        # (maybe relative) path it was imported by.
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # a usage error
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_script_errors_are_one_line(tmpdir, capsys):
    run = in_process(capsys)
    raises = os.path.join(SCRIPTS, "raises.py")
    code, out, err = run(["flow", raises], tmpdir)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    # The script's own traceback first, as Python prints it, then one line of ours.
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == '  File "%s", line 8, in <module>' % raises
    assert lines[-2:] == ["ValueError: bad port 'eighty'",
                          "analysis: error: %s raised ValueError: bad port 'eighty'" % raises]
    # What the script printed (to stderr, see test_flow_of_a_script...), then our one line.
    assert run(["flow", os.path.join(SCRIPTS, "no_server.py")], tmpdir) == (
        1, "", "nothing to serve\nanalysis: error: no_server.py constructed no socketserver server\n")
    assert_one_line_error(run(["flow", "missing.py"], tmpdir),
                          "cannot read missing.py: No such file or directory")
    exits = tmpdir.join("exits.py")
    exits.write("import sys\nsys.exit(3)\n")
    assert_one_line_error(run(["flow", str(exits)], tmpdir), "%s exited with status 3" % exits)
    broken = tmpdir.join("broken.py")
    broken.write("def f(:\n")
    code, out, err = run(["trace", str(broken)], tmpdir)
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == '  File "%s", line 1' % broken  # as Python shows it
    assert err.splitlines()[-1] == "analysis: error: %s is not valid Python: invalid syntax (line 1)" % broken
    assert_one_line_error(run(["trace", "tcp", "--json", "/proc/no/x.json"], tmpdir),
                          "cannot write /proc/no/x.json: No such file or directory")
    two = os.path.join(SCRIPTS, "two_servers.py")
    assert_one_line_error(run(["flow", two, "--server", "EchoHandler"], tmpdir),
                          "EchoHandler is not a server that two_servers.py constructed (it constructed: "
                          "%s.ThreadingTCPServer, %s.UDPServer)" % (SS, SS))


def test_bad_input_is_one_line(tmpdir, capsys):
    run = in_process(capsys)
    from analysis.trace import available_tracers

    assert_one_line_error(
        run(["flow", "tcp", "--tracer", "nope"], tmpdir),
        "tracer 'nope' is not available on Python %s (available: %s)" % (VERSION, ", ".join(available_tracers())))
    if "sys.monitoring" not in available_tracers():
        assert_one_line_error(
            run(["trace", os.path.join(SCRIPTS, "udp.py"), "--tracer", "sys.monitoring"], tmpdir),
            "tracer 'sys.monitoring' is not available on Python %s (available: %s)"
            % (VERSION, ", ".join(available_tracers())))
    assert_one_line_error(
        run(["trace", "tcp", "--server", "analysis.examples:UpperStreamHandler"], tmpdir),
        "analysis.examples:UpperStreamHandler is not a server class (not a subclass of %s.BaseServer)" % SS)
    latin = tmpdir.join("latin.json")
    latin.write_binary(b'{"scenario": "caf\xe9"}')
    a = flow_file(tmpdir, "a.json", "2.7.18", ["A.f"])
    assert_one_line_error(run(["diff", a, str(latin)], tmpdir),
                          "%s: not a JSON document (not UTF-8: byte 0xe9 at offset 17)" % latin)
    assert_one_line_error(run(["diff", a, str(tmpdir)], tmpdir),
                          "cannot read %s: Is a directory" % tmpdir)
    code, out, err = run(["flow"], tmpdir)
    assert (code, out, err.count("\n")) == (2, "", 1) and err.startswith("analysis: error: ")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("how", ["end", "exit"])
def test_a_forked_child_that_reaches_the_scripts_end(tmpdir, how):
    # The child ends where the script ends, with the script's status, and
    # prints no trace of its own: its call is in the parent's, in its lane.
    # The children's files go with the run: nothing is left in the temp dir.
    scratch = tmpdir.mkdir("tmp")
    env = dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH", ""), TMPDIR=str(scratch))
    args = [sys.executable, "-m", "analysis", "trace", os.path.join(SCRIPTS, "child_returns.py")]
    proc = subprocess.Popen(args + ([how] if how == "exit" else []), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=str(tmpdir), env=env)
    out, err = [b.decode("utf-8") for b in proc.communicate()]
    # The script's own output goes to stderr, the trace to stdout.
    assert (proc.returncode, err) == (0, "child status %d\n" % (3 if how == "exit" else 0))
    lines = out.splitlines()
    assert len([line for line in lines if line.startswith("child_returns  (Python")]) == 1
    assert [line.split()[:3] for line in lines if line.startswith("lane ")] == [
        ["lane", "main", "MainThread"], ["lane", "child", "child-1"]]
    closes = [line.split("|")[0].split() + line.split("|")[1].split()[:1]
              for line in lines if "TCPServer.server_close" in line]
    assert sorted(closes) == [["child", "child-1", "TCPServer.server_close"],
                              ["main", "MainThread", "TCPServer.server_close"]]
    assert scratch.listdir() == []
