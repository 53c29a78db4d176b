"""The plain data model of the analysis side: traces, MROs, flows and diffs.

Every record here is made of strings, ints, bools, ``None``, lists and dicts
only, so it pickles, compares with ``==`` and round-trips through JSON.  The
module imports nothing of the project and nothing outside the standard
library; it imports on Python 2.7 and on 3.6-3.13.  The renderers and the
Sphinx extension build on it without ever running a trace (the layering of
``sphinx.ext.inheritance_diagram``: a data model, pure functions that turn it
into text, a directive that builds it).

The four documents a program writes and reads:

==================  =======================  ===============================
class               ``schema``               what it holds
==================  =======================  ===============================
:class:`Trace`      ``compatserver.trace``    every recorded call of a run
:class:`MRO`        ``compatserver.mro``      one class: linearization, owners
:class:`MROSet`     ``compatserver.mro-set``  several :class:`MRO`, in order
:class:`Flow`       ``compatserver.flow``     the path from an entry to a target
:class:`FlowDiff`   ``compatserver.flow-diff`` flows of several interpreters
==================  =======================  ===============================

Each has ``to_dict()`` / ``from_dict(data)`` and ``dump(path)`` /
``load(path)``.  ``from_dict`` raises :class:`SchemaError` (a ``ValueError``)
with one clear line when the data is of another schema, of a newer
``schema_version`` than this code knows, or lacks a required field.  Fields
added later get a default, so older files still load.
"""
import io
import json
import os
import platform
import sys

__all__ = [
    "SchemaError",
    "python_info",
    "Thread",
    "Call",
    "Hop",
    "Trace",
    "Attribute",
    "MRO",
    "MROSet",
    "Step",
    "Flow",
    "DiffRow",
    "FlowDiff",
    "load",
    "ROLES",
    "TRACERS",
    "ATTRIBUTE_KINDS",
    "OVERRIDES",
    "DIFF_STATUSES",
    "short_name",
    "write_if_changed",
]

def short_name(qualified):
    """``socketserver.ThreadingMixIn`` -> ``ThreadingMixIn`` (also ``mod:Cls``)."""
    return qualified.replace(":", ".").rsplit(".", 1)[-1]


# os.replace (3.3+) replaces atomically everywhere; os.rename does on POSIX.
_replace = getattr(os, "replace", os.rename)


def write_if_changed(path, text):
    """Write the text *text* to *path* as UTF-8 unless it already holds exactly that.

    Returns True if it wrote.  A file left alone keeps its timestamp, which
    is what Sphinx and make look at to decide what to rebuild; a file that
    is written is replaced at once (through a temporary file), never seen
    half-written.  Missing folders are created.
    """
    try:
        with io.open(path, "r", encoding="utf-8") as stream:
            if stream.read() == text:
                return False
    except (IOError, OSError, UnicodeDecodeError):
        pass  # missing or unreadable: write it
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with io.open(tmp, "w", encoding="utf-8") as stream:
        stream.write(text)
    _replace(tmp, path)
    return True


#: Thread roles, in the order a flow meets them.
ROLES = ("main", "server", "worker", "client", "child")
#: The backends a :class:`Trace` can have been recorded with (analysis.trace).
TRACERS = ("sys.monitoring", "sys.settrace", "sys.setprofile", "instrument")
ATTRIBUTE_KINDS = ("method", "classmethod", "staticmethod", "property", "attribute")
#: How an override relates to the attribute it shadows (``None``: not an override).
OVERRIDES = ("extends", "replaces", None)
DIFF_STATUSES = ("same", "added", "removed", "owner-changed")

_MISSING = object()


class SchemaError(ValueError):
    """Data that is not a document (or record) this version of the model can read."""


def _q(value):
    # repr() without Python 2's u'' prefix on strings read from JSON.
    if isinstance(value, (type(u""), str)):
        return "'%s'" % (value,)
    return repr(value)


