"""``python -m analysis``: the command line.

::

    python -m analysis scenarios
    python -m analysis mro CLASS [--json]
    python -m analysis trace SCENARIO [--json FILE] [--tracer HOOK] [--server M:C --handler M:C]
    python -m analysis flow SCENARIO [--from NAME] [--to NAME] [--json]
    python -m analysis versions SCENARIO [--pythons 2.7,3.13 ...] [--out DIR]
    python -m analysis diff A.json B.json [...] [--json]
    python -m analysis record SCENARIO --out DIR    (what `versions` runs in each interpreter)

    python -m analysis trace SCRIPT.py [ARGS...] [--json FILE] [--tracer HOOK]
    python -m analysis flow SCRIPT.py [ARGS...] [--server CLASS] [--to NAME] [--json]
    python -m analysis record SCRIPT.py [ARGS...] --out DIR [--server CLASS]
    python -m analysis versions SCRIPT.py [ARGS...] --out DIR [--server CLASS]
    python -m analysis walkthrough SCRIPT.py [ARGS...] --out DIR [--server CLASS] [--to NAME]
    python -m analysis walkthrough DIR/NAME/X.Y.Z.flow.json --out DIR   (a recording)

Where a SCENARIO goes, a script (a path ending in ``.py``, or any file)
runs as ``__main__`` with ``ARGS`` as its ``sys.argv[1:]``, traced (see
:mod:`analysis.script`); the command's own options may come before or
after it, and every other argument after it is the script's (after
``--``, all of them are).  The script's own output goes to stderr, so that
stdout holds only the analysis.

Terminal output is for people: a tree with thread lanes, owners and
file:line.  ``--json`` is for programs.  An error is one line on stderr,
``analysis: error: ...``, and exit status 1 (2 for a usage error); a script
that raises has its own traceback printed first.
"""
import argparse
import os
import sys

from analysis import _compat

PROG = "python -m analysis"


class CommandError(Exception):
    """An error to report as one line."""


def _short(path):
    """A file path as a reader wants it: the stdlib's relative to its lib dir."""
    if not path:
        return "?"
    parts = path.replace("\\", "/").split("/")
    for anchor in ("site-packages", "analysis", "compatserver"):
        if anchor in parts[:-1]:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            start = index + 1 if anchor == "site-packages" else index
            return "/".join(parts[start:])
    for i, part in enumerate(parts):
        if part.startswith("python") and i + 1 < len(parts) and part[6:7].isdigit():
            return "/".join(parts[i + 1:])
    return parts[-1]


def _write(text):
    out = sys.stdout
    if not isinstance(text, type(u"")):
        text = text.decode("utf-8")
    if _compat.PY2:  # Python 2: stdout takes bytes
        out.write(text.encode("utf-8"))
    else:
        out.write(text)


def _dump_json(document, path=None):
    text = document.to_json()
    if path in (None, "-"):
        _write(text + u"\n")
        return
    try:
        document.dump(path)
    except (IOError, OSError) as exc:
        raise CommandError("cannot write %s: %s" % (path, exc.strerror or exc))


# -- mro -----------------------------------------------------------------------


def format_mro(mro):
    lines = []
    rule = "C3" if mro.new_style else "depth-first, left to right (classic class)"
    lines.append("%s  (Python %s, %s)" % (mro.cls, mro.python["version"], rule))
    lines.append("")
    lines.append("MRO:")
    for i, name in enumerate(mro.mro, 1):
        lines.append("  %d. %s" % (i, name))
    lines.append("")
    lines.append("Bases:")
    for name in mro.mro:
        bases = mro.bases.get(name, [])
        lines.append("  %s(%s)" % (name, ", ".join(bases)))
    lines.append("")
    lines.append("Attributes (name, kind, owner, override of, where):")
    width = max([len(a.name) for a in mro.attributes] + [4])
    owner_width = max([len(a.owner) for a in mro.attributes] + [5])
    override_width = max(
        [len("%s %s" % (a.override, ", ".join(a.shadows))) for a in mro.attributes if a.shadows] + [0]
    )
    for a in mro.attributes:
        override = ""
        if a.shadows:
            override = "%s %s" % (a.override, ", ".join(a.shadows))
        where = "%s:%s" % (_short(a.file), a.line) if a.line else ""
        line = "  %-*s  %-12s  %-*s  %-*s  %s" % (
            width, a.name, a.kind, owner_width, a.owner, override_width, override, where
        )
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def cmd_mro(args):
    from analysis import mro

    try:
        result = mro.analyze(args.cls)
    except mro.UnknownClass as exc:
        raise CommandError(str(exc))
    if args.json:
        _dump_json(result)
    else:
        _write(format_mro(result))
    return 0


