"""The version notes of the narrative walkthrough, computed from recordings.

The walkthrough teaches ``socketserver`` on the newest interpreter recorded
and says, where a step or a name is taught, how the other interpreters
differ ("On 2.7: ...", "Changed in 3.7: ...").  Every such note is computed
here from recorded data, never typed in:

:func:`owner_notes`
    Who supplies a name of a class on each interpreter (the recorded MROs),
    against the newest.
:func:`flow_notes`
    The steps a recorded flow takes on each interpreter (a
    :class:`~analysis.model.FlowDiff`), against the newest; a step missing
    from a flow is told apart from a method missing from the version.
:func:`source_notes`
    Where the source of one definition changed between consecutive
    interpreters, with the changed lines.

Each returns ``[(versions, text)]``: the interpreters a note is about
(``X.Y.Z`` strings, oldest first) and one sentence of reST.
:func:`version_label` names a group of versions the way the notes do.

Pure functions of plain data; imports nothing of the project but the
model's helpers, and imports on Python 2.7.
"""
import difflib

__all__ = ["series", "version_label", "group_runs", "owner_notes", "module_notes",
           "lookup_notes", "flow_notes", "source_notes", "render"]


def series(version):
    """``"3.12.1"`` -> ``"3.12"``."""
    return ".".join(str(version).split(".")[:2])


def version_label(versions, recorded):
    """Name *versions* (a subset of *recorded*, both oldest first) compactly.

    Runs of consecutive recorded interpreters become ``3.8-3.12``; the
    runs are joined with commas and a final "and": ``2.7, 3.6 and 3.9``.
    """
    order = [series(v) for v in recorded]
    wanted = set(series(v) for v in versions)
    runs, current = [], []
    for name in order:
        if name in wanted:
            current.append(name)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    parts = [run[0] if len(run) == 1 else "%s-%s" % (run[0], run[-1]) for run in runs]
    if len(parts) <= 1:
        return "".join(parts)
    return "%s and %s" % (", ".join(parts[:-1]), parts[-1])


def group_runs(recorded, values):
    """Group *recorded* versions by ``values[version]``: ``[(value, [versions])]``.

    Groups are in order of their first version; versions with the same
    value are grouped even when not consecutive.
    """
    groups = []
    index = {}
    for version in recorded:
        key = values.get(version)
        marker = repr(key)
        if marker not in index:
            index[marker] = len(groups)
            groups.append((key, []))
        groups[index[marker]][1].append(version)
    return groups


def _lit(text):
    return "``%s``" % text


def _cited(text, issues):
    """*text* with a last sentence that cites *issues* (as the changelog does)."""
    if not issues:
        return text
    return "%s Upstream: %s." % (text, ", ".join(issues))


def owner_notes(per_version, names, cite=None):
    """Notes on who supplies each of *names*, against the newest version.

    *per_version* is ``[(version, {name: owner short name})]``, oldest
    first; a name missing from a version's mapping does not exist there
    (as a class attribute).  *cite*, if given, is ``cite(qualified name,
    previous, version) -> [issue]`` (:func:`analysis.upstream.cite`): the
    issues that changed ``Owner.name`` between two versions; a note cites
    those of the changes at either end of the versions it is about.
    Returns ``[(versions, text)]`` in the order of *names*, then of the
    versions.
    """
    recorded = [v for v, _ in per_version]
    if not recorded:
        return []
    owners = dict(per_version)
    newest = recorded[-1]
    notes = []
    for name in names:
        values = dict((v, owners[v].get(name)) for v in recorded)
        now = values[newest]
        for value, versions in group_runs(recorded, values):
            if value == now:
                continue
            where = version_label(versions, recorded)
            if value is None:
                text = "On %s: %s does not exist (it is %s's on %s)." % (
                    where, _lit(name), _lit(now), series(newest))
            elif now is None:
                text = "On %s: %s exists, supplied by %s; %s has none." % (
                    where, _lit(name), _lit(value), series(newest))
            else:
                text = "On %s: %s comes from %s, not %s." % (
                    where, _lit(name), _lit(value), _lit(now))
            if cite is not None:
                qualnames = ["%s.%s" % (owner, name) for owner in (value, now) if owner]
                text = _cited(text, _edge_issues(cite, qualnames, recorded, versions))
            notes.append((versions, text))
    return notes


