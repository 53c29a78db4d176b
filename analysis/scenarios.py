"""Runnable, self-contained server scenarios, recorded by the tracer.

Each scenario builds a server on loopback (127.0.0.1 port 0, or a Unix
socket in a fresh temporary directory), starts a real client in a thread
named ``client`` which connects and sends *before* the loop starts (so the
first poll finds the request and the flow is the same on every run), runs
``serve_forever(poll_interval=0.05)`` in the calling thread, lets the client
call ``shutdown()`` once it has its reply, then ``server_close()``, joins
every thread it started and reaps every child.  Every wait is bounded; a
scenario that does not finish in time, or whose client does not get the
expected reply, raises :class:`ScenarioError` with one line.

The recording covers construction to ``server_close()``: the server's
module (``socketserver`` / ``SocketServer``, plus ``http.server`` /
``BaseHTTPServer`` for http), :mod:`analysis.examples` (the handlers and
clients) and, for the ``compat-`` scenarios, ``compatserver``.
"""
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import warnings

from analysis import _compat, examples
from analysis.mro import UnknownClass, resolve
from analysis.trace import Tracer, TracerError

__all__ = ["SCENARIOS", "Scenario", "ScenarioError", "run", "record", "names", "get", "scenario_classes"]

POLL_INTERVAL = 0.05


class ScenarioError(RuntimeError):
    """A scenario that cannot run here or did not finish correctly (one line)."""


class Scenario(object):
    """How to build and drive one kind of server."""

    def __init__(self, name, server, handler, client, family, target="handle", compat=False, needs=None):
        self.name = name
        self.server = server  # class name in socketserver / compatserver
        self.handler = handler  # "stream" | "datagram" | "http"
        self.client = client  # function name in analysis.examples
        self.family = family  # "inet" | "unix"
        self.target = target
        self.compat = compat
        self.needs = needs  # a capability: "fork" | "unix"

    def __repr__(self):
        return "Scenario(%r)" % (self.name,)


def _scenarios():
    base = [
        Scenario("threading-tcp", "ThreadingTCPServer", "stream", "stream_client", "inet"),
        Scenario("tcp", "TCPServer", "stream", "stream_client", "inet"),
        Scenario("udp", "UDPServer", "datagram", "datagram_client", "inet"),
        Scenario("threading-udp", "ThreadingUDPServer", "datagram", "datagram_client", "inet"),
        Scenario("forking-tcp", "ForkingTCPServer", "stream", "stream_client", "inet", needs="fork"),
        Scenario("unix-stream", "UnixStreamServer", "stream", "stream_client", "unix", needs="unix"),
        Scenario("http", "HTTPServer", "http", "http_client", "inet", target="do_GET"),
    ]
    out = []
    for compat in (False, True):
        for s in base:
            out.append(
                Scenario(
                    ("compat-" if compat else "") + s.name,
                    s.server,
                    s.handler,
                    s.client,
                    s.family,
                    target=s.target,
                    compat=compat,
                    needs=s.needs,
                )
            )
    return out


SCENARIOS = _scenarios()
_BY_NAME = dict((s.name, s) for s in SCENARIOS)


def names():
    """Every scenario name, in the documented order."""
    return [s.name for s in SCENARIOS]


def get(name):
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ScenarioError("unknown scenario %r (known: %s)" % (name, ", ".join(names())))


def _compatserver():
    try:
        import compatserver
    except ImportError as exc:
        if "six" in str(exc):
            raise ScenarioError(
                "compatserver needs six, which %s lacks (pip install six)" % (sys.executable,)
            )
        raise ScenarioError("the compat- scenarios need compatserver importable: %s" % (exc,))
    return compatserver


_HANDLER_BASES = {
    "stream": ("StreamRequestHandler", examples.UpperStreamHandler),
    "datagram": ("DatagramRequestHandler", examples.UpperDatagramHandler),
}


_COMPAT_HANDLERS = {}
_COMPAT_SERVERS = {}


def _compat_handler(kind):
    """The example handler's methods on compatserver's handler base (made once)."""
    compatserver = _compatserver()
    if kind == "http":
        return examples.HelloHTTPHandler  # the stdlib's, served by a compat server
    if kind in _COMPAT_HANDLERS:
        return _COMPAT_HANDLERS[kind]
    base_name, example = _HANDLER_BASES[kind]
    base = getattr(compatserver, base_name, None)
    if base is None:
        raise ScenarioError("compatserver has no %s" % base_name)
    namespace = dict((k, v) for k, v in vars(example).items() if k in ("handle", "__doc__"))
    namespace["__module__"] = examples.__name__
    handler = _COMPAT_HANDLERS[kind] = type(example.__name__, (base,), namespace)
    return handler


