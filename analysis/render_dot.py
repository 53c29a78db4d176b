"""Turn the analysis model into Graphviz DOT text.

Pure functions: each takes records of :mod:`analysis.model` (or plain data
derived from them) and returns DOT source as a string.  Nothing here reads a
file, runs ``dot`` or imports Sphinx; the same input always gives the same
text, byte for byte, so the output can be pinned by tests and Graphviz's
image cache (keyed on the DOT text) is hit on every rebuild.

The views:

:func:`inheritance_dot`
    The bases graph: each class points at its direct bases, the edges
    numbered in the order the ``class`` statement lists them (the order that
    decides the MRO).
:func:`mro_order_dot`
    The method resolution order as one numbered column, each class listing
    the attributes it supplies (it is their *owner*).
:func:`callflow_dot`
    The steps of a :class:`~analysis.model.Flow`, numbered in call order,
    one lane (cluster) per thread, the thread hop drawn as a dashed edge.
:func:`sequence_dot`
    A sequence diagram of the same flow: a lifeline per owner class, an
    activation bar per call coloured by the thread it runs in.
:func:`classes_dot`
    The inheritance graph of a whole module from a ``{class: [bases]}``
    mapping (as :func:`analysis.source.scan_classes` reads it from
    source), mixins and their combinations set apart.

Python 3 only (the renderers run where Sphinx runs); written for 3.6+.
"""

from analysis.flow import step_callers
from analysis.model import short_name

__all__ = [
    "ROLE_COLOURS",
    "short_name",
    "quote",
    "inheritance_dot",
    "mro_order_dot",
    "callflow_dot",
    "sequence_dot",
    "classes_dot",
]

#: Fill colour of each thread role (model.ROLES), light enough for black text.
#: Colour always means "which thread"; every diagram that uses it has a legend.
ROLE_COLOURS = {
    "main": "#dbe8f7",
    "server": "#d8eedc",
    "worker": "#fbdcbc",
    "client": "#e6e6e6",
    "child": "#eddcf3",
}
#: Stronger shade of the same hue for lines and activation bars.
ROLE_LINES = {
    "main": "#4a7ab8",
    "server": "#4c9a5b",
    "worker": "#d9822b",
    "client": "#8a8a8a",
    "child": "#9a5bb0",
}
_ROLE_ORDER = ("main", "server", "worker", "client", "child")
_FONT = 'fontname="Helvetica", fontsize=11'
_HOP_COLOUR = "#c0392b"