def python_info():
    """Describe the running interpreter the way every document does.

    ``{"version": "3.11.7", "implementation": "CPython", "executable": ...,
    "hexversion": ...}``.
    """
    return {
        "version": "%d.%d.%d" % tuple(sys.version_info[:3]),
        "implementation": platform.python_implementation(),
        "executable": sys.executable or "",
        "hexversion": sys.hexversion,
    }


def _check_python(value, where):
    if not isinstance(value, dict):
        raise SchemaError("%s: 'python' must be an object, got %s" % (where, _q(value)))
    for key in ("version", "implementation", "executable", "hexversion"):
        if key not in value:
            raise SchemaError("%s: 'python' lacks %r" % (where, key))
    return dict(value)


class _Record(object):
    """A record with a fixed list of fields, each with a default or required.

    Subclasses set ``_fields``: a tuple of ``(name, default)`` with
    ``_MISSING`` for a required field, and ``_nested``: ``{name: (cls,
    is_list)}`` for fields that hold other records.  Equality, ``repr``,
    pickling and the dict conversion are written once, here.
    """

    __slots__ = ()
    _fields = ()
    _nested = {}

    def __init__(self, **kwargs):
        for name, default in self._fields:
            if name in kwargs:
                value = kwargs.pop(name)
            elif default is _MISSING:
                raise TypeError("%s() missing required field %r" % (type(self).__name__, name))
            elif isinstance(default, (list, dict)):
                value = type(default)(default)  # a fresh copy, never shared
            else:
                value = default
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(
                "%s() got unknown fields: %s" % (type(self).__name__, ", ".join(sorted(kwargs)))
            )

    @classmethod
    def _from_values(cls, *values):
        """Build from every field's value, in field order, unchecked (the tracer's hot path)."""
        record = object.__new__(cls)
        for (name, _), value in zip(cls._fields, values):
            object.__setattr__(record, name, value)
        return record

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n, _ in self._fields)

    def __ne__(self, other):  # Python 2 does not derive != from ==
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # mutable: not hashable

    def __repr__(self):
        shown = []
        for name, _ in self._fields[:4]:
            shown.append("%s=%r" % (name, getattr(self, name)))
        return "%s(%s%s)" % (
            type(self).__name__,
            ", ".join(shown),
            ", ..." if len(self._fields) > 4 else "",
        )

    def __getstate__(self):
        return dict((n, getattr(self, n)) for n, _ in self._fields)

    def __setstate__(self, state):
        for name, default in self._fields:
            object.__setattr__(self, name, state.get(name, default))

    def to_dict(self):
        """Return this record as plain JSON-ready data (new lists and dicts)."""
        out = {}
        for name, _ in self._fields:
            value = getattr(self, name)
            nested = self._nested.get(name)
            if nested is not None and value is not None:
                if nested[1]:
                    value = [item.to_dict() for item in value]
                else:
                    value = value.to_dict()
            elif isinstance(value, list):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[name] = value
        return out

    @classmethod
    def _from_fields(cls, data, where):
        if not isinstance(data, dict):
            raise SchemaError("%s: expected an object, got %s" % (where, type(data).__name__))
        kwargs = {}
        for name, default in cls._fields:
            if name in data:
                value = data[name]
            elif default is _MISSING:
                raise SchemaError("%s: missing required field %r" % (where, name))
            else:
                continue
            nested = cls._nested.get(name)
            if nested is not None and value is not None:
                sub, is_list = nested
                if is_list:
                    if not isinstance(value, list):
                        raise SchemaError("%s.%s: expected a list" % (where, name))
                    value = [
                        sub._from_fields(item, "%s.%s[%d]" % (where, name, i))
                        for i, item in enumerate(value)
                    ]
                else:
                    value = sub._from_fields(value, "%s.%s" % (where, name))
            kwargs[name] = value
        return cls(**kwargs)

    @classmethod
    def from_dict(cls, data):
        """Build a record from :meth:`to_dict` output; :class:`SchemaError` if it is not one."""
        return cls._from_fields(data, cls.__name__)