# -- trace ---------------------------------------------------------------------


def format_trace(trace):
    lines = []
    lines.append(
        "%s  (Python %s, %s, %d calls, %d threads)"
        % (trace.scenario, trace.python["version"], trace.tracer, len(trace.calls), len(trace.threads))
    )
    threads = dict((t.id, t) for t in trace.threads)
    labels = {}
    for t in trace.threads:
        labels[t.id] = "%s %s" % (t.role, t.name)
    lane = max([len(v) for v in labels.values()] + [4])
    hop_into = dict((h.first_call, h) for h in trace.hops)
    lines.append("")
    for t in trace.threads:
        started = ""
        if t.started_by is not None:
            try:
                started = ", started by #%d %s" % (t.started_by, trace.call(t.started_by).qualname)
            except KeyError:
                started = ", started by #%d" % t.started_by
        lines.append("lane %-*s  thread %d%s%s" % (lane, labels[t.id], t.id, " pid %s" % t.pid if t.pid else "", started))
    lines.append("")
    for call in trace.calls:
        marker = ""
        if call.id in hop_into:
            marker = "~> "
        where = "%s:%s" % (_short(call.file), call.line)
        site = " <- line %s" % call.call_line if call.call_line is not None else ""
        spawned = ""
        if call.spawned_threads:
            spawned = "  => starts %s" % ", ".join(
                labels.get(i, str(i)) for i in call.spawned_threads
            )
        lines.append(
            "%-*s | %s%s%s  %s%s%s"
            % (lane, labels.get(call.thread, call.thread), "  " * call.depth, marker, call.qualname, where, site, spawned)
        )
    if trace.disabled:
        lines.append("")
        lines.append("tracer disabled: %s" % trace.disabled)
    del threads
    return "\n".join(lines) + "\n"


def is_script(name):
    """True when *name* names a script to run rather than a scenario."""
    return name.endswith(".py") or os.sep in name or os.path.isfile(name)


class _ScriptOutput(object):
    """The script's ``sys.stdout`` is stderr while it runs: stdout is the analysis's."""

    def __enter__(self):
        self._saved = sys.stdout
        sys.stdout = sys.stderr
        return self

    def __exit__(self, *exc_info):
        sys.stdout = self._saved
        return False


def _run_script(args):
    from analysis import script

    if args.handler:
        raise CommandError("--handler is for scenarios: a script constructs its servers with their handlers")
    with _ScriptOutput():
        try:
            return script.run(args.scenario, args.script_args, tracer=args.tracer)
        except script.ScriptFailed as exc:
            if exc.details:
                sys.stderr.write(exc.details)
            raise CommandError(str(exc))
        except script.ScriptError as exc:
            raise CommandError(str(exc))


def _script_flow(run, args, target):
    from analysis import script

    try:
        return run.flow(args.server, target=target or "handle")
    except script.ScriptError as exc:
        raise CommandError(str(exc))


def _run_scenario(args):
    from analysis import scenarios

    if is_script(args.scenario):
        return _run_script(args).trace
    try:
        return scenarios.run(args.scenario, tracer=args.tracer, server=args.server, handler=args.handler)
    except scenarios.ScenarioError as exc:
        raise CommandError(str(exc))