def quote(text):
    """Return *text* as a double-quoted DOT string (``\\n`` kept as DOT line breaks)."""
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _html(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _role(role):
    return role if role in ROLE_COLOURS else "client"


def _legend(roles, extra_rows=()):
    """A plaintext HTML-table node explaining the colours (and edge styles)."""
    rows = []
    for role in _ROLE_ORDER:
        if role in roles:
            rows.append(
                '<tr><td bgcolor="%s" width="18"> </td><td align="left">%s</td></tr>'
                % (ROLE_COLOURS[role], "child process" if role == "child" else role + " thread")
            )
    for swatch, text in extra_rows:
        rows.append('<tr><td>%s</td><td align="left">%s</td></tr>' % (swatch, _html(text)))
    return (
        '  legend [shape=plaintext, fontsize=10, label=<<table border="0" cellborder="1" '
        'cellspacing="0" cellpadding="3"><tr><td colspan="2"><b>legend</b></td></tr>%s'
        "</table>>];\n" % "".join(rows)
    )


def _header(name, rankdir, extra=""):
    return (
        "digraph %s {\n"
        "  rankdir=%s;\n"
        '  graph [%s, nodesep=0.3, ranksep=0.35%s];\n'
        '  node [%s, shape=box, style="rounded,filled", fillcolor="#ffffff", '
        'color="#555555", height=0.3];\n'
        '  edge [%s, color="#555555", arrowsize=0.7];\n'
        % (quote(name), rankdir, _FONT, extra, _FONT, _FONT)
    )


# -- classes ------------------------------------------------------------------


def inheritance_dot(mro, name="bases"):
    """The bases graph of ``mro.cls``: every class of its MRO and its direct bases.

    Edges go from a class up to each base, labelled ``1``, ``2`` ... in the
    order of the ``class`` statement.  The class itself is drawn bold.
    """
    order = list(mro.mro)
    out = [_header(name, "BT")]
    for qualified in order:
        attrs = ", penwidth=2" if qualified == mro.cls else ""
        out.append(
            "  %s [label=%s, tooltip=%s%s];\n"
            % (quote(qualified), quote(short_name(qualified)), quote(qualified), attrs)
        )
    for qualified in order:
        bases = mro.bases.get(qualified, [])
        for position, base in enumerate(bases, 1):
            label = ", label=%s" % quote(str(position)) if len(bases) > 1 else ""
            out.append("  %s -> %s [tooltip=%s%s];\n" % (
                quote(qualified), quote(base),
                quote("%s is base %d of %s" % (short_name(base), position, short_name(qualified))),
                label,
            ))
    out.append("}\n")
    return "".join(out)


def mro_order_dot(mro, name="mro", max_names=12):
    """The MRO of ``mro.cls`` as one numbered column, each class with what it owns.

    Each box lists the attributes whose owner it is (methods with ``()``);
    after *max_names* the rest are counted, not listed, so the picture stays
    readable.  ``object`` supplies the dunder protocol and is listed last
    without its attributes.
    """
    owned = {}
    for attribute in mro.attributes:
        if attribute.name.startswith("__") and attribute.name.endswith("__"):
            if attribute.name not in ("__init__", "__enter__", "__exit__"):
                continue
        suffix = "()" if attribute.kind in ("method", "classmethod", "staticmethod") else ""
        owned.setdefault(attribute.owner, []).append(attribute.name + suffix)
    out = [_header(name, "TB", ", ranksep=0.25")]
    rule = "C3 linearization" if mro.new_style else "depth-first, left to right (classic class)"
    out.append("  label=%s; labelloc=t;\n" % quote("lookup order: " + rule))
    for position, qualified in enumerate(mro.mro, 1):
        names = sorted(owned.get(qualified, []))
        if len(names) > max_names:
            names = names[:max_names] + ["... %d more" % (len(names) - max_names)]
        rows = "".join('<tr><td align="left">%s</td></tr>' % _html(n) for n in names)
        bold = ' bgcolor="#eeeeee"' if qualified == mro.cls else ""
        out.append(
            '  %s [shape=plaintext, style="", tooltip=%s, label=<<table border="1" '
            'cellborder="0" cellspacing="0" cellpadding="2"%s><tr><td><b>%d. %s</b></td></tr>'
            "%s</table>>];\n" % (
                quote(qualified), quote(qualified), bold, position,
                _html(short_name(qualified)), rows,
            )
        )
    for first, second in zip(mro.mro, mro.mro[1:]):
        out.append('  %s -> %s [label="then"];\n' % (quote(first), quote(second)))
    out.append("}\n")
    return "".join(out)


def classes_dot(classes, name="classes", highlight=()):
    """The inheritance graph of a module from ``[(class, [bases], guard)]``.

    *guard* (the ``if hasattr(...)`` the definition sits under, or ``""``)
    is shown as a dashed border and a tooltip.  Mixins (names ending in
    ``MixIn``) are drawn as notes; classes in *highlight* bold.
    """
    known = set(cls for cls, _, _ in classes)
    out = [_header(name, "LR", ", ranksep=0.5")]
    mixins = []
    for cls, bases, guard in classes:
        attrs = []
        if cls.endswith("MixIn"):
            attrs.append('shape=note, fillcolor="#fff6d5"')
            mixins.append(cls)
        if guard:
            attrs.append('style="rounded,filled,dashed"')
        if cls in highlight:
            attrs.append("penwidth=2")
        tooltip = "%s(%s)%s" % (cls, ", ".join(bases), " if " + guard if guard else "")
        attrs.append("tooltip=%s" % quote(tooltip))
        out.append("  %s [%s];\n" % (quote(cls), ", ".join(attrs)))
    for cls, bases, _ in classes:
        shown = [b for b in bases if b in known]
        for position, base in enumerate(shown, 1):
            label = ", label=%s" % quote(str(position)) if len(shown) > 1 else ""
            style = (', style=dashed, color="#b08800"'
                     if base.endswith("MixIn") else "")
            out.append("  %s -> %s [%s%s];\n" % (
                quote(cls), quote(base), "arrowhead=empty" + style, label))
    rows = ['<tr><td colspan="2"><b>legend</b></td></tr>',
            '<tr><td>A &#8594; B</td><td align="left">A subclasses B (1, 2: order of the '
            'bases)</td></tr>']
    if mixins:
        rows.append('<tr><td bgcolor="#fff6d5">MixIn</td><td align="left">a mixin; dashed '
                    'yellow arrows point at it</td></tr>')
    if any(guard for _, _, guard in classes):
        rows.append('<tr><td border="1" style="dashed">Class</td><td align="left">defined '
                    'only if its guard holds (hover for it)</td></tr>')
    out.append('  legend [shape=plaintext, style="", fontsize=10, label=<<table border="0" '
               'cellborder="1" cellspacing="0" cellpadding="3">%s</table>>];\n' % "".join(rows))
    out.append("}\n")
    return "".join(out)


# -- flows -------------------------------------------------------------------


def _threads(steps):
    """Threads in order of first appearance: ``[(name, role)]``."""
    seen = []
    names = set()
    for step in steps:
        if step.thread not in names:
            names.add(step.thread)
            seen.append((step.thread, _role(step.role)))
    return seen


def _hop_legend(steps):
    kinds = set("fork" if s.role == "child" else "thread" for s in steps if s.hop)
    if kinds == set(["fork"]):
        return "forks a child process (hop)"
    if kinds == set(["fork", "thread"]):
        return "starts a thread or forks a child (hop)"
    return "starts a thread (hop)"


def callflow_dot(flow, name="callflow"):
    """The steps of *flow*: numbered, one lane per thread, the hop dashed.

    Each node is ``N. Owner.method``; its tooltip adds ``file:line`` and the
    docstring's first line.  An edge goes from each step to the steps it calls; the edge into
    the first step of a new thread is the thread hop.
    """
    steps = flow.steps
    threads = _threads(steps)
    callers = step_callers(steps)
    out = [_header(name, "TB", ", compound=true")]
    for lane, (thread, role) in enumerate(threads):
        out.append(
            "  subgraph cluster_%d {\n    label=%s; style=filled; fillcolor=%s; "
            'color="%s"; labeljust=l;\n' % (
                lane, quote(("child process: %s" if role == "child" else role + " thread: %s")
                        % thread), quote(ROLE_COLOURS[role]),
                ROLE_LINES[role],
            )
        )
        for step in steps:
            if step.thread == thread:
                where = "%s:%s" % (step.file.replace("\\", "/").rsplit("/", 1)[-1], step.line)
                out.append("    s%d [label=%s, tooltip=%s];\n" % (
                    step.index,
                    quote("%d. %s" % (step.index, step.qualname)),
                    quote("%s (%s)%s" % (step.qualname, where,
                                         ": " + step.note if step.note else "")),
                ))
        out.append("  }\n")
    for i, step in enumerate(steps):
        caller = callers[i]
        if caller is None:
            # A second entry in the same thread (serve_forever after the
            # constructor) goes below the previous one's calls, not beside them.
            previous = [s for s in steps[:i] if s.thread == step.thread]
            if previous:
                out.append("  s%d -> s%d [style=invis];\n" % (previous[-1].index, step.index))
            continue
        if step.hop:
            out.append(
                '  s%d -> s%d [style=dashed, color="%s", fontcolor="%s", penwidth=1.5, '
                'label=%s];\n' % (
                    steps[caller].index, step.index, _HOP_COLOUR, _HOP_COLOUR,
                    quote("fork: the child\nprocess runs this" if step.role == "child"
                          else "thread hop:\nnew thread runs this"),
                )
            )
        else:
            out.append("  s%d -> s%d;\n" % (steps[caller].index, step.index))
    if steps:
        out.append(_legend(
            set(role for _, role in threads),
            [("&#8594;", "calls"), ('<font color="%s">- - &#8594;</font>' % _HOP_COLOUR,
                                     _hop_legend(steps))],
        ))
    out.append("}\n")
    return "".join(out)


def sequence_dot(flow, name="sequence", caller="your code"):
    """A sequence diagram of *flow*: lifelines per owner class, time downwards.

    A left margin names each row's step (``N. Owner.method()``, in its
    thread's colour); column 0 is *caller* (the code that started the flow),
    then one column per owner class in order of first appearance.  Row
    ``r`` is step ``r``: an arrow from the caller's lifeline to the owner's,
    labelled with the step number only, so labels never cover arrows.  A
    call's activation bar runs on its owner's lifeline from its row down to
    the last step nested in it, coloured by its thread, so the worker
    thread's part of the run stands out.  The thread hop is a dashed arrow.
    """
    steps = flow.steps
    callers = step_callers(steps)
    owners = [caller]
    for step in steps:
        owner = step.owner or step.qualname.rpartition(".")[0] or step.module or "?"
        if owner not in owners:
            owners.append(owner)
    column = {}
    for step in steps:
        column[step.index] = owners.index(
            step.owner or step.qualname.rpartition(".")[0] or step.module or "?")
    rows = len(steps) + 1  # row 0 holds the heads
    # A step's activation ends at the last step that descends from it.
    end = {}
    for i in range(len(steps) - 1, -1, -1):
        end.setdefault(i, i)
        if callers[i] is not None:
            end[callers[i]] = max(end.get(callers[i], callers[i]), end[i])
    # active[(col, row)] -> role of the innermost call active there
    active = {}
    for i, step in enumerate(steps):
        for row in range(i + 1, end[i] + 2):
            active[(column[step.index], row)] = _role(step.role)
    first_role = _role(steps[0].role) if steps else "main"
    for row in range(1, rows):
        active.setdefault((0, row), first_role)
    out = [_header(name, "TB", ", ranksep=0.32, nodesep=0.5, splines=false, forcelabels=true")]
    out.append('  node [shape=point, width=0.02, height=0.02, label=""];\n')
    for col, owner in enumerate(owners):
        out.append(
            '  h%d [shape=box, style="rounded,filled", fillcolor="#f4f4f4", width=0, '
            "height=0.3, label=%s, tooltip=%s];\n" % (
                col, quote(short_name(owner)), quote(owner))
        )
    out.append('  m0 [shape=plaintext, label="step", fontcolor="#555555"];\n')
    for i, step in enumerate(steps):
        out.append("  m%d [shape=plaintext, height=0.2, label=%s, fontcolor=%s];\n" % (
            i + 1, quote("%d. %s()" % (step.index, step.qualname)),
            quote(_HOP_COLOUR if step.hop else ROLE_LINES[_role(step.role)])))
    for row in range(rows):
        cells = ["h%d" % c if row == 0 else "c%d_%d" % (c, row) for c in range(len(owners))]
        out.append("  { rank=same; m%d; %s }\n" % (row, "; ".join(cells)))
    out.append("  %s [style=invis];\n" % " -> ".join(
        ["m0"] + ["h%d" % c for c in range(len(owners))]))
    for row in range(rows - 1):
        out.append("  m%d -> m%d [style=invis, weight=100];\n" % (row, row + 1))
    for col in range(len(owners)):
        for row in range(rows):
            here = "h%d" % col if row == 0 else "c%d_%d" % (col, row)
            below = "c%d_%d" % (col, row + 1) if row + 1 < rows else "f%d" % col
            role = active.get((col, row + 1)) if row + 1 < rows else None
            if role and row > 0 and (col, row) in active:
                style = 'penwidth=7, color="%s"' % ROLE_LINES[role]
            else:
                style = 'style=dashed, color="#aaaaaa"'
            out.append("  %s -> %s [arrowhead=none, weight=100, %s];\n" % (here, below, style))
    for i, step in enumerate(steps):
        row = i + 1
        source = column[steps[callers[i]].index] if callers[i] is not None else 0
        target = column[step.index]
        label = quote(str(step.index))
        if step.hop:
            attrs = 'style=dashed, color="%s", fontcolor="%s"' % (_HOP_COLOUR, _HOP_COLOUR)
            label = quote("%d  %s" % (
                step.index, "fork" if step.role == "child" else "new thread"))
        else:
            colour = ROLE_LINES[_role(step.role)]
            attrs = 'color="%s", fontcolor="%s"' % (colour, colour)
        if source == target:
            # A call to the same class: a short loop on its own lifeline.
            out.append("  c%d_%d:e -> c%d_%d:e [constraint=false, xlabel=%s, %s];\n" % (
                source, row, target, row, label, attrs))
        else:
            out.append("  c%d_%d -> c%d_%d [constraint=false, xlabel=%s, %s];\n" % (
                source, row, target, row, label, attrs))
    for col in range(len(owners)):
        out.append('  f%d [shape=point, width=0.02, style=invis];\n' % col)
    if steps:
        out.append(_legend(
            set(_role(s.role) for s in steps),
            [("&#9646;", "bar: the call is running (colour: its thread)"),
             ('<font color="%s">- - &#8594;</font>' % _HOP_COLOUR, _hop_legend(steps))],
        ))
    out.append("}\n")
    return "".join(out)
