"""Turn the analysis model, and the stdlib source it points at, into reST text.

Pure functions, like :mod:`analysis.render_dot`: they take model records
and source text that the caller has already read (a list of lines) and return
reStructuredText, deterministic and sorted.  Reading files, warning about bad
input and parsing the text into nodes is the Sphinx extension's job
(:mod:`analysis.sphinxext`).

What to show of a source file (a definition's span, the lines to
emphasize) comes from :mod:`analysis.source`; who called a step, from
:mod:`analysis.flow`.  This module imports nothing else of the project
but :mod:`analysis.model`.

Python 3 only (the renderers run where Sphinx runs); written for 3.6+.
"""
from analysis.flow import call_sites
from analysis.model import short_name
from analysis.source import block_end, excerpt_ranges, lexer_for

__all__ = [
    "code_blocks",
    "mro_table",
    "attribute_owner_table",
    "flow_steps",
    "ABSENT",
    "version_runs",
    "flowdiff_table",
    "owner_diff_table",
    "class_presence_table",
    "class_guards",
    "cpython_url",
    "changelog",
]


def _indent_block(text, prefix="   "):
    return "\n".join(prefix + line if line.strip() else "" for line in text.split("\n"))


def code_blocks(lines, first, last, emphasize=(), language="python3", caption=None,
                max_lines=36):
    """reST ``code-block`` directive(s) showing *lines* ``first``..``last``.

    Line numbers are the file's own; *emphasize* lines (file numbers) are
    highlighted.  A long definition is cut to its head and the windows
    around the emphasized lines (:func:`excerpt_ranges`), each part its own
    numbered block, with a ``...`` line between them.  *caption* goes on the
    first block.
    """
    parts = []
    ranges = excerpt_ranges(first, last, emphasize, max_lines=max_lines)
    for n, (a, b) in enumerate(ranges):
        marks = [str(line - a + 1) for line in sorted(set(emphasize)) if a <= line <= b]
        options = ["   :linenos:", "   :lineno-start: %d" % a]
        if marks:
            options.append("   :emphasize-lines: %s" % ",".join(marks))
        if caption and n == 0:
            options.append("   :caption: %s" % caption)
        body = "\n".join(line.rstrip("\r\n").expandtabs(8) for line in lines[a - 1:b])
        parts.append(".. code-block:: %s\n%s\n\n%s\n" % (
            language, "\n".join(options), _indent_block(body)))
    return "\n.. code-block:: text\n\n   ...\n\n".join(parts)


def _literal(text):
    return "``%s``" % text if text else ""


def _table(header, rows, widths=None, title=None):
    """A reST list-table."""
    out = [".. list-table::%s" % (" " + title if title else ""), "   :header-rows: 1"]
    if widths:
        out.append("   :widths: %s" % " ".join(str(w) for w in widths))
    out.append("")
    for row in [header] + rows:
        out.append("   * - %s" % (row[0] or ""))
        for cell in row[1:]:
            out.append("     - %s" % (cell or ""))
    return "\n".join(out) + "\n"


# -- MRO ---------------------------------------------------------------------


def mro_table(mro, names=None):
    """The attributes of ``mro.cls``: name, kind, owner, what it shadows, how.

    *names* limits the rows to those names, in that order; ``None`` lists
    every attribute except the dunder protocol inherited from ``object``,
    sorted by name.
    """
    by_name = dict((a.name, a) for a in mro.attributes)
    if names is None:
        rows = [a for a in sorted(mro.attributes, key=lambda a: a.name)
                if not (a.name.startswith("__") and short_name(a.owner) == "object")]
    else:
        rows = [by_name[n] for n in names if n in by_name]
    body = []
    for a in rows:
        where = "line %s" % a.line if a.line else ""
        body.append([
            _literal(a.name), a.kind, _literal(short_name(a.owner)),
            ", ".join(_literal(short_name(s)) for s in a.shadows),
            a.override or "", where,
        ])
    return _table(["attribute", "kind", "owner", "shadows", "override", "defined at"],
                  body, widths=[22, 10, 18, 22, 10, 10])


