"""Compare the flows of one scenario recorded under several interpreters.

The flows are aligned step by step (``difflib``'s longest matching blocks on
the qualnames, oldest interpreter first); a step that one interpreter takes
and another does not is *added* (absent from the oldest interpreter) or
*removed* (present in the oldest, absent from a later one); a step taken by
all whose owning class differs is *owner-changed*.  Steps keep the order of
the flows.
"""
import difflib

from analysis.flow import step_callers
from analysis.model import DiffRow, Flow, FlowDiff
from analysis.source import block_end, find_assignment, find_def

__all__ = ["diff", "version_key", "DiffError", "Change", "CHANGE_KINDS", "changelog",
           "behaviour_changes"]


class DiffError(ValueError):
    """Flows that cannot be compared (the message is one line)."""


def version_key(version):
    """Sort key of an ``X.Y.Z`` version string (non-numeric parts last)."""
    parts = []
    for part in str(version).split("."):
        parts.append(int(part) if part.isdigit() else 10 ** 6)
    return tuple(parts)


def _owner(step):
    # A plain function (2.7's _eintr_retry) has no class: name its module,
    # without the 2/3 spelling difference of SocketServer / socketserver.
    return step.owner if step.owner else (step.module or "").lower() or "(function)"


class _Row(object):
    __slots__ = ("function", "qualname", "per_version")

    def __init__(self, step, version):
        self.function = step.function
        self.qualname = step.qualname
        self.per_version = {version: _owner(step)}


def diff(flows):
    """Return the :class:`~analysis.model.FlowDiff` of two or more :class:`Flow`.

    The flows are sorted by interpreter version; two flows of the same
    version, or of different scenarios, are an error.
    """
    flows = list(flows)
    if len(flows) < 2:
        raise DiffError("a diff needs at least two flows, got %d" % len(flows))
    for flow in flows:
        if not isinstance(flow, Flow):
            raise DiffError("not a flow: %r" % (flow,))
    scenarios = sorted(set(f.scenario for f in flows))
    if len(scenarios) > 1:
        raise DiffError("flows of different scenarios: %s" % ", ".join(scenarios))
    flows.sort(key=lambda f: version_key(f.python["version"]))
    versions = [f.python["version"] for f in flows]
    if len(set(versions)) != len(versions):
        raise DiffError("two flows of the same interpreter version: %s" % ", ".join(versions))

    rows = [_Row(step, versions[0]) for step in flows[0].steps]
    for flow, version in zip(flows[1:], versions[1:]):
        steps = flow.steps
        matcher = difflib.SequenceMatcher(
            a=[r.qualname for r in rows], b=[s.qualname for s in steps], autojunk=False
        )
        merged = []
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            if op == "equal":
                for row, step in zip(rows[a0:a1], steps[b0:b1]):
                    row.per_version[version] = _owner(step)
                    merged.append(row)
            elif op == "delete":
                merged.extend(rows[a0:a1])
            elif op == "insert":
                merged.extend(_Row(s, version) for s in steps[b0:b1])
            else:  # replace: pair the same function supplied by another class
                old, new = list(rows[a0:a1]), list(steps[b0:b1])
                while old or new:
                    if old and new and old[0].function == new[0].function:
                        old[0].per_version[version] = _owner(new[0])
                        merged.append(old.pop(0))
                        new.pop(0)
                    elif old and (not new or not any(s.function == old[0].function for s in new)):
                        merged.append(old.pop(0))
                    else:
                        merged.append(_Row(new.pop(0), version))
        rows = merged

    out = []
    seen = {}
    for row in rows:
        count = seen.get(row.function, 0) + 1
        seen[row.function] = count
        key = row.function if count == 1 else "%s#%d" % (row.function, count)
        per_version = dict((v, row.per_version.get(v)) for v in versions)
        present = [v for v in versions if per_version[v] is not None]
        if len(present) < len(versions):
            status = "removed" if per_version[versions[0]] is not None else "added"
        elif len(set(per_version.values())) > 1:
            status = "owner-changed"
        else:
            status = "same"
        out.append(DiffRow(key=key, qualname=row.qualname, status=status, per_version=per_version))
    return FlowDiff(scenario=scenarios[0], versions=versions, rows=out)


