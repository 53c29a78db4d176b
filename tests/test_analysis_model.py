"""analysis.model: plain data, exact JSON round-trip, clear schema errors."""
import io
import json
import os
import pickle

import pytest

from analysis.model import (
    MRO,
    Attribute,
    Call,
    DiffRow,
    Flow,
    FlowDiff,
    Hop,
    MROSet,
    SchemaError,
    Step,
    Thread,
    Trace,
    load,
    python_info,
)

PYTHON = {"version": "3.11.7", "implementation": "CPython", "executable": "/usr/bin/python3.11", "hexversion": 51054576}


def make_trace():
    return Trace(
        scenario="threading-tcp",
        python=dict(PYTHON),
        tracer="sys.settrace",
        modules=["socketserver"],
        threads=[
            Thread(id=0, name="MainThread", role="main"),
            Thread(id=1, name="Thread-1", role="worker", started_by=0),
        ],
        calls=[
            Call(
                id=0,
                function="process_request",
                owner="ThreadingMixIn",
                owner_module="socketserver",
                qualname="ThreadingMixIn.process_request",
                module="socketserver",
                file="socketserver.py",
                line=698,
                call_file="socketserver.py",
                call_line=318,
                spawned_threads=[1],
                doc="Start a new thread to process the request.",
            ),
            Call(
                id=1,
                thread=1,
                function="process_request_thread",
                owner="ThreadingMixIn",
                owner_module="socketserver",
                qualname="ThreadingMixIn.process_request_thread",
                module="socketserver",
                file="socketserver.py",
                line=685,
            ),
        ],
        hops=[Hop(from_call=0, thread=1, first_call=1)],
    )


def make_mro():
    return MRO(
        cls="socketserver.ThreadingTCPServer",
        python=dict(PYTHON),
        mro=["socketserver.ThreadingTCPServer", "socketserver.ThreadingMixIn"],
        bases={"socketserver.ThreadingTCPServer": ["socketserver.ThreadingMixIn", "socketserver.TCPServer"]},
        attributes=[
            Attribute(
                name="process_request",
                kind="method",
                owner="socketserver.ThreadingMixIn",
                shadows=["socketserver.BaseServer"],
                override="replaces",
                file="socketserver.py",
                line=698,
            )
        ],
    )


def make_flow():
    return Flow(
        scenario="threading-tcp",
        python=dict(PYTHON),
        steps=[
            Step(index=1, owner="TCPServer", function="__init__", qualname="TCPServer.__init__"),
            Step(index=2, owner="ThreadingMixIn", function="process_request_thread",
                 qualname="ThreadingMixIn.process_request_thread", thread="Thread-1", role="worker", hop=True),
        ],
    )


def make_diff():
    return FlowDiff(
        scenario="threading-tcp",
        versions=["2.7.18", "3.13.0"],
        rows=[DiffRow(key="_eintr_retry", qualname="_eintr_retry", status="removed",
                      per_version={"2.7.18": "socketserver", "3.13.0": None})],
    )


DOCUMENTS = [make_trace, make_mro, make_flow, make_diff, lambda: MROSet(classes=[make_mro(), make_mro()])]
IDS = ["trace", "mro", "flow", "flowdiff", "mroset"]


@pytest.mark.parametrize("factory", DOCUMENTS, ids=IDS)
def test_json_round_trip_is_exact(factory, tmpdir):
    document = factory()
    data = document.to_dict()
    assert data["schema"] == document.SCHEMA
    assert data["schema_version"] == 1
    # Through real JSON text: every value is plain data.
    again = type(document).from_dict(json.loads(json.dumps(data)))
    assert again == document
    assert again.to_dict() == data
    path = str(tmpdir.join("doc.json"))
    document.dump(path)
    assert type(document).load(path) == document
    assert load(path) == document  # chosen by its schema name


@pytest.mark.parametrize("factory", DOCUMENTS, ids=IDS)
def test_pickles_with_every_protocol(factory):
    document = factory()
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(document, protocol)) == document


def test_dump_is_sorted_and_stable(tmpdir):
    path = str(tmpdir.join("t.json"))
    make_trace().dump(path)
    with io.open(path, encoding="utf-8") as f:
        text = f.read()
    keys = json.loads(text, object_pairs_hook=lambda pairs: [k for k, _ in pairs])
    assert keys == sorted(keys)
    assert text == make_trace().to_json() + "\n"


def test_dump_leaves_an_unchanged_file_alone(tmpdir):
    # make and Sphinx rebuild from timestamps: writing the same text again
    # must not make the file look new.
    path = tmpdir.join("t.json")
    make_trace().dump(str(path))
    path.setmtime(1000000000)
    make_trace().dump(str(path))
    assert path.mtime() == 1000000000
    changed = make_trace()
    changed.scenario = "other"
    changed.dump(str(path))
    assert path.mtime() != 1000000000
    assert type(changed).load(str(path)) == changed


