"""Sphinx directives that embed recorded socketserver runs in any page.

The only module of the project that imports Sphinx.  The layering is that of
``sphinx.ext.inheritance_diagram``: :mod:`analysis.model` holds plain data,
:mod:`analysis.render_dot` / :mod:`analysis.render_rst` turn it into DOT and
reST text, and the directives here read the recorded JSON when a document is
read, hand the text to Sphinx and the diagrams to ``sphinx.ext.graphviz``.
Nothing here starts a server or runs a trace: the traces are recorded before
Sphinx runs (``python -m analysis versions SCENARIO --out DIR``, which
``make docs`` does).

Directives (every one takes ``:python: X.Y[.Z]`` unless said otherwise, and
``:scenario:`` defaults to ``compatserver_default_scenario``):

``.. mro:: CLASS``
    The bases graph and the MRO order of *CLASS* (a class of the scenario's
    recorded MRO set, qualified or not) as two labelled diagrams, and the
    table of its attributes with their owners.  ``:view:`` picks among
    ``bases, order, table``; ``:names:`` limits the table to those names and
    then also reports instance attributes (set in an ``__init__``) and
    names this version lacks.
``.. callflow:: SCENARIO``
    The recorded flow as a diagram (one lane per thread, numbered steps, the
    thread hop drawn) and, step by step, the real source of each function
    from that interpreter's stdlib with the lines that matter emphasized.
    ``:view:`` picks among ``diagram, steps``; ``:from:`` / ``:to:`` cut the
    flow to the steps between two functions (``name`` or ``Owner.name``).
    ``:until: name`` ends the cut just before that step.
    The content, optional, is ``name: sentence`` entries (continuation
    lines indented): why a step does what it does, written once for every
    version.
``.. sequence:: SCENARIO``
    The same flow as a sequence diagram, ``:from:`` / ``:to:`` as above.
``.. flowdiff:: SCENARIO``
    The flows of every traced interpreter (or ``:pythons:``) side by side:
    which step each version adds, drops or gets from another class.
    ``:layout: columns`` gives one column per interpreter; the default,
    ``ranges``, groups consecutive interpreters that agree (nine columns do
    not fit a page).  ``owner-diff`` and ``stdlib-classes`` take it too.
    ``:changes-only:`` leaves out the steps that are the same everywhere.
``.. owner-diff:: CLASS``
    Who supplies each attribute of *CLASS* on every traced interpreter;
    ``:changes-only:`` keeps the rows that differ, ``:names:`` picks rows.
``.. stdlib-source:: Owner.function`` (or ``Owner``)
    That definition from the interpreter's own ``socketserver`` source,
    with line numbers; ``:emphasize:`` takes ``|``-separated substrings
    whose lines are highlighted.
``.. stdlib-classes::``
    With ``:python:``: the inheritance graph of every class the module
    defines there (guards such as ``hasattr(os, "fork")`` shown dashed).
    Without: which class exists on which interpreter.
``.. version-notes::``
    The narrative walkthrough's notes on the other interpreters, computed
    (:mod:`analysis.notes`): ``:module:``, ``:lookup:``, ``:owners: names``,
    ``:flow:`` (with ``:from:`` / ``:until:``), ``:source: Owner.function``.
    ``:python: newest`` (any directive) is the newest interpreter recorded.
``.. changelog::``
    What changed from each traced interpreter to the next, newest first, in
    prose: steps a flow gains or loses (gone from the version, or still
    there and called from elsewhere), attributes and classes that come and
    go, and the probes' measured outcomes (``compatserver_probe_dir``), each
    linked to its source lines or matrix row.  ``:scenarios:`` picks the
    recordings (default: every one but compatserver's ``compat-*``).

Bad input (a missing or malformed trace, an unknown class or step, a
source file that is gone) is a warning naming the directive, the document
and the file; the directive then renders nothing, and ``-W`` fails the
build.  Every file read is a dependency of the document, so a re-recorded
trace rebuilds exactly the pages that show it.

At ``builder-inited`` the extension also writes the per-interpreter
walkthrough pages from one template (``compatserver_walkthrough_template``),
one page per interpreter traced, rewriting a page only when its text
changed so that a no-change rebuild reads nothing again.
"""
import importlib.machinery
import importlib.util
import json
import os
import re