def cmd_trace(args):
    trace = _run_scenario(args)
    if args.json:
        _dump_json(trace, args.json)
        if args.json == "-":
            return 0
    _write(format_trace(trace))
    return 0


# -- flow ----------------------------------------------------------------------


def format_flow(flow):
    lines = []
    lines.append(
        "%s: %s -> %s  (Python %s, %d steps)"
        % (flow.scenario, flow.start, flow.target, flow.python["version"], len(flow.steps))
    )
    lane = max([len("%s %s" % (s.role, s.thread)) for s in flow.steps] + [4])
    for s in flow.steps:
        label = "%s %s" % (s.role, s.thread)
        name = "%s%s%s" % ("  " * s.depth, "~> " if s.hop else "", s.qualname)
        site = " <- line %s" % s.call_line if s.call_line is not None else ""
        lines.append(
            "%3d  %-*s | %-60s %s:%s%s" % (s.index, lane, label, name, _short(s.file), s.line, site)
        )
        if s.note:
            lines.append("     %-*s |   %s# %s" % (lane, "", "  " * s.depth, s.note))
    return "\n".join(lines) + "\n"


def cmd_flow(args):
    from analysis import flow, scenarios

    if is_script(args.scenario):
        if args.start != "__init__":
            raise CommandError("--from is for scenarios: a script's flow starts at its server's construction")
        result = _script_flow(_run_script(args), args, args.to)
    else:
        trace = _run_scenario(args)
        target = args.to or scenarios.get(args.scenario).target
        try:
            result = flow.build(trace, start=args.start, target=target)
        except flow.FlowError as exc:
            raise CommandError(str(exc))
    if args.json:
        _dump_json(result)
    else:
        _write(format_flow(result))
    return 0


# -- versions ------------------------------------------------------------------


def cmd_versions(args):
    from analysis import scenarios, versions

    pythons = []
    for item in args.pythons or []:
        pythons.extend(p for p in item.split(",") if p)
    extra = []
    if args.server:
        extra += ["--server", args.server]
    if args.handler:
        extra += ["--handler", args.handler]
    name = scenario = args.scenario
    if is_script(scenario):
        if not os.path.isfile(scenario):
            raise CommandError("cannot read %s: No such file or directory" % scenario)
        scenario = os.path.abspath(scenario)  # the runs' working directory is the checkout
        name = os.path.splitext(os.path.basename(scenario))[0]
        extra += ["--"] + list(args.script_args)
    else:
        scenarios.get(scenario)  # an unknown name fails here, before any run
    try:
        results = versions.run_all(scenario, args.out, pythons=pythons or None, extra_args=extra)
    except versions.VersionsError as exc:
        raise CommandError(str(exc))
    failed = [r for r in results if not r[1]]
    for interp, ok, version, message in results:
        if ok:
            paths = versions.output_paths(args.out, name, version)
            _write(u"%-6s %-8s %s\n" % (interp.label, version, paths["flow"]))
    for interp, ok, version, message in failed:
        sys.stderr.write("analysis: error: %s: %s\n" % (interp.display, message))
    return 1 if failed else 0


def cmd_record(args):
    from analysis import flow, scenarios, script

    if is_script(args.scenario):
        run = _run_script(args)
        result = _script_flow(run, args, None)
        version = _compat.version_string()
        try:
            script.write(run, result, args.out, args.server)
        except (IOError, OSError) as exc:
            raise CommandError("cannot write under %s: %s" % (args.out, exc.strerror or exc))
        _write(version + u"\n")
        return 0
    try:
        version = scenarios.record(
            args.scenario, args.out, tracer=args.tracer, server=args.server, handler=args.handler
        )
    except (scenarios.ScenarioError, flow.FlowError) as exc:
        raise CommandError(str(exc))
    _write(version + u"\n")
    return 0


