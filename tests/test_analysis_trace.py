"""analysis.trace: owners through the MRO, filters, hops, and leaving no trace behind."""
import copy
import gc
import itertools
import json
import os
import sys
import tempfile
import threading
import time
import traceback
import types
import weakref

try:
    import _thread
except ImportError:  # Python 2
    import thread as _thread

import pytest

from analysis import trace as trace_module
from analysis import _trace_inline as inline
from analysis import _trace_instrument as instrument_module
from analysis import _trace_owners as owners
from analysis import _trace_tree as tree
from analysis._trace_recording import Recording
from analysis.model import Hop, Thread
from analysis.trace import Tracer, TracerError, available_tracers

HERE = __name__  # the module filter that records this file's code
TRACERS = list(available_tracers())  # "instrument" first: every interpreter has it
HOOKS = [kind for kind in TRACERS if kind != "instrument"]  # the backends that decide per code object


class Base(object):
    def method(self):
        """Base's method."""
        return self.helper() + 1

    def helper(self):
        return 1

    @classmethod
    def build(cls):
        return cls()


class Child(Base):
    def helper(self):
        return 2


class GrandChild(Child):
    pass


def plain_function():
    """A function of no class."""
    return json.dumps([1])  # json is not in the filter


def generator():
    yield 1


def run_sample():
    obj = GrandChild.build()
    obj.method()
    plain_function()
    list(generator())


@pytest.fixture(autouse=True)
def no_hooks_left():
    before = (sys.gettrace(), sys.getprofile())
    yield
    assert (sys.gettrace(), sys.getprofile()) == before
    assert threading.Thread.start.__name__ == "start"
    assert threading.Thread.start.__module__ == "threading"


def record(kind, func, *args):
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        # Looked up now: "instrument" wraps the module's functions at start(),
        # and a reference taken before it calls the original (see
        # test_instrument_sees_what_exists_at_start).
        globals()[func.__name__](*args)
    return tracer.trace("sample")


@pytest.mark.parametrize("kind", TRACERS)
def test_owner_is_the_class_that_supplies_the_method(kind):
    trace = record(kind, run_sample)
    assert [(c.qualname, c.depth) for c in trace.calls] == [
        ("run_sample", 0),
        ("Base.build", 1),
        ("Base.method", 1),  # called on a GrandChild: owned by Base, never GrandChild.method
        ("Child.helper", 2),  # Base.method calls self.helper(): Child's override
        ("plain_function", 1),
    ]
    sample, build, method, helper, plain = trace.calls
    assert (method.owner, method.owner_module, method.function) == ("Base", HERE, "method")
    assert build.owner == "Base"  # a classmethod, found from cls
    assert helper.parent == method.id and method.parent == sample.id and sample.parent is None
    assert helper.call_line == Base.method.__code__.co_firstlineno + 2
    assert helper.call_file == __file__.replace(".pyc", ".py")
    assert method.line == Base.method.__code__.co_firstlineno
    assert method.doc == "Base's method."
    assert plain.owner is None and plain.doc == "A function of no class."
    assert trace.tracer == kind
    assert trace.modules == [HERE]
    assert [(t.id, t.role) for t in trace.threads] == [(0, "main")]
    assert trace.disabled is None


def test_default_tracer_is_the_cheapest_backend():
    # Measured by benchmarks/bench_trace.py and callgrind on every
    # interpreter, sys.monitoring on 3.12+ included (see analysis.trace).
    assert trace_module.DEFAULT_TRACER == "instrument" == TRACERS[0]
    assert record(None, run_sample).tracer == "instrument"


@pytest.mark.parametrize("kind", TRACERS)
def test_trace_is_detached_plain_data(kind):
    data = record(kind, run_sample).to_dict()

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                assert isinstance(k, str) or type(k).__name__ == "unicode"
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert value is None or type(value).__name__ in ("str", "unicode", "int", "long", "bool"), value

    walk(data)


@pytest.mark.parametrize("kind", TRACERS)
def test_module_filter_prefix_and_exclusion(kind):
    from analysis import model

    tracer = Tracer(["analysis"], tracer=kind)  # a package covers its modules
    with tracer:
        model.python_info()  # analysis.model: inside the package
        run_sample()  # this test module: outside the filter
    # The tracer's own modules (analysis.trace, analysis._trace.*) ran all
    # along, in start() and stop(): never recorded.
    assert [(c.module, c.qualname) for c in tracer.trace("x").calls] == [("analysis.model", "python_info")]
    tracer = Tracer(["analysis.mod"], tracer=kind)  # a prefix is a whole dotted name
    with tracer:
        model.python_info()
    assert tracer.trace("x").calls == []
    with pytest.raises(ValueError):
        Tracer([])


@pytest.mark.parametrize("kind", TRACERS)
def test_previous_hooks_are_restored(kind):
    def previous_trace(frame, event, arg):
        return None

    def previous_profile(frame, event, arg):
        return None

    old_thread_hooks = trace_module._compat.threading_hooks()
    sys.settrace(previous_trace)
    sys.setprofile(previous_profile)
    threading.settrace(previous_trace)
    threading.setprofile(previous_profile)
    try:
        tracer = Tracer([HERE], tracer=kind)
        with tracer:
            run_sample()
        assert sys.gettrace() is previous_trace
        assert sys.getprofile() is previous_profile
        assert trace_module._compat.threading_hooks() == (previous_trace, previous_profile)
    finally:
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(old_thread_hooks[0])
        threading.setprofile(old_thread_hooks[1])
    # "instrument" also records the previous hooks, functions of this module
    # that the interpreter calls; the hook backends do not trace inside hooks.
    calls = [c for c in tracer.trace("x").calls if not c.function.startswith("previous_")]
    assert len(calls) == 5