from docutils.parsers.rst import directives
from sphinx.ext.graphviz import figure_wrapper, graphviz
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from analysis import diff as flow_diff
from analysis import model, pages, render_dot, render_rst, source, upstream
from analysis.pages import InputError, TraceStore, generate_walkthrough, version_key

__all__ = ["setup", "TraceStore", "InputError", "version_key", "generate_walkthrough"]

logger = logging.getLogger(__name__)

_STDLIB_NAMES = ("socketserver.py", "SocketServer.py")


# -- directives ----------------------------------------------------------------


def _names(argument):
    return [n.strip() for n in argument.replace(",", " ").split() if n.strip()]


def _views(choices):
    def convert(argument):
        chosen = _names(argument)
        for view in chosen:
            if view not in choices:
                raise ValueError("unknown view %r (choose from %s)" % (view, ", ".join(choices)))
        return chosen
    return convert


class _AnalysisDirective(SphinxDirective):
    """What every directive here shares: finding, reading and noting inputs."""

    option_spec = {
        "python": directives.unchanged_required,
        "scenario": directives.unchanged_required,
        "caption": directives.unchanged,
    }

    @property
    def store(self):
        root = self.config.compatserver_trace_dir
        return TraceStore(os.path.normpath(os.path.join(str(self.env.srcdir), root)))

    def scenario(self):
        return self.options.get("scenario") or self.config.compatserver_default_scenario

    def python(self):
        python = self.options.get("python")
        if not python:
            raise InputError("the :python: option is required (e.g. :python: 3.12)")
        if python == "newest":  # the narrative walkthrough: the newest recorded
            recorded = self.store.versions(self.scenario(), "mro")
            if not recorded:
                raise InputError("no interpreter recorded for scenario %r" % self.scenario(),
                                 os.path.join(self.store.root, self.scenario()))
            return recorded[-1]
        return python

    def load(self, kind, scenario=None, python=None):
        path, document = self.store.load(scenario or self.scenario(), python or self.python(), kind)
        self.env.note_dependency(path)
        return path, document

    def source(self, path):
        """The lines of a source file the recorded data points at.

        Python 2 records a module imported through a relative ``sys.path``
        entry under a relative file name (``analysis/examples.py``); such a
        name is taken relative to the project (the directory holding the
        ``analysis`` package), never to wherever Sphinx happens to run.
        """
        lines = pages.read_source(path)
        self.env.note_dependency(pages.source_path(path))
        return lines

    def run(self):
        try:
            return self.build()
        except InputError as exc:
            where = " (%s)" % exc.path if exc.path else ""
            logger.warning("%s directive: %s%s", self.name, exc, where,
                           location=self.get_location(), type="compatserver", subtype="input")
            return []

    def graph(self, dot, caption, alt, fit=False):
        """A ``sphinx.ext.graphviz`` node in a figure.

        Flow diagrams keep their natural size and scroll sideways (shrunk,
        their labels would be unreadable); class graphs (*fit*) are scaled
        down to the page width like any image.
        """
        node = graphviz()
        node["code"] = dot
        node["options"] = {"docname": self.env.current_document.docname}
        node["alt"] = alt
        node["classes"] = ["compatserver-diagram"] + (["compatserver-fit"] if fit else [])
        self.set_source_info(node)
        figure = figure_wrapper(self, node, caption)
        figure["classes"].append("compatserver-figure")
        return figure

    def rst(self, text):
        return self.parse_text_to_nodes(text)

    def stdlib_file(self, mros, version, path):
        """The socketserver source file of *version*, from what the MRO set names."""
        for mro in mros.classes:
            for attribute in mro.attributes:
                if attribute.file and os.path.basename(attribute.file) in _STDLIB_NAMES:
                    return attribute.file
        raise InputError("no socketserver source file named in the recorded MROs of Python %s"
                         % version, path)

    def find_class(self, mros, name, path):
        wanted = name.replace(":", ".")
        for mro in mros.classes:
            if mro.cls == wanted:
                return mro
        matches = [m for m in mros.classes if model.short_name(m.cls) == wanted]
        if len(matches) == 1:
            return matches[0]
        raise InputError("unknown class %r (recorded: %s)" % (
            name, ", ".join(m.cls for m in mros.classes) or "none"), path)