def _edge_issues(cite, qualnames, recorded, versions):
    """The issues of the changes on either side of each run of *versions*."""
    issues = []
    wanted = set(versions)
    for i, version in enumerate(recorded):
        before = recorded[i - 1] if i else None
        if before is not None and (version in wanted) != (before in wanted):
            for qualname in qualnames:
                issues += [issue for issue in cite(qualname, before, version)
                           if issue not in issues]
    return issues


def module_notes(per_version):
    """Notes on the module's name: ``[(version, module)]`` oldest first."""
    recorded = [v for v, _ in per_version]
    if not recorded:
        return []
    names = dict(per_version)
    now = names[recorded[-1]]
    return [(versions, "On %s the module is %s (%s on %s): ``import %s``." % (
                version_label(versions, recorded), _lit(name), _lit(now),
                series(recorded[-1]), name))
            for name, versions in group_runs(recorded, names) if name != now]


def lookup_notes(per_version):
    """Notes on how attribute lookup runs where the classes are classic.

    *per_version* is ``[(version, class name, new_style, [mro names])]``,
    oldest first, the MRO names short and without ``object``.  A classic
    (Python 2 old-style) class has no ``__mro__``: lookup searches the
    class, then each base depth-first, left to right.  The note gives the
    order recorded there and says whether it is the order the newest
    interpreter's C3 linearization gives.
    """
    recorded = [v for v, _, _, _ in per_version]
    if not recorded:
        return []
    newest = per_version[-1]
    notes = []
    classic = dict((v, tuple(order)) for v, _, new_style, order in per_version if not new_style)
    for order, versions in group_runs([v for v in recorded if v in classic], classic):
        same = list(order) == list(newest[3])
        notes.append((versions, (
            "On %s the classes are classic (old-style): %s has no ``__mro__``, and "
            "lookup searches the class, then its bases depth-first, left to right: %s. "
            "%s") % (
                version_label(versions, recorded), _lit(per_version[0][1]),
                ", ".join(_lit(c) for c in order),
                "That is the order C3 gives on %s (%s), so the mixin wins there too."
                % (series(newest[0]), ", ".join(_lit(c) for c in newest[3])) if same else
                "C3 gives another order on %s: %s." % (
                    series(newest[0]), ", ".join(_lit(c) for c in newest[3])))))
    return notes


def _row_range(rows, first, last):
    """The rows from the one whose function is *first* to the one before *last*."""
    start, stop = 0, len(rows)
    keys = [row.key.split("#")[0] for row in rows]
    if first:
        start = keys.index(first) if first in keys else 0
    if last and last in keys[start:]:
        stop = start + keys[start:].index(last)
    return rows[start:stop]


def flow_notes(flowdiff, defined=None, first=None, last=None):
    """Notes on the steps *flowdiff* shows differently from its newest version.

    Only the rows from the step *first* (a function name) up to, not
    including, the step *last* are looked at.  *defined*, if given, is
    ``defined(version, qualname) -> bool``: whether that version's source
    defines the function at all, so that a step absent from a flow says
    whether the method is gone or only not called there.
    """
    recorded = list(flowdiff.versions)
    if len(recorded) < 2:
        return []
    newest = recorded[-1]
    rows = list(flowdiff.rows)
    chosen = _row_range(rows, first, last)
    notes = []
    for row in chosen:
        if row.status == "same":
            continue
        values = dict((v, row.per_version.get(v)) for v in recorded)
        now = values[newest]
        for value, versions in group_runs(recorded, values):
            if value == now:
                continue
            where = version_label(versions, recorded)
            name = _lit(row.qualname)
            if value is None:
                exists = [v for v in versions if defined and defined(v, row.qualname)]
                if defined is None:
                    why = ""
                elif len(exists) == len(versions):
                    why = ": the method is there but this flow does not call it"
                elif not exists:
                    why = ": it is not defined there"
                else:
                    why = " (defined on %s, not called there)" % version_label(exists, recorded)
                text = "On %s the recorded flow has no %s step%s." % (where, name, why)
            elif now is None:
                neighbours = _neighbours(rows, row, versions[0])
                text = "On %s the recorded flow also runs %s%s." % (
                    where, _lit(row.qualname), neighbours)
            else:
                text = "On %s this step is %s's %s, not %s's." % (
                    where, _lit(value), _lit(row.key.split("#")[0]), _lit(now))
            notes.append((versions, text))
    return notes