@pytest.mark.skipif(not hasattr(sys, "monitoring"), reason="sys.monitoring is 3.12+")
def test_monitoring_tool_id_is_released_and_disable_is_reset():
    mon = sys.monitoring
    before = [mon.get_tool(i) for i in range(6)]
    first = record("sys.monitoring", run_sample)
    assert [mon.get_tool(i) for i in range(6)] == before
    # A second tracer sees the code the first one's filter DISABLEd.
    tracer = Tracer(["json"], tracer="sys.monitoring")
    with tracer:
        plain_function()
    assert len(first.calls) == 5
    assert [c.qualname for c in tracer.trace("json").calls][:1] == ["dumps"]


@pytest.mark.skipif(not hasattr(sys, "monitoring"), reason="sys.monitoring is 3.12+")
def test_monitoring_leaves_no_disabled_event_for_the_next_tool():
    # A tool that takes the same id next (a profiler: viztracer 1.1 on 3.12
    # saw a PY_RETURN without its PY_START, and stopped tracing) sees every
    # call of the code our filter DISABLEd.
    mon = sys.monitoring
    record("sys.monitoring", run_sample)  # json.dumps: outside the filter, DISABLEd
    seen = []
    mon.use_tool_id(mon.PROFILER_ID, "test")
    try:
        mon.register_callback(mon.PROFILER_ID, mon.events.PY_START, lambda code, offset: seen.append(code.co_name))
        mon.set_events(mon.PROFILER_ID, mon.events.PY_START)
        plain_function()
        mon.set_events(mon.PROFILER_ID, 0)
    finally:
        mon.register_callback(mon.PROFILER_ID, mon.events.PY_START, None)
        mon.free_tool_id(mon.PROFILER_ID)
    assert "dumps" in seen


class ExplodingMeta(type):
    # The tracer caches owners by receiver type: hashing this one raises.
    def __hash__(cls):
        raise RuntimeError("boom")


def _method(self):
    return 1


# Built by calling the metaclass: the same spelling on 2.7 and 3.  _method is
# both a module function and a method of Exploding, so its owner depends on
# the receiver, and the tracer looks it up by the receiver's type.
Exploding = ExplodingMeta("Exploding", (object,), {"_method": _method})


def explode_midway():
    run_sample()
    Exploding()._method()  # the tracer's owner lookup raises here
    run_sample()  # not recorded: the tracer is off


@pytest.mark.parametrize("kind", TRACERS)
def test_a_failing_callback_switches_the_tracer_off(kind):
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        explode_midway()
        assert sys.gettrace() is None or kind == "sys.setprofile"
        assert sys.getprofile() is None
    trace = tracer.trace("x")
    assert trace.disabled == "tracer callback raised RuntimeError: boom; recording stopped"
    assert [c.qualname for c in trace.calls] == [
        "explode_midway", "run_sample", "Base.build", "Base.method", "Child.helper", "plain_function"
    ]


def worker(results):
    results.append(Child().helper())


def start_worker(results):
    thread = threading.Thread(target=worker, args=(results,), name="the-worker")
    thread.start()
    thread.join(10)


@pytest.mark.parametrize("kind", TRACERS)
def test_thread_hop_is_recorded(kind):
    results = []
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        start_worker(results)
        other = threading.Thread(target=worker, args=(results,), name="helper")
        other.start()  # started outside any recorded call
        other.join(10)
    assert results == [2, 2]
    trace = tracer.trace("hop")
    start = trace.calls[0]
    assert start.qualname == "start_worker"
    threads = dict((t.name, t) for t in trace.threads)
    assert (threads["the-worker"].role, threads["the-worker"].started_by) == ("worker", start.id)
    assert (threads["helper"].role, threads["helper"].started_by) == ("server", None)
    assert start.spawned_threads == [threads["the-worker"].id]
    first = [c for c in trace.calls if c.thread == threads["the-worker"].id][0]
    assert first.qualname == "worker" and first.parent is None and first.depth == 0
    assert [h.to_dict() for h in trace.hops] == [
        {"from_call": start.id, "thread": threads["the-worker"].id, "first_call": first.id}
    ]
    assert first.call_file.replace(".pyc", ".py").endswith("threading.py")


def test_threads_are_listed_by_id_and_end_with_the_run():
    # Threads register without a lock: two that register at once may be
    # appended out of id order.  One that registers after stop() (a call
    # past its check of "on") is not part of the run.
    tracer = Tracer([HERE])
    with tracer:
        for name in ("first", "second"):
            thread = threading.Thread(target=worker, args=([],), name=name)
            thread.start()
            thread.join(10)
    recording = tracer._recording
    recording.threads.reverse()
    recording.register_thread("late", None, None)
    trace = tracer.trace("x")
    assert [(t.id, t.name) for t in trace.threads] == [
        (0, threading.current_thread().name), (1, "first"), (2, "second")]
    assert sorted(set(c.thread for c in trace.calls)) == [1, 2]