def _compat_server(name):
    compatserver = _compatserver()
    if name == "HTTPServer":
        cls = getattr(compatserver, "HTTPServer", None)
        if cls is not None:
            return cls
        tcp = getattr(compatserver, "TCPServer", None)
        if tcp is None:
            raise ScenarioError("compatserver has no TCPServer")
        # What a user writes to serve http.server handlers on compatserver:
        # HTTPServer's server_bind (server_name, server_port) over compat's
        # TCPServer.  Made once, so the trace and the MRO see one class.
        if "http" not in _COMPAT_SERVERS:
            _COMPAT_SERVERS["http"] = type(
                "CompatHTTPServer",
                (_compat.http_server.HTTPServer, tcp),
                {"__module__": examples.__name__, "__doc__": "http.server's HTTPServer on compatserver.TCPServer."},
            )
        return _COMPAT_SERVERS["http"]
    cls = getattr(compatserver, name, None)
    if cls is None:
        raise ScenarioError("compatserver has no %s" % name)
    return cls


def scenario_classes(scenario, server=None, handler=None):
    """Return ``(server class, handler class)`` for *scenario* (a name or :class:`Scenario`).

    *server* / *handler*: ``module:Class`` names that replace the scenario's own.
    """
    if not isinstance(scenario, Scenario):
        scenario = get(scenario)
    if scenario.needs == "fork" and not hasattr(os, "fork"):
        raise ScenarioError("%s needs os.fork, which this platform lacks" % scenario.name)
    if scenario.needs == "unix" and not hasattr(socket, "AF_UNIX"):
        raise ScenarioError("%s needs AF_UNIX sockets, which this platform lacks" % scenario.name)
    try:
        server_cls = resolve(server) if server else None
        handler_cls = resolve(handler) if handler else None
    except UnknownClass as exc:
        raise ScenarioError(str(exc))
    for name, cls, base in ((server, server_cls, "BaseServer"), (handler, handler_cls, "BaseRequestHandler")):
        if cls is not None and not (
            isinstance(cls, _compat.CLASS_TYPES) and issubclass(cls, getattr(_compat.socketserver, base))
        ):
            raise ScenarioError("%s is not a %s (not a subclass of %s.%s)" % (
                name, "server class" if base == "BaseServer" else "request handler class",
                _compat.socketserver.__name__, base))
    if server_cls is None:
        if scenario.compat:
            server_cls = _compat_server(scenario.server)
        elif scenario.handler == "http":
            server_cls = _compat.http_server.HTTPServer
        else:
            server_cls = getattr(_compat.socketserver, scenario.server)
    if handler_cls is None:
        if scenario.compat:
            handler_cls = _compat_handler(scenario.handler)
        elif scenario.handler == "http":
            handler_cls = examples.HelloHTTPHandler
        else:
            handler_cls = _HANDLER_BASES[scenario.handler][1]
    return server_cls, handler_cls


def _modules(server_cls, handler_cls, scenario):
    from analysis.mro import linearize

    modules = set([_compat.socketserver.__name__, examples.__name__])
    if scenario.handler == "http":
        modules.add(_compat.http_server.__name__)
    if scenario.compat:
        modules.add("compatserver")
    for cls in (server_cls, handler_cls):
        for klass in linearize(cls):
            if klass.__module__ not in ("builtins", "__builtin__"):
                modules.add(klass.__module__)
    return sorted(modules)


def _expected(scenario):
    if scenario.handler == "http":
        return lambda reply: reply.startswith(b"HTTP/1.") and reply.endswith(examples.HTTP_BODY)
    return lambda reply: reply == examples.REPLY