# -- the changelog ---------------------------------------------------------------
#
# What changed from each recorded interpreter to the next, as plain records a
# renderer turns into prose (analysis.render_rst.changelog).  Everything comes
# from the recordings (flows, MROs, traces) and the interpreters' own sources.

#: Kinds of :class:`Change`, in the order a version's entries are listed.
CHANGE_KINDS = (
    "class-new", "class-removed",            # the module defines a class / no longer
    "step-new", "step-now-called",           # a flow calls a new function / an old one
    "step-removed", "step-not-called",       # gone from the version / still there, not called
    "step-owner",                            # another class supplies a step
    "class-style",                           # a server or handler class turns new-style
    "attribute-new", "attribute-removed", "attribute-owner",
)


class Change(object):
    """One difference between an interpreter (``version``) and the one before it.

    ``subject`` is what changed (``_Threads.append``, ``block_on_close``,
    ``ForkingUnixStreamServer``); ``was`` / ``now`` the class that supplied
    it before and after (``None`` when absent); ``caller`` the step that
    calls it in the flow (the newer flow for new steps, the older one for
    steps that went); ``callers`` where the newer interpreter calls a step
    that left the flow, from its whole recorded run (``[]``: not called
    there; ``None``: no trace to tell); ``scenarios`` the recorded
    scenarios that show the change and ``classes`` the server or handler
    classes (attribute changes); ``where`` is ``(file, first, last)`` of
    the definition in the interpreter that has it; ``issues`` the CPython
    issues behind the change (:mod:`analysis.upstream`), ``[]`` if none is
    known.
    """

    __slots__ = ("version", "previous", "kind", "subject", "was", "now", "caller", "callers",
                 "scenarios", "classes", "where", "issues")

    def __init__(self, version, previous, kind, subject, was=None, now=None, caller=None,
                 callers=None, scenarios=(), classes=(), where=None, issues=()):
        self.version = version
        self.previous = previous
        self.kind = kind
        self.subject = subject
        self.was = was
        self.now = now
        self.caller = caller
        self.callers = callers
        self.scenarios = list(scenarios)
        self.classes = list(classes)
        self.where = where
        self.issues = list(issues)

    def qualnames(self):
        """The qualified names the change is about, to look its issues up by."""
        if self.kind.startswith("attribute-"):
            return ["%s.%s" % (owner, self.subject) for owner in (self.now, self.was) if owner]
        if self.kind == "class-style":
            return []
        return [self.subject]

    def key(self):
        if self.kind == "class-style":  # one entry naming every class
            return (self.version, self.kind, None, self.was, self.now, None)
        return (self.version, self.kind, self.subject, self.was, self.now, self.caller)

    def __repr__(self):
        return "Change(%s)" % ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in self.__slots__)


def _short(qualified):
    return qualified.replace(":", ".").rsplit(".", 1)[-1] if qualified else qualified


def _basename(path):
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _files(flow, mros):
    """``{lower-case file name: path}`` of the files a version's records name."""
    found = {}
    for step in flow.steps:
        if step.file:
            found.setdefault(_basename(step.file).lower(), step.file)
    for mro in (mros.classes if mros is not None else ()):
        for attribute in mro.attributes:
            if attribute.file:
                found.setdefault(_basename(attribute.file).lower(), attribute.file)
    return found


def _defined(step, flow, mros, sources):
    """``(file, first, last)`` of *step*'s function in that version, or ``None`` if absent.

    Looked for in the version's MROs (an attribute of that name owned by
    the step's class) and in its own source of the step's module.
    """
    owner = _short(step.owner) if step.owner else None
    path = _files(flow, mros).get(_basename(step.file).lower()) if step.file else None
    lines = sources.get(path) if path else None
    if lines:
        span = find_def(lines, owner, step.function)
        if span is not None:
            return (path, span[0], span[1])
    for mro in (mros.classes if mros is not None else ()):
        for attribute in mro.attributes:
            if attribute.name == step.function and _short(attribute.owner) == owner:
                if attribute.file and attribute.line and sources.get(attribute.file):
                    return (attribute.file, attribute.line,
                            block_end(sources[attribute.file], attribute.line))
                return (attribute.file, attribute.line, attribute.line)
    return None


def _find(flow, qualname):
    for i, step in enumerate(flow.steps):
        if step.qualname == qualname:
            return i, step
    return None, None