class MRODirective(_AnalysisDirective):
    """``.. mro:: CLASS``: bases graph, MRO order and owners table."""

    required_arguments = 1
    option_spec = dict(_AnalysisDirective.option_spec,
                       view=_views(("bases", "order", "table")),
                       names=_names)

    def build(self):
        path, mros = self.load("mro")
        mro = self.find_class(mros, self.arguments[0], path)
        version = mro.python["version"]
        short = model.short_name(mro.cls)
        views = self.options.get("view") or ["bases", "order", "table"]
        result = []
        if "bases" in views:
            result.append(self.graph(
                render_dot.inheritance_dot(mro, name="bases of %s" % short),
                "Bases of ``%s`` on Python %s: each class points at its direct bases, "
                "numbered in the order its ``class`` statement lists them." % (short, version),
                "bases graph of %s" % mro.cls, fit=True))
        if "order" in views:
            result.append(self.graph(
                render_dot.mro_order_dot(mro, name="MRO of %s" % short),
                "MRO of ``%s`` on Python %s: attribute lookup tries each class in this order; "
                "each box lists what that class supplies (it is their owner)." % (short, version),
                "method resolution order of %s" % mro.cls, fit=True))
        if "table" in views:
            names = self.options.get("names")
            if names:
                lines = self.source(self.stdlib_file(mros, version, path))
                owners = {}
                for cls in mro.mro:
                    for name in source.instance_attributes(lines, cls):
                        owners.setdefault(name, "%s.__init__" % model.short_name(cls))
                text = render_rst.attribute_owner_table(mro, names, owners)
            else:
                text = render_rst.mro_table(mro)
            result.extend(self.rst(text))
        return result


def is_c_function(dotted):
    """Whether *dotted* (``select.select``) names a function of a C module.

    Asked of the interpreter that runs Sphinx: the modules whose functions
    call back into Python code in the recorded flows (``select``) are C
    modules on every interpreter.
    """
    module, _, _ = dotted.rpartition(".")
    if not module:
        return False
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    loader = getattr(spec, "loader", None)
    return loader is importlib.machinery.BuiltinImporter or isinstance(
        loader, importlib.machinery.ExtensionFileLoader)


def _parse_explanations(content):
    """``name: sentence`` entries, continuation lines indented, into a dict."""
    entries = {}
    key = None
    for line in content:
        if not line.strip():
            continue
        if line[:1].isspace() and key:
            entries[key] += " " + line.strip()
            continue
        match = re.match(r"^([\w.]+):\s*(.*)$", line)
        if not match:
            raise InputError("explanation lines must read 'name: sentence', got %r" % line)
        key = match.group(1)
        entries[key] = match.group(2).strip()
    return entries


def _cut(flow, options, path):
    """The steps of *flow* from ``:from:`` to ``:to:`` (or before ``:until:``)."""
    steps = flow.steps
    start, stop, until = options.get("from"), options.get("to"), options.get("until")

    def find(name, after):
        for i in range(after, len(steps)):
            if name in (steps[i].function, steps[i].qualname):
                return i
        raise InputError("no step %r in the recorded flow of Python %s (steps: %s)" % (
            name, flow.python["version"], ", ".join(s.qualname for s in steps)), path)

    first = find(start, 0) if start else 0
    last = len(steps) - 1
    if stop:
        last = find(stop, first)
    elif until:
        last = find(until, first) - 1
    if last < first:
        raise InputError("no steps between %r and %r" % (start, until), path)
    return model.Flow(scenario=flow.scenario, python=flow.python, start=steps[first].function,
                      target=steps[last].function, steps=steps[first:last + 1],
                      tracer=flow.tracer)


