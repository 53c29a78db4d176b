"""analysis.script: a user's own script, traced; the flow of each server it constructs.

The scripts live in tests/scripts/: each binds 127.0.0.1 port 0, runs its
own client and stops by itself within a second.  The flows are asserted
step by step, (lane role, owner.function, hop), on every interpreter.
"""
import os
import sys
import threading

import pytest

from analysis import _compat, script

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
PY2 = sys.version_info[0] == 2
#: 3.8+ patch releases keep ThreadingMixIn's threads in a _Threads list (gh-81843 ...).
THREADS_LIST = hasattr(_compat.socketserver, "_Threads")


def path(name):
    return os.path.join(SCRIPTS, name)


def steps(flow):
    return [(s.role, s.qualname, s.hop) for s in flow.steps]


def construction(activate="TCPServer.server_activate"):
    return [("main", "TCPServer.__init__", False), ("main", "BaseServer.__init__", False),
            ("main", "TCPServer.server_bind", False), ("main", activate, False)]


def loop(role, get_request="TCPServer.get_request", verify="BaseServer.verify_request"):
    """serve_forever() to verify_request, the first of them reached by a hop into *role*."""
    names = (["BaseServer.serve_forever"] + (["_eintr_retry"] if PY2 else [])
             + ["TCPServer.fileno", "BaseServer._handle_request_noblock", get_request, verify])
    return [(role, name, i == 0 and role != "main") for i, name in enumerate(names)]


def handler(role, setup, handle):
    found = [(role, "BaseRequestHandler.__init__", False), (role, setup, False)]
    if setup == "StreamRequestHandler.setup" and not PY2:
        found.append((role, "_SocketWriter.__init__", False))
    return found + [(role, handle, False)]


def test_serve_forever_in_a_thread_the_script_started(capsys):
    run = script.run(path("thread_server.py"))
    assert capsys.readouterr().out == "HELLO\n"  # the script ran as __main__, to its end
    assert [(s.name, s.handler.__name__) for s in run.servers] == [("QuietServer", "UpperHandler")]
    flow = run.flow()
    assert steps(flow) == (
        construction()
        + loop("worker", verify="QuietServer.verify_request")
        + [("worker", "BaseServer.process_request", False), ("worker", "BaseServer.finish_request", False)]
        + handler("worker", "StreamRequestHandler.setup", "UpperHandler.handle")
    )
    # The user's overrides are the user's classes', in the script's file.
    mine = [s for s in flow.steps if s.file == path("thread_server.py")]
    assert [(s.owner, s.module) for s in mine] == [("QuietServer", "__main__"), ("UpperHandler", "__main__")]
    assert flow.steps[4].thread == "serving" and flow.scenario == "thread_server"


def test_compatserver_servers_and_the_scripts_argv(capsys):
    run = script.run(path("thread_server.py"), ["compat"])  # argv[1:] == ["compat"]
    flow = run.flow()
    assert run.servers[0].cls.__mro__[1].__module__ == "compatserver"
    owners = [(s.qualname, s.module) for s in flow.steps]
    assert owners[:3] == [("TCPServer.__init__", _compat.socketserver.__name__),
                          ("BaseServer.__init__", _compat.socketserver.__name__),
                          ("TCPServer.server_bind", "compatserver._servers")]
    hop = [s for s in flow.steps if s.hop]
    assert [(s.role, s.qualname) for s in hop] == [("worker", "LoopMixIn.serve_forever")]
    names = [s.qualname for s in flow.steps]
    assert names.index("QuietServer.verify_request") < names.index("BaseServer.process_request")
    assert names[-1] == "UpperHandler.handle"


def test_two_servers_one_chosen():
    run = script.run(path("two_servers.py"))
    with pytest.raises(script.ScriptError) as info:
        run.flow()
    assert str(info.value) == (
        "two_servers.py constructed 2 servers (%s.ThreadingTCPServer, %s.UDPServer): "
        "choose one with --server CLASS" % ((_compat.socketserver.__name__,) * 2))
    udp = run.flow(server="UDPServer")
    assert steps(udp) == (
        construction("UDPServer.server_activate")
        + loop("server", get_request="UDPServer.get_request")
        + [("server", "BaseServer.process_request", False), ("server", "BaseServer.finish_request", False)]
        + handler("server", "DatagramRequestHandler.setup", "DatagramEcho.handle")
    )
    tcp = run.flow(server="socketserver.ThreadingTCPServer" if not PY2 else "SocketServer.ThreadingTCPServer")
    assert tcp.steps[-1].qualname == "EchoHandler.handle"
    assert [(s.role, s.qualname) for s in tcp.steps if s.hop] == [
        ("server", "BaseServer.serve_forever"), ("worker", "ThreadingMixIn.process_request_thread")]
    with pytest.raises(script.ScriptError) as info:
        run.flow(server="EchoHandler")
    assert str(info.value).startswith("EchoHandler is not a server that two_servers.py constructed (it constructed: ")