def test_roles_by_thread_name():
    tracer = Tracer([HERE], roles={"helper": "client"})
    with tracer:
        thread = threading.Thread(target=worker, args=([],), name="helper")
        thread.start()
        thread.join(10)
    assert [(t.name, t.role) for t in tracer.trace("x").threads][1] == ("helper", "client")


def test_generators_are_left_out():
    tracer = Tracer([HERE])
    with tracer:
        list(generator())
    assert tracer.trace("x").calls == []


def test_unavailable_tracer_and_second_start():
    with pytest.raises(TracerError) as info:
        Tracer([HERE], tracer="sys.nothing")
    assert str(info.value).startswith("tracer 'sys.nothing' is not available on Python ")
    tracer = Tracer([HERE])
    with tracer:
        pass
    with pytest.raises(TracerError):
        tracer.start()
    tracer.stop()  # a second stop is harmless


def boom():
    raise ValueError("boom")


def catcher():
    try:
        boom()
    except ValueError:
        pass
    for _ in range(3):
        plain_function()  # siblings, after a call that raised


def recurse(n):
    return recurse(n - 1) + 1 if n else 0


def nested():
    catcher()
    recurse(3)


@pytest.mark.parametrize("kind", TRACERS)
def test_call_tree_without_return_events(kind):
    # The tracer asks for call events only; exceptions, siblings, loops and
    # recursion must still give every call its real parent and depth.
    trace = record(kind, nested)
    shape = [(c.qualname, c.depth, c.parent) for c in trace.calls]
    assert shape == [
        ("nested", 0, None),
        ("catcher", 1, 0),
        ("boom", 2, 1),
        ("plain_function", 2, 1),
        ("plain_function", 2, 1),
        ("plain_function", 2, 1),
        ("recurse", 1, 0),
        ("recurse", 2, 6),
        ("recurse", 3, 7),
        ("recurse", 4, 8),
    ]


class Lender(object):
    def lent(self):
        """Defined here, and held by Borrower too."""
        return 1


class Borrower(object):
    lent = Lender.__dict__["lent"]  # the same function object in a second class


def lend_and_borrow():
    Lender().lent()
    Borrower().lent()


@pytest.mark.parametrize("kind", TRACERS)
def test_a_function_two_classes_hold_is_owned_through_the_receiver_mro(kind):
    # The code alone cannot say which class supplies it: the receiver's MRO does.
    trace = record(kind, lend_and_borrow)
    assert [(c.qualname, c.owner_module) for c in trace.calls] == [
        ("lend_and_borrow", None),
        ("Lender.lent", HERE),
        ("Borrower.lent", HERE),
    ]
    assert trace.calls[2].doc == "Defined here, and held by Borrower too."


class Copied(object):
    def __deepcopy__(self, memo):
        return Copied()


def copy_through_the_stdlib():
    return copy.deepcopy([Copied()])


@pytest.mark.parametrize("kind", TRACERS)
def test_the_parent_is_the_nearest_recorded_caller(kind):
    # copy.deepcopy runs Python frames of its own (not recorded) between the
    # two recorded calls.
    trace = record(kind, copy_through_the_stdlib)
    top, hook = trace.calls
    assert (top.qualname, top.depth, top.parent) == ("copy_through_the_stdlib", 0, None)
    assert (hook.qualname, hook.depth, hook.parent) == ("Copied.__deepcopy__", 1, top.id)
    assert hook.call_file.replace(".pyc", ".py").endswith("copy.py")


def _make_functions(count):
    namespace = {}
    for i in range(count):
        exec("def concurrent_%d():\n    return %d\n" % (i, i), globals(), namespace)
    return [namespace["concurrent_%d" % i] for i in range(count)]


@pytest.mark.parametrize("kind", HOOKS)  # "instrument" decides everything at start()
def test_codes_met_at_once_in_many_threads_keep_their_names(kind, monkeypatch):
    # Deciding about a new code takes a while (the module's classes are
    # searched); a slow decision makes threads meet new codes at once, and
    # each call must still be recorded as the function it ran.
    original = owners.static_owner

    def slow_static_owner(*args):
        time.sleep(0.002)
        return original(*args)

    monkeypatch.setattr(owners, "static_owner", slow_static_owner)
    functions = _make_functions(8)
    barrier = threading.Event()

    def run(func):
        barrier.wait(10)
        func()

    threads = [threading.Thread(target=run, args=(f,), name=f.__name__) for f in functions]
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        for t in threads:
            t.start()
        barrier.set()
        for t in threads:
            t.join(10)
    trace = tracer.trace("x")
    names = dict((t.id, t.name) for t in trace.threads)
    recorded = sorted((names[c.thread], c.function) for c in trace.calls if c.function.startswith("concurrent_"))
    assert recorded == sorted((f.__name__, f.__name__) for f in functions)


class Accessors(object):
    @staticmethod
    def static():
        return 1

    @classmethod
    def klass(cls):
        return cls.static()

    @property
    def value(self):
        return self.klass()


class MoreAccessors(Accessors):
    pass


def use_accessors():
    return MoreAccessors().value