_CUT_OPTIONS = {"from": directives.unchanged, "to": directives.unchanged,
                "until": directives.unchanged}


def step_anchor(scenario, number):
    """The HTML id of step *number* of *scenario*'s flow on a page (``step-tcp-5``)."""
    return "step-%s-%s" % (scenario, number)


def _anchor_steps(nodes, scenario, document):
    """Give each step's rubric (``N. Owner.name``) its :func:`step_anchor` id.

    The call-flow diagram's rows link there (``:link-steps:``); an id
    already on the page (the same step shown twice) is not given again.
    """
    from docutils import nodes as docutils_nodes

    for node in nodes:
        for rubric in node.findall(docutils_nodes.rubric):
            match = re.match(r"^(\d+)\. ", rubric.astext())
            if match:
                anchor = step_anchor(scenario, match.group(1))
                if anchor not in document.ids:
                    rubric["ids"].append(anchor)
                    document.ids[anchor] = rubric


class CallFlowDirective(_AnalysisDirective):
    """``.. callflow:: SCENARIO``: the flow diagram and each step's source."""

    optional_arguments = 1
    has_content = True
    option_spec = dict(_AnalysisDirective.option_spec,
                       view=_views(("diagram", "steps")), **_CUT_OPTIONS)
    option_spec["link-steps"] = directives.flag

    def scenario(self):
        return self.arguments[0] if self.arguments else _AnalysisDirective.scenario(self)

    def build(self):
        explanations = _parse_explanations(self.content)
        path, flow = self.load("flow")
        flow = _cut(flow, self.options, path)
        version = flow.python["version"]
        views = self.options.get("view") or ["diagram", "steps"]
        result = []
        if "diagram" in views:
            caption = self.options.get("caption") or (
                "Call flow of ``%s`` on Python %s, %s to %s: numbered in call order, "
                "one lane per thread." % (self.scenario(), version, flow.start, flow.target))
            href = None
            if "link-steps" in self.options:  # the steps are on this page (step_anchor)
                page = self.env.current_document.docname.rpartition("/")[2]
                href = "%s.html#%s" % (page, step_anchor(self.scenario(), "%d"))
            result.append(self.graph(render_dot.callflow_dot(flow, name="callflow", href=href),
                                     caption,
                                     "call flow of %s on Python %s" % (self.scenario(), version)))
        if "steps" in views:
            sources = {}
            for step in flow.steps:
                if step.file and step.file not in sources:
                    sources[step.file] = self.source(step.file)
            for step in flow.steps:  # a call site in a module that is not recorded
                if step.call_file and step.call_file not in sources:
                    try:
                        sources[step.call_file] = self.source(step.call_file)
                    except InputError:
                        pass  # then the step says "code outside the recorded modules"
            shadows = {}
            try:
                _, mros = self.load("mro")
            except InputError:
                mros = None  # the owners table is optional here; the flow says enough
            if mros is not None:
                for mro in mros.classes:
                    for attribute in mro.attributes:
                        if attribute.shadows:
                            key = (model.short_name(attribute.owner), attribute.name)
                            shadows.setdefault(key, attribute.shadows)
            nodes = self.rst(render_rst.flow_steps(
                flow, sources, version, explanations=explanations, shadows=shadows,
                is_c_function=is_c_function))
            _anchor_steps(nodes, self.scenario(), self.state.document)
            result.extend(nodes)
        return result


class SequenceDirective(_AnalysisDirective):
    """``.. sequence:: SCENARIO``: the flow as a sequence diagram."""

    optional_arguments = 1
    option_spec = dict(_AnalysisDirective.option_spec, **_CUT_OPTIONS)
    scenario = CallFlowDirective.scenario

    def build(self):
        path, flow = self.load("flow")
        flow = _cut(flow, self.options, path)
        version = flow.python["version"]
        caption = self.options.get("caption") or (
            "Sequence diagram of ``%s`` on Python %s: a lifeline per object and thread "
            "(the server's methods run on one object, whichever class defines them), "
            "time running down; a bar is a call running, coloured by its thread."
            % (self.scenario(), version))
        objects = {}
        try:
            _, mros = self.load("mro")
        except InputError:
            mros = None  # without the MROs each class is its own lifeline
        if mros is not None and len(mros.classes) >= 2:
            for label, mro in (("server", mros.classes[0]), ("handler", mros.classes[1])):
                for cls in mro.mro:
                    if not cls.endswith(".object"):
                        objects.setdefault(model.short_name(cls), label)
        return [self.graph(render_dot.sequence_dot(flow, name="sequence", objects=objects),
                           caption,
                           "sequence diagram of %s on Python %s" % (self.scenario(), version))]