# -- walkthrough -----------------------------------------------------------------


def _recorded(path):
    """The Flow of a recorded ``X.flow.json`` and the MROSet beside it (``X.mro.json``)."""
    from analysis.model import Flow, MROSet, SchemaError

    mro_path = path[: -len(".flow.json")] + ".mro.json" if path.endswith(".flow.json") else None
    if mro_path is None:
        raise CommandError("%s: a recording is a .flow.json file with its .mro.json beside it" % path)
    documents = []
    for name, cls in ((path, Flow), (mro_path, MROSet)):
        try:
            documents.append(cls.load(name))
        except (IOError, OSError) as exc:
            raise CommandError("cannot read %s: %s" % (name, exc.strerror or exc))
        except SchemaError as exc:
            raise CommandError(str(exc))
    return documents


def cmd_walkthrough(args):
    from analysis import script

    if args.scenario.endswith(".json"):
        flow, mros = _recorded(args.scenario)
        if args.script_args or args.server or args.to or args.tracer:
            raise CommandError("a recording is shown as it was recorded: no script arguments, "
                               "--server, --to or --tracer")
    elif is_script(args.scenario):
        run = _run_script(args)
        flow = _script_flow(run, args, args.to)
        try:
            mros = run.mros(args.server)
        except script.ScriptError as exc:
            raise CommandError(str(exc))
    else:
        raise CommandError("walkthrough takes a script (SCRIPT.py) or a recorded flow (X.flow.json), "
                           "not %r" % args.scenario)
    command = " ".join(["python -m analysis walkthrough", os.path.basename(args.scenario)]
                       + list(args.script_args))
    try:
        written = script.write_walkthrough(flow, mros, args.out, command=command)
    except script.ScriptError as exc:
        raise CommandError(str(exc))
    except (IOError, OSError) as exc:
        raise CommandError("cannot write under %s: %s" % (args.out, exc.strerror or exc))
    _write(u"".join(path + u"\n" for path in written))
    return 0


# -- diff ----------------------------------------------------------------------


def format_diff(result):
    lines = []
    lines.append("%s: %s" % (result.scenario, "  ".join(result.versions)))
    key_width = max([len(r.key) for r in result.rows] + [4])
    columns = [max([len(v)] + [len(r.per_version.get(v) or "-") for r in result.rows]) for v in result.versions]
    header = "%-*s  %-13s  %s" % (
        key_width,
        "step",
        "status",
        "  ".join("%-*s" % (w, v) for w, v in zip(columns, result.versions)),
    )
    lines.append(header.rstrip())
    for r in result.rows:
        cells = "  ".join("%-*s" % (w, r.per_version.get(v) or "-") for w, v in zip(columns, result.versions))
        lines.append(("%-*s  %-13s  %s" % (key_width, r.key, r.status, cells)).rstrip())
    return "\n".join(lines) + "\n"


def cmd_diff(args):
    from analysis import diff, flow
    from analysis.model import Flow, SchemaError, Trace, load

    flows = []
    for path in args.files:
        try:
            document = load(path)
        except (IOError, OSError) as exc:
            raise CommandError("cannot read %s: %s" % (path, exc.strerror or exc))
        except SchemaError as exc:
            raise CommandError(str(exc))
        if isinstance(document, Trace):
            from analysis import scenarios

            target = scenarios.get(document.scenario).target if document.scenario in scenarios.names() else "handle"
            try:
                document = flow.build(document, target=target)
            except flow.FlowError as exc:
                raise CommandError("%s: %s" % (path, exc))
        if not isinstance(document, Flow):
            raise CommandError("%s is a %s document, not a flow or a trace" % (path, document.SCHEMA))
        flows.append(document)
    try:
        result = diff.diff(flows)
    except diff.DiffError as exc:
        raise CommandError(str(exc))
    if args.json:
        _dump_json(result)
    else:
        _write(format_diff(result))
    return 0


