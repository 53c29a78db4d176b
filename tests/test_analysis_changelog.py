"""What changed between interpreters, computed from recordings (analysis.diff.changelog).

Runs everywhere the analysis package imports (2.7 included): the changelog is
plain data; its prose is pinned in test_docs_ext_py3.py.
"""
import os

from analysis import diff, model, source, upstream

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "roots", "test-docs-ext", "socketserver.py")


def _python(version):
    return {"version": version, "implementation": "CPython", "executable": "python",
            "hexversion": 0}


def _flow(version, steps):
    return model.Flow(scenario="s", python=_python(version), steps=[
        model.Step(index=i, owner="socketserver." + owner if owner else None,
                   function=function, qualname="%s.%s" % (owner, function) if owner else function,
                   module="socketserver", file=FAKE, line=line, call_line=call_line, depth=depth)
        for i, (owner, function, line, depth, call_line) in enumerate(steps, 1)])


def _mros(version, new_style, owners):
    attributes = [model.Attribute(name=name, kind="method", owner="socketserver." + owner,
                                  file=FAKE, line=line)
                  for name, (owner, line) in sorted(owners.items())]
    return model.MROSet(classes=[model.MRO(
        cls="socketserver.ThreadingTCPServer", python=_python(version), new_style=new_style,
        mro=["socketserver.ThreadingTCPServer"], bases={"socketserver.ThreadingTCPServer": []},
        attributes=attributes)])


OLD = _flow("2.7.18", [
    ("BaseServer", "serve_forever", 18, 0, None),
    (None, "_eintr_retry", 79, 1, 20),          # still defined: not called any more
    (None, "_vanished", 5, 1, 20),              # defined nowhere in the newer source
    ("BaseServer", "_handle_request_noblock", 23, 1, 21),
    ("TCPServer", "get_request", 42, 2, 24),
])
NEW = _flow("3.12.1", [
    ("BaseServer", "serve_forever", 18, 0, None),
    ("BaseServer", "_handle_request_noblock", 23, 1, 21),
    ("ThreadingMixIn", "get_request", 42, 2, 24),   # another class supplies it
    ("ThreadingMixIn", "process_request", 55, 2, 25),  # defined before too: now called
])
# The newer run calls _eintr_retry elsewhere: from serve_polling.
TRACE = model.Trace(scenario="s", python=_python("3.12.1"), tracer="sys.settrace", calls=[
    model.Call(id=0, function="serve_polling", qualname="serve_polling", file=FAKE, line=83),
    model.Call(id=1, parent=0, depth=1, function="_eintr_retry", qualname="_eintr_retry",
               file=FAKE, line=79),
])


def _changelog():
    return diff.changelog(*_changelog_inputs())


def _changelog_inputs():
    lines = source.read_lines(FAKE)
    classes = source.scan_classes(lines)
    recorded = {"s": [
        ("2.7.18", OLD, _mros("2.7.18", False, {"handle_error": ("TCPServer", 33),
                                                 "timeout": ("BaseServer", None)}), None),
        ("3.12.1", NEW, _mros("3.12.1", True, {"handle_error": ("BaseServer", 33),
                                                "serve_forever": ("BaseServer", 18)}), TRACE),
    ]}
    per_version = [("2.7.18", FAKE, classes[:-1]), ("3.12.1", FAKE, classes)]
    return recorded, per_version, {FAKE: lines}


def test_changelog_lists_each_change_once_newest_first():
    [(version, previous, changes)] = _changelog()
    assert (version, previous) == ("3.12.1", "2.7.18")
    found = [(c.kind, c.subject, c.was, c.now, c.caller, c.callers, c.where and c.where[1:])
             for c in changes]
    assert found == [
        ("class-new", "BaseRequestHandler", None, "BaseRequestHandler", None, None, (69, 76)),
        ("step-now-called", "ThreadingMixIn.process_request", None, "ThreadingMixIn",
         "BaseServer._handle_request_noblock", None, (55, 57)),
        # Gone from the version: the newer source has no _vanished.
        ("step-removed", "_vanished", None, None, "BaseServer.serve_forever", None, None),
        # Not in this flow, not gone: it still exists, and the trace says who calls it now.
        ("step-not-called", "_eintr_retry", None, None, "BaseServer.serve_forever",
         ["serve_polling"], (79, 80)),
        ("step-owner", "get_request", "TCPServer", "ThreadingMixIn", None, None, None),
        ("class-style", "ThreadingTCPServer", "classic", "new-style", None, None, None),
        ("attribute-new", "serve_forever", None, "BaseServer", None, None, (18, 21)),
        ("attribute-removed", "timeout", "BaseServer", None, None, None, (11, 11)),
        ("attribute-owner", "handle_error", "TCPServer", "BaseServer", None, None, (33, 34)),
    ]
    assert all(c.scenarios == ["s"] for c in changes if c.kind != "class-new")