def _pythons(argument):
    return _names(argument)


def _layout(argument):
    return directives.choice(argument, ("ranges", "columns"))


class FlowDiffDirective(_AnalysisDirective):
    """``.. flowdiff:: SCENARIO``: the flows of several interpreters side by side."""

    optional_arguments = 1
    option_spec = dict(_AnalysisDirective.option_spec, pythons=_pythons, layout=_layout,
                       **{"changes-only": directives.flag})
    scenario = CallFlowDirective.scenario

    def build(self):
        scenario = self.scenario()
        pythons = self.options.get("pythons") or self.store.versions(scenario, "flow")
        if not pythons:
            raise InputError("no flows recorded for scenario %r" % scenario,
                             os.path.join(self.store.root, scenario))
        flows = [self.load("flow", scenario, python)[1] for python in pythons]
        try:
            diff = flow_diff.diff(flows)
        except flow_diff.DiffError as exc:
            raise InputError(str(exc), os.path.join(self.store.root, scenario))
        return self.rst(render_rst.flowdiff_table(
            diff, layout=self.options.get("layout", "ranges"),
            only_changes="changes-only" in self.options))


class OwnerDiffDirective(_AnalysisDirective):
    """``.. owner-diff:: CLASS``: who supplies each attribute, per interpreter."""

    required_arguments = 1
    option_spec = dict(_AnalysisDirective.option_spec, pythons=_pythons, names=_names,
                       layout=_layout, **{"changes-only": directives.flag})

    def build(self):
        scenario = self.scenario()
        pythons = self.options.get("pythons") or self.store.versions(scenario, "mro")
        if not pythons:
            raise InputError("no MROs recorded for scenario %r" % scenario,
                             os.path.join(self.store.root, scenario))
        mros = []
        for python in pythons:
            path, mro_set = self.load("mro", scenario, python)
            mro = self.find_class(mro_set, self.arguments[0], path)
            mros.append((mro.python["version"], mro))
        return self.rst(render_rst.owner_diff_table(
            mros, names=self.options.get("names"),
            only_changes="changes-only" in self.options,
            layout=self.options.get("layout", "ranges")))


class StdlibSourceDirective(_AnalysisDirective):
    """``.. stdlib-source:: Owner.function``: a definition from that version's source."""

    required_arguments = 1
    option_spec = dict(_AnalysisDirective.option_spec,
                       emphasize=directives.unchanged,
                       **{"max-lines": directives.positive_int})

    def build(self):
        path, mros = self.load("mro")
        version = mros.classes[0].python["version"] if mros.classes else self.python()
        filename = self.stdlib_file(mros, version, path)
        lines = self.source(filename)
        owner, _, function = self.arguments[0].rpartition(".")
        if owner:
            span = source.find_def(lines, owner, function)
        else:
            start = source.find_class(lines, function)
            span = (start, source.block_end(lines, start)) if start else None
        if span is None:
            raise InputError("%s is not defined in Python %s's %s" % (
                self.arguments[0], version, os.path.basename(filename)), filename)
        first, last = span
        wanted = [w.strip() for w in (self.options.get("emphasize") or "").split("|")
                  if w.strip()]
        emphasize = source.matching_lines(lines, first, last, wanted)
        caption = self.options.get("caption") or "``%s``, Python %s, lines %d-%d" % (
            os.path.basename(filename), version, first, last)
        return self.rst(render_rst.code_blocks(
            lines, first, last, emphasize, source.lexer_for(version), caption,
            max_lines=self.options.get("max-lines", 60)))


