"""The call tree, rebuilt after the run by a pure function over named records.

The hot paths append :data:`FIELDS` plain values per call to a flat list
(see "The hot path" in :mod:`analysis.trace`); :func:`raw_calls` reads that
list back as :class:`RawCall` records, and :func:`build` turns them into
the model's ``Call``, ``Thread`` and ``Hop`` records.  Nothing here reads
a frame or the interpreter's state, so it is tested on hand-made records.

Parents without return events: a record holds the id of its own frame and
of its *anchor*, the nearest calling frame whose call is recorded; the
parent of a call is the latest call recorded in the anchor's frame.  That is
exact: the anchor is alive while the call starts, so no other frame can have
had its id since the anchor's own call was recorded.

A record's thread may be None: the call was made by its anchor's call (the
``instrument`` recording code does not read the thread then), in the same
thread, so it is that call's thread; in a forked child, the child's thread
when the anchor's call is the parent's.  When the anchor's call is not a
call of the run (its frame is in *skipped*, see ``Recording.skip``, or its
call was never recorded), neither is the record's.
"""
import os

from analysis import _compat
from analysis.model import Call, Hop, Thread

#: Ids of a forked child's calls and threads before the parent renumbers them.
CHILD_BASE = 1000000000

# In build(): the latest call in a frame is not a call of the run.
_SKIPPED = object()


def _named(cls):
    """Give *cls* (a :class:`_Named`) an ``__init__`` taking its ``__slots__``, by position or name.

    Written out per class, not a loop over the fields: raw_calls() makes a
    RawCall per recorded call, and a generic loop of setattr() cost 13k
    instructions per thread when the hot path made these records itself
    (callgrind, 3.9).
    """
    fields = cls.__slots__
    source = "def __init__(self, %s):\n%s" % (
        ", ".join(fields), "".join("    self.%s = %s\n" % (f, f) for f in fields))
    namespace = {}
    exec(compile(source, "<%s.__init__>" % cls.__name__, "exec"), namespace)
    cls.__init__ = namespace["__init__"]
    return cls


class _Named(object):
    __slots__ = ()

    def __eq__(self, other):
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __ne__(self, other):  # Python 2 does not derive != from ==
        return not self == other

    __hash__ = None

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__))


@_named
class RawCall(_Named):
    """One call as the hot path saw it.

    ``frame``: id of the call's frame; ``anchor``: id of the nearest calling
    frame whose call is recorded, or None; ``thread``: thread id; ``info``:
    index of its CodeInfo; ``owner``: ``(owner, owner_module, doc)``;
    ``caller_code`` / ``caller_offset``: the call site, or None.
    """

    __slots__ = ("frame", "anchor", "thread", "info", "owner", "caller_code", "caller_offset")


#: How many values the hot path appends per call: RawCall's fields, in order.
FIELDS = len(RawCall.__slots__)


@_named
class StartPoint(_Named):
    """Where a thread or process started: before call number ``position``, by the call in frame ``anchor``."""

    __slots__ = ("position", "anchor")


@_named
class ThreadEntry(_Named):
    """A thread met during the run, in order of its first recorded call.

    ``role`` None: decided by :func:`build`; ``start``: a StartPoint or None;
    ``pid``: set in a forked child only.
    """

    __slots__ = ("id", "name", "role", "start", "pid")


def raw_calls(values):
    """The flat values the hot path appended, as RawCall records."""
    stream = iter(values)
    return [RawCall(*chunk) for chunk in zip(*[stream] * FIELDS)]


def thread_entries(values):
    """The tuples the hot path appended per thread, as ThreadEntry records (StartPoint starts)."""
    return [
        ThreadEntry(thread_id, name, role, None if start is None else StartPoint(*start), pid)
        for thread_id, name, role, start, pid in values
    ]


