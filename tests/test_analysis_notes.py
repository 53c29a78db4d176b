"""The narrative walkthrough's version notes (analysis.notes), computed from data.

Pure functions of plain data: exact sentences, on every interpreter of the
matrix (the module imports on 2.7).
"""
from analysis import model, notes, upstream

VERSIONS = ["2.7.18", "3.6.15", "3.7.16", "3.8.18", "3.13.0"]


def test_version_label_names_runs_of_recorded_interpreters():
    assert notes.version_label(["2.7.18"], VERSIONS) == "2.7"
    assert notes.version_label(["2.7.18", "3.6.15", "3.7.16"], VERSIONS) == "2.7-3.7"
    assert notes.version_label(["2.7.18", "3.7.16", "3.8.18"], VERSIONS) == "2.7 and 3.7-3.8"
    assert notes.version_label(["2.7.18", "3.7.16", "3.13.0"], VERSIONS) == "2.7, 3.7 and 3.13"


def test_owner_notes_say_who_supplies_a_name_where_it_differs_from_the_newest():
    owners = {"server_close": "ThreadingMixIn", "block_on_close": "ThreadingMixIn",
              "timeout": "BaseServer"}
    per_version = [
        ("2.7.18", {"server_close": "TCPServer", "timeout": "BaseServer"}),
        ("3.6.15", {"server_close": "ThreadingMixIn", "_block_on_close": "ThreadingMixIn",
                    "timeout": "BaseServer"}),
        ("3.7.16", dict(owners)),
        ("3.13.0", dict(owners)),
    ]
    recorded = notes.owner_notes(
        per_version, ["server_close", "block_on_close", "_block_on_close", "timeout"])
    assert [text for _, text in recorded] == [
        "On 2.7: ``server_close`` comes from ``TCPServer``, not ``ThreadingMixIn``.",
        "On 2.7-3.6: ``block_on_close`` does not exist (it is ``ThreadingMixIn``'s on 3.13).",
        "On 3.6: ``_block_on_close`` exists, supplied by ``ThreadingMixIn``; 3.13 has none.",
    ]
    assert recorded[1][0] == ["2.7.18", "3.6.15"]
    # A name the same everywhere gives no note; so does a name nowhere.
    assert notes.owner_notes(per_version, ["timeout", "nowhere"]) == []


def test_module_and_lookup_notes():
    assert notes.module_notes([("2.7.18", "SocketServer"), ("3.6.15", "socketserver"),
                               ("3.13.0", "socketserver")]) == [
        (["2.7.18"], "On 2.7 the module is ``SocketServer`` (``socketserver`` on 3.13): "
                     "``import SocketServer``.")]
    order = ["ThreadingTCPServer", "ThreadingMixIn", "TCPServer", "BaseServer"]
    found = notes.lookup_notes([("2.7.18", "ThreadingTCPServer", False, order),
                                ("3.13.0", "ThreadingTCPServer", True, order)])
    assert found == [(["2.7.18"], (
        "On 2.7 the classes are classic (old-style): ``ThreadingTCPServer`` has no "
        "``__mro__``, and lookup searches the class, then its bases depth-first, left to "
        "right: ``ThreadingTCPServer``, ``ThreadingMixIn``, ``TCPServer``, ``BaseServer``. "
        "That is the order C3 gives on 3.13 (``ThreadingTCPServer``, ``ThreadingMixIn``, "
        "``TCPServer``, ``BaseServer``), so the mixin wins there too."))]
    other = notes.lookup_notes([("2.7.18", "D", False, ["D", "B", "A", "C"]),
                                ("3.13.0", "D", True, ["D", "B", "C", "A"])])
    assert other[0][1].endswith("C3 gives another order on 3.13: ``D``, ``B``, ``C``, ``A``.")
    assert notes.lookup_notes([("3.13.0", "D", True, ["D"])]) == []


def _flow(version, qualnames):
    steps = []
    for index, qualname in enumerate(qualnames, 1):
        owner, _, function = qualname.rpartition(".")
        steps.append(model.Step(index=index, owner=owner or None, function=function,
                                qualname=qualname, module="socketserver"))
    return model.Flow(scenario="threading-tcp", python={"version": version}, steps=steps)


