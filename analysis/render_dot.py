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
                '<tr><td bgcolor="%s" width="18"> </td><td align="left">%s&#160;</td></tr>'
                % (ROLE_COLOURS[role], "child process" if role == "child" else role + " thread")
            )
    for swatch, text in extra_rows:
        # A trailing space: browsers draw the text a little wider than
        # Graphviz measures it, and a table cell clips it.
        rows.append('<tr><td>%s</td><td align="left">%s&#160;</td></tr>' % (swatch, _html(text)))
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
    # Ten-odd classes five deep: a smaller font and tight ranks keep the
    # picture within a 900 px column at its natural size.
    out = [_header(name, "LR", ", ranksep=0.22"), "  node [fontsize=10];\n"]
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
            'bases)&#160;</td></tr>']
    if mixins:
        rows.append('<tr><td bgcolor="#fff6d5">MixIn</td><td align="left">a mixin; dashed '
                    'yellow arrows point at it&#160;</td></tr>')
    if any(guard for _, _, guard in classes):
        rows.append('<tr><td border="1" style="dashed">Class</td><td align="left">defined '
                    'only if its guard holds (hover for it)&#160;</td></tr>')
    # The legend is the graph's label, under the drawing: as a node it would
    # sit in a rank of its own and widen the picture by its width.
    out.append('  labelloc=b; fontsize=10; label=<<table border="0" cellborder="1" '
               'cellspacing="0" cellpadding="3">%s</table>>;\n' % "".join(rows))
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


def _lane_label(thread, role):
    return ("child process: %s" if role == "child" else role + " thread: %s") % thread


def callflow_dot(flow, name="callflow", href=None):
    """The steps of *flow*: one table per thread, stacked, the hop drawn between them.

    Each thread's steps are the rows of one table (its *lane*), in call
    order, indented by call depth: a row is called by the nearest row above
    it that is one level further out.  Lanes are stacked top to bottom in
    the order their threads first ran, so the diagram stays as narrow as
    its longest row, and the thread hop (a dashed arrow from the step that
    started the thread to the thread's first step) is visible in place.
    Each row's tooltip adds ``file:line`` and the docstring's first line;
    with *href* (a format with one ``%d``, the step number) each row links
    to that step's description.
    """
    steps = flow.steps
    threads = _threads(steps)
    callers = step_callers(steps)
    lane_of = dict((thread, lane) for lane, (thread, _) in enumerate(threads))
    out = [_header(name, "TB", ", ranksep=0.5")]
    for lane, (thread, role) in enumerate(threads):
        mine = [s for s in steps if s.thread == thread]
        top = min(s.depth for s in mine)
        rows = ['<tr><td align="left" bgcolor="%s"><font color="#ffffff"><b>%s</b></font>'
                "</td></tr>" % (ROLE_LINES[role], _html(_lane_label(thread, role)))]
        for step in mine:
            where = "%s:%s" % (step.file.replace("\\", "/").rsplit("/", 1)[-1], step.line)
            tooltip = "%s (%s)%s" % (step.qualname, where, ": " + step.note if step.note else "")
            link = ' href="%s" target="_top"' % _html(href % step.index) if href else ""
            indent = "&#160;" * (4 * (step.depth - top))
            mark = "&#9492; " if step.depth > top else ""
            rows.append('<tr><td align="left" port="s%d"%s tooltip="%s">%s%s%d. %s</td></tr>' % (
                step.index, link, _html(tooltip).replace('"', "&quot;"), indent, mark,
                step.index, _html(step.qualname)))
        out.append(
            '  lane%d [shape=plaintext, style="", label=<<table border="1" cellborder="0" '
            'cellspacing="0" cellpadding="4" color="%s" bgcolor="%s">%s</table>>];\n'
            % (lane, ROLE_LINES[role], ROLE_COLOURS[role], "".join(rows)))
    for first, second in zip(range(len(threads)), range(1, len(threads))):
        out.append("  lane%d -> lane%d [style=invis];\n" % (first, second))
    for i, step in enumerate(steps):
        if step.hop and callers[i] is not None:
            starter = steps[callers[i]]
            out.append(
                '  lane%d:s%d:e -> lane%d:s%d:e [style=dashed, color="%s", fontcolor="%s", '
                "penwidth=1.5, label=%s];\n" % (
                    lane_of[starter.thread], starter.index, lane_of[step.thread], step.index,
                    _HOP_COLOUR, _HOP_COLOUR,
                    quote("fork: the child\nprocess runs this" if step.role == "child"
                          else "thread hop:\nnew thread runs this")))
    if steps:
        out.append(_legend(
            set(role for _, role in threads),
            [("&#9492; N.", "called by the nearest row above, one level out"),
             ('<font color="%s">- - &#8594;</font>' % _HOP_COLOUR, _hop_legend(steps))],
        ))
        out.append("  lane%d -> legend [style=invis];\n" % (len(threads) - 1))
    out.append("}\n")
    return "".join(out)


def _activations(steps, callers):
    """``{step position: last row position}`` of each call's activation bar.

    A call is active from its own row down to the last step that descends
    from it in its own thread; a call that starts a thread or forks is
    active down to that start only (``process_request`` returns once
    ``Thread.start()`` has), not until the new thread's work ends.  An entry
    (a step nothing recorded called, such as ``serve_forever``) stays active
    until the next entry of its thread, or to the end of the flow: the loop
    is still running when the flow reaches its target.
    """
    end = {}
    for i in range(len(steps) - 1, -1, -1):
        end.setdefault(i, i)
        caller = callers[i]
        if caller is not None:
            reach = i if steps[i].hop else end[i]
            end[caller] = max(end.get(caller, caller), reach)
    for i, step in enumerate(steps):
        if callers[i] is None:
            later = [j for j in range(i + 1, len(steps))
                     if callers[j] is None and steps[j].thread == step.thread]
            end[i] = max(end[i], later[0] - 1 if later else len(steps) - 1)
    return end