def attribute_owner_table(mro, names, instance_owners):
    """Who supplies each name in *names* to ``mro.cls``.

    A class attribute's owner comes from the MRO; a name that is not one
    but is assigned on ``self`` is looked up in *instance_owners*
    (``{name: "TCPServer.__init__"}``); anything else is absent from this
    version.
    """
    by_name = dict((a.name, a) for a in mro.attributes)
    body = []
    for name in names:
        a = by_name.get(name)
        if a is not None:
            doc = (a.doc or "").strip().split("\n")[0]
            body.append([_literal(name), "%s (%s)" % (_literal(short_name(a.owner)), a.kind),
                         ", ".join(_literal(short_name(s)) for s in a.shadows), doc])
        elif name in instance_owners:
            body.append([_literal(name), "instance attribute, set in %s"
                         % _literal(instance_owners[name]), "", ""])
        else:
            body.append([_literal(name), "**absent in this version**", "", ""])
    return _table(["name", "supplied by", "shadows", "docstring (first line)"],
                  body, widths=[20, 32, 18, 30])


# -- flows -------------------------------------------------------------------


def _basename(path):
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _at(lines):
    a, b = lines
    return "line %d" % a if a == b else "lines %d-%d" % (a, b)


def _caller_said(site, steps, step):
    """The clause that says who called *step* (its :class:`~analysis.flow.CallSite`)."""
    thread = "in the %s thread (%s)" % (step.role, _literal(step.thread))
    if site.caller is None:
        return "it runs " + thread
    up = steps[site.caller]
    who = "step %d, %s," % (up.index, _literal(up.qualname))
    if site.kind == "direct":
        how = " as %s" % _literal(site.via + "()") if site.via else ""
        return "%s calls it at %s%s, %s" % (who, _at(site.lines), how, thread)
    if site.kind == "c":
        return "C code calls it: %s calls %s at %s, which calls it back, %s" % (
            who, _literal(site.via), _at(site.lines), thread)
    if site.kind == "implicit":
        return ("%s runs it without calling it: at %s the interpreter calls it from C for "
                "%s, %s" % (who, _at(site.lines), site.what, thread))
    if site.kind == "unrecorded":
        code = ("%s in %s" % (_literal(site.function), _literal(_basename(site.file)))
                if site.function else "code in %s" % _literal(_basename(site.file)))
        return "%s, a module that is not recorded, calls it at %s while step %d, %s, runs, %s" % (
            code, _at(site.lines), up.index, _literal(up.qualname), thread)
    return "it runs during step %d, called from code outside the recorded modules, %s" % (
        up.index, thread)


def flow_steps(flow, sources, version, explanations=None, shadows=None, max_lines=36,
               is_c_function=None):
    """One block of reST per step of *flow*, each with its real source excerpt.

    *sources* maps a file name (as in the steps) to its lines; a step whose
    file is not there gets no excerpt (the caller warns).  Each step says
    where it is defined, in which thread it runs and who called it from
    which lines, as recorded (:func:`analysis.flow.call_sites`, which
    *is_c_function* is handed to), then shows the definition with its
    ``def`` line and the statements that make the flow's next calls
    emphasized, whole when they span several lines.  *explanations* maps a
    function name or ``Owner.function`` to a sentence (written once, for
    every version); *shadows* maps ``(owner class name, function)`` to the
    classes that definition shadows (from the MRO).
    """
    explanations = explanations or {}
    shadows = shadows or {}
    steps = flow.steps
    sites = call_sites(steps, sources, is_c_function)
    calls_made = {}
    for site in sites:
        if site.kind in ("direct", "c", "implicit"):
            a, b = site.lines
            calls_made.setdefault(site.caller, []).extend(range(a, b + 1))
    out = []
    lexer = lexer_for(version)
    for i, step in enumerate(steps):
        owner = short_name(step.owner) if step.owner else ""
        title = "%d. %s" % (step.index, step.qualname)
        out.append(".. rubric:: %s\n" % title)
        facts = ["%s is defined in %s at line %d" % (
            _literal(step.qualname), _literal(_basename(step.file)), step.line)]
        site = sites[i]
        if step.hop:
            starter = steps[site.caller].index if site.caller is not None else None
            if step.role == "child":
                fact = "it is the first call recorded in a child process (%s)" % (
                    _literal(step.thread))
                verb = "forked by"
            else:
                fact = "it is the first call of a new thread, %s (%s)" % (
                    _literal(step.thread), step.role)
                verb = "started by"
            facts.append(fact + (", %s step %d" % (verb, starter) if starter else ""))
        else:
            facts.append(_caller_said(site, steps, step))
        text = "; ".join(facts) + "."
        if shadows.get((owner, step.function)):
            text += " %s's definition comes first in the MRO and shadows %s." % (
                _literal(owner),
                ", ".join(_literal(short_name(s)) for s in shadows[(owner, step.function)]))
        out.append(text + "\n")
        if step.note:
            out.append("Its docstring: *%s*\n" % step.note.strip().replace("*", "\\*"))
        why = explanations.get("%s.%s" % (owner, step.function), explanations.get(step.function))
        if why:
            out.append(why.strip() + "\n")
        lines = sources.get(step.file)
        if lines and 0 < step.line <= len(lines):
            last = block_end(lines, step.line)
            emphasize = [step.line] + [n for n in calls_made.get(i, []) if step.line <= n <= last]
            caption = "%s, Python %s, lines %d-%d" % (_literal(_basename(step.file)), version,
                                                      step.line, last)
            out.append(code_blocks(lines, step.line, last, emphasize, lexer, caption,
                                   max_lines=max_lines))
    return "\n".join(out)