def _callers_in(trace, step):
    """Qualnames of the calls that call *step*'s function in the whole recorded run."""
    if trace is None:
        return None
    calls = dict((c.id, c) for c in trace.calls)
    found = set()
    for call in trace.calls:
        if call.function == step.function and _short(call.owner) == _short(step.owner) \
                and call.parent in calls:
            found.add(calls[call.parent].qualname)
    return sorted(found)


def _step_changes(scenario, old, new, sources):
    """The :class:`Change` records of one scenario between two consecutive versions.

    *old* and *new* are ``(version, flow, mros, trace)``.
    """
    (v0, flow0, mros0, _), (v1, flow1, mros1, trace1) = old, new
    result = diff([flow0, flow1])
    callers0, callers1 = step_callers(flow0.steps), step_callers(flow1.steps)
    out = []
    for row in result.rows:
        if row.status == "same":
            continue
        if row.status == "added":
            i, step = _find(flow1, row.qualname)
            caller = flow1.steps[callers1[i]].qualname if callers1[i] is not None else None
            before = _defined(step, flow0, mros0, sources)
            out.append(Change(v1, v0, "step-now-called" if before else "step-new", step.qualname,
                              now=_short(step.owner), caller=caller, scenarios=[scenario],
                              where=_defined(step, flow1, mros1, sources)))
        elif row.status == "removed":
            i, step = _find(flow0, row.qualname)
            caller = flow0.steps[callers0[i]].qualname if callers0[i] is not None else None
            after = _defined(step, flow1, mros1, sources)
            if after:
                out.append(Change(v1, v0, "step-not-called", step.qualname, was=_short(step.owner),
                                  caller=caller, callers=_callers_in(trace1, step),
                                  scenarios=[scenario], where=after))
            else:
                out.append(Change(v1, v0, "step-removed", step.qualname, was=_short(step.owner),
                                  caller=caller, scenarios=[scenario],
                                  where=_defined(step, flow0, mros0, sources)))
        else:  # owner-changed
            i, step = _find(flow1, row.qualname)
            if step is None:
                i, step = next(((j, s) for j, s in enumerate(flow1.steps)
                                if s.function == row.key.split("#")[0]), (None, None))
            out.append(Change(v1, v0, "step-owner", row.key.split("#")[0],
                              was=_short(row.per_version.get(v0)),
                              now=_short(row.per_version.get(v1)), scenarios=[scenario],
                              where=_defined(step, flow1, mros1, sources) if step else None))
    return out


def _attribute_where(record, mro, sources):
    """``(file, first, last)`` of an attribute: its ``def``, or its assignment in the class body."""
    if record.file and record.line:
        lines = sources.get(record.file)
        return (record.file, record.line, block_end(lines, record.line) if lines else record.line)
    owner = _short(record.owner)
    for other in mro.attributes:  # a data attribute: its owner's file, from a method's
        if _short(other.owner) == owner and other.file and sources.get(other.file):
            lines = sources[other.file]
            line = find_assignment(lines, owner, record.name)
            if line:
                return (other.file, line, line)
            break
    return None


def _attribute_changes(scenario, old, new, sources):
    (v0, _, mros0, _), (v1, _, mros1, _) = old, new
    out = []
    if mros0 is None or mros1 is None:
        return out
    for m0, m1 in zip(mros0.classes, mros1.classes):
        if bool(m0.new_style) != bool(m1.new_style):
            out.append(Change(v1, v0, "class-style", _short(m1.cls),
                              was="new-style" if m0.new_style else "classic",
                              now="new-style" if m1.new_style else "classic",
                              scenarios=[scenario], classes=[_short(m1.cls)]))
        def owners(mro):
            return dict((a.name, a) for a in mro.attributes
                        if not (a.name.startswith("__") and _short(a.owner) == "object"))
        a0, a1 = owners(m0), owners(m1)
        for name in sorted(set(a0) | set(a1)):
            was = _short(a0[name].owner) if name in a0 else None
            now = _short(a1[name].owner) if name in a1 else None
            if was == now:
                continue
            kind = ("attribute-new" if was is None else
                    "attribute-removed" if now is None else "attribute-owner")
            where = (_attribute_where(a1[name], m1, sources) if name in a1
                     else _attribute_where(a0[name], m0, sources))
            out.append(Change(v1, v0, kind, name, was=was, now=now, scenarios=[scenario],
                              classes=[_short(m1.cls)], where=where))
    return out