def sequence_dot(flow, name="sequence", caller="your code", objects=None):
    """A sequence diagram of *flow*: a lifeline per object and thread, time downwards.

    *objects* maps an owner class (short name) to the object its methods
    run on (``{"TCPServer": "server", "BaseServer": "server", ...}``); a
    class not in it is its own lifeline, a module function its module's.
    Each object gets one lifeline per thread it runs in, so a bar keeps one
    colour: the server's main-thread lifeline shows ``serve_forever()``
    running on while the worker thread's lifeline serves the request.
    A left margin names each row's step (``N. Owner.method()``, in its
    thread's colour); column 0 is *caller* (the code that started the
    flow).  Row ``r`` is step ``r``: an arrow from the caller's lifeline to
    the callee's, unlabelled (the margin names it); a call on the same
    lifeline is a short loop.  A call's activation bar runs down its
    lifeline as :func:`_activations` says.  The thread hop is a dashed
    arrow.
    """
    objects = objects or {}
    steps = flow.steps
    callers = step_callers(steps)
    lifelines = [(caller, _role(steps[0].role) if steps else "main")]
    column = {}
    for i, step in enumerate(steps):
        owner = step.owner or step.qualname.rpartition(".")[0] or step.module or "?"
        key = (objects.get(short_name(owner), short_name(owner)) if step.owner
               else step.module or owner, _role(step.role))
        if key not in lifelines:
            lifelines.append(key)
        column[i] = lifelines.index(key)
    threads_of = {}
    for label, role in lifelines[1:]:
        threads_of.setdefault(label, set()).add(role)
    rows = len(steps) + 1  # row 0 holds the heads
    end = _activations(steps, callers)
    active = set()
    for i in range(len(steps)):
        for row in range(i + 1, end[i] + 2):
            active.add((column[i], row))
    for row in range(1, rows):
        active.add((0, row))
    out = [_header(name, "TB", ", ranksep=0.3, nodesep=0.12, splines=false")]
    out.append('  node [shape=point, width=0.02, height=0.02, label=""];\n')
    for col, (label, role) in enumerate(lifelines):
        text = label if col == 0 or len(threads_of[label]) == 1 else "%s\n(%s)" % (
            label, "child" if role == "child" else role)
        out.append(
            '  h%d [shape=box, style="rounded,filled", fillcolor=%s, width=0, '
            "height=0.3, label=%s, tooltip=%s];\n" % (
                col, quote(ROLE_COLOURS[role] if col else "#f4f4f4"), quote(text),
                quote("%s, %s" % (label, "child process" if role == "child"
                                  else role + " thread"))))
    out.append('  m0 [shape=plaintext, label="step", fontcolor="#555555"];\n')
    for i, step in enumerate(steps):
        out.append("  m%d [shape=plaintext, height=0.2, fontsize=9, label=%s, fontcolor=%s];\n" % (
            i + 1, quote("%d. %s" % (step.index, step.qualname)),
            quote(_HOP_COLOUR if step.hop else ROLE_LINES[_role(step.role)])))
    for row in range(rows):
        cells = ["h%d" % c if row == 0 else "c%d_%d" % (c, row) for c in range(len(lifelines))]
        out.append("  { rank=same; m%d; %s }\n" % (row, "; ".join(cells)))
    out.append("  %s [style=invis];\n" % " -> ".join(
        ["m0"] + ["h%d" % c for c in range(len(lifelines))]))
    for row in range(rows - 1):
        out.append("  m%d -> m%d [style=invis, weight=100];\n" % (row, row + 1))
    for col, (_, role) in enumerate(lifelines):
        for row in range(rows):
            here = "h%d" % col if row == 0 else "c%d_%d" % (col, row)
            below = "c%d_%d" % (col, row + 1) if row + 1 < rows else "f%d" % col
            if row > 0 and (col, row) in active and (col, row + 1) in active:
                style = 'penwidth=7, color="%s"' % ROLE_LINES[role]
            else:
                style = 'style=dashed, color="#aaaaaa"'
            out.append("  %s -> %s [arrowhead=none, weight=100, %s];\n" % (here, below, style))
    for i, step in enumerate(steps):
        row = i + 1
        source = column[callers[i]] if callers[i] is not None else 0
        target = column[i]
        if step.hop:
            attrs = 'style=dashed, penwidth=1.5, color="%s"' % _HOP_COLOUR
        else:
            attrs = 'color="%s"' % ROLE_LINES[_role(step.role)]
        if source == target:
            out.append("  c%d_%d:e -> c%d_%d:e [constraint=false, %s];\n" % (
                source, row, target, row, attrs))
        else:
            out.append("  c%d_%d -> c%d_%d [constraint=false, %s];\n" % (
                source, row, target, row, attrs))
    for col in range(len(lifelines)):
        out.append('  f%d [shape=point, width=0.02, style=invis];\n' % col)
    if steps:
        out.append(_legend(
            set(_role(s.role) for s in steps),
            [("&#9646;", "a call running"),
             ('<font color="%s">- - &#8594;</font>' % _HOP_COLOUR, _hop_legend(steps))],
        ))
        # Below the margin, not beside the lifelines: the width is the column's.
        out.append("  m%d -> legend [style=invis];\n" % (rows - 1))
    out.append("}\n")
    return "".join(out)