def _codes():
    # The code object of every function and accessor of this module.
    found = [(name, value.__code__) for name, value in sorted(globals().items()) if type(value) is type(_codes)]
    for cls in (Base, Child, Lender, Borrower, Accessors, MoreAccessors):
        for name, value in sorted(vars(cls).items()):
            value = getattr(value, "__func__", getattr(value, "fget", value))
            if type(value) is type(_codes):
                found.append((cls.__name__ + "." + name, value.__code__))
    return found


@pytest.mark.parametrize("kind", TRACERS)
def test_accessors_are_owned_by_the_class_that_holds_them(kind):
    trace = record(kind, use_accessors)
    assert [(c.qualname, c.depth, c.parent) for c in trace.calls] == [
        ("use_accessors", 0, None),
        ("Accessors.value", 1, 0),
        ("Accessors.klass", 2, 1),
        ("Accessors.static", 3, 2),
    ]


def test_instrument_puts_every_original_back():
    before = _codes()
    tracer = Tracer([HERE], tracer="instrument")
    with tracer:
        during = _codes()
        use_accessors()
    assert _codes() == before
    changed = set(name for (name, code), (_, now) in zip(before, during) if now is not code)
    assert changed >= set(["run_sample", "use_accessors", "Base.method", "Accessors.static", "Accessors.klass",
                           "Accessors.value"])
    assert "generator" not in changed  # generators are never recorded
    assert [c.qualname for c in tracer.trace("x").calls] == [
        "_codes", "use_accessors", "Accessors.value", "Accessors.klass", "Accessors.static"
    ]


@pytest.fixture(params=["prologue", "template"])
def recording_code(request, monkeypatch):
    """Run the test with each kind of recording code of "instrument"."""
    if request.param == "template":
        monkeypatch.setattr(inline, "prologue_code", lambda code, owner_known=True: None)
    return request.param


def test_instrument_knows_a_recorded_caller_without_walking_the_stack(monkeypatch, recording_code):
    # A call from a recorded function is the common case: its anchor is the
    # caller's own frame (prologue: its code is in the recording's set) or
    # the caller's recording frame (template: one identity test of the file
    # name every template code shares).  When that test fails (2.7 made a
    # new file name string per template), every call walks the stack in
    # Python instead: the same tree, at more cost (callgrind, 2.7's echo
    # benchmark: 481k instructions per request against 452k).
    walked = []
    original = Recording.anchor

    def anchor(self, frame):
        walked.append(frame.f_code.co_name)
        return original(self, frame)

    monkeypatch.setattr(Recording, "anchor", anchor)
    trace = record("instrument", use_accessors)
    assert [(c.qualname, c.parent) for c in trace.calls] == [
        ("use_accessors", None), ("Accessors.value", 0), ("Accessors.klass", 1), ("Accessors.static", 2),
    ]
    assert len(walked) == 1  # use_accessors: called by code that is not recording


def _frames_left_for_the_collector():
    # Only frames of this file's code (the recorded functions, with their
    # prologue) and of the recording code (the template): a thread of an
    # earlier test that ends meanwhile frees its own frames (seen on 2.7).
    mine = os.path.splitext(os.path.abspath(__file__))[0]
    return sum(1 for o in gc.get_objects() if isinstance(o, types.FrameType) and (
        o.f_code.co_filename == instrument_module._FILENAME
        or os.path.splitext(os.path.abspath(o.f_code.co_filename))[0] == mine))


def test_instrument_leaves_no_frame_for_the_garbage_collector():
    # The recording code reads its own frame: held in a local, that frame
    # would be a reference cycle, freed only when the collector runs (on
    # Python 3.11+, and below for every frame a cycle holds).
    tracer = Tracer([HERE], tracer="instrument")
    enabled = gc.isenabled()
    gc.disable()
    try:
        with tracer:
            run_sample()  # every code object made and swapped in
            gc.collect()
            before = _frames_left_for_the_collector()
            for _ in range(50):
                run_sample()
            left = _frames_left_for_the_collector() - before
    finally:
        if enabled:
            gc.enable()
    names = [c.qualname for c in tracer.trace("x").calls]
    assert names.count("run_sample") == names.count("Base.method") == 51  # recorded all along
    assert left == 0


def test_instrument_sees_the_functions_that_exist_at_start():
    # A function made after start() runs its own code: the hooks see its
    # calls, "instrument" does not.  Hence the default falls back to a hook
    # when a recorded module is not imported at start().
    seen = {}
    for kind in TRACERS:
        tracer = Tracer([HERE], tracer=kind)
        with tracer:
            later = _make_functions(1)[0]
            later()
        seen[kind] = [c.function for c in tracer.trace("x").calls]
    for kind in HOOKS:
        assert seen[kind] == ["_make_functions", "concurrent_0"]
    assert seen["instrument"] == ["_make_functions"]
    hook = "sys.monitoring" if hasattr(sys, "monitoring") else "sys.settrace"
    for modules in ([HERE, "a_module_not_imported_yet"], [HERE, "__main__"]):  # __main__: a script that runs
        default = Tracer(modules)
        with default:
            pass
        assert default.trace("x").tracer == hook
    assert record(None, run_sample).tracer == TRACERS[0]


class NamelessThread(threading.Thread):
    """A thread whose name cannot be read: the tracer reads it at the thread's first recorded call."""

    @property
    def name(self):
        if threading.current_thread() is self:
            raise RuntimeError("no name")
        return "nameless"

    @name.setter
    def name(self, value):
        pass


