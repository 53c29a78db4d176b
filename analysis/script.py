"""Trace a user's own script, the way ``python -m cProfile script.py`` profiles one.

::

    run = script.run("myserver.py", ["--port", "0"])   # runs it as __main__, traced
    run.servers                                        # every server it constructed
    flow = run.flow(server="MyServer", target="handle")

The script runs as ``__main__`` with its own ``sys.argv`` (``[path] +
argv``) and its directory first on ``sys.path``, as ``python script.py``
would run it, under a :class:`~analysis.trace.Tracer` that records the
stdlib's server modules (``socketserver``, ``http.server`` ...),
``compatserver``, the script itself and the modules beside it (a handler
kept in a sibling ``handlers.py``), plus any the caller names.  Nothing is
expected of what the script does: its protocol, its client and its replies
are its own business.  A script that serves until Ctrl-C ends
there: make the requests you want to see, then press Ctrl-C, and the run is
what was recorded until then.  When it ends, the threads it left running are given
*timeout* seconds to finish (a worker still in ``finish()`` belongs to the
flow); daemon threads get a short grace and are then left alone, as the
interpreter would leave them at exit.

Every server the script constructs is found as its stdlib
``BaseServer.__init__`` runs (compatserver's servers run it too): for
that call only, the ``threading`` name that ``socketserver`` looks up is
a stand-in whose ``Event()`` notes the ``self`` and the handler class of
the frame calling it, then returns the real event.  No recorded function
is wrapped or replaced, so the recording, its owners and its call sites
are exactly what they would be without it; the stand-in is removed when
the run ends.  The flow of one server then runs from its outermost
``__init__`` (``MyServer.__init__`` when the script's class overrides it)
to the first call of the target made by that server's classes, through
``serve_forever()`` in whatever thread the script runs it, across the
thread hop or the fork.

Errors are one line (:class:`ScriptError`); when the script itself raises,
:class:`ScriptFailed` also carries the script's traceback, its frames only.
"""
import os
import re
import sys
import threading
import time
import traceback
import types

from analysis import _compat
from analysis.mro import linearize
from analysis.trace import Tracer, TracerError, available_tracers

__all__ = ["ScriptError", "ScriptFailed", "Server", "ScriptRun", "run", "write", "record", "write_walkthrough",
           "default_modules"]

#: How long daemon threads the script left running get before the run ends.
DAEMON_GRACE = 0.5

#: Tracer backends that record only the functions that exist when they start:
#: a script defines its own as it runs, so they are refused for scripts.
SEES_ONLY_AT_START = ("instrument",)


class ScriptError(RuntimeError):
    """The script cannot be traced, or what it did has no flow to show (one line)."""


class ScriptFailed(ScriptError):
    """The script itself failed.

    ``details`` is what Python would print for it (its traceback, the
    script's frames only), or ``""``; ``status`` the exit status it asked
    for, 1 for an exception.
    """

    def __init__(self, message, details="", status=1):
        ScriptError.__init__(self, message)
        self.details = details
        self.status = status


def _qualified(cls):
    module = cls.__module__
    name = _compat.class_qualname(cls)
    return name if module == "__main__" else "%s.%s" % (module, name)


class Server(object):
    """One server the script constructed: its class, its handler class, where.

    ``construction`` is the id of its stdlib ``BaseServer.__init__`` call in
    the trace and ``entry`` that of its outermost ``__init__`` (None when
    the trace does not hold them, e.g. the tracer switched itself off).
    """

    def __init__(self, cls, handler, thread):
        self.cls = cls
        self.handler = handler
        self.thread = thread
        self.construction = None
        self.entry = None

    @property
    def name(self):
        """``MyServer`` for a class of the script, ``socketserver.TCPServer`` otherwise."""
        return _qualified(self.cls)

    def names(self):
        """Every spelling ``--server`` accepts for this server's class."""
        qualname = _compat.class_qualname(self.cls)
        module = self.cls.__module__
        return set([qualname, self.cls.__name__, "%s.%s" % (module, qualname), "%s:%s" % (module, qualname)])

    def __repr__(self):
        return "Server(%s, handler=%s)" % (self.name, _qualified(self.handler) if self.handler else None)