class StdlibClassesDirective(_AnalysisDirective):
    """``.. stdlib-classes::``: the module's classes, one version or all."""

    option_spec = dict(_AnalysisDirective.option_spec, layout=_layout)

    def build(self):
        scenario = self.scenario()
        if "python" in self.options:
            path, mros = self.load("mro")
            version = mros.classes[0].python["version"] if mros.classes else self.python()
            filename = self.stdlib_file(mros, version, path)
            lines = self.source(filename)
            classes = [(name, bases, guard) for name, bases, guard, _ in
                       source.scan_classes(lines) if not name.startswith("_")]
            caption = self.options.get("caption") or (
                "Every class of ``%s`` on Python %s; a dashed border means the class exists "
                "only if the condition of its ``if`` holds (hover for it), a note shape is a "
                "mixin, dashed arrows point at mixins." % (os.path.basename(filename), version))
            figure = self.graph(render_dot.classes_dot(classes, name="classes"), caption,
                                "classes of socketserver on Python %s" % version, fit=True)
            return [figure] + self.rst(render_rst.class_guards(
                classes, version, forking=source.classes_calling(lines, "os.fork(")))
        per_version = []
        for python in self.store.versions(scenario, "mro"):
            path, mros = self.load("mro", scenario, python)
            version = mros.classes[0].python["version"] if mros.classes else python
            lines = self.source(self.stdlib_file(mros, version, path))
            per_version.append((version, source.scan_classes(lines)))
        if not per_version:
            raise InputError("no MROs recorded for scenario %r" % scenario,
                             os.path.join(self.store.root, scenario))
        return self.rst(render_rst.class_presence_table(
            per_version, layout=self.options.get("layout", "ranges")))


class VersionNotesDirective(_AnalysisDirective):
    """``.. version-notes::``: how the other interpreters differ, computed.

    The narrative walkthrough teaches the newest interpreter recorded;
    this directive says, where a step or a name is taught, what differs on
    every other interpreter of the scenario (:mod:`analysis.notes`):
    ``:module:`` (the module's name), ``:lookup:`` (classic lookup where the classes
    are old-style), ``:owners: names`` (who supplies them in ``:class:``, the scenario's
    server class by default), ``:flow:`` (the steps of the recorded flow,
    cut with ``:from:`` / ``:until:``) and ``:source: Owner.function`` (where
    that definition's source changed).  Nothing differs: nothing is shown.
    """

    option_spec = dict(_AnalysisDirective.option_spec,
                       owners=_names, flow=directives.flag, module=directives.flag,
                       lookup=directives.flag, source=directives.unchanged, **_CUT_OPTIONS)
    option_spec["class"] = directives.unchanged

    def versions(self, kind):
        scenario = self.scenario()
        found = self.store.versions(scenario, kind)
        if not found:
            raise InputError("no %s recorded for scenario %r" % (kind, scenario),
                             os.path.join(self.store.root, scenario))
        return found

    def mro_sets(self):
        scenario = self.scenario()
        return [(v,) + self.load("mro", scenario, v) for v in self.versions("mro")]

    def stdlib_lines(self, mro_sets):
        return dict((version, self.source(self.stdlib_file(mros, version, path)))
                    for version, path, mros in mro_sets)

    def build(self):
        from analysis import notes

        found = []
        mro_sets = self.mro_sets()
        if "module" in self.options:
            found += notes.module_notes([(version, mros.classes[0].cls.rpartition(".")[0])
                                         for version, _, mros in mro_sets])
        if "lookup" in self.options:
            per_version = []
            for version, path, mros in mro_sets:
                mro = (self.find_class(mros, self.options["class"], path)
                       if self.options.get("class") else mros.classes[0])
                per_version.append((version, render_dot.short_name(mro.cls), mro.new_style, [
                    render_dot.short_name(c) for c in mro.mro if not c.endswith(".object")]))
            found += notes.lookup_notes(per_version)
        if "owners" in self.options:
            per_version = []
            for version, path, mros in mro_sets:
                mro = (self.find_class(mros, self.options["class"], path)
                       if self.options.get("class") else mros.classes[0])
                per_version.append((version, dict(
                    (a.name, render_dot.short_name(a.owner)) for a in mro.attributes)))
            found += notes.owner_notes(per_version, self.options["owners"], upstream.cite)
        if "flow" in self.options:
            scenario = self.scenario()
            flows = [self.load("flow", scenario, v)[1] for v in self.versions("flow")]
            try:
                rows = flow_diff.diff(flows)
            except flow_diff.DiffError as exc:
                raise InputError(str(exc), os.path.join(self.store.root, scenario))
            lines = self.stdlib_lines(mro_sets)

            def defined(version, qualname):
                owner, _, function = qualname.rpartition(".")
                return source.find_def(lines.get(version, []), owner, function) is not None

            found += notes.flow_notes(rows, defined, self.options.get("from"),
                                      self.options.get("until"))
        if self.options.get("source"):
            owner, _, function = self.options["source"].rpartition(".")
            lines = self.stdlib_lines(mro_sets)
            per_version = []
            for version, _, _ in mro_sets:
                span = source.find_def(lines[version], owner, function)
                per_version.append((version, lines[version][span[0] - 1:span[1]]
                                    if span else None))
            found += notes.source_notes(
                per_version, cite=lambda previous, version: upstream.cite(
                    self.options["source"], previous, version))
        text = notes.render(found)
        if not text:
            return []
        from docutils import nodes as docutils_nodes

        container = docutils_nodes.container(classes=["compatserver-version-notes"])
        container.extend(self.rst(text))
        return [container]