def _neighbours(rows, row, version):
    """``" between A and B"``: the steps around *row* in *version*'s flow."""
    present = [r for r in rows if r.per_version.get(version) is not None]
    if row not in present:
        return ""
    at = present.index(row)
    before = present[at - 1].key.split("#")[0] if at else None
    after = present[at + 1].key.split("#")[0] if at + 1 < len(present) else None
    if before and after:
        return ", between %s and %s" % (_lit(before), _lit(after))
    if before:
        return ", after %s" % _lit(before)
    if after:
        return ", before %s" % _lit(after)
    return ""


def _consecutive(older, newer):
    """Whether *newer* is the release right after *older* (3.6 -> 3.7)."""
    a = [int(p) for p in series(older).split(".")]
    b = [int(p) for p in series(newer).split(".")]
    return a[0] == b[0] and b[1] == a[1] + 1


def _normalised(lines):
    """The lines without trailing spaces and without the blank lines at the end."""
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def source_notes(per_version, max_lines=12, cite=None):
    """Where a definition's source changed between consecutive versions.

    *per_version* is ``[(version, lines or None)]``, oldest first: the
    lines of one definition on each interpreter (``None`` where it does
    not exist).  *cite*, if given, is ``cite(previous, version) ->
    [issue]``: the issues that changed this definition between two
    versions.  Returns ``[(versions, text)]``, one note per change, each
    naming the first version with the new text, citing its issues and
    showing the changed lines as a ``diff`` block (at most *max_lines* of
    them).
    """
    recorded = [v for v, _ in per_version]
    notes = []
    previous_version, previous = None, None
    for version, lines in per_version:
        if previous_version is None:
            previous_version, previous = version, lines
            continue
        if lines is None and previous is None:
            continue
        if lines is not None and previous is not None and \
                _normalised(lines) == _normalised(previous):
            previous_version = version
            continue
        later = recorded[recorded.index(version):]
        # "Changed in 3.7" only between consecutive releases: what changed
        # between 2.7 and 3.6 may have changed in any release in between.
        if _consecutive(previous_version, version):
            when = "in %s" % series(version)
        else:
            when = "between %s and %s" % (series(previous_version), series(version))
        issues = cite(previous_version, version) if cite is not None else []
        if issues:
            when += " (%s)" % ", ".join(issues)
        if lines is None:
            text = "Removed %s: the definition is gone." % when
        elif previous is None:
            text = "Added %s." % when
        else:
            changed = [d for d in difflib.unified_diff(
                _normalised(previous), _normalised(lines), lineterm="", n=0)
                if not d.startswith(("---", "+++", "@@"))]
            shown = changed[:max_lines]
            more = len(changed) - len(shown)
            block = "\n".join("   " + d for d in shown)
            if more:
                block += "\n   ... %d more changed lines" % more
            text = "Changed %s:\n\n.. code-block:: diff\n\n%s\n" % (when, block)
        notes.append((later, text))
        previous_version, previous = version, lines
    return notes


def render(notes, title=None):
    """The notes as a reST bullet list (empty text when there are none)."""
    if not notes:
        return ""
    out = []
    if title:
        out.append(title + "\n")
    for _, text in notes:
        first, _, rest = text.partition("\n")
        out.append("- " + first)
        for line in rest.split("\n"):
            out.append(("  " + line) if line.strip() else "")
    return "\n".join(out) + "\n"