def test_contract_field_names():
    # The renderers are written against these names; they may grow, never change.
    call = make_trace().to_dict()["calls"][0]
    for key in ("id", "parent", "depth", "thread", "function", "owner", "owner_module", "qualname",
                "module", "file", "line", "call_file", "call_line", "spawned_threads", "doc"):
        assert key in call
    assert set(make_trace().to_dict()["threads"][0]) >= {"id", "name", "role", "started_by"}
    assert set(make_trace().to_dict()["hops"][0]) == {"from_call", "thread", "first_call"}
    attribute = make_mro().to_dict()["attributes"][0]
    assert set(attribute) >= {"name", "kind", "owner", "shadows", "override", "file", "line", "doc"}
    step = make_flow().to_dict()["steps"][0]
    assert set(step) >= {"index", "owner", "function", "qualname", "module", "file", "line",
                         "call_line", "thread", "role", "hop", "note"}
    row = make_diff().to_dict()["rows"][0]
    assert set(row) >= {"key", "qualname", "status", "per_version"}
    assert set(MROSet(classes=[]).to_dict()) == {"schema", "schema_version", "classes"}


def test_wrong_schema_name_is_one_clear_error():
    with pytest.raises(SchemaError) as info:
        Flow.from_dict(make_trace().to_dict())
    assert str(info.value) == "expected schema 'compatserver.flow', got 'compatserver.trace'"


def test_newer_schema_version_is_refused():
    data = make_trace().to_dict()
    data["schema_version"] = 2
    with pytest.raises(SchemaError) as info:
        Trace.from_dict(data)
    assert str(info.value) == (
        "compatserver.trace schema_version 2 is newer than this code reads (1): upgrade compatserver"
    )


@pytest.mark.parametrize("version", [0, "1", None, True])
def test_bad_schema_version(version):
    data = make_flow().to_dict()
    data["schema_version"] = version
    with pytest.raises(SchemaError) as info:
        Flow.from_dict(data)
    assert "bad schema_version" in str(info.value)


def test_missing_required_field_names_the_field():
    data = make_trace().to_dict()
    del data["calls"][1]["qualname"]
    with pytest.raises(SchemaError) as info:
        Trace.from_dict(data)
    assert str(info.value) == "compatserver.trace.calls[1]: missing required field 'qualname'"


def test_python_must_be_complete():
    data = make_mro().to_dict()
    del data["python"]["hexversion"]
    with pytest.raises(SchemaError) as info:
        MRO.from_dict(data)
    assert str(info.value) == "compatserver.mro: 'python' lacks 'hexversion'"


def test_mroset_items_are_checked():
    data = MROSet(classes=[make_mro()]).to_dict()
    data["classes"][0]["schema"] = "compatserver.flow"
    with pytest.raises(SchemaError):
        MROSet.from_dict(data)


def test_fields_added_later_default_when_missing():
    # An older file without the optional fields still loads.
    data = make_trace().to_dict()
    del data["disabled"], data["pid"], data["threads"][0]["pid"], data["calls"][0]["doc"]
    trace = Trace.from_dict(data)
    assert trace.disabled is None
    assert trace.calls[0].doc == ""


def test_load_errors(tmpdir):
    bad = tmpdir.join("bad.json")
    bad.write("{not json")
    with pytest.raises(SchemaError) as info:
        load(str(bad))
    assert str(info.value).startswith("%s: not JSON: " % bad)
    other = tmpdir.join("other.json")
    other.write('{"schema": "someone.else", "schema_version": 1}')
    with pytest.raises(SchemaError) as info:
        load(str(other))
    assert str(info.value) == (
        "%s: unknown schema 'someone.else' (known: compatserver.flow, compatserver.flow-diff, "
        "compatserver.mro, compatserver.mro-set, compatserver.trace)" % other
    )


def test_records_refuse_unknown_fields_and_are_not_hashable():
    with pytest.raises(TypeError):
        Thread(id=0, name="x", role="main", colour="red")
    with pytest.raises(TypeError):
        hash(Thread(id=0, name="x", role="main"))
    assert Thread(id=0, name="x", role="main") != Thread(id=1, name="x", role="main")


def test_defaults_are_not_shared():
    a, b = Call(id=0, function="f", qualname="f"), Call(id=1, function="g", qualname="g")
    a.spawned_threads.append(3)
    assert b.spawned_threads == []


def test_lookup_helpers():
    trace = make_trace()
    assert trace.call(1).function == "process_request_thread"
    assert trace.thread(1).role == "worker"
    assert [c.id for c in trace.children(None)] == [0, 1]
    with pytest.raises(KeyError):
        trace.call(7)
    mro = make_mro()
    assert mro.owner("process_request") == "socketserver.ThreadingMixIn"
    assert make_flow().qualnames() == ["TCPServer.__init__", "ThreadingMixIn.process_request_thread"]


def test_python_info_describes_this_interpreter():
    import sys

    info = python_info()
    assert info["version"] == "%d.%d.%d" % sys.version_info[:3]
    assert info["hexversion"] == sys.hexversion
    assert info["executable"] == sys.executable
    assert info["implementation"] in ("CPython", "PyPy")


def test_model_imports_nothing_of_the_project():
    import analysis.model as model

    with io.open(os.path.splitext(model.__file__)[0] + ".py", encoding="utf-8") as f:
        source = f.read()
    assert "import analysis" not in source and "from analysis" not in source
    assert "compatserver" not in [line.split()[1] for line in source.splitlines() if line.startswith("import ")]