#: What a table cell says where a version lacks the thing (a bare ``-``
#: would be read by docutils as a bullet list).
ABSENT = "\u2014"


def version_runs(versions, values):
    """Group consecutive versions with equal values: ``[(first, last, value)]``."""
    runs = []
    for version, value in zip(versions, values):
        if runs and runs[-1][2] == value:
            runs[-1][1] = version
        else:
            runs.append([version, version, value])
    return [tuple(run) for run in runs]


def _ranges_cell(versions, values, render):
    runs = version_runs(versions, values)
    if len(runs) == 1:
        return "%s on every version" % render(runs[0][2])
    parts = []
    for first, last, value in runs:
        span = first if first == last else "%s\u2013%s" % (first, last)
        parts.append("%s on %s" % (render(value), span))
    return "; ".join(parts)


def _owner(value):
    return _literal(short_name(value)) if value else "absent"


def flowdiff_table(diff, layout="ranges", only_changes=False):
    """The rows of a :class:`~analysis.model.FlowDiff`.

    A step is named by its qualname (in the oldest version that has it).
    With *only_changes*, the rows whose status is ``same`` are left out, and
    a flow with no other row is one sentence instead of a table.
    ``layout="columns"``: one column per version, a cell naming the class
    that supplies the step there (:data:`ABSENT` where the step does not
    happen), the status last.  ``layout="ranges"`` (readable with nine
    versions): the status, then one cell that groups consecutive versions
    with the same owner (``_Threads on 3.8.18-3.13.0; absent on ...``).
    """
    rows = [row for row in diff.rows if not (only_changes and row.status == "same")]
    if not rows:
        return ("The same steps, from the same classes, on %s.\n"
                % ", ".join("Python %s" % v for v in diff.versions))
    body = []
    for row in rows:
        status = row.status if row.status == "same" else "**%s**" % row.status
        owners = [row.per_version.get(v) for v in diff.versions]
        step = _literal(row.qualname or row.key)
        if layout == "columns":
            body.append([step] + [
                _literal(short_name(o)) if o else ABSENT for o in owners] + [status])
        else:
            body.append([step, status, _ranges_cell(diff.versions, owners, _owner)])
    if layout == "columns":
        return _table(["step"] + ["Python %s" % v for v in diff.versions] + ["status"], body)
    return _table(["step", "status", "supplied by, per interpreter"], body, widths=[22, 14, 64])


def owner_diff_table(mros, names=None, only_changes=False, layout="ranges"):
    """Who supplies each attribute, per version: ``mros`` is ``[(version, MRO)]``.

    Rows are the attribute names (*names*, or every name any version has
    except ``object``'s dunders, sorted); with *only_changes*, rows whose
    owner is the same everywhere are left out.  *layout* as for
    :func:`flowdiff_table`.
    """
    if names is None:
        seen = set()
        for _, mro in mros:
            seen.update(a.name for a in mro.attributes
                        if not (a.name.startswith("__") and short_name(a.owner) == "object"))
        names = sorted(seen)
    versions = [v for v, _ in mros]
    body = []
    for name in names:
        owners = []
        for _, mro in mros:
            owner = None
            for a in mro.attributes:
                if a.name == name:
                    # SocketServer.TCPServer on 2.7 is socketserver.TCPServer on 3.
                    owner = a.owner.lower().rpartition(".")[0] + "." + short_name(a.owner)
                    break
            owners.append(owner)
        if only_changes and len(set(owners)) == 1:
            continue
        if layout == "columns":
            body.append([_literal(name)] + [
                _literal(short_name(o)) if o else ABSENT for o in owners])
        else:
            body.append([_literal(name), _ranges_cell(versions, owners, _owner)])
    if not body:
        return "Every attribute has the same owner on %s.\n" % ", ".join(
            "Python %s" % v for v in versions)
    if layout == "columns":
        return _table(["attribute"] + ["Python %s" % v for v in versions], body)
    return _table(["attribute", "supplied by, per interpreter"], body, widths=[25, 75])