def test_flow_notes_tell_a_step_not_taken_from_a_method_not_defined():
    from analysis import diff

    flows = [
        _flow("2.7.18", ["BaseServer.serve_forever", "_eintr_retry", "TCPServer.fileno",
                         "ThreadingMixIn.process_request", "ForkingMixIn.collect_children"]),
        _flow("3.7.16", ["BaseServer.serve_forever", "TCPServer.fileno",
                         "ThreadingMixIn.process_request", "ForkingMixIn.collect_children"]),
        _flow("3.13.0", ["BaseServer.serve_forever", "TCPServer.fileno",
                         "ThreadingMixIn.process_request", "_Threads.append"]),
    ]
    defined = {("2.7.18", "_Threads.append"): False, ("3.7.16", "_Threads.append"): False}
    found = notes.flow_notes(diff.diff(flows), lambda v, q: defined.get((v, q), True))
    assert [text for _, text in found] == [
        "On 2.7 the recorded flow also runs ``_eintr_retry``, between ``serve_forever`` "
        "and ``fileno``.",
        "On 2.7-3.7 the recorded flow also runs ``ForkingMixIn.collect_children``, after "
        "``process_request``.",
        "On 2.7-3.7 the recorded flow has no ``_Threads.append`` step: it is not defined "
        "there.",
    ]
    # A method that exists but is not called is not said to be missing.
    flows[1] = _flow("3.7.16", ["BaseServer.serve_forever", "TCPServer.fileno",
                                "ThreadingMixIn.process_request"])
    found = notes.flow_notes(diff.diff(flows), lambda v, q: True, first="process_request")
    assert found[-1][1] == ("On 2.7-3.7 the recorded flow has no ``_Threads.append`` step: "
                            "the method is there but this flow does not call it.")
    # The cut: nothing before process_request is looked at.
    assert all("_eintr_retry" not in text for _, text in found)


def test_source_notes_show_each_change_once_with_its_lines():
    old = ["def f(self):", "    return 1"]
    new = ["def f(self):", "    return 2"]
    found = notes.source_notes([("2.7.18", None), ("3.6.15", old), ("3.7.16", old),
                                ("3.8.18", new), ("3.13.0", new)])
    assert found == [
        (["3.6.15", "3.7.16", "3.8.18", "3.13.0"], "Added between 2.7 and 3.6."),
        (["3.8.18", "3.13.0"],
         "Changed in 3.8:\n\n.. code-block:: diff\n\n   -    return 1\n   +    return 2\n"),
    ]
    assert notes.source_notes([("3.7.16", old), ("3.13.0", old + ["  "])]) == []
    assert notes.render(found) == (
        "- Added between 2.7 and 3.6.\n\n- Changed in 3.8:\n\n  .. code-block:: diff\n\n"
        "     -    return 1\n     +    return 2\n\n")
    assert notes.render([]) == ""


def test_notes_cite_the_issues_of_the_changes_they_are_about():
    table = (("ThreadingMixIn.block_on_close", "3.7", "bpo-33540"),
             ("ThreadingMixIn._block_on_close", "3.6", "bpo-31233"),
             ("ThreadingMixIn._block_on_close", "3.7", "bpo-33540"),
             ("ThreadingMixIn.server_close", "3.3", "bpo-9"),
             ("BaseServer.timeout", "3.7", "bpo-0"))  # timeout did not change: never cited

    def cite(name, v0, v1):
        return upstream.cite(name, v0, v1, table)

    per_version = [
        ("2.7.18", {"server_close": "TCPServer", "timeout": "BaseServer"}),
        ("3.6.15", {"server_close": "ThreadingMixIn", "_block_on_close": "ThreadingMixIn",
                    "timeout": "BaseServer"}),
        ("3.7.16", {"server_close": "ThreadingMixIn", "block_on_close": "ThreadingMixIn",
                    "timeout": "BaseServer"}),
    ]
    found = notes.owner_notes(
        per_version, ["server_close", "block_on_close", "_block_on_close", "timeout"], cite)
    assert [text for _, text in found] == [
        "On 2.7: ``server_close`` comes from ``TCPServer``, not ``ThreadingMixIn``. "
        "Upstream: bpo-9.",
        "On 2.7-3.6: ``block_on_close`` does not exist (it is ``ThreadingMixIn``'s on 3.7). "
        "Upstream: bpo-33540.",
        # Added in 3.6, gone in 3.7: both ends cited.
        "On 3.6: ``_block_on_close`` exists, supplied by ``ThreadingMixIn``; 3.7 has none. "
        "Upstream: bpo-31233, bpo-33540.",
    ]
    old = ["def f(self):", "    return 1"]
    new = ["def f(self):", "    return 2"]
    found = notes.source_notes(
        [("2.7.18", None), ("3.6.15", old), ("3.7.16", new)],
        cite=lambda v0, v1: {("2.7.18", "3.6.15"): ["bpo-1"],
                             ("3.6.15", "3.7.16"): ["bpo-2", "gh-3"]}[(v0, v1)])
    assert [text.split("\n")[0] for _, text in found] == [
        "Added between 2.7 and 3.6 (bpo-1).", "Changed in 3.7 (bpo-2, gh-3):"]