def changelog(recorded, classes=(), sources=None, cite=None):
    """What changed from each interpreter to the next: ``[(version, previous, [Change])]``.

    *recorded* maps a scenario to its recordings ``[(version, flow, mros,
    trace)]`` (*mros* and *trace* may be ``None``); *classes* is
    ``[(version, path, scan_classes(lines))]`` of the module's source per
    version;
    *sources* maps file names to their lines (definitions are looked up
    there).  Newest interpreter first, the oldest (which has nothing to be
    compared with) left out; a version with no change has an empty list.
    The same change seen in several scenarios is one :class:`Change`
    naming them all.  *cite*, if given, is ``cite(qualified name, previous,
    version) -> [issue]`` (:func:`analysis.upstream.cite`); it fills each
    change's ``issues``.
    """
    sources = sources or {}
    versions = set()
    for runs in recorded.values():
        versions.update(version for version, _, _, _ in runs)
    for version, _, _ in classes:
        versions.add(version)
    ordered = sorted(versions, key=version_key)
    merged = {}
    order = []

    def add(change):
        key = change.key()
        if key in merged:
            known = merged[key]
            for scenario in change.scenarios:
                if scenario not in known.scenarios:
                    known.scenarios.append(scenario)
            for cls in change.classes:
                if cls not in known.classes:
                    known.classes.append(cls)
            if change.callers is not None:
                known.callers = sorted(set(known.callers or []) | set(change.callers))
        else:
            merged[key] = change
            order.append(key)

    for scenario in sorted(recorded):
        runs = sorted(recorded[scenario], key=lambda run: version_key(run[0]))
        for old, new in zip(runs, runs[1:]):
            for change in _step_changes(scenario, old, new, sources):
                add(change)
            for change in _attribute_changes(scenario, old, new, sources):
                add(change)
    by_version = dict((v, (path, found)) for v, path, found in classes)
    for v0, v1 in zip(ordered, ordered[1:]):
        if v0 not in by_version or v1 not in by_version:
            continue
        before = dict((c[0], c) for c in by_version[v0][1])
        after = dict((c[0], c) for c in by_version[v1][1])
        for name in sorted(set(before) ^ set(after)):
            if name in after:
                path, line = by_version[v1][0], after[name][3]
                kind, was, now = "class-new", None, name
            else:
                path, line = by_version[v0][0], before[name][3]
                kind, was, now = "class-removed", name, None
            lines = sources.get(path)
            where = (path, line, block_end(lines, line) if lines else line)
            add(Change(v1, v0, kind, name, was=was, now=now, where=where))
    out = []
    rank = dict((kind, n) for n, kind in enumerate(CHANGE_KINDS))
    for v0, v1 in zip(ordered, ordered[1:]):
        changes = [merged[k] for k in order if k[0] == v1]
        changes.sort(key=lambda c: rank[c.kind])
        if cite is not None:
            for change in changes:
                for qualname in change.qualnames():
                    change.issues += [issue for issue in cite(qualname, v0, v1)
                                      if issue not in change.issues]
        out.append((v1, v0, changes))
    out.reverse()
    return out


def behaviour_changes(reports):
    """Where a probe's measured stdlib outcome changes from one interpreter to the next.

    *reports* is ``[(version, [probe])]``, a probe being the dict that
    ``docs/_tools/probes.py`` writes (``id``, ``title``, ``stdlib``:
    ``{key, text}``, ``upstream``: ``[[since, issue]]``).  Returns
    ``{version: [(probe, text before, text now, [issues])]}``, the issues
    being those *upstream* dates after the previous version and up to this
    one.
    """
    reports = sorted(reports, key=lambda report: version_key(report[0]))
    out = {}
    for (v0, probes0), (v1, probes1) in zip(reports, reports[1:]):
        before = dict((p["id"], p) for p in probes0)
        for probe in probes1:
            old = before.get(probe["id"])
            if old is None or old["stdlib"]["key"] == probe["stdlib"]["key"]:
                continue
            issues = [issue for since, issue in probe.get("upstream", ())
                      if version_key(v0)[:2] < version_key(since)[:2] <= version_key(v1)[:2]]
            out.setdefault(v1, []).append(
                (probe, old["stdlib"]["text"], probe["stdlib"]["text"], issues))
    return out