def cmd_scenarios(args):
    from analysis import scenarios

    _write(u"".join(name + u"\n" for name in scenarios.names()))
    return 0


# -- parser --------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error here (exit status 2)."""

    def error(self, message):
        sys.stderr.write("analysis: error: %s (see %s --help)\n" % (message, self.prog))
        sys.exit(2)


_SCENARIO_HELP = "a scenario name (see `scenarios`) or a script to run: SCRIPT.py [ARGS...]"


def _add_user_classes(parser):
    parser.add_argument(
        "--server", metavar="CLASS",
        help="scenario: MODULE:CLASS, run this server class instead; "
        "script: which of the servers it constructs (by class name)")
    parser.add_argument("--handler", metavar="MODULE:CLASS", help="scenario: run this handler class instead")
    parser.add_argument(
        "--tracer", metavar="HOOK",
        help="the hook to record with (default: the best this interpreter has; "
        "an unavailable one is named with those that are)",
    )


def build_parser():
    parser = _Parser(
        prog=PROG, description="MRO and call flow of socketserver, recorded from real runs "
        "of a scenario or of your own script."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("scenarios", help="list the scenario names")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("mro", help="linearization, owners and overrides of a class")
    p.add_argument("cls", metavar="CLASS", help="module.Class or module:Class")
    p.add_argument("--json", action="store_true", help="print the MRO document as JSON")
    p.set_defaults(func=cmd_mro)

    p = sub.add_parser("trace", help="run a scenario or a script and show every recorded call")
    p.add_argument("scenario", metavar="SCENARIO|SCRIPT.py", help=_SCENARIO_HELP)
    p.add_argument("--json", metavar="FILE", help="write the trace as JSON to FILE (- for stdout)")
    _add_user_classes(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("flow", help="run a scenario or a script and show the path from an entry to a target")
    p.add_argument("scenario", metavar="SCENARIO|SCRIPT.py", help=_SCENARIO_HELP)
    p.add_argument("--from", dest="start", default="__init__", metavar="NAME",
                   help="scenario: entry (default __init__; a script's flow starts at its server's construction)")
    p.add_argument("--to", default=None, metavar="NAME", help="target (default handle, do_GET for http)")
    p.add_argument("--json", action="store_true", help="print the flow as JSON")
    _add_user_classes(p)
    p.set_defaults(func=cmd_flow)

    p = sub.add_parser("walkthrough", help="run a script (or read its recording) and write its walkthrough: "
                       "a reST page, its SVG diagrams, one HTML page")
    p.add_argument("scenario", metavar="SCRIPT.py|FLOW.json",
                   help="a script to run (SCRIPT.py [ARGS...]) or a recorded X.flow.json (its X.mro.json beside it)")
    p.add_argument("--out", required=True, metavar="DIR", help="where the page and its diagrams go")
    p.add_argument("--to", default=None, metavar="NAME", help="target (default handle)")
    p.add_argument("--server", metavar="CLASS", help="which of the servers the script constructs (by class name)")
    p.add_argument("--tracer", metavar="HOOK", help="as for flow")
    p.set_defaults(func=cmd_walkthrough, handler=None)

    p = sub.add_parser("versions", help="record a scenario or a script under every interpreter, in parallel")
    p.add_argument("scenario", metavar="SCENARIO|SCRIPT.py", help=_SCENARIO_HELP)
    p.add_argument(
        "--pythons", nargs="+", metavar="PYTHON", help="versions (2.7 3.13 or 2.7,3.13) or interpreter paths"
    )
    p.add_argument("--out", default="analysis-out", metavar="DIR", help="output directory (default analysis-out)")
    p.add_argument("--server", metavar="CLASS", help="as for flow")
    p.add_argument("--handler", metavar="MODULE:CLASS", help="scenario: run this handler class instead")
    p.set_defaults(func=cmd_versions)

    p = sub.add_parser("diff", help="compare flows (or traces) of several interpreters")
    p.add_argument("files", nargs="+", metavar="FILE", help="flow or trace JSON files, two or more")
    p.add_argument("--json", action="store_true", help="print the diff as JSON")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("record", help="run a scenario or a script, write its trace, flow and MRO files under --out")
    p.add_argument("scenario", metavar="SCENARIO|SCRIPT.py", help=_SCENARIO_HELP)
    p.add_argument("--out", required=True, metavar="DIR")
    _add_user_classes(p)
    p.set_defaults(func=cmd_record)
    return parser


def _commands(parser):
    """``[(name, help)]`` of every command, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = dict((a.dest, a.help) for a in action._choices_actions)
            return [(name, helps.get(name, "")) for name in action.choices]
    return []


def _subparser(parser, name):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(name)
    return None


def split_script_args(parser, argv):
    """``(analysis argv, script argv)``.

    After a script (see :func:`is_script`), the command's own options (and
    their values) stay the command's; every other argument, and every one
    after ``--``, is the script's.  A scenario's arguments are left to
    argparse as they are.
    """
    if not argv or argv[0].startswith("-"):
        return argv, []
    sub = _subparser(parser, argv[0])
    if sub is None or "scenario" not in [a.dest for a in sub._actions]:
        return argv, []
    takes_value = {}  # option -> 0 (a flag), 1 (one value) or "+" (values up to the next option)
    for action in sub._actions:
        for option in action.option_strings:
            takes_value[option] = "+" if action.nargs in ("+", "*") else (0 if action.nargs == 0 else 1)
    ours, theirs = [argv[0]], []
    script = False
    i = 1
    while i < len(argv):
        token = argv[i]
        option = token.split("=", 1)[0]
        if token == "--" and script:
            theirs.extend(argv[i + 1:])
            break
        if option in takes_value:
            ours.append(token)
            if takes_value[option] == "+" and "=" not in token:
                while i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                    i += 1
                    ours.append(argv[i])
            elif takes_value[option] and "=" not in token and i + 1 < len(argv):
                i += 1
                ours.append(argv[i])
        elif script:
            theirs.append(token)
        elif not token.startswith("-"):
            ours.append(token)
            if not is_script(token):
                ours.extend(argv[i + 1:])  # a scenario: argparse has the rest
                break
            script = True
        else:
            ours.append(token)
        i += 1
    return ours, theirs


def main(argv=None):
    from analysis.trace import TracerError

    parser = build_parser()
    if argv is None:
        argv = sys.argv[1:]
    if not argv:
        # Python 2/3.6 treat subcommands as optional; everywhere, say what they are.
        lines = ["usage: %s COMMAND ..." % PROG, "", "commands:"]
        commands = _commands(parser)
        width = max(len(name) for name, _ in commands)
        lines.extend("  %-*s  %s" % (width, name, text) for name, text in commands)
        lines.append("")
        lines.append("%s COMMAND --help describes each one." % PROG)
        sys.stderr.write("\n".join(lines) + "\n")
        return 2
    ours, theirs = split_script_args(parser, list(argv))
    args = parser.parse_args(ours)
    args.script_args = theirs
    if getattr(args, "func", None) is None:  # Python 2/3.6: only options, no command
        parser.error("a command is required (one of %s)" % ", ".join(name for name, _ in _commands(parser)))
    if getattr(args, "files", None) is not None and len(args.files) < 2:
        parser.error("diff needs two or more files")
    try:
        return args.func(args)
    except CommandError as exc:
        sys.stderr.write("analysis: error: %s\n" % (exc,))
        return 1
    except TracerError as exc:
        sys.stderr.write("analysis: error: %s\n" % (exc,))
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C, after the script's own run ended
        sys.stderr.write("analysis: interrupted\n")
        return 130
    except Exception as exc:  # the scenario module's own errors
        from analysis import scenarios

        if isinstance(exc, scenarios.ScenarioError):
            sys.stderr.write("analysis: error: %s\n" % (exc,))
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