def class_presence_table(per_version, layout="ranges"):
    """Which classes each version's module defines: ``[(version, scan_classes(...))]``.

    A class is ``defined``, defined ``if <guard>`` (only when a capability
    exists), or absent.  Rows follow the first version's order, classes new
    in later versions after.  *layout* as for :func:`flowdiff_table`.
    """
    order = []
    for _, classes in per_version:
        for name, _, _, _ in classes:
            if name not in order and not name.startswith("_"):
                order.append(name)
    versions = [v for v, _ in per_version]
    body = []
    for name in order:
        states = []
        for _, classes in per_version:
            state = None
            for other, _, guard, _ in classes:
                if other == name:
                    state = "if %s" % _literal(guard) if guard else "defined"
                    break
            states.append(state)
        if layout == "columns":
            body.append([_literal(name)] + [s or ABSENT for s in states])
        else:
            body.append([_literal(name), _ranges_cell(versions, states,
                                                      lambda s: s or "absent")])
    if layout == "columns":
        return _table(["class"] + ["Python %s" % v for v in versions], body)
    return _table(["class", "per interpreter"], body, widths=[30, 70])


def class_guards(classes, version, forking=()):
    """Which classes of ``[(name, bases, guard)]`` exist only under a condition.

    One bullet per condition (in source order) listing its classes, and one
    for the classes among *forking* (those that call ``os.fork()``, as
    :func:`analysis.source.classes_calling` reads it from the source)
    defined unconditionally, if any: those import everywhere and fail only
    when they call ``os.fork()``.
    """
    groups = []
    for name, _, guard in classes:
        if guard:
            for condition, names in groups:
                if condition == guard:
                    names.append(name)
                    break
            else:
                groups.append((guard, [name]))
    unguarded_forking = [n for n, _, g in classes if n in forking and not g]
    out = []
    for condition, names in groups:
        out.append("- only ``if %s``: %s" % (condition, ", ".join(_literal(n) for n in names)))
    if unguarded_forking:
        out.append("- defined unconditionally although they need ``os.fork()``: %s; where "
                   "``os`` has no ``fork`` (Windows) they import, and fail when a request "
                   "comes" % ", ".join(_literal(n) for n in unguarded_forking))
    if not out:
        return "Every class is defined unconditionally on Python %s.\n" % version
    return "Classes that depend on the platform, on Python %s:\n\n%s\n" % (
        version, "\n".join(out))


# -- what changed between interpreters -----------------------------------------------

_CPYTHON = "https://github.com/python/cpython/blob/v%s/Lib/%s#L%d"


def cpython_url(path, version, first, last=None):
    """The lines *first*..*last* of a standard-library file of *version* on GitHub.

    *path* is the file as recorded (``.../lib/python3.13/socketserver.py``);
    a file outside the standard library (the project's own examples) has
    no such address: ``None``.
    """
    if not path or not first:
        return None
    parts = path.replace("\\", "/").split("/")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].startswith("python") and parts[i][6:7].isdigit() and i > 0 \
                and parts[i - 1] == "lib":
            rest = "/".join(parts[i + 1:])
            if not rest or rest.startswith(("site-packages/", "dist-packages/")):
                return None
            url = _CPYTHON % (version, rest, first)
            return url + ("-L%d" % last if last and last != first else "")
    return None


def _names(items):
    items = [_literal(i) for i in items]
    if len(items) <= 2:
        return " and ".join(items)
    return "%s and %s" % (", ".join(items[:-1]), items[-1])


def _source_link(where, version, text="source"):
    if not where:
        return ""
    url = cpython_url(where[0], version, where[1], where[2])
    if not url:
        return ""
    lines = "line %d" % where[1] if where[2] in (None, where[1]) else "lines %d-%d" % (
        where[1], where[2])
    return " (`%s, %s <%s>`__)" % (text, lines, url)


def _seen(change, every):
    if not change.scenarios:
        return ""
    if set(change.scenarios) >= set(every) and len(every) > 1:
        return " Every recorded scenario shows it."
    return " Recorded in the %s flow%s." % (
        _names(change.scenarios), "s" if len(change.scenarios) > 1 else "")


def _change_sentence(change, every):
    """One entry of the changelog: a sentence or two in reST."""
    text = _change_text(change, every)
    if change.issues:
        text += " Upstream: %s." % ", ".join(change.issues)
    return text