@pytest.mark.parametrize("kind", TRACERS)
def test_a_failing_first_call_in_a_thread_switches_the_tracer_off(kind):
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        thread = NamelessThread(target=worker, args=([],))
        thread.start()
        thread.join(10)
        globals()["run_sample"]()  # not recorded: the tracer is off
    trace = tracer.trace("x")
    assert trace.disabled == "tracer callback raised RuntimeError: no name; recording stopped"
    assert trace.calls == []


# -- the tree, rebuilt from hand-made records: no tracing -----------------------


class _Info(object):
    def __init__(self, function):
        self.function = function
        self.qualname = function
        self.module = HERE
        self.file = "/src/m.py"
        self.line = 1


INFOS = [_Info("serve"), _Info("handle"), _Info("finish")]
OWNED = ("Server", HERE, "")
FREE = (None, None, "")


def test_tree_parents_come_from_anchors_and_threads_from_start_points():
    raw = tree.raw_calls([
        # frame, anchor, thread, info, owner, caller code, caller offset
        100, None, 0, 0, OWNED, None, None,   # 0 serve
        200, 100, 0, 1, FREE, None, None,     # 1 handle, called by serve
        300, 200, 0, 2, FREE, None, None,     # 2 finish, called by handle
        200, 100, 0, 1, FREE, None, None,     # 3 handle again: frame 200 reused after 1 returned
        400, None, 1, 2, FREE, None, None,    # 4 the worker's first call
    ])
    threads = [
        tree.ThreadEntry(0, "MainThread", "main", None, None),
        tree.ThreadEntry(1, "Thread-1", None, tree.StartPoint(4, 200), None),  # started by the call in frame 200
        tree.ThreadEntry(2, "client", None, None, None),
    ]
    calls, records, hops = tree.build(raw, INFOS, threads, {"client": "client"})
    assert [(c.id, c.qualname, c.parent, c.depth, c.thread) for c in calls] == [
        (0, "Server.serve", None, 0, 0),
        (1, "handle", 0, 1, 0),
        (2, "finish", 1, 2, 0),
        (3, "handle", 0, 1, 0),
        (4, "finish", None, 0, 1),
    ]
    assert calls[3].spawned_threads == [1]  # the latest call in frame 200 when the thread started
    assert records == [
        Thread(id=0, name="MainThread", role="main"),
        Thread(id=1, name="Thread-1", role="worker", started_by=3),
        Thread(id=2, name="client", role="client"),
    ]
    assert hops == [Hop(from_call=3, thread=1, first_call=4)]


def test_tree_in_a_forked_child_numbers_its_own_calls_apart():
    raw = tree.raw_calls([
        100, None, 0, 0, OWNED, None, None,   # 0 the parent's serve, before the fork
        200, 100, tree.CHILD_BASE + 1, 1, FREE, None, None,   # 1 the child's handle
    ])
    threads = [
        tree.ThreadEntry(0, "MainThread", "main", None, None),
        tree.ThreadEntry(tree.CHILD_BASE + 1, "child-1", "child", tree.StartPoint(1, 100), 42),
    ]
    calls, records, hops = tree.build(raw, INFOS, threads[1:], {}, first=1, split=1)
    assert [(c.id, c.parent, c.depth) for c in calls] == [(tree.CHILD_BASE + 1, 0, 1)]
    assert records == [Thread(id=tree.CHILD_BASE + 1, name="child-1", role="child", started_by=0, pid=42)]
    assert hops == []  # the parent records a fork's hop when it merges


def test_tree_takes_a_threadless_record_from_its_anchors_call():
    # The instrument prologue records a call made by a recorded call without
    # reading the thread (None): the tree takes the anchor call's thread.
    raw = tree.raw_calls([
        100, None, 0, 0, OWNED, None, None,   # 0 serve, in thread 0
        500, None, 1, 0, OWNED, None, None,   # 1 serve, in thread 1
        200, 100, None, 1, FREE, None, None,  # 2 handle, called by call 0
        600, 500, None, 1, FREE, None, None,  # 3 handle, called by call 1
        300, 600, None, 2, FREE, None, None,  # 4 finish, called by call 3
    ])
    threads = [tree.ThreadEntry(0, "MainThread", "main", None, None), tree.ThreadEntry(1, "T", None, None, None)]
    calls, _, _ = tree.build(raw, INFOS, threads, {})
    assert [(c.id, c.parent, c.depth, c.thread) for c in calls] == [
        (0, None, 0, 0), (1, None, 0, 1), (2, 0, 1, 0), (3, 1, 1, 1), (4, 3, 2, 1),
    ]