class _ServerWatch(object):
    """Notes each server whose stdlib ``BaseServer.__init__`` runs (see the module docstring)."""

    def __init__(self):
        self.found = []
        self._module = _compat.socketserver
        self._code = _compat.func_code(vars(self._module.BaseServer)["__init__"])
        self._saved = None

    def __enter__(self):
        real = self._module.threading
        code = self._code
        found = self.found

        def event(*args, **kwargs):
            frame = sys._getframe(1)
            if frame.f_code is code:
                names = frame.f_locals
                server = names.get("self")
                if server is not None:
                    found.append(Server(_compat.receiver_class(server), names.get("RequestHandlerClass"),
                                        threading.current_thread().name))
            return real.Event(*args, **kwargs)

        self._saved = real
        self._module.threading = _ThreadingStandIn(real, event)
        return self

    def __exit__(self, *exc_info):
        self._module.threading = self._saved
        return False


class _ThreadingStandIn(object):
    """``threading`` as ``socketserver`` sees it during a run: the same, but ``Event``."""

    def __init__(self, real, event):
        self._real = real
        self.Event = event

    def __getattr__(self, name):
        return getattr(self._real, name)


def default_modules(path):
    """The module names recorded for the script at *path* (see the module docstring)."""
    modules = set(_compat.SERVER_MODULES) | set(["compatserver", "__main__"])
    directory = os.path.dirname(os.path.abspath(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    try:
        entries = os.listdir(directory)
    except OSError:
        entries = []
    for entry in entries:
        name, ext = os.path.splitext(entry)
        if ext == ".py" or (not ext and os.path.isfile(os.path.join(directory, entry, "__init__.py"))):
            # Never the tracer's own package: its functions run during the run.
            if re.match(r"^[A-Za-z_]\w*$", name) and name not in (stem, "analysis"):
                modules.add(name)
    return sorted(modules)


class ScriptRun(object):
    """What one traced run of a script gave: its trace and the servers it constructed."""

    def __init__(self, path, argv, trace, servers):
        self.path = path
        self.argv = list(argv)
        self.name = trace.scenario
        self.trace = trace
        self.servers = servers

    def server(self, name=None):
        """The :class:`Server` named *name* (``--server``), or the only kind there is."""
        display = os.path.basename(self.path)
        if not self.servers:
            raise ScriptError("%s constructed no socketserver server" % display)
        kinds = []
        for server in self.servers:
            if server.name not in kinds:
                kinds.append(server.name)
        if name is None:
            if len(kinds) > 1:
                raise ScriptError("%s constructed %d servers (%s): choose one with --server CLASS"
                                  % (display, len(kinds), ", ".join(kinds)))
            return self.servers[0]
        for server in self.servers:
            if name in server.names():
                return server
        raise ScriptError("%s is not a server that %s constructed (it constructed: %s)"
                          % (name, display, ", ".join(kinds)))

    def flow(self, server=None, target="handle"):
        """The :class:`~analysis.model.Flow` of one server, from its construction to *target*.

        *target*: a function name or ``Owner.name``; the goal is the first
        such call after the construction, preferring one whose owner is a
        class of that server's or its handler's MRO (with several servers,
        each one's own handler).
        """
        from analysis import flow as flow_module

        chosen = self.server(server)
        if chosen.entry is None:
            raise ScriptError("the trace of %s does not hold the construction of %s%s" % (
                self.name, chosen.name, " (%s)" % self.trace.disabled if self.trace.disabled else ""))
        calls = dict((c.id, c) for c in self.trace.calls)
        entry = calls[chosen.entry]
        wanted = set()
        function = target.rpartition(".")[2]
        for cls in (chosen.handler, chosen.cls):
            if cls is None:
                continue
            for klass in linearize(cls):
                if function in vars(klass):
                    wanted.add((_compat.class_qualname(klass), klass.__module__))
                    break
        candidates = [c for c in self.trace.calls
                      if c.id > entry.id and (c.function == target or c.qualname == target)]
        if not candidates:
            raise ScriptError("no call named %r after %s in the trace of %s (did the script's client "
                              "reach the server?)" % (target, entry.qualname, self.name))
        ordered = ([c for c in candidates if (c.owner, c.owner_module) in wanted]
                   + [c for c in candidates if (c.owner, c.owner_module) not in wanted])
        error = None
        for goal in ordered[:50]:
            try:
                flow = flow_module.build(self.trace, start=entry.function, target=target,
                                         entry=entry.id, goal=goal.id)
            except flow_module.FlowError as exc:
                error = exc
                continue
            return _server_steps(flow, chosen)
        raise ScriptError(str(error))

    def mros(self, server=None):
        """An :class:`~analysis.model.MROSet`: the server's class, then its handler's."""
        from analysis import mro as mro_module
        from analysis.model import MROSet

        chosen = self.server(server)
        classes = [mro_module.analyze(chosen.cls)]
        if chosen.handler is not None:
            classes.append(mro_module.analyze(chosen.handler))
        return MROSet(classes=classes)


def _server_steps(flow, server):
    """*flow* without the script's own calls between construction and serving.

    The flow's top level is the construction, the calls its caller made
    next and the one that leads to the target (``serve_forever``, maybe in
    another thread).  Of the calls in between, only those of the server's
    classes stay (``server.server_activate()``, say): a client the script
    runs there is its own business, and whether it started before or after
    the serving thread's first call is a race.
    """
    from analysis.model import Flow, Step

    owners = set((_compat.class_qualname(k), k.__module__) for k in linearize(server.cls))
    last_root = max(i for i, s in enumerate(flow.steps) if s.depth == 0)
    kept = []
    keep = True
    for i, step in enumerate(flow.steps):
        if step.depth == 0:
            keep = i in (0, last_root) or (step.owner, step.module) in owners
        if keep:
            data = step.to_dict()
            data["index"] = len(kept) + 1
            kept.append(Step.from_dict(data))
    data = flow.to_dict()
    data["steps"] = [s.to_dict() for s in kept]
    return Flow.from_dict(data)


def _read(path):
    display = path
    path = os.path.abspath(path)
    try:
        with open(path, "rb") as stream:
            source = stream.read()
    except (IOError, OSError) as exc:
        raise ScriptError("cannot read %s: %s" % (display, exc.strerror or exc))
    try:
        return compile(source, path, "exec", 0, True)
    except SyntaxError as exc:
        details = "".join(traceback.format_exception_only(SyntaxError, exc))
        raise ScriptFailed("%s is not valid Python: %s (line %s)" % (display, exc.msg, exc.lineno), details)
    except (ValueError, TypeError) as exc:  # null bytes (3.x: SyntaxError since 3.12)
        raise ScriptFailed("%s is not valid Python: %s" % (display, exc))


def _exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write("%s\n" % (code,))  # what the interpreter prints for sys.exit("message")
    return 1


def _script_traceback(exc_info, filename):
    """The traceback as Python prints it, from the script's first frame on."""
    etype, value, tb = exc_info
    first = tb
    while first is not None and first.tb_frame.f_code.co_filename != filename:
        first = first.tb_next
    return "".join(traceback.format_exception(etype, value, first or tb))


def _wait_for_threads(before, timeout):
    """Join the threads the script started; return the non-daemon ones still running."""
    deadline = time.time() + timeout
    grace = time.time() + DAEMON_GRACE
    running = []
    for thread in threading.enumerate():
        if thread in before or thread is threading.current_thread():
            continue
        until = grace if thread.daemon else deadline
        thread.join(max(0.0, until - time.time()))
        if thread.is_alive() and not thread.daemon:
            running.append(thread.name)
    return running


def run(path, argv=(), tracer=None, modules=(), timeout=10.0):
    """Run the script at *path* as ``__main__``, traced; return a :class:`ScriptRun`.

    *argv*: the script's arguments.  *tracer*: the hook (default: the best
    this interpreter has).  *modules*: more module names to record.
    Raises :class:`ScriptError` (:class:`ScriptFailed` when the script
    raised or exited with a non-zero status).  In a child process the
    script forked and that reaches the script's end (not ``os._exit()``),
    raises :class:`SystemExit` with the script's status: the child's calls
    are in the parent's run.
    """
    display = path
    code = _read(path)
    path = os.path.abspath(path)
    name = os.path.splitext(os.path.basename(path))[0]
    if tracer is None:
        # The script's own module and what it imports come to exist while
        # the tracer runs: a backend that instruments the functions present
        # at start would not see them.  A hook sees every call.
        tracer = next((t for t in available_tracers() if t not in SEES_ONLY_AT_START), None)
    elif tracer in SEES_ONLY_AT_START:
        raise ScriptError("the %s tracer sees only functions that exist when it starts, and a script "
                          "defines its own as it runs: use %s" % (tracer, ", ".join(
                              t for t in available_tracers() if t not in SEES_ONLY_AT_START)))
    try:
        recorder = Tracer(default_modules(path) + list(modules), tracer=tracer)
    except TracerError as exc:
        raise ScriptError(str(exc))
    main = types.ModuleType("__main__")
    main.__dict__.update({"__file__": path, "__builtins__": _compat.builtins, "__package__": None})
    saved = (sys.modules.get("__main__"), sys.argv, list(sys.path))
    before = set(threading.enumerate())
    failure = None
    status = 0
    watch = _ServerWatch()
    sys.modules["__main__"] = main
    sys.argv = [path] + list(argv)
    sys.path.insert(0, os.path.dirname(path))
    try:
        with watch:
            with recorder:
                try:
                    exec(code, main.__dict__)
                except SystemExit as exc:
                    status = _exit_status(exc.code)
                except KeyboardInterrupt:
                    # How a server that serves until Ctrl-C ends: what ran until then is the run.
                    pass
                except BaseException:
                    failure = sys.exc_info()
                running = _wait_for_threads(before, timeout)
    finally:
        sys.modules["__main__"], sys.argv = saved[0], saved[1]
        sys.path[:] = saved[2]
    if recorder.in_forked_child:
        # A child the script forked came to the script's end instead of
        # ending at os._exit(): it ends here, as it would untraced, with
        # the script's status.  Its calls are in the parent's recording.
        if failure is not None:
            sys.stderr.write(_script_traceback(failure, code.co_filename))
            failure = None
            status = 1
        raise SystemExit(status)
    if failure is not None:
        details = _script_traceback(failure, code.co_filename)
        exc = failure[1]
        failure = None  # no cycle through the traceback's frames
        raise ScriptFailed("%s raised %s: %s" % (display, type(exc).__name__, exc), details)
    if status:
        raise ScriptFailed("%s exited with status %s" % (display, status), status=status)
    if running:
        raise ScriptError("%s left thread %s running %.0f s after it ended" % (display, ", ".join(running), timeout))
    trace = recorder.trace(name)
    servers = watch.found
    _locate(trace, servers)
    result = ScriptRun(path, argv, trace, servers)
    result.module = main  # its globals stay alive while the run's classes are used (2.7 clears them)
    return result


def _locate(trace, servers):
    """Set each server's ``construction`` and ``entry`` call ids from *trace*."""
    socketserver = _compat.socketserver.__name__
    threads = dict((t.id, t) for t in trace.threads)
    calls = dict((c.id, c) for c in trace.calls)
    inits = {}
    for call in trace.calls:
        if call.function == "__init__" and call.owner == "BaseServer" and call.owner_module == socketserver:
            thread = threads.get(call.thread)
            if thread is not None and thread.role != "child":
                inits.setdefault(thread.name, []).append(call)
    for server in servers:
        queue = inits.get(server.thread)
        if not queue:
            continue
        call = queue.pop(0)
        server.construction = call.id
        owners = set((_compat.class_qualname(k), k.__module__) for k in linearize(server.cls))
        while True:
            parent = calls.get(call.parent)
            if parent is None or parent.function != "__init__" or (parent.owner, parent.owner_module) not in owners:
                break
            call = parent
        server.entry = call.id


def write(result, flow, out, server=None):
    """Write a run's trace, *flow* and MRO set under *out*; return the version string.

    The layout of :func:`analysis.scenarios.record`, with the script's name
    (``myserver`` for ``myserver.py``) as the scenario: the Sphinx
    directives read it with ``:scenario: myserver``.
    """
    mros = result.mros(server)
    version = _compat.version_string()
    directory = os.path.join(out, result.name)
    if not os.path.isdir(directory):
        os.makedirs(directory)
    base = os.path.join(directory, version)
    result.trace.dump(base + ".trace.json")
    flow.dump(base + ".flow.json")
    mros.dump(base + ".mro.json")
    return version


def record(path, out, argv=(), tracer=None, server=None, target="handle", modules=()):
    """Run the script, write its files under *out* (see :func:`write`); return ``(version, run)``."""
    result = run(path, argv, tracer=tracer, modules=modules)
    return write(result, result.flow(server, target=target), out, server), result


def write_walkthrough(flow, mros, out, name=None, script=None, command=None):
    """Write the walkthrough of one server under *out*; return the paths written.

    ``NAME.rst`` (the page, for a Sphinx project to include as it is), the
    SVG diagrams it shows beside it, and ``NAME.html``, the same page with
    the diagrams inlined, for a reader without Sphinx.  *name* defaults to
    the flow's scenario (the script's name), *script* to ``NAME.py``.
    Needs Python 3 (the renderers) and Graphviz's ``dot`` (the diagrams);
    without either, :class:`ScriptError` says so.  Files whose text did
    not change are left alone.
    """
    if _compat.PY2:  # Python 2: the renderers are Python 3 code
        raise ScriptError("the walkthrough renders with Python 3; record with this interpreter "
                          "(python -m analysis record SCRIPT.py --out DIR) and give python3 -m "
                          "analysis walkthrough the .flow.json it writes")
    import shutil
    import subprocess

    from analysis import pages, render_html, render_page
    from analysis.model import write_if_changed

    name = name or flow.scenario
    script = script or name + ".py"
    dot = shutil.which("dot")
    if dot is None:
        raise ScriptError("Graphviz's dot is not on PATH, and the walkthrough's diagrams need it "
                          "(Debian: apt-get install graphviz; others: https://graphviz.org/download/)")
    sources = {}
    # The steps' own files, and the call sites in modules that are not
    # recorded (a step then says where it was called from), as the site does.
    for path in [s.file for s in flow.steps] + [s.call_file for s in flow.steps]:
        if path and path not in sources:
            try:
                sources[path] = pages.read_source(path)
            except pages.InputError:
                pass  # that step is shown without its source
    svgs = {}
    for filename, text in render_page.diagrams(name, flow, mros):
        proc = subprocess.run([dot, "-Tsvg"], input=text.encode("utf-8"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ScriptError("dot failed on %s: %s" % (filename, message[-1] if message else proc.returncode))
        svgs[filename] = proc.stdout.decode("utf-8")
    text = render_page.page(name, script, flow, mros, sources, command=command)
    title = "How %s serves a request" % script
    files = [(name + ".rst", text), (name + ".html", render_html.page(text, title, svgs))]
    files.extend(sorted(svgs.items()))
    written = []
    for filename, content in files:
        path = os.path.join(out, filename)
        write_if_changed(path, content)
        written.append(path)
    return written