def build(records, infos, threads, roles, first=0, split=None, spawned=None, skipped=(), child_thread=None,
          site_codes=None):
    """Turn RawCall *records* into ``(calls, threads, hops)`` of the model.

    *infos*: the CodeInfo list the records index.  *threads*: ThreadEntry
    records.  *roles*: ``{thread name: role}`` for threads without one;
    otherwise a thread started by a recorded call is ``"worker"``, any
    other ``"server"``.  Every record is read (a call's parent may come
    before *first*) and Call records are made from position *first* on.
    *split*: in a forked child, where the child's own calls begin (their ids
    are offset by CHILD_BASE), and *child_thread* the child's thread.
    *spawned*: ``{call id: [thread ids]}`` to add (forked children merged by
    the parent).  *skipped*: ``(position, frame id)`` pairs, each a frame
    whose call from that position on is not a call of the run.  *site_codes*:
    ``{CodeInfo index: code}`` for a record with a call-site offset and no
    caller code: its caller runs that code, the anchor's (see
    ``Recording.site_codes``).
    """
    site_codes = site_codes or {}
    starts = sorted((t.start.position, t.start.anchor, t.id) for t in threads if t.start is not None)
    skips = sorted(skipped)
    started = {}  # thread id -> the call id that started it
    spawned = dict((k, list(v)) for k, v in (spawned or {}).items())
    # frame id -> (call id, depth, thread id, position, CodeInfo index) of the
    # latest call in that frame, or _SKIPPED
    last = {}
    first_call = {}  # thread id -> its first call id
    resolved = []
    index = skip_index = 0

    def resolve_starts(upto):
        # A start point is resolved when the records before it have been read.
        i = index
        while i < len(starts) and (upto is None or starts[i][0] <= upto):
            _, anchor, thread_id = starts[i]
            i += 1
            hit = last.get(anchor, _SKIPPED)
            if hit is not _SKIPPED:
                started[thread_id] = hit[0]
                spawned.setdefault(hit[0], []).append(thread_id)
        return i

    for position, record in enumerate(records):
        index = resolve_starts(position)
        while skip_index < len(skips) and skips[skip_index][0] <= position:
            last[skips[skip_index][1]] = _SKIPPED
            skip_index += 1
        call_id = position if split is None or position < split else CHILD_BASE + position
        hit = last.get(record.anchor, _SKIPPED)
        thread = record.thread
        if thread is None:  # the anchor's call's thread
            if hit is _SKIPPED:
                last[record.frame] = _SKIPPED
                continue
            thread = hit[2]
            if split is not None and hit[3] < split <= position:
                thread = child_thread
        site = record.caller_code
        if hit is _SKIPPED:
            parent, depth = None, 0
        else:
            parent, depth = hit[0], hit[1] + 1
            if site is None and record.caller_offset is not None:
                site = site_codes.get(hit[4])
        last[record.frame] = (call_id, depth, thread, position, record.info)
        first_call.setdefault(thread, call_id)
        if position >= first:
            resolved.append((call_id, parent, depth, thread, record, site))
    resolve_starts(None)
    tables = {}
    calls = []
    for call_id, parent, depth, thread, record, code in resolved:
        info = infos[record.info]
        name, owner_module, doc = record.owner
        if code is None:
            call_file = call_line = None
        else:
            table = tables.get(id(code))
            if table is None:
                table = tables[id(code)] = (_compat.line_table(code), os.path.abspath(code.co_filename))
            call_file, call_line = table[1], _compat.line_at(table[0], record.caller_offset)
        calls.append(
            Call(
                id=call_id,
                parent=parent,
                depth=depth,
                thread=thread,
                function=info.function,
                owner=name,
                owner_module=owner_module,
                qualname=name + "." + info.function if name else info.qualname,
                module=info.module,
                file=info.file,
                line=info.line,
                call_file=call_file,
                call_line=call_line,
                spawned_threads=list(spawned.get(call_id, ())),
                doc=doc,
            )
        )
    records_out, hops = [], []
    for entry in threads:
        by = started.get(entry.id)
        role = entry.role
        if role is None:
            role = roles.get(entry.name) or ("worker" if by is not None else "server")
        records_out.append(Thread._from_values(entry.id, entry.name, role, by, entry.pid))
        if by is not None and role != "child":  # the parent records a fork's hop
            hops.append(Hop._from_values(by, entry.id, first_call.get(entry.id)))
    return calls, records_out, hops