class ChangelogDirective(_AnalysisDirective):
    """``.. changelog::``: what changed from each interpreter to the next, in prose.

    Computed from every recorded scenario (``:scenarios:`` to choose;
    compatserver's own, ``compat-*``, are left out by default), the MROs,
    the traces (where a step that left a flow is called now), each
    interpreter's module source (its classes) and, when
    ``compatserver_probe_dir`` holds them, the compatibility probes (the
    measured behaviour, linked to its matrix row).  Newest first, one
    section per interpreter.
    """

    option_spec = dict(_AnalysisDirective.option_spec, scenarios=_names)

    def build(self):
        # Which scenarios and interpreters were recorded: the stamp make docs
        # rewrites whenever it records stands for the folders.
        stamp = os.path.join(os.path.dirname(self.store.root), ".inputs")
        if os.path.isfile(stamp):
            self.env.note_dependency(stamp)
        chosen = self.options.get("scenarios") or [
            name for name in self.store.scenarios() if not name.startswith("compat-")]
        recorded, sources = {}, {}

        def read(path):
            if path and path not in sources:
                try:
                    sources[path] = self.source(path)
                except InputError:
                    sources[path] = None  # a file that is gone: no lines, no link range

        for scenario in chosen:
            runs = []
            for version in self.store.versions(scenario, "flow"):
                _, flow = self.load("flow", scenario, version)
                mros = trace = None
                if version in self.store.versions(scenario, "mro"):
                    _, mros = self.load("mro", scenario, version)
                if version in self.store.versions(scenario, "trace"):
                    _, trace = self.load("trace", scenario, version)
                for step in flow.steps:
                    read(step.file)
                for mro in (mros.classes if mros else ()):
                    for attribute in mro.attributes:
                        read(attribute.file)
                runs.append((version, flow, mros, trace))
            if not runs:
                raise InputError("no flows recorded for scenario %r" % scenario,
                                 os.path.join(self.store.root, scenario))
            recorded[scenario] = runs
        classes = []
        for version, _, mros, _ in recorded.get(self.scenario(), ()):
            if mros is not None:
                path = self.stdlib_file(mros, version, self.store.path(
                    self.scenario(), version, "mro"))
                read(path)
                if sources.get(path):
                    classes.append((version, path, source.scan_classes(sources[path])))
        sources = dict((k, v) for k, v in sources.items() if v is not None)
        entries = flow_diff.changelog(recorded, classes, sources, cite=upstream.cite)
        reports = self.probe_reports()
        behaviour = flow_diff.behaviour_changes(reports)
        return self.parse_text_to_nodes(
            render_rst.changelog(entries, behaviour, scenarios=chosen, measured=bool(reports)),
            allow_section_headings=True)

    def probe_reports(self):
        """``[(version, [probe])]`` from ``compatserver_probe_dir`` (none if it is not set)."""
        folder = self.config.compatserver_probe_dir
        if not folder:
            return []
        folder = os.path.normpath(os.path.join(str(self.env.srcdir), folder))
        if not os.path.isdir(folder):
            return []
        by_version = {}
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".json"):
                continue
            path = os.path.join(folder, name)
            self.env.note_dependency(path)
            try:
                with open(path, encoding="utf-8") as stream:
                    report = json.load(stream)
                by_version.setdefault(report["python"], {}).update(
                    (probe["id"], probe) for probe in report["probes"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise InputError("cannot read probe results: %s" % exc, path)
        return [(version, sorted(probes.values(), key=lambda p: p.get("order", 0)))
                for version, probes in by_version.items()]


# -- the walkthrough pages -------------------------------------------------------


def _on_builder_inited(app):
    config = app.config
    if not config.compatserver_walkthrough_template:
        return
    srcdir = str(app.srcdir)
    template = os.path.join(srcdir, config.compatserver_walkthrough_template)
    if not os.path.isfile(template):
        return  # a project without the walkthrough (a test root, say)
    outdir = os.path.dirname(template)
    store = TraceStore(os.path.normpath(os.path.join(srcdir, config.compatserver_trace_dir)))
    scenario = config.compatserver_default_scenario
    try:
        written = generate_walkthrough(srcdir, store, scenario, template, outdir)
    except InputError as exc:
        logger.warning("walkthrough: %s (%s)", exc, exc.path, type="compatserver",
                       subtype="input")
        return
    if not written:
        logger.warning(
            "walkthrough: no traces of scenario %r under %s; record them first "
            "(python -m analysis versions %s --out %s)", scenario, store.root, scenario,
            store.root, type="compatserver", subtype="input")


#: Flow diagrams keep their natural size (their text stays readable) and
#: scroll sideways inside the page when wider than it, instead of being
#: shrunk; class graphs ("fit") scale to the page like any image.
DIAGRAM_CSS = """\
/* Written by analysis.sphinxext. */
figure.compatserver-figure div.graphviz, div.compatserver-figure div.graphviz {
    overflow-x: auto;
}
object.graphviz.compatserver-diagram {
    max-width: none;
}
object.graphviz.compatserver-diagram.compatserver-fit {
    max-width: 100%;
}
"""
_CSS_NAME = "compatserver-diagrams.css"


def _on_build_finished(app, exception):
    if exception is None and app.builder.format == "html":
        model.write_if_changed(os.path.join(str(app.outdir), "_static", _CSS_NAME), DIAGRAM_CSS)


def setup(app):
    app.setup_extension("sphinx.ext.graphviz")
    app.add_config_value("compatserver_trace_dir", "_generated/traces", "env", str)
    app.add_config_value("compatserver_default_scenario", "threading-tcp", "env", str)
    app.add_config_value("compatserver_probe_dir", "", "env", str)
    app.add_config_value("compatserver_walkthrough_template", "walkthrough/_version.rst.jinja",
                         "env", str)
    app.add_directive("mro", MRODirective)
    app.add_directive("callflow", CallFlowDirective)
    app.add_directive("sequence", SequenceDirective)
    app.add_directive("flowdiff", FlowDiffDirective)
    app.add_directive("owner-diff", OwnerDiffDirective)
    app.add_directive("stdlib-source", StdlibSourceDirective)
    app.add_directive("stdlib-classes", StdlibClassesDirective)
    app.add_directive("changelog", ChangelogDirective)
    app.add_directive("version-notes", VersionNotesDirective)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("build-finished", _on_build_finished)
    app.add_css_file(_CSS_NAME)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 1}
