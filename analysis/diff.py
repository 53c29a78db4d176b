"""Compare the flows of one scenario recorded under several interpreters.

The flows are aligned step by step (``difflib``'s longest matching blocks on
the qualnames, oldest interpreter first); a step that one interpreter takes
and another does not is *added* (absent from the oldest interpreter) or
*removed* (present in the oldest, absent from a later one); a step taken by
all whose owning class differs is *owner-changed*.  Steps keep the order of
the flows.
"""
import difflib

from analysis.model import DiffRow, Flow, FlowDiff

__all__ = ["diff", "version_key", "DiffError"]


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