def test_threading_udp():
    flow = script.run(path("udp.py")).flow()
    assert steps(flow) == (
        construction("UDPServer.server_activate")
        + loop("server", get_request="UDPServer.get_request")
        + [("server", "ThreadingMixIn.process_request", False)]
        + ([("server", "_Threads.append", False), ("server", "_Threads.reap", False)] if THREADS_LIST else [])
        + [("worker", "ThreadingMixIn.process_request_thread", True), ("worker", "BaseServer.finish_request", False)]
        + handler("worker", "DatagramRequestHandler.setup", "Shout.handle")
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forking_server_in_the_main_thread():
    flow = script.run(path("forking.py")).flow()
    assert steps(flow) == (
        construction()
        + loop("main")
        + [("main", "ForkingMixIn.process_request", False)]
        + ([("main", "ForkingMixIn.collect_children", False)] if PY2 else [])
        + [("main", "TCPServer.close_request", False),
           ("child", "BaseServer.finish_request", True)]
        + handler("child", "StreamRequestHandler.setup", "ForkedHandler.handle")
    )


def test_the_script_is_restored_after():
    main, argv, syspath = sys.modules["__main__"], list(sys.argv), list(sys.path)
    threading_module = _compat.socketserver.threading
    run = script.run(path("udp.py"), ["x"])
    assert (sys.modules["__main__"], sys.argv, sys.path) == (main, argv, syspath)
    assert _compat.socketserver.threading is threading_module is threading
    assert run.argv == ["x"] and run.trace.scenario == "udp"


def test_failures_are_one_line():
    with pytest.raises(script.ScriptFailed) as info:
        script.run(path("raises.py"))
    assert str(info.value) == "%s raised ValueError: bad port 'eighty'" % path("raises.py")
    details = info.value.details.splitlines()
    # The script's traceback, its own frames only: nothing of analysis.
    assert details[0] == "Traceback (most recent call last):"
    assert details[1] == '  File "%s", line 8, in <module>' % path("raises.py")
    assert details[-1] == "ValueError: bad port 'eighty'"
    assert "analysis" not in info.value.details.replace(path("raises.py"), "")
    with pytest.raises(script.ScriptError) as info:
        script.run(path("no_server.py")).flow()
    assert str(info.value) == "no_server.py constructed no socketserver server"
    with pytest.raises(script.ScriptError) as info:
        script.run(path("missing.py"))
    assert str(info.value) == "cannot read %s: No such file or directory" % path("missing.py")


def test_the_tracer_is_a_hook_that_sees_the_script_as_it_runs():
    from analysis.trace import available_tracers

    run = script.run(path("udp.py"))
    assert run.trace.tracer in available_tracers()
    assert "Shout.handle" in [c.qualname for c in run.trace.calls]  # defined after the start
    for name in available_tracers():
        if name in script.SEES_ONLY_AT_START:
            with pytest.raises(script.ScriptError) as info:
                script.run(path("udp.py"), tracer=name)
            assert str(info.value).startswith(
                "the %s tracer sees only functions that exist when it starts" % name)


def test_a_handler_from_a_module_beside_the_script():
    assert "shouting" in script.default_modules(path("imports_handler.py"))
    flow = script.run(path("imports_handler.py")).flow()
    last = flow.steps[-1]
    assert (last.qualname, last.module, last.file) == ("Shouter.handle", "shouting", path("shouting.py"))
    assert [s.role for s in flow.steps] == ["main"] * len(flow.steps)  # served in the main thread


def test_a_server_that_serves_until_ctrl_c():
    # The Ctrl-C ends serve_forever() with KeyboardInterrupt: the run is what ran until then.
    flow = script.run(path("until_interrupted.py")).flow()
    assert flow.steps[-1].qualname == "Once.handle"
    assert flow.steps[0].qualname == "TCPServer.__init__"