def run(name, tracer=None, server=None, handler=None, timeout=10.0):
    """Run scenario *name* under a new :class:`~analysis.trace.Tracer`; return its Trace.

    *tracer*: the hook (default: the best this interpreter has).  *server*
    and *handler*: ``module:Class`` to run a user's own classes in the
    scenario's place.  Raises :class:`ScenarioError` (one line) when it
    cannot run here or the client did not get the expected reply.
    """
    scenario = get(name)
    server_cls, handler_cls = scenario_classes(scenario, server, handler)
    modules = _modules(server_cls, handler_cls, scenario)
    family = socket.AF_UNIX if scenario.family == "unix" else socket.AF_INET
    tmpdir = None
    if scenario.family == "unix":
        tmpdir = tempfile.mkdtemp(prefix="analysis-")
        address = os.path.join(tmpdir, "server.sock")
    else:
        address = ("127.0.0.1", 0)
    client_func = getattr(examples, scenario.client)
    before = set(threading.enumerate())
    outcome = {}
    sent = threading.Event()
    try:
        recorder = Tracer(modules, tracer=tracer, roles={"client": "client"})
    except TracerError as exc:
        raise ScenarioError(str(exc))
    try:
        with warnings.catch_warnings():
            # 3.12+ warns that forking a process with threads may deadlock;
            # the client thread is idle in recv() and the child only runs the
            # handler, so the warning is about the harness, not the flow.
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            with recorder:
                _serve(server_cls, handler_cls, address, family, client_func, sent, outcome, timeout, before)
    except ScenarioError:
        raise
    except Exception as exc:
        raise ScenarioError("%s failed: %s: %s" % (name, type(exc).__name__, exc))
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if "error" in outcome:
        raise ScenarioError("%s: the client failed: %s" % (name, outcome["error"]))
    reply = outcome.get("reply")
    if reply is None or not _expected(scenario)(reply):
        raise ScenarioError("%s: the client got %r, not the expected reply" % (name, reply))
    trace = recorder.trace(name)
    if trace.disabled:
        raise ScenarioError("%s: %s" % (name, trace.disabled))
    return trace


def _serve(server_cls, handler_cls, address, family, client_func, sent, outcome, timeout, before):
    server = server_cls(address, handler_cls)
    stopped = threading.Event()
    try:
        target = server.server_address

        def client():
            try:
                outcome["reply"] = client_func(family, target, sent, timeout)
            except Exception as exc:
                outcome["error"] = "%s: %s" % (type(exc).__name__, exc)
            finally:
                sent.set()
                server.shutdown()
                stopped.set()

        thread = threading.Thread(target=client, name="client")
        thread.daemon = True
        thread.start()
        if not sent.wait(timeout):
            raise ScenarioError("the client did not connect within %.0f s" % timeout)
        # A watchdog: if the reply never comes, shut the loop down anyway.
        watchdog = threading.Timer(timeout, server.shutdown)
        watchdog.daemon = True
        watchdog.start()
        try:
            server.serve_forever(poll_interval=POLL_INTERVAL)
        finally:
            watchdog.cancel()
        if not stopped.wait(timeout):
            raise ScenarioError("the client did not finish within %.0f s" % timeout)
        thread.join(timeout)
    finally:
        server.server_close()
        # Inside the recording: a worker still in finish() is part of the flow.
        _join_new_threads(before, timeout)
        _reap_children(server, timeout)


def _reap_children(server, timeout):
    # 2.7 and 3.6 do not wait for forked children in server_close().
    children = getattr(server, "active_children", None)
    if not children:
        return
    deadline = time.time() + timeout
    for pid in list(children):
        while time.time() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except OSError:  # already reaped
                break
            if done:
                break
            time.sleep(0.005)


def _join_new_threads(before, timeout):
    # 2.7 and 3.6 do not join handler threads in server_close(); the trace
    # must not end while a worker is still in finish().
    deadline = time.time() + timeout
    for thread in threading.enumerate():
        if thread in before or thread is threading.current_thread():
            continue
        thread.join(max(0.0, deadline - time.time()))


def record(name, out, tracer=None, server=None, handler=None):
    """Run scenario *name* and write its trace, flow and MRO set under *out*.

    The files are ``out/<name>/<X.Y.Z>.trace.json``, ``.flow.json`` and
    ``.mro.json`` (see :mod:`analysis.versions`).  Returns the version string.
    """
    from analysis import flow as flow_module
    from analysis import mro as mro_module
    from analysis.model import MROSet

    scenario = get(name)
    server_cls, handler_cls = scenario_classes(scenario, server, handler)
    trace = run(name, tracer=tracer, server=server, handler=handler)
    flow = flow_module.build(trace, start="__init__", target=scenario.target)
    mros = MROSet(classes=[mro_module.analyze(server_cls), mro_module.analyze(handler_cls)])
    version = _compat.version_string()
    directory = os.path.join(out, name)
    try:
        os.makedirs(directory)
    except OSError:
        if not os.path.isdir(directory):
            raise
    base = os.path.join(directory, version)
    trace.dump(base + ".trace.json")
    flow.dump(base + ".flow.json")
    mros.dump(base + ".mro.json")
    return version