def test_tree_leaves_out_the_calls_of_a_skipped_frame():
    # Frame 200 ran a recorded function for the tracer's own code (skipped
    # from position 2 on): the calls it makes are not calls of the run, nor
    # children of the older call whose frame had the same id.
    raw = tree.raw_calls([
        100, None, 0, 0, OWNED, None, None,   # 0 serve
        200, 100, None, 1, FREE, None, None,  # 1 handle, in frame 200; it returns
        300, 200, None, 2, FREE, None, None,  # 2 finish, called in the skipped frame 200
        400, 300, None, 2, FREE, None, None,  # 3 called by 2: left out too
        700, 800, None, 2, FREE, None, None,  # 4 its anchor's call was never recorded
        200, 100, None, 1, FREE, None, None,  # 5 a recorded call in frame 200 again
        300, 200, None, 2, FREE, None, None,  # 6 ... and its callee
    ])
    threads = [tree.ThreadEntry(0, "MainThread", "main", None, None)]
    calls, _, _ = tree.build(raw, INFOS, threads, {}, skipped=[(2, 200)])
    assert [(c.id, c.parent, c.depth, c.thread) for c in calls] == [
        (0, None, 0, 0), (1, 0, 1, 0), (5, 0, 1, 0), (6, 5, 2, 0),
    ]


def test_tree_in_a_forked_child_puts_threadless_calls_in_the_childs_thread():
    raw = tree.raw_calls([
        100, None, 0, 0, OWNED, None, None,   # 0 the parent's serve, which forks
        200, 100, None, 1, FREE, None, None,  # 1 the child's handle, called by serve
        300, 200, None, 2, FREE, None, None,  # 2 the child's finish, called by handle
    ])
    child = tree.CHILD_BASE + 1
    threads = [tree.ThreadEntry(child, "child-1", "child", tree.StartPoint(1, 100), 42)]
    calls, _, _ = tree.build(raw, INFOS, threads, {}, first=1, split=1, child_thread=child)
    assert [(c.id, c.parent, c.thread) for c in calls] == [
        (tree.CHILD_BASE + 1, 0, child), (tree.CHILD_BASE + 2, tree.CHILD_BASE + 1, child),
    ]


def forked_child_calls_back(path):
    return len(path)


def fork_and_call_back():
    pid = os.fork()
    if pid == 0:
        try:
            forked_child_calls_back("child")  # called by a recorded call from before the fork
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return pid


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
@pytest.mark.parametrize("kind", TRACERS)
def test_a_forked_childs_calls_are_in_its_thread(kind):
    trace = record(kind, fork_and_call_back)
    threads = dict((t.role, t.id) for t in trace.threads)
    assert [(c.function, c.parent, c.thread) for c in trace.calls] == [
        ("fork_and_call_back", None, threads["main"]), ("forked_child_calls_back", 0, threads["child"]),
    ]


class NamedByAHelper(threading.Thread):
    """A thread whose name is made by recorded functions: the tracer reads it at the thread's first recorded call."""

    @property
    def name(self):
        return name_helper(self)

    @name.setter
    def name(self, value):
        pass


def name_helper(thread):
    return name_part("named") + "-by-helper"


def name_part(word):
    return word


def start_named_by_a_helper():
    thread = NamedByAHelper(target=worker, args=([],))
    thread.start()
    thread.join(10)


@pytest.mark.parametrize("kind", TRACERS)
def test_calls_the_tracer_makes_are_not_calls_of_the_run(kind):
    # The thread's name is read by the tracer, at the thread's first call:
    # name, and what it calls, are not calls of the run.
    trace = record(kind, start_named_by_a_helper)
    names = dict((t.id, t.name) for t in trace.threads)
    assert [(c.function, names[c.thread]) for c in trace.calls] == [
        ("start_named_by_a_helper", "MainThread"), ("worker", "named-by-helper"), ("helper", "named-by-helper"),
    ]


def read_the_name_then_start():
    thread = NamedByAHelper(target=worker, args=([],))
    thread.name  # a call of the run, in the frame the tracer's own read of the name reuses
    thread.start()
    thread.join(10)


@pytest.mark.parametrize("kind", TRACERS)
def test_calls_in_a_frame_the_tracer_reuses_are_not_calls_of_the_run(kind):
    # The name property's frame serves both reads of the name, so the
    # second, the tracer's, has the id the first had: without
    # Recording.skip(), what it calls hangs on the first read.
    trace = record(kind, read_the_name_then_start)
    names = dict((t.id, t.name) for t in trace.threads)
    assert [(c.function, c.depth, names[c.thread]) for c in trace.calls] == [
        ("read_the_name_then_start", 0, "MainThread"),
        ("name", 1, "MainThread"),
        ("name_helper", 2, "MainThread"),
        ("name_part", 3, "MainThread"),
        ("worker", 0, "named-by-helper"),
        ("helper", 1, "named-by-helper"),
    ]


def record_from_inside(kind):
    """Start recording inside a call of a recorded function (this one): the call is not the run's, its calls are."""
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        globals()["plain_function"]()
        Child().helper()
    return tracer.trace("inside")


@pytest.mark.parametrize("kind", TRACERS)
def test_a_run_started_inside_a_recorded_call_records_the_calls_it_makes(kind):
    trace = record_from_inside(kind)
    assert [(c.function, c.parent, c.depth, c.thread) for c in trace.calls] == [
        ("plain_function", None, 0, 0), ("helper", None, 0, 0),
    ]


def already_running(go, done):
    go.wait(10)
    Child().helper()  # the call of a recorded function that began before the run
    done.set()