def test_the_same_change_in_two_scenarios_is_one_entry():
    lines = source.read_lines(FAKE)
    runs = [("2.7.18", OLD, None, None), ("3.12.1", NEW, None, None)]
    [(_, _, changes)] = diff.changelog({"a": runs, "b": runs}, sources={FAKE: lines})
    assert [c.scenarios for c in changes] == [["a", "b"]] * len(changes)
    # Without a trace nothing says where a step that left the flow is called now.
    assert [c.callers for c in changes if c.kind == "step-not-called"] == [None]


def test_a_version_without_changes_is_listed_empty():
    def same(version):
        return model.Flow(scenario="s", python=_python(version), steps=NEW.steps)
    runs = [(v, same(v), None, None) for v in ("3.11.7", "3.12.1", "3.13.0")]
    assert diff.changelog({"s": runs}) == [("3.13.0", "3.12.1", []), ("3.12.1", "3.11.7", [])]


def test_behaviour_changes_cite_the_issues_between_the_versions():
    def probe(key, text):
        return {"id": "threads_kept", "title": "Threads kept", "stdlib": {"key": key, "text": text},
                "upstream": [["3.7", "bpo-31233"], ["3.8", "bpo-37193"]]}
    reports = [("3.8.18", [probe("reaped", "1 kept")]), ("3.6.15", [probe("reaped", "0 kept")]),
               ("3.7.16", [probe("kept", "201 kept")])]
    changes = diff.behaviour_changes(reports)
    assert sorted(changes) == ["3.7.16", "3.8.18"]
    assert [(p["id"], a, b, issues) for p, a, b, issues in changes["3.7.16"]] == [
        ("threads_kept", "0 kept", "201 kept", ["bpo-31233"])]
    assert [(a, b, issues) for _, a, b, issues in changes["3.8.18"]] == [
        ("201 kept", "1 kept", ["bpo-37193"])]


def test_changes_cite_the_issues_the_table_dates_between_the_versions():
    # The changes computed above, with a table of issues: each change cites
    # those of its own names dated after 2.7 and up to 3.12; one dated
    # later, or for another name, is not cited.
    table = (("BaseServer.serve_forever", "3.3", "bpo-1"),      # attribute-new: now's owner
             ("TCPServer.handle_error", "3.5", "bpo-2"),        # attribute-owner: was's owner
             ("BaseRequestHandler", "3.12", "gh-3"),            # class-new
             ("ThreadingMixIn.process_request", "3.13", "gh-4"),  # after 3.12: not this change
             ("BaseServer.timeout", "2.7", "bpo-5"))            # not after 2.7
    [(_, _, changes)] = diff.changelog(
        *_changelog_inputs(), cite=lambda name, v0, v1: upstream.cite(name, v0, v1, table))
    cited = dict((c.subject, c.issues) for c in changes if c.issues)
    assert cited == {"serve_forever": ["bpo-1"], "handle_error": ["bpo-2"],
                     "BaseRequestHandler": ["gh-3"]}


def test_upstream_cites_by_release_series_and_every_entry_is_well_formed():
    assert upstream.cite("ThreadingMixIn.server_close", "3.6.15", "3.7.16") == ["bpo-33540"]
    assert upstream.cite("ThreadingMixIn.server_close", "2.7", "3.6") == ["bpo-31233"]
    assert upstream.cite("ThreadingMixIn.process_request", "2.7.18", "3.13.0") == [
        "bpo-31233", "bpo-33540", "bpo-37193"]
    assert upstream.cite("ThreadingMixIn.server_close", "3.8.18", "3.13.0") == []
    assert upstream.cite("NoSuchClass.method", "2.7", "3.13") == []
    for name, release, issue in upstream.CHANGES:
        assert name.split(".")[0][:1].isupper(), name
        assert release.count(".") == 1 and all(p.isdigit() for p in release.split(".")), release
        assert issue.startswith(("bpo-", "gh-")) and issue.split("-")[1].isdigit(), issue
