"""Threads and forked children: ``Thread.start``, ``os.fork`` and ``os._exit`` patched for the run.

A thread hop: the call that was running when a thread started is its
``started_by``, and that thread's first recorded call is the hop's
``first_call``; the wrapper of ``Thread.start`` keeps the start point until
the thread's first call.  A forked child goes on recording in its copy of
the recording and writes its own calls to a JSON file at ``os._exit`` (or
when it stops the recording itself: a child that leaves the traced code);
the parent merges the files after the run.  The files' directory is made at
the run's first fork, and removed when the parent merges: a run that forks
nothing leaves nothing behind, even when its process is killed.
"""
import json
import os
import shutil
import sys
import tempfile
import threading
import time

from analysis.model import Call, Hop, Thread
from analysis._trace_tree import FIELDS

_getframe = sys._getframe


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


class Follower(object):
    """Follow the threads and forked children of one recording.

    *build_child*: ``build_child(first_thread)`` returns the child's
    ``(calls, threads)`` as model records, from its ``first_thread``-th
    thread entry on (called in the child, at ``os._exit``).
    """

    def __init__(self, recording, follow_fork, build_child):
        self.recording = recording
        self.follow_fork = follow_fork and hasattr(os, "fork")
        self.build_child = build_child
        self.saved = None  # (Thread.start, os.fork or None, os._exit or None) while patched
        self.child_dir = None  # made at the first fork (make_child_dir)
        self.dir_lock = threading.Lock()
        self.children = []  # pids forked while recording
        self.child_thread_first = None  # in a forked child: its first thread entry
        # Forked children's records, merged after the run.
        self.calls = []
        self.threads = []
        self.hops = []
        self.spawned = {}  # call id -> [child thread ids]

    def patch(self):
        recording = self.recording
        follower = self
        original_start = threading.Thread.start

        on = recording.on
        recorded, raw, pending, anchor = recording.recorded, recording.raw, recording.pending_starts, recording.anchor

        # Thread.start takes no argument: none here either (a tuple and a
        # dict less per thread started: 1,100 instructions on 3.9, callgrind).
        def start(thread_self):
            if on:
                # recording.start_point(), written out: a thread-per-request
                # server runs this for every request, and its caller is
                # usually the recorded call that starts the thread.
                caller = _getframe(1)
                found = id(caller) if id(caller.f_code) in recorded else anchor(caller.f_back)
                if found is not None:
                    pending[thread_self] = (len(raw) // FIELDS, found)
            return original_start(thread_self)

        start.__doc__ = original_start.__doc__
        saved = [original_start, None, None]
        threading.Thread.start = start
        if self.follow_fork:
            original_fork = os.fork
            original_exit = os._exit

            def fork():
                if on and follower.child_dir is None:
                    follower.make_child_dir()
                pid = original_fork()
                if pid == 0:
                    follower.become_child()
                elif on:
                    follower.children.append(pid)
                return pid

            def _exit(status):
                if recording.in_child:
                    follower.write_child()
                return original_exit(status)

            saved[1:] = [original_fork, original_exit]
            os.fork = fork
            os._exit = _exit
        self.saved = tuple(saved)

    def make_child_dir(self):
        """Make the directory the forked children write to (in the parent, before its first fork).

        When it cannot be made the fork still happens: its child's calls are
        not recorded.
        """
        with self.dir_lock:
            if self.child_dir is None:
                try:
                    self.child_dir = tempfile.mkdtemp(prefix="analysis-fork-")
                except (IOError, OSError):
                    pass

    def unpatch(self):
        if self.saved is None:
            return
        original_start, original_fork, original_exit = self.saved
        self.saved = None
        threading.Thread.start = original_start
        if original_fork is not None:
            os.fork = original_fork
            os._exit = original_exit

    def become_child(self):
        # In the forked child: the thread that forked goes on as the child's
        # only thread, with a fresh entry; its calls are written at _exit.
        # Its frames are the parent's, so the anchors of its calls resolve to
        # the parent's calls before the fork.
        recording = self.recording
        start = recording.start_point(_getframe(2))  # the caller of os.fork
        recording.lock = threading.Lock()  # another thread may have held it at fork
        recording.in_child = True
        recording.split = len(recording.raw) // FIELDS
        self.child_thread_first = len(recording.threads)
        # Named by fork order, not pid, so that recording the same scenario
        # again gives the same trace (and the docs re-read nothing); the pid
        # is kept in the thread record.
        recording.child_thread = recording.register_thread("child-%d" % (len(self.children) + 1), "child", start)

    def write_child(self):
        if self.child_dir is None:
            return
        try:
            calls, threads = self.build_child(self.child_thread_first)
            data = {
                "pid": os.getpid(),
                "calls": [c.to_dict() for c in calls],
                "threads": [t.to_dict() for t in threads],
            }
            path = os.path.join(self.child_dir, "%d.json" % os.getpid())
            with open(path + ".tmp", "w") as stream:
                json.dump(data, stream)
            os.rename(path + ".tmp", path)
        except Exception:  # the child must still exit
            pass

    def merge_children(self, base_call, base_thread, timeout=10.0):
        """Read the children's files; their calls take ids from *base_call*, threads from *base_thread*."""
        directory, self.child_dir = self.child_dir, None
        if directory is None:
            return
        try:
            deadline = time.time() + timeout
            pending = set(self.children)
            while pending and time.time() < deadline:
                for pid in list(pending):
                    if os.path.exists(os.path.join(directory, "%d.json" % pid)) or not _alive(pid):
                        pending.discard(pid)
                if pending:
                    time.sleep(0.01)
            for pid in self.children:
                path = os.path.join(directory, "%d.json" % pid)
                if os.path.exists(path):
                    with open(path) as stream:
                        self._merge(json.load(stream), base_call, base_thread)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _merge(self, data, base_call, base_thread):
        # After the run: the parent records nothing more, so the child's calls
        # and threads take the ids after the parent's (and earlier children's).
        call_map, thread_map, records = {}, {}, {}
        for t in data["threads"]:
            new_id = base_thread + len(self.threads)
            thread_map[t["id"]] = new_id
            records[t["id"]] = record = Thread.from_dict(dict(t, id=new_id))
            self.threads.append(record)
        base = base_call + len(self.calls)
        for offset, c in enumerate(data["calls"]):
            call_map[c["id"]] = base + offset
        for c in data["calls"]:
            parent = c["parent"]
            self.calls.append(
                Call.from_dict(
                    dict(
                        c,
                        id=call_map[c["id"]],
                        parent=call_map.get(parent, parent),
                        thread=thread_map.get(c["thread"], c["thread"]),
                        spawned_threads=[thread_map.get(t, t) for t in c["spawned_threads"]],
                    )
                )
            )
        for t in data["threads"]:
            record = records[t["id"]]
            first = [call_map[c["id"]] for c in data["calls"] if c["thread"] == t["id"]]
            if record.started_by is not None:
                self.hops.append(Hop(from_call=record.started_by, thread=record.id, first_call=first[0] if first else None))
                self.spawned.setdefault(record.started_by, []).append(record.id)