@pytest.mark.parametrize("kind", [k for k in TRACERS if k in ("instrument", "sys.monitoring")])
def test_a_thread_inside_a_recorded_call_at_start_has_its_calls_recorded(kind):
    # The hooks of the global backends see every thread; sys.settrace and
    # sys.setprofile only those that start after it.
    go, done = threading.Event(), threading.Event()
    thread = threading.Thread(target=already_running, args=(go, done), name="already-running")
    thread.start()
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        go.set()
        assert done.wait(10)
    thread.join(10)
    trace = tracer.trace("already")
    names = dict((t.id, t.name) for t in trace.threads)
    assert [(c.function, c.parent, c.depth, names[c.thread]) for c in trace.calls] == [
        ("helper", None, 0, "already-running"),
    ]


def record_and_let_go(kind):
    """A weak reference to the recording of a run whose Tracer is gone.

    In a function of its own: with a Python-level hook (setprofile, 2.7 to
    3.10), the interpreter copies the locals of the frames it reports into
    their f_locals dict, which would keep the Tracer alive as long as the
    test's own frame.
    """
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        globals()["run_sample"]()
    assert tracer.trace("x").calls
    return weakref.ref(tracer._recording)


@pytest.mark.parametrize("kind", TRACERS)
def test_a_finished_recording_is_freed(kind):
    # What a run recorded (a list of seven values a call) goes with its
    # Tracer.  instrument's never went: a record held its caller's
    # recording code, whose constants hold the recording, and the garbage
    # collector does not see through a code object.
    recording = record_and_let_go(kind)
    gc.collect()
    assert recording() is None


@pytest.mark.parametrize("kind", TRACERS)
def test_a_finished_recording_goes_with_its_tracer_at_once(kind):
    # No reference cycle either: the memory a long run recorded comes back
    # when the Tracer goes, not at the collector's next full collection.
    gc.disable()
    try:
        recording = record_and_let_go(kind)
        assert recording() is None
    finally:
        gc.enable()


def bottom_of_its_thread(done):
    Child().helper()
    done.set()


@pytest.mark.parametrize("kind", [k for k in TRACERS if k in ("instrument", "sys.monitoring")])
def test_a_call_with_no_caller_is_recorded(kind):
    # A function start_new_thread() runs is its thread's first frame: no
    # caller, no call site.  (threading.settrace does not reach such a
    # thread: the global backends only.)
    done = threading.Event()
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        _thread.start_new_thread(globals()["bottom_of_its_thread"], (done,))
        assert done.wait(10)
    trace = tracer.trace("bottom")
    bottom, helper = trace.calls
    assert (bottom.function, bottom.parent, bottom.call_file, bottom.call_line) == (
        "bottom_of_its_thread", None, None, None)
    assert (helper.function, helper.parent, helper.thread) == ("helper", bottom.id, bottom.thread)


def bottom_again(done):
    Child().helper()
    if done is not None:
        done.set()