class _Document(_Record):
    """A top-level record with a schema name and version, loadable from a file."""

    __slots__ = ()
    SCHEMA = None
    SCHEMA_VERSION = 1

    def to_dict(self):
        out = _Record.to_dict(self)
        out["schema"] = self.SCHEMA
        out["schema_version"] = self.SCHEMA_VERSION
        return out

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise SchemaError(
                "expected a %s document (a JSON object), got %s" % (cls.SCHEMA, type(data).__name__)
            )
        schema = data.get("schema")
        if schema != cls.SCHEMA:
            raise SchemaError("expected schema %s, got %s" % (_q(cls.SCHEMA), _q(schema)))
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SchemaError("%s: bad schema_version %s" % (cls.SCHEMA, _q(version)))
        if version > cls.SCHEMA_VERSION:
            raise SchemaError(
                "%s schema_version %d is newer than this code reads (%d): upgrade compatserver"
                % (cls.SCHEMA, version, cls.SCHEMA_VERSION)
            )
        record = cls._from_fields(data, cls.SCHEMA)
        if "python" in dict(cls._fields):
            object.__setattr__(record, "python", _check_python(record.python, cls.SCHEMA))
        return record

    def to_json(self, indent=1):
        """Return the document as JSON text, keys sorted (stable diffs)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, separators=(",", ": "))

    @classmethod
    def from_json(cls, text):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SchemaError("not JSON: %s" % (exc,))
        return cls.from_dict(data)

    def dump(self, path):
        """Write the document to *path* as UTF-8 JSON.

        A file that already holds exactly this text is left alone, so its
        timestamp says when the content last changed (Sphinx and make look at
        it to decide what to rebuild).
        """
        text = self.to_json()
        if not isinstance(text, type(u"")):  # Python 2: json.dumps returns str
            text = text.decode("utf-8")
        write_if_changed(path, text + u"\n")

    @classmethod
    def load(cls, path):
        """Read a document of this class from *path*."""
        text = _read_text(path)
        try:
            return cls.from_json(text)
        except SchemaError as exc:
            raise SchemaError("%s: %s" % (path, exc))


# -- traces ------------------------------------------------------------------


class Thread(_Record):
    """One thread of a traced run (``id`` 0 is the main thread).

    ``role`` is one of :data:`ROLES`; ``started_by`` is the id of the
    :class:`Call` during which the thread was started, or ``None``.  ``pid``
    tells processes apart when a forked child's calls are merged into the
    parent's trace (role ``"child"``).
    """

    __slots__ = ("id", "name", "role", "started_by", "pid")
    _fields = (
        ("id", _MISSING),
        ("name", _MISSING),
        ("role", _MISSING),
        ("started_by", None),
        ("pid", None),
    )


class Call(_Record):
    """One call recorded by the tracer.

    ``qualname`` is ``owner + "." + function`` where the owner is the class
    that supplies the function in the MRO of the instance's type
    (``ThreadingMixIn.process_request``), or the bare function name for a
    plain function.  ``line`` is the definition line (``co_firstlineno``);
    ``call_file`` / ``call_line`` the call site in the caller (``None`` when
    the caller was not recorded, e.g. a thread's first call).
    """

    __slots__ = (
        "id", "parent", "depth", "thread", "function", "owner", "owner_module",
        "qualname", "module", "file", "line", "call_file", "call_line",
        "spawned_threads", "doc",
    )
    _fields = (
        ("id", _MISSING),
        ("parent", None),
        ("depth", 0),
        ("thread", 0),
        ("function", _MISSING),
        ("owner", None),
        ("owner_module", None),
        ("qualname", _MISSING),
        ("module", ""),
        ("file", ""),
        ("line", 0),
        ("call_file", None),
        ("call_line", None),
        ("spawned_threads", []),
        ("doc", ""),
    )


class Hop(_Record):
    """A thread hop: call ``from_call`` started ``thread``, whose first call is ``first_call``."""

    __slots__ = ("from_call", "thread", "first_call")
    _fields = (("from_call", _MISSING), ("thread", _MISSING), ("first_call", None))


class Trace(_Document):
    """Everything one traced run recorded, detached from the interpreter.

    ``disabled`` is ``None``, or one line saying why the tracer switched
    itself off mid-run (its callback raised); the calls before it are kept.
    """

    SCHEMA = "compatserver.trace"
    SCHEMA_VERSION = 1
    __slots__ = (
        "scenario", "python", "tracer", "modules", "threads", "calls", "hops",
        "disabled", "pid",
    )
    _fields = (
        ("scenario", _MISSING),
        ("python", _MISSING),
        ("tracer", _MISSING),
        ("modules", []),
        ("threads", []),
        ("calls", []),
        ("hops", []),
        ("disabled", None),
        ("pid", None),
    )
    _nested = {"threads": (Thread, True), "calls": (Call, True), "hops": (Hop, True)}

    def call(self, call_id):
        """Return the :class:`Call` with id *call_id* (``KeyError`` if none)."""
        calls = self.calls
        if 0 <= call_id < len(calls) and calls[call_id].id == call_id:
            return calls[call_id]
        for call in calls:
            if call.id == call_id:
                return call
        raise KeyError(call_id)

    def thread(self, thread_id):
        """Return the :class:`Thread` with id *thread_id* (``KeyError`` if none)."""
        for thread in self.threads:
            if thread.id == thread_id:
                return thread
        raise KeyError(thread_id)

    def children(self, call_id):
        """Return the calls whose parent is *call_id*, in the order they started."""
        return [c for c in self.calls if c.parent == call_id]


# -- MRO ---------------------------------------------------------------------


class Attribute(_Record):
    """One attribute that a class gets from its MRO.

    ``owner`` is the class that supplies it (the first in the MRO whose
    ``__dict__`` has the name); ``shadows`` the later classes in the MRO that
    define it too; ``override`` says whether the owner's definition calls up
    to the next one (``"extends"``), does not (``"replaces"``), or shadows
    nothing (``None``).
    """

    __slots__ = ("name", "kind", "owner", "shadows", "override", "file", "line", "doc")
    _fields = (
        ("name", _MISSING),
        ("kind", _MISSING),
        ("owner", _MISSING),
        ("shadows", []),
        ("override", None),
        ("file", None),
        ("line", None),
        ("doc", ""),
    )


class MRO(_Document):
    """The method resolution order of one class and who supplies each attribute.

    ``new_style`` is false only for Python 2 classic classes, whose order is
    the depth-first, left-to-right rule rather than C3.  ``bases`` maps each
    class of the MRO to its direct bases (the graph, as a separate view).
    """

    SCHEMA = "compatserver.mro"
    SCHEMA_VERSION = 1
    __slots__ = ("cls", "python", "new_style", "mro", "bases", "attributes", "module", "doc")
    _fields = (
        ("cls", _MISSING),
        ("python", _MISSING),
        ("new_style", True),
        ("mro", _MISSING),
        ("bases", {}),
        ("attributes", []),
        ("module", ""),
        ("doc", ""),
    )
    _nested = {"attributes": (Attribute, True)}

    def attribute(self, name):
        """Return the :class:`Attribute` called *name* (``KeyError`` if none)."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        raise KeyError(name)

    def owner(self, name):
        """Return the qualified name of the class that supplies *name*."""
        return self.attribute(name).owner


class MROSet(_Document):
    """Several :class:`MRO` documents, in a meaningful order (server first, then handler)."""

    SCHEMA = "compatserver.mro-set"
    SCHEMA_VERSION = 1
    __slots__ = ("classes",)
    _fields = (("classes", []),)

    def to_dict(self):
        return {
            "schema": self.SCHEMA,
            "schema_version": self.SCHEMA_VERSION,
            "classes": [c.to_dict() for c in self.classes],
        }

    @classmethod
    def from_dict(cls, data):
        record = super(MROSet, cls).from_dict(data)
        if not isinstance(record.classes, list):
            raise SchemaError("%s: 'classes' must be a list" % cls.SCHEMA)
        record.classes = [MRO.from_dict(item) for item in record.classes]
        return record

    def get(self, qualified_name):
        """Return the :class:`MRO` of the class *qualified_name* (``KeyError`` if none)."""
        for mro in self.classes:
            if mro.cls == qualified_name:
                return mro
        raise KeyError(qualified_name)


# -- flows -------------------------------------------------------------------


class Step(_Record):
    """One step of a :class:`Flow` (``index`` is 1-based).

    ``hop`` is true on the first step in a thread other than the previous
    step's; ``call_line`` is the line in the previous step's function (the
    caller) that made this call; ``note`` is the docstring's first line.
    """

    __slots__ = (
        "index", "owner", "function", "qualname", "module", "file", "line",
        "call_line", "thread", "role", "hop", "note", "call", "depth", "call_file",
    )
    _fields = (
        ("index", _MISSING),
        ("owner", None),
        ("function", _MISSING),
        ("qualname", _MISSING),
        ("module", ""),
        ("file", ""),
        ("line", 0),
        ("call_line", None),
        ("thread", "MainThread"),
        ("role", "main"),
        ("hop", False),
        ("note", ""),
        ("call", None),   # the Call.id in the trace this step came from
        ("depth", 0),     # nesting below the flow's start, for indentation
        ("call_file", None),  # the file of call_line (threading.py for a hop)
    )


class Flow(_Document):
    """The ordered path of calls from an entry (``start``) to a target (``target``)."""

    SCHEMA = "compatserver.flow"
    SCHEMA_VERSION = 1
    __slots__ = ("scenario", "python", "start", "target", "steps", "tracer")
    _fields = (
        ("scenario", _MISSING),
        ("python", _MISSING),
        ("start", "__init__"),
        ("target", "handle"),
        ("steps", []),
        ("tracer", None),
    )
    _nested = {"steps": (Step, True)}

    def qualnames(self):
        """Return the steps' qualnames, in order."""
        return [step.qualname for step in self.steps]


class DiffRow(_Record):
    """One row of a :class:`FlowDiff`.

    ``key`` identifies the step across versions (the function name, with
    a ``#2`` suffix for a second occurrence); ``per_version`` maps each
    version to the owner there, or ``None`` where the step is absent.
    """

    __slots__ = ("key", "qualname", "status", "per_version")
    _fields = (
        ("key", _MISSING),
        ("qualname", _MISSING),
        ("status", _MISSING),
        ("per_version", {}),
    )


class FlowDiff(_Document):
    """The flows of several interpreters side by side: what was added, removed, moved."""

    SCHEMA = "compatserver.flow-diff"
    SCHEMA_VERSION = 1
    __slots__ = ("scenario", "versions", "rows")
    _fields = (("scenario", None), ("versions", _MISSING), ("rows", []))
    _nested = {"rows": (DiffRow, True)}


_DOCUMENTS = dict((cls.SCHEMA, cls) for cls in (Trace, MRO, MROSet, Flow, FlowDiff))


def _read_text(path):
    """The text of *path*; :class:`SchemaError` when it is not UTF-8 (``IOError`` / ``OSError`` pass)."""
    with io.open(path, "rb") as stream:
        data = stream.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError("%s: not a JSON document (not UTF-8: byte 0x%02x at offset %d)"
                          % (path, bytearray(data[exc.start:exc.start + 1])[0], exc.start))


def load(path):
    """Read any document of this model from *path*, choosing the class by its ``schema``."""
    text = _read_text(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SchemaError("%s: not JSON: %s" % (path, exc))
    schema = data.get("schema") if isinstance(data, dict) else None
    cls = _DOCUMENTS.get(schema)
    if cls is None:
        raise SchemaError(
            "%s: unknown schema %s (known: %s)" % (path, _q(schema), ", ".join(sorted(_DOCUMENTS)))
        )
    try:
        return cls.from_dict(data)
    except SchemaError as exc:
        raise SchemaError("%s: %s" % (path, exc))