def _change_text(change, every):
    v, v0 = change.version, change.previous
    kind = change.kind
    if kind == "step-new":
        text = "%s now calls %s, new in %s%s." % (
            _literal(change.caller), _literal(change.subject), v,
            _source_link(change.where, v))
    elif kind == "step-now-called":
        text = "%s now calls %s, which %s has too but did not call there%s." % (
            _literal(change.caller), _literal(change.subject), v0,
            _source_link(change.where, v))
    elif kind == "step-removed":
        text = "%s is gone: on %s %s called it%s." % (
            _literal(change.subject), v0, _literal(change.caller),
            _source_link(change.where, v0, "its source on %s" % v0))
    elif kind == "step-not-called":
        text = "%s no longer calls %s, which still exists%s" % (
            _literal(change.caller), _literal(change.subject), _source_link(change.where, v))
        if change.callers:
            text += "; the recorded run calls it from %s instead." % _names(change.callers)
        elif change.callers == []:
            text += "; the recorded run does not call it at all."
        else:
            text += "."
    elif kind == "step-owner":
        text = "%s is supplied by %s instead of %s%s." % (
            _literal(change.subject), _literal(change.now), _literal(change.was),
            _source_link(change.where, v))
    elif kind == "attribute-new":
        text = "%s gain%s %s, from %s%s." % (
            _names(change.classes), "" if len(change.classes) > 1 else "s",
            _literal(change.subject), _literal(change.now), _source_link(change.where, v))
    elif kind == "attribute-removed":
        text = "%s lose%s %s, which %s supplied on %s%s." % (
            _names(change.classes), "" if len(change.classes) > 1 else "s",
            _literal(change.subject), _literal(change.was), v0,
            _source_link(change.where, v0, "its source on %s" % v0))
    elif kind == "attribute-owner":
        text = "%s: %s now comes from %s, no longer from %s%s." % (
            _names(change.classes), _literal(change.subject), _literal(change.now),
            _literal(change.was), _source_link(change.where, v))
    elif kind == "class-style":
        many = len(change.classes) > 1
        text = "%s %s new-style: attribute lookup follows ``__mro__`` (C3 order), and " \
            "``super()`` and properties work" % (_names(change.classes), "are" if many else "is")
        if change.was == "classic":
            text += "; on %s %s classic: looked up depth-first, left to right, with no " \
                    "``__mro__``" % (v0, "they were" if many else "it was")
        text += "."
    elif kind == "class-new":
        return "The module defines %s%s." % (_literal(change.subject),
                                             _source_link(change.where, v))
    else:  # class-removed
        return "The module no longer defines %s%s." % (
            _literal(change.subject), _source_link(change.where, v0, "its source on %s" % v0))
    return text + _seen(change, every)


def _behaviour_sentence(probe, before, now, issues, previous):
    cite = " (%s)" % ", ".join(issues) if issues else ""
    return ("Measured, %s%s: now \u201c%s\u201d; on %s \u201c%s\u201d "
            "(:ref:`matrix row <probe-%s>`)." % (
                probe["title"], cite, _escape(now), previous, _escape(before), probe["id"]))


def _escape(text):
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace(
        "|", "\\|")


def changelog(entries, behaviour=None, scenarios=(), heading="-", measured=None):
    """The changelog page's body: one section per interpreter, newest first.

    *entries* is :func:`analysis.diff.changelog`'s result, *behaviour*
    :func:`analysis.diff.behaviour_changes`'s, *scenarios* every scenario
    that was compared (an entry seen in all of them says so instead of
    naming them).  Each entry is a bullet in prose that links the source
    lines it is about (on GitHub, at that interpreter's tag) and, for a
    measured behaviour, its row of the compatibility matrix.  A version
    with no change says so in one sentence.  *heading* is the section
    underline character; *measured* says whether probes were compared
    (default: whether *behaviour* has any).
    """
    behaviour = behaviour or {}
    if measured is None:
        measured = bool(behaviour)
    out = []
    for version, previous, changes in entries:
        title = "Python %s" % version
        out.append("%s\n%s\n" % (title, heading * len(title)))
        bullets = [_change_sentence(c, scenarios) for c in changes]
        bullets += [_behaviour_sentence(p, before, now, issues, previous)
                    for p, before, now, issues in behaviour.get(version, ())]
        if not bullets:
            out.append("Compared with %s, nothing changed in what was recorded: the flows, the "
                       "attributes of the servers and handlers%s are the same.\n" % (
                           previous, ", the module's classes and the measured behaviour"
                           if measured else " and the module's classes"))
            continue
        out.append("Compared with %s:\n" % previous)
        out.append("\n".join("- " + b for b in bullets) + "\n")
    return "\n".join(out)