@pytest.mark.parametrize("kind", [k for k in TRACERS if k in ("instrument", "sys.monitoring")])
def test_calls_with_no_caller_in_a_thread_already_seen(kind):
    # starmap() run by list() in a new thread calls the function twice from C:
    # no caller either time.  The first call registers the thread, the
    # second is recorded in it (the recording code's NO_CALLER branch).
    done = threading.Event()
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        _thread.start_new_thread(list, (itertools.starmap(globals()["bottom_again"], [(None,), (done,)]),))
        assert done.wait(10)
    calls = tracer.trace("bottom").calls
    assert [c.function for c in calls] == ["bottom_again", "helper", "bottom_again", "helper"]
    first, first_helper, second, second_helper = calls
    assert [(c.parent, c.call_file, c.call_line) for c in (first, second)] == [(None, None, None)] * 2
    assert len(set(c.thread for c in calls)) == 1
    assert (first_helper.parent, second_helper.parent) == (first.id, second.id)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_the_childrens_directory_lives_from_the_first_fork_to_the_merge(tmpdir, monkeypatch):
    # Made at start, it was left behind by every recording whose process
    # was killed, forking or not.
    scratch = tmpdir.mkdir("tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with Tracer([__name__]) as recorder:
        assert scratch.listdir() == []
        pid = os.fork()
        if pid == 0:
            try:
                forked_child_calls_back("child")
            finally:
                os._exit(0)
        assert [p.basename[:14] for p in scratch.listdir()] == ["analysis-fork-"]
        os.waitpid(pid, 0)
    assert scratch.listdir() == []
    trace = recorder.trace("fork")
    child = [t for t in trace.threads if t.role == "child"]
    assert [(t.name, t.pid) for t in child] == [("child-1", pid)]
    assert [(c.function, c.thread) for c in trace.calls] == [("forked_child_calls_back", child[0].id)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_child_that_stops_the_recording_itself():
    # Its calls reach the parent as at os._exit(), and its own trace()
    # lists its own thread (its ids start at CHILD_BASE).
    with Tracer([__name__]) as recorder:
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                forked_child_calls_back("child")
                recorder.stop()
                mine = recorder.trace("child")
                child = [t for t in mine.threads if t.role == "child"]
                if [t.name for t in child] == ["child-1"] and mine.calls[-1].thread == child[0].id:
                    status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    trace = recorder.trace("fork")
    child = [t for t in trace.threads if t.role == "child"]
    assert [(c.function, c.thread) for c in trace.calls] == [("forked_child_calls_back", child[0].id)]


def test_raw_records_are_named():
    record = tree.raw_calls([1, 2, 3, 4, OWNED, None, None])[0]
    assert (record.frame, record.anchor, record.thread, record.info, record.owner) == (1, 2, 3, 4, OWNED)
    assert record == tree.RawCall(1, 2, 3, 4, OWNED, None, None)
    with pytest.raises(TypeError):
        tree.RawCall(1, 2, 3, 4, OWNED, None, None, nonsense=1)


def with_defaults(a, b=2, *rest, **named):
    return (a, b, rest, sorted(named.items()))


def call_with_defaults():
    return [
        with_defaults(1),
        with_defaults(1, 3, 4, x=5),
        with_defaults(b=7, a=1),
    ]


@pytest.mark.parametrize("kind", TRACERS)
def test_arguments_and_defaults_reach_the_function_unchanged(kind):
    tracer = Tracer([HERE], tracer=kind)
    with tracer:
        results = call_with_defaults()
    assert results == [(1, 2, (), []), (1, 3, (4,), [("x", 5)]), (1, 7, (), [])]
    assert [c.qualname for c in tracer.trace("x").calls] == ["call_with_defaults"] + ["with_defaults"] * 3
    assert with_defaults.__defaults__ == (2,)


def callers_name():
    return sys._getframe(1).f_code.co_name


def ask_callers_name():
    return callers_name()


def test_instrument_records_in_the_functions_own_frame(recording_code):
    # The prologue is the function's own code: the caller of a recorded
    # function is the real caller, as untraced.  The template runs the
    # function in a copy, one frame below the recording code.
    tracer = Tracer([HERE], tracer="instrument")
    with tracer:
        name = ask_callers_name()
    assert name == ("ask_callers_name" if recording_code == "prologue" else "recording_call")
    assert [(c.qualname, c.parent) for c in tracer.trace("x").calls] == [
        ("ask_callers_name", None), ("callers_name", 0),
    ]


def fails_on_its_third_line(value):
    """A docstring, kept as the function's first statement."""
    doubled = value * 2
    raise ValueError(doubled)


def names_and_failure():
    names = sorted(names_of_locals(1))
    try:
        fails_on_its_third_line(21)
    except ValueError:
        frames = traceback.extract_tb(sys.exc_info()[2])
        return names, [tuple(frame)[1:] for frame in frames]


def names_of_locals(arg):
    local = arg + 1
    return list(locals())


def test_instrument_leaves_tracebacks_locals_and_docstrings_as_they_were():
    untraced = names_and_failure()
    tracer = Tracer([HERE], tracer="instrument")
    with tracer:
        traced = names_and_failure()
        doc = fails_on_its_third_line.__doc__
        code = fails_on_its_third_line.__code__
    assert untraced[0] == ["arg", "local"]
    assert traced == untraced  # the same lines, the same source text
    assert untraced[1][-1][:2] == (fails_on_its_third_line.__code__.co_firstlineno + 3, "fails_on_its_third_line")
    assert doc == "A docstring, kept as the function's first statement."
    assert code is not fails_on_its_third_line.__code__  # it did run a prologue
    assert [c.qualname for c in tracer.trace("x").calls] == [
        "names_and_failure", "names_of_locals", "fails_on_its_third_line",
    ]


def _made_without_a_file():
    namespace = {}
    exec(compile("def made_without_a_file(obj):\n    return obj.helper()\n", "<no file>", "exec"),
         globals(), namespace)
    return namespace["made_without_a_file"]


made_without_a_file = _made_without_a_file()


def through_code_without_a_file():
    return made_without_a_file(Child())


def test_instrument_mixes_prologues_and_templates_in_one_tree():
    # A function whose code comes from no file keeps the template; its
    # callers and callees run prologues.  The anchors cross both ways.
    assert inline.prologue_code(made_without_a_file.__code__) is None
    assert inline.prologue_code(through_code_without_a_file.__code__) is not None
    trace = record("instrument", through_code_without_a_file)
    assert [(c.qualname, c.parent) for c in trace.calls] == [
        ("through_code_without_a_file", None), ("made_without_a_file", 0), ("Child.helper", 1),
    ]


def test_instrument_keeps_the_template_for_code_its_file_no_longer_holds(tmp_path, monkeypatch):
    source = tmp_path / "edited_after_import.py"
    source.write_text(u"def edited():\n    return 1\n\n\ndef kept():\n    return edited()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__("edited_after_import")
    try:
        assert inline.prologue_code(module.edited.__code__) is not None
        source.write_text(u"def edited():\n    return 2  # edited\n\n\ndef kept():\n    return edited()\n")
        assert inline.prologue_code(module.edited.__code__) is None  # a different constant
        assert inline.prologue_code(module.kept.__code__) is not None
        tracer = Tracer(["edited_after_import"], tracer="instrument")
        with tracer:
            assert module.kept() == 1
        assert [(c.qualname, c.parent) for c in tracer.trace("x").calls] == [("kept", None), ("edited", 0)]
    finally:
        del sys.modules["edited_after_import"]


def test_prologues_are_only_for_functions_that_exist_at_import():
    assert inline.prologue_code(vars(Base)["method"].__code__) is not None
    assert inline.prologue_code(generator.__code__) is None  # its body runs at next()
    nested = _make_functions(1)[0]
    assert inline.prologue_code(nested.__code__) is None  # made from a string
    assert inline.prologue_code(_closure().__code__) is None  # made by each call of its parent


def _closure():
    def inner():
        return 1
    return inner
