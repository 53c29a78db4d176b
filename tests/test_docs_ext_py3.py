"""The docs side of the analysis: DOT and reST renderers and the Sphinx directives.

The renderers are pure, so their output is pinned as exact text here and
these tests run on every Python 3 of the matrix.  The directive tests build
the small site in ``tests/roots/test-docs-ext`` with ``sphinx.testing``
against fixture traces written below; they are skipped where Sphinx or
Graphviz's ``dot`` is missing (Sphinx 9 needs Python 3.11+).
"""
import io
import os
import shutil

import pytest

from analysis import diff as flow_diff
from analysis import flow as flows
from analysis import model, pages, render_dot, render_rst, source

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "roots", "test-docs-ext")
FAKE_SOURCE = os.path.join(ROOT, "socketserver.py")


def _python(version):
    return {"version": version, "implementation": "CPython", "executable": "python",
            "hexversion": 0}


def _attribute(name, owner, kind="method", shadows=(), override=None, line=None, doc=""):
    return model.Attribute(
        name=name, kind=kind, owner="socketserver." + owner,
        shadows=["socketserver." + s for s in shadows], override=override,
        file=FAKE_SOURCE, line=line, doc=doc)


def server_mro(version="3.12.1"):
    classes = ["ThreadingTCPServer", "ThreadingMixIn", "TCPServer", "BaseServer"]
    mro = ["socketserver." + c for c in classes]
    bases = {
        "socketserver.ThreadingTCPServer": ["socketserver.ThreadingMixIn",
                                            "socketserver.TCPServer"],
        "socketserver.ThreadingMixIn": [],
        "socketserver.TCPServer": ["socketserver.BaseServer"],
        "socketserver.BaseServer": [],
    }
    new_style = not version.startswith("2.")
    if new_style:
        mro.append("builtins.object")
        bases["socketserver.ThreadingMixIn"] = ["builtins.object"]
        bases["socketserver.BaseServer"] = ["builtins.object"]
        bases["builtins.object"] = []
    attributes = [
        _attribute("__init__", "TCPServer", shadows=["BaseServer"], override="extends", line=38,
                   doc="Constructor.  May be extended, do not override."),
        _attribute("daemon_threads", "ThreadingMixIn", kind="attribute"),
        _attribute("handle_error", "BaseServer", line=33),
        _attribute("process_request", "ThreadingMixIn", shadows=["BaseServer"],
                   override="replaces", line=55, doc="Start a new thread to process the request."),
        _attribute("serve_forever", "BaseServer", line=18),
        _attribute("timeout", "BaseServer", kind="attribute"),
    ]
    if version.startswith("2."):
        attributes[2] = _attribute("handle_error", "TCPServer", shadows=["BaseServer"],
                                   override="replaces", line=33)
    return model.MRO(cls="socketserver.ThreadingTCPServer", python=_python(version),
                     new_style=new_style, mro=mro, bases=bases, attributes=attributes,
                     module="socketserver")


def handler_mro(version="3.12.1"):
    return model.MRO(
        cls="examples.EchoHandler", python=_python(version), mro=[
            "examples.EchoHandler", "socketserver.BaseRequestHandler"],
        bases={"examples.EchoHandler": ["socketserver.BaseRequestHandler"],
               "socketserver.BaseRequestHandler": []},
        attributes=[_attribute("__init__", "BaseRequestHandler", line=70)])


def _step(index, owner, function, line, depth, call_line=None, role="main", hop=False,
          note=""):
    thread = {"main": "MainThread", "worker": "Thread-2 (process_request_thread)"}[role]
    return model.Step(
        index=index, owner="socketserver." + owner if owner else None, function=function,
        qualname="%s.%s" % (owner, function) if owner else function, module="socketserver",
        file=FAKE_SOURCE, line=line, call_line=call_line, thread=thread, role=role, hop=hop,
        note=note, depth=depth)


def flow(version="3.12.1"):
    steps = [
        ("TCPServer", "__init__", 38, 0, None, "main", False, "Constructor."),
        ("BaseServer", "__init__", 13, 1, 39, "main", False, ""),
        ("BaseServer", "serve_forever", 18, 0, None, "main", False, ""),
        ("BaseServer", "_handle_request_noblock", 23, 1, 21, "main", False, ""),
        ("TCPServer", "get_request", 42, 2, 24, "main", False, ""),
        ("ThreadingMixIn", "process_request", 55, 2, 25, "main", False, ""),
        ("ThreadingMixIn", "process_request_thread", 59, 3, None, "worker", True, ""),
        ("BaseServer", "finish_request", 30, 4, 60, "worker", False, ""),
        ("BaseRequestHandler", "__init__", 70, 5, 31, "worker", False, ""),
    ]
    if version.startswith("2."):
        # Python 2 waits through a module-level helper; and let another class
        # supply finish_request, so the diff has every status.
        steps.insert(3, (None, "_eintr_retry", 1, 1, 20, "main", False, ""))
        steps[-2] = ("TCPServer", "finish_request", 30, 4, 60, "worker", False, "")
    return model.Flow(
        scenario="threading-tcp", python=_python(version),
        steps=[_step(i, *s) for i, s in enumerate(steps, 1)])


def small_flow():
    """Three steps over two threads: enough for exact DOT."""
    return model.Flow(scenario="threading-tcp", python=_python("3.12.1"), steps=[
        _step(1, "BaseServer", "serve_forever", 18, 0),
        _step(2, "ThreadingMixIn", "process_request", 55, 1, 25),
        _step(3, "ThreadingMixIn", "process_request_thread", 59, 2, None, "worker", True,
              'Same as "process_request" but as a thread.'),
    ])


# -- render_dot -------------------------------------------------------------------


def test_inheritance_dot_exact():
    assert render_dot.inheritance_dot(server_mro("2.7.18")) == (
        'digraph "bases" {\n'
        "  rankdir=BT;\n"
        '  graph [fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35];\n'
        '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", '
        'fillcolor="#ffffff", color="#555555", height=0.3];\n'
        '  edge [fontname="Helvetica", fontsize=11, color="#555555", arrowsize=0.7];\n'
        '  "socketserver.ThreadingTCPServer" [label="ThreadingTCPServer", '
        'tooltip="socketserver.ThreadingTCPServer", penwidth=2];\n'
        '  "socketserver.ThreadingMixIn" [label="ThreadingMixIn", '
        'tooltip="socketserver.ThreadingMixIn"];\n'
        '  "socketserver.TCPServer" [label="TCPServer", tooltip="socketserver.TCPServer"];\n'
        '  "socketserver.BaseServer" [label="BaseServer", tooltip="socketserver.BaseServer"];\n'
        '  "socketserver.ThreadingTCPServer" -> "socketserver.ThreadingMixIn" '
        '[tooltip="ThreadingMixIn is base 1 of ThreadingTCPServer", label="1"];\n'
        '  "socketserver.ThreadingTCPServer" -> "socketserver.TCPServer" '
        '[tooltip="TCPServer is base 2 of ThreadingTCPServer", label="2"];\n'
        '  "socketserver.TCPServer" -> "socketserver.BaseServer" '
        '[tooltip="BaseServer is base 1 of TCPServer"];\n'
        "}\n"
    )


def test_mro_order_dot_numbers_the_lookup_order_and_lists_owned_names():
    dot = render_dot.mro_order_dot(server_mro("3.12.1"), max_names=2)
    assert 'label="lookup order: C3 linearization"' in dot
    assert ("<b>2. ThreadingMixIn</b></td></tr><tr><td align=\"left\">daemon_threads</td></tr>"
            "<tr><td align=\"left\">process_request()</td></tr></table>") in dot
    # BaseServer owns three names; with max_names=2 the third is counted, not listed.
    assert ('<b>4. BaseServer</b></td></tr><tr><td align="left">handle_error()</td></tr>'
            '<tr><td align="left">serve_forever()</td></tr>'
            '<tr><td align="left">... 1 more</td></tr>') in dot
    assert '"socketserver.BaseServer" -> "builtins.object" [label="then"];' in dot
    classic = render_dot.mro_order_dot(server_mro("2.7.18"))
    assert "depth-first, left to right (classic class)" in classic
    assert "object" not in classic


def test_callflow_dot_exact():
    assert render_dot.callflow_dot(small_flow(), href="flow.html#step-%d") == (
        'digraph "callflow" {\n'
        "  rankdir=TB;\n"
        '  graph [fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35, '
        "ranksep=0.5];\n"
        '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", '
        'fillcolor="#ffffff", color="#555555", height=0.3];\n'
        '  edge [fontname="Helvetica", fontsize=11, color="#555555", arrowsize=0.7];\n'
        '  lane0 [shape=plaintext, style="", label=<<table border="1" cellborder="0" '
        'cellspacing="0" cellpadding="4" color="#4a7ab8" bgcolor="#dbe8f7">'
        '<tr><td align="left" bgcolor="#4a7ab8"><font color="#ffffff">'
        "<b>main thread: MainThread</b></font></td></tr>"
        '<tr><td align="left" port="s1" href="flow.html#step-1" target="_top" '
        'tooltip="BaseServer.serve_forever (socketserver.py:18)">1. BaseServer.serve_forever'
        "</td></tr>"
        '<tr><td align="left" port="s2" href="flow.html#step-2" target="_top" '
        'tooltip="ThreadingMixIn.process_request (socketserver.py:55)">'
        "&#160;&#160;&#160;&#160;&#9492; 2. ThreadingMixIn.process_request</td></tr>"
        "</table>>];\n"
        '  lane1 [shape=plaintext, style="", label=<<table border="1" cellborder="0" '
        'cellspacing="0" cellpadding="4" color="#d9822b" bgcolor="#fbdcbc">'
        '<tr><td align="left" bgcolor="#d9822b"><font color="#ffffff">'
        "<b>worker thread: Thread-2 (process_request_thread)</b></font></td></tr>"
        '<tr><td align="left" port="s3" href="flow.html#step-3" target="_top" '
        'tooltip="ThreadingMixIn.process_request_thread (socketserver.py:59): Same as '
        '&quot;process_request&quot; but as a thread.">'
        "3. ThreadingMixIn.process_request_thread</td></tr></table>>];\n"
        "  lane0 -> lane1 [style=invis];\n"
        '  lane0:s2:e -> lane1:s3:e [style=dashed, color="#c0392b", fontcolor="#c0392b", '
        'penwidth=1.5, label="thread hop:\\nnew thread runs this"];\n'
        '  legend [shape=plaintext, fontsize=10, label=<<table border="0" cellborder="1" '
        'cellspacing="0" cellpadding="3"><tr><td colspan="2"><b>legend</b></td></tr>'
        '<tr><td bgcolor="#dbe8f7" width="18"> </td><td align="left">main thread&#160;</td></tr>'
        '<tr><td bgcolor="#fbdcbc" width="18"> </td><td align="left">worker thread&#160;</td></tr>'
        '<tr><td>&#9492; N.</td><td align="left">called by the nearest row above, one level '
        "out&#160;</td></tr>"
        '<tr><td><font color="#c0392b">- - &#8594;</font></td>'
        '<td align="left">starts a thread (hop)&#160;</td></tr></table>>];\n'
        "  lane1 -> legend [style=invis];\n"
        "}\n"
    )
    # Without href the rows link nowhere.
    assert "href" not in render_dot.callflow_dot(small_flow())


def test_sequence_dot_lifelines_messages_and_activations():
    objects = {"BaseServer": "server", "ThreadingMixIn": "server"}
    dot = render_dot.sequence_dot(small_flow(), objects=objects)
    # One lifeline per object and thread, the caller first, in order of appearance,
    # after the margin that names each row's step.
    assert '  h0 [shape=box, style="rounded,filled", fillcolor="#f4f4f4", width=0, ' \
           'height=0.3, label="your code", tooltip="your code, main thread"];\n' in dot
    assert 'label="server\\n(main)", tooltip="server, main thread"' in dot
    assert 'label="server\\n(worker)", tooltip="server, worker thread"' in dot
    assert "  m0 -> h0 -> h1 -> h2 [style=invis];\n" in dot
    assert ('  m1 [shape=plaintext, height=0.2, fontsize=9, '
            'label="1. BaseServer.serve_forever", fontcolor="#4a7ab8"];\n') in dot
    assert ('  m3 [shape=plaintext, height=0.2, fontsize=9, label="3. '
            'ThreadingMixIn.process_request_thread", fontcolor="#c0392b"];\n') in dot
    assert "  { rank=same; m2; c0_2; c1_2; c2_2 }\n" in dot
    # Row r is step r: caller -> server, a call on the server's own lifeline is an
    # unlabelled loop, the hop goes to the server's worker-thread lifeline.
    assert '  c0_1 -> c1_1 [constraint=false, color="#4a7ab8"];\n' in dot
    assert '  c1_2:e -> c1_2:e [constraint=false, color="#4a7ab8"];\n' in dot
    assert ('  c1_3 -> c2_3 [constraint=false, style=dashed, penwidth=1.5, '
            'color="#c0392b"];\n') in dot
    assert "xlabel" not in dot
    # The main thread's bar keeps running (serve_forever loops on) in its own colour;
    # the worker's lifeline is idle until the hop.
    assert '  c1_2 -> c1_3 [arrowhead=none, weight=100, penwidth=7, color="#4a7ab8"];\n' in dot
    assert '  c2_2 -> c2_3 [arrowhead=none, weight=100, style=dashed, color="#aaaaaa"];\n' in dot
    assert "#d9822b\"];\n  c1" not in dot
    assert "worker thread" in dot and "starts a thread (hop)" in dot
    # Without objects, each owner class is its own lifeline.
    plain = render_dot.sequence_dot(small_flow())
    assert 'label="BaseServer", tooltip="BaseServer, main thread"' in plain


def test_activations_end_a_thread_start_at_the_start_and_keep_the_loop_running():
    steps = flow().steps
    callers = flows.step_callers(steps)
    end = render_dot._activations(steps, callers)
    # Entries: the constructor (0) lasts until serve_forever (2) starts; serve_forever
    # lasts to the end of the flow.  process_request (5) ends at the hop (6), not at
    # the end of the worker's work (8).
    assert end[0] == 1 and end[2] == len(steps) - 1
    assert end[5] == 6 and end[6] == 8


def test_a_fork_is_drawn_and_told_as_a_child_process(fake_lines):
    steps = small_flow().steps
    steps[1] = _step(2, "ForkingMixIn", "process_request", 48, 1, 25)
    steps[2] = _step(3, "BaseServer", "finish_request", 30, 2, None, "worker", True)
    steps[2].role, steps[2].thread = "child", "child-4242"
    forked = model.Flow(scenario="forking-tcp", python=_python("3.12.1"), steps=steps)
    dot = render_dot.callflow_dot(forked)
    assert '<b>child process: child-4242</b>' in dot
    assert '<td align="left">child process&#160;</td>' in dot
    assert 'label="fork: the child\\nprocess runs this"];' in dot
    assert ">forks a child process (hop)&#160;<" in dot and "starts a thread" not in dot
    assert 'label="server\\n(child)"' in render_dot.sequence_dot(
        forked, objects={"BaseServer": "server", "ForkingMixIn": "server"})
    text = render_rst.flow_steps(forked, {FAKE_SOURCE: fake_lines}, "3.12.1")
    assert ("it is the first call recorded in a child process (``child-4242``), forked by "
            "step 2.") in text


def test_classes_dot_marks_mixins_guards_and_base_order(fake_lines):
    classes = [(n, b, g) for n, b, g, _ in source.scan_classes(fake_lines)]
    dot = render_dot.classes_dot(classes)
    assert ('  "ForkingMixIn" [shape=note, fillcolor="#fff6d5", style="rounded,filled,dashed", '
            'tooltip="ForkingMixIn() if hasattr(os, \\"fork\\")"];\n') in dot
    assert ('  "ThreadingTCPServer" -> "ThreadingMixIn" [arrowhead=empty, style=dashed, '
            'color="#b08800", label="1"];\n') in dot
    assert '  "ThreadingTCPServer" -> "TCPServer" [arrowhead=empty, label="2"];\n' in dot
    assert '  "TCPServer" -> "BaseServer" [arrowhead=empty];\n' in dot
    assert ">a mixin; dashed yellow arrows point at it&#160;<" in dot
    assert ">defined only if its guard holds (hover for it)&#160;<" in dot
    plain = render_dot.classes_dot([("A", [], ""), ("B", ["A"], "")])
    assert "mixin" not in plain and "guard" not in plain


def test_renderers_are_deterministic():
    assert render_dot.sequence_dot(flow()) == render_dot.sequence_dot(flow())
    assert render_dot.callflow_dot(flow()) == render_dot.callflow_dot(flow())


def test_step_callers_follow_depth_and_the_hop():
    # 1 and 3 are entries; 2 is called by 1; 4 by 3; 5 and 6 by 4; the hop (7) was
    # started by 6 (process_request); 8 by 7; 9 by 8.
    assert flows.step_callers(flow().steps) == [None, 0, None, 2, 3, 3, 5, 6, 7]


def test_quote_escapes_dot_strings():
    assert render_dot.quote('a "b"\\c\nd') == '"a \\"b\\"\\\\c\\nd"'


# -- render_rst: source scanning -----------------------------------------------------


@pytest.fixture
def fake_lines():
    with io.open(FAKE_SOURCE, encoding="utf-8") as f:
        return f.read().splitlines()


def test_scan_classes_reads_guards_and_skips_docstrings(fake_lines):
    assert source.scan_classes(fake_lines) == [
        ("BaseServer", [], "", 10),
        ("TCPServer", ["BaseServer"], "", 37),
        ("ForkingMixIn", [], 'hasattr(os, "fork")', 47),
        ("ThreadingMixIn", [], "", 52),
        ("ThreadingTCPServer", ["ThreadingMixIn", "TCPServer"], "", 63),
        ("ForkingTCPServer", ["ForkingMixIn", "TCPServer"], 'hasattr(os, "fork")', 66),
        ("BaseRequestHandler", [], "", 69),
    ]


def test_find_def_and_block_end(fake_lines):
    assert source.find_def(fake_lines, "socketserver.TCPServer", "__init__") == (38, 40)
    assert source.find_def(fake_lines, "BaseServer", "__init__") == (13, 16)
    assert source.find_def(fake_lines, "ForkingMixIn", "process_request") == (48, 49)
    assert source.find_def(fake_lines, "BaseRequestHandler", "__init__") == (70, 76)
    assert source.find_def(fake_lines, "ThreadingMixIn", "nope") is None
    assert source.find_def(fake_lines, "NoClass", "__init__") is None
    assert source.instance_attributes(fake_lines, "BaseServer") == [
        "server_address", "RequestHandlerClass"]
    assert source.instance_attributes(fake_lines, "TCPServer") == ["socket"]


def test_matching_lines_skip_docstrings_and_comments(fake_lines):
    # BaseServer.__init__: line 14 is its docstring, which mentions nothing; "self." matches
    # the two assignments only.
    assert source.matching_lines(fake_lines, 13, 16, ["self.", "Constructor"]) == [15, 16]
    assert source.matching_lines(fake_lines, 1, 9, ["ThreadingMixIn"]) == []


def test_excerpt_ranges_cut_long_definitions_around_emphasized_lines():
    assert source.excerpt_ranges(10, 20, [15]) == [(10, 20)]
    assert source.excerpt_ranges(10, 100, [50, 53, 90], max_lines=30, context=3) == [
        (10, 13), (47, 56), (87, 93)]


def test_code_blocks_exact(fake_lines):
    text = render_rst.code_blocks(fake_lines, 38, 40, [38, 39], "python2", "``x.py``")
    assert text == (
        ".. code-block:: python2\n"
        "   :linenos:\n"
        "   :lineno-start: 38\n"
        "   :emphasize-lines: 1,2\n"
        "   :caption: ``x.py``\n"
        "\n"
        "       def __init__(self, server_address, RequestHandlerClass):\n"
        "           BaseServer.__init__(self, server_address, RequestHandlerClass)\n"
        "           self.socket = socket.socket()\n"
    )
    cut = render_rst.code_blocks(fake_lines, 10, 34, [31], max_lines=10)
    assert cut.count(".. code-block:: python3") == 2
    assert ":lineno-start: 10\n" in cut and ":lineno-start: 28\n" in cut
    assert "\n.. code-block:: text\n\n   ...\n\n" in cut


# -- render_rst: tables and steps -------------------------------------------------------


def test_mro_table_exact():
    assert render_rst.mro_table(server_mro(), names=["process_request", "timeout"]) == (
        ".. list-table::\n"
        "   :header-rows: 1\n"
        "   :widths: 22 10 18 22 10 10\n"
        "\n"
        "   * - attribute\n"
        "     - kind\n"
        "     - owner\n"
        "     - shadows\n"
        "     - override\n"
        "     - defined at\n"
        "   * - ``process_request``\n"
        "     - method\n"
        "     - ``ThreadingMixIn``\n"
        "     - ``BaseServer``\n"
        "     - replaces\n"
        "     - line 55\n"
        "   * - ``timeout``\n"
        "     - attribute\n"
        "     - ``BaseServer``\n"
        "     - \n"
        "     - \n"
        "     - \n"
    )


def test_attribute_owner_table_reports_instance_and_absent_names():
    text = render_rst.attribute_owner_table(
        server_mro(), ["process_request", "socket", "service_actions"],
        {"socket": "TCPServer.__init__"})
    assert "   * - ``socket``\n     - instance attribute, set in ``TCPServer.__init__``\n" in text
    assert "   * - ``service_actions``\n     - **absent in this version**\n" in text
    assert ("   * - ``process_request``\n     - ``ThreadingMixIn`` (method)\n"
            "     - ``BaseServer``\n     - Start a new thread to process the request.\n") in text


def test_flowdiff_table_from_the_analysis_diff():
    diff = flow_diff.diff([flow("3.12.1"), flow("2.7.18")])
    columns = render_rst.flowdiff_table(diff, layout="columns")
    assert columns.startswith(
        ".. list-table::\n   :header-rows: 1\n\n   * - step\n     - Python 2.7.18\n"
        "     - Python 3.12.1\n     - status\n"
        "   * - ``TCPServer.__init__``\n     - ``TCPServer``\n     - ``TCPServer``\n"
        "     - same\n")
    # A plain function is supplied by its module; absent cells are an em dash, never a
    # bare "-" (docutils would read a bullet list).
    assert ("   * - ``_eintr_retry``\n     - ``socketserver``\n     - \u2014\n"
            "     - **removed**\n") in columns
    ranges = render_rst.flowdiff_table(diff)
    assert ("   * - ``TCPServer.finish_request``\n     - **owner-changed**\n"
            "     - ``TCPServer`` on 2.7.18; ``BaseServer`` on 3.12.1\n") in ranges
    assert ("   * - ``_eintr_retry``\n     - **removed**\n"
            "     - ``socketserver`` on 2.7.18; absent on 3.12.1\n") in ranges
    assert ("   * - ``BaseServer.serve_forever``\n     - same\n"
            "     - ``BaseServer`` on every version\n") in ranges
    changes = render_rst.flowdiff_table(diff, only_changes=True)
    assert "``BaseServer.serve_forever``" not in changes
    assert "same" not in changes
    assert ("   * - ``_eintr_retry``\n     - **removed**\n"
            "     - ``socketserver`` on 2.7.18; absent on 3.12.1\n") in changes
    same = flow_diff.diff([flow("3.12.1"), flow("3.13.0")])
    assert render_rst.flowdiff_table(same, only_changes=True) == (
        "The same steps, from the same classes, on Python 3.12.1, Python 3.13.0.\n")


def test_version_runs_group_consecutive_equal_values():
    versions = ["2.7.18", "3.6.15", "3.7.16", "3.8.18", "3.13.0"]
    assert render_rst.version_runs(versions, [None, None, "a", "a", None]) == [
        ("2.7.18", "3.6.15", None), ("3.7.16", "3.8.18", "a"), ("3.13.0", "3.13.0", None)]


def test_owner_diff_and_class_presence(fake_lines):
    mros = [("2.7.18", server_mro("2.7.18")), ("3.12.1", server_mro("3.12.1"))]
    # Python 2 spells the module SocketServer: the same owner, not a change.
    for attribute in mros[0][1].attributes:
        attribute.owner = attribute.owner.replace("socketserver.", "SocketServer.")
    text = render_rst.owner_diff_table(mros, only_changes=True, layout="columns")
    assert text.count("   * - ``") == 1
    assert "   * - ``handle_error``\n     - ``TCPServer``\n     - ``BaseServer``\n" in text
    ranges = render_rst.owner_diff_table(mros, names=["handle_error", "nope"])
    assert ranges == (
        ".. list-table::\n   :header-rows: 1\n   :widths: 25 75\n\n"
        "   * - attribute\n     - supplied by, per interpreter\n"
        "   * - ``handle_error``\n     - ``TCPServer`` on 2.7.18; ``BaseServer`` on 3.12.1\n"
        "   * - ``nope``\n     - absent on every version\n")
    same = [("3.12.1", server_mro()), ("3.13.0", server_mro("3.13.0"))]
    assert render_rst.owner_diff_table(same, only_changes=True) == (
        "Every attribute has the same owner on Python 3.12.1, Python 3.13.0.\n")
    scanned = source.scan_classes(fake_lines)
    presence = [("2.7.18", scanned[:2]), ("3.12.1", scanned)]
    table = render_rst.class_presence_table(presence, layout="columns")
    assert "   * - ``ForkingMixIn``\n     - \u2014\n     - if ``hasattr(os, \"fork\")``\n" \
        in table
    assert ("   * - ``ForkingMixIn``\n     - absent on 2.7.18; "
            "if ``hasattr(os, \"fork\")`` on 3.12.1\n") in render_rst.class_presence_table(presence)
    assert "   * - ``BaseServer``\n     - defined on every version\n" in \
        render_rst.class_presence_table(presence)
    guards = render_rst.class_guards([(n, b, g) for n, b, g, _ in scanned], "3.12.1")
    assert guards == (
        "Classes that depend on the platform, on Python 3.12.1:\n\n"
        "- only ``if hasattr(os, \"fork\")``: ``ForkingMixIn``, ``ForkingTCPServer``\n")
    # Which classes fork is read from the source: ForkingMixIn calls os.fork(),
    # ForkingTCPServer through it; the name says nothing.
    assert source.classes_calling(fake_lines, "os.fork(") == ["ForkingMixIn",
                                                              "ForkingTCPServer"]
    assert "os.fork" not in render_rst.class_guards(
        [("ForkingMixIn", [], "")], "2.7.18", forking=[])
    unguarded = render_rst.class_guards([("ForkingMixIn", [], "")], "2.7.18",
                                        forking=["ForkingMixIn"])
    assert "defined unconditionally although they need ``os.fork()``: ``ForkingMixIn``" \
        in unguarded


def test_flow_steps_show_source_facts_and_explanations(fake_lines):
    text = render_rst.flow_steps(
        flow(), {FAKE_SOURCE: fake_lines}, "3.12.1",
        explanations={"process_request": "Why: the mixin is first.",
                      "TCPServer.__init__": "TCPServer's constructor."},
        shadows={("ThreadingMixIn", "process_request"): ["socketserver.BaseServer"]})
    assert text.startswith(
        ".. rubric:: 1. TCPServer.__init__\n\n"
        "``TCPServer.__init__`` is defined in ``socketserver.py`` at line 38; it runs in the "
        "main thread (``MainThread``).\n\n"
        "Its docstring: *Constructor.*\n\n"
        "TCPServer's constructor.\n\n"
        ".. code-block:: python3\n"
        "   :linenos:\n"
        "   :lineno-start: 38\n"
        # the def line, and line 39 that calls step 2
        "   :emphasize-lines: 1,2\n")
    assert ("``ThreadingMixIn.process_request`` is defined in ``socketserver.py`` at line 55; "
            "step 4, ``BaseServer._handle_request_noblock``, calls it at line 25, in the main "
            "thread (``MainThread``). "
            "``ThreadingMixIn``'s definition comes first in the MRO and shadows "
            "``BaseServer``.\n\nWhy: the mixin is first.\n") in text
    assert ("it is the first call of a new thread, ``Thread-2 (process_request_thread)`` "
            "(worker), started by step 6.") in text
    # Step 4 (_handle_request_noblock, lines 23-25) emphasizes its def line and the lines
    # that call steps 5 and 6.
    assert ":lineno-start: 23\n   :emphasize-lines: 1,2,3\n" in text
    assert text.count(".. rubric::") == 9


def test_flow_steps_do_not_claim_calls_from_unrecorded_code(fake_lines):
    steps = flow().steps
    steps[4].call_line = 37  # a line of another module: outside the caller's definition
    text = render_rst.flow_steps(model.Flow(scenario="s", python=_python("3.12.1"),
                                            steps=steps), {FAKE_SOURCE: fake_lines}, "3.12.1")
    assert ("``TCPServer.get_request`` is defined in ``socketserver.py`` at line 42; it runs "
            "during step 4, called from code outside the recorded modules") in text


def polling_flow():
    """serve_polling (fake source, lines 83-88) and what it calls, as 2.7 records them."""
    steps = [
        _step(1, None, "serve_polling", 83, 0),
        _step(2, None, "_eintr_retry", 79, 1, call_line=85),  # the LAST line of the call
        _step(3, "TCPServer", "fileno", 42, 2, call_line=80),  # select.select calls it
        _step(4, "PerInstance", "__get__", 13, 1, call_line=86),  # server.lock
        _step(5, "Handler", "do_GET", 18, 1, call_line=88),  # handler()
        _step(6, "TCPServer", "fileno", 42, 1, call_line=2),  # selectors, not recorded
    ]
    steps[5].call_file = SELECTORS
    return model.Flow(scenario="s", python=_python("2.7.18"), steps=steps)


SELECTORS = "/usr/lib/python3.13/selectors.py"
SELECTORS_LINES = ["def _fileobj_to_fd(fileobj):", "    return fileobj.fileno()"]


def test_callers_come_from_the_recording(fake_lines):
    sources = {FAKE_SOURCE: fake_lines, SELECTORS: SELECTORS_LINES}
    sites = flows.call_sites(polling_flow().steps, sources, lambda name: name == "select.select")
    assert sites == [
        flows.CallSite("entry"),
        flows.CallSite("direct", 0, FAKE_SOURCE, (84, 85)),
        flows.CallSite("c", 1, FAKE_SOURCE, (80, 80), via="select.select"),
        flows.CallSite("implicit", 0, FAKE_SOURCE, (86, 86), what="an attribute lookup"),
        flows.CallSite("direct", 0, FAKE_SOURCE, (88, 88), via="handler"),
        flows.CallSite("unrecorded", 0, SELECTORS, (2, 2), function="_fileobj_to_fd"),
    ]
    # Without a way to tell C code, the call through a parameter is the frame's own call.
    assert flows.call_sites(polling_flow().steps, sources)[2] == flows.CallSite(
        "direct", 1, FAKE_SOURCE, (80, 80), via="func")
    text = render_rst.flow_steps(polling_flow(), sources, "2.7.18",
                                 is_c_function=lambda name: name == "select.select")
    assert ("``_eintr_retry`` is defined in ``socketserver.py`` at line 79; step 1, "
            "``serve_polling``, calls it at lines 84-85, in the main thread "
            "(``MainThread``).") in text
    assert ("C code calls it: step 2, ``_eintr_retry``, calls ``select.select`` at line 80, "
            "which calls it back, in the main thread (``MainThread``).") in text
    assert ("step 1, ``serve_polling``, runs it without calling it: at line 86 the "
            "interpreter calls it from C for an attribute lookup, in the main thread") in text
    assert ("step 1, ``serve_polling``, calls it at line 88 as ``handler()``, in the main "
            "thread (``MainThread``).") in text
    assert ("``_fileobj_to_fd`` in ``selectors.py``, a module that is not recorded, calls it "
            "at line 2 while step 1, ``serve_polling``, runs, in the main thread") in text
    # serve_polling's listing emphasizes its def line and both lines of the multi-line
    # call, the attribute lookup and the call through a variable.
    assert ":lineno-start: 83\n   :emphasize-lines: 1,2,3,4,6\n" in text


def test_changelog_prose_links_source_lines_and_matrix_rows():
    stdlib = "/root/.pyenv/versions/3.12.1/lib/python3.12/socketserver.py"
    old = "/root/.pyenv/versions/2.7.18/lib/python2.7/SocketServer.py"
    assert render_rst.cpython_url(stdlib, "3.12.1", 10, 12) == (
        "https://github.com/python/cpython/blob/v3.12.1/Lib/socketserver.py#L10-L12")
    assert render_rst.cpython_url(old, "2.7.18", 146, 146) == (
        "https://github.com/python/cpython/blob/v2.7.18/Lib/SocketServer.py#L146")
    assert render_rst.cpython_url(FAKE_SOURCE, "3.12.1", 1) is None
    Change = flow_diff.Change
    entries = [
        ("3.13.0", "3.12.1", []),
        ("3.12.1", "2.7.18", [
            Change("3.12.1", "2.7.18", "step-removed", "_eintr_retry",
                   caller="BaseServer.serve_forever", scenarios=["a", "b"],
                   where=(old, 146, 153)),
            Change("3.12.1", "2.7.18", "step-not-called", "ForkingMixIn.collect_children",
                   was="ForkingMixIn", caller="ForkingMixIn.process_request",
                   callers=["ForkingMixIn.server_close", "ForkingMixIn.service_actions"],
                   scenarios=["a"], where=(stdlib, 556, 589)),
            Change("3.12.1", "2.7.18", "attribute-owner", "server_close", was="TCPServer",
                   now="ThreadingMixIn", classes=["ThreadingTCPServer"], scenarios=["a"]),
        ]),
    ]
    probe = {"id": "threads_kept", "title": "Threads kept by ``ThreadingTCPServer``"}
    text = render_rst.changelog(entries, {"3.12.1": [(probe, "0 kept", "1 kept",
                                                      ["bpo-37193"])]}, scenarios=["a", "b"])
    assert text == (
        "Python 3.13.0\n-------------\n\n"
        "Compared with 3.12.1, nothing changed in what was recorded: the flows, the attributes "
        "of the servers and handlers, the module's classes and the measured behaviour are the "
        "same.\n\n"
        "Python 3.12.1\n-------------\n\n"
        "Compared with 2.7.18:\n\n"
        "- ``_eintr_retry`` is gone: on 2.7.18 ``BaseServer.serve_forever`` called it (`its "
        "source on 2.7.18, lines 146-153 <https://github.com/python/cpython/blob/v2.7.18/Lib/"
        "SocketServer.py#L146-L153>`__). Every recorded scenario shows it.\n"
        "- ``ForkingMixIn.process_request`` no longer calls ``ForkingMixIn.collect_children``, "
        "which still exists (`source, lines 556-589 <https://github.com/python/cpython/blob/"
        "v3.12.1/Lib/socketserver.py#L556-L589>`__); the recorded run calls it from "
        "``ForkingMixIn.server_close`` and ``ForkingMixIn.service_actions`` instead. Recorded "
        "in the ``a`` flow.\n"
        "- ``ThreadingTCPServer``: ``server_close`` now comes from ``ThreadingMixIn``, no longer "
        "from ``TCPServer``. Recorded in the ``a`` flow.\n"
        "- Measured, Threads kept by ``ThreadingTCPServer`` (bpo-37193): now \u201c1 kept\u201d; "
        "on 2.7.18 \u201c0 kept\u201d (:ref:`matrix row <probe-threads_kept>`).\n")
    # Without probes the page does not claim the measured behaviour is the same.
    assert "measured" not in render_rst.changelog(entries[:1])


def test_changelog_directive_builds_from_the_recordings(tmp_path):
    SphinxTestApp = _sphinx()
    from pathlib import Path
    srcdir = tmp_path / "root"
    shutil.copytree(ROOT, str(srcdir))
    _write_traces(str(srcdir))
    shutil.rmtree(os.path.join(str(srcdir), "_traces", "broken"))
    for name in ("bad.rst", "other.rst"):
        os.remove(os.path.join(str(srcdir), name))
    with io.open(os.path.join(str(srcdir), "index.rst"), "w", encoding="utf-8") as f:
        f.write(u"Changes\n=======\n\n.. changelog::\n")
    warning = io.StringIO()
    app = SphinxTestApp("html", srcdir=Path(str(srcdir)), status=io.StringIO(), warning=warning)
    try:
        app.build()
        html = _html(app, "index.html")
    finally:
        app.cleanup()
    assert warning.getvalue() == ""
    assert '<h2>Python 3.12.1' in html and "Compared with 2.7.18:" in html
    # The fixture's 2.7 flow waits through _eintr_retry, which the fake source still
    # defines: it left the flow, it is not gone.
    assert "no longer calls <code" in html and "_eintr_retry</span></code>, which still " \
        "exists" in html
    assert "is supplied by <code" in html  # finish_request: TCPServer on 2.7, BaseServer after


def test_lexer_for():
    assert source.lexer_for("2.7.18") == "python2"
    assert source.lexer_for("3.13.0") == "python3"


# -- the Sphinx extension ------------------------------------------------------------------


def _sphinx():
    sphinx = pytest.importorskip("sphinx")
    if int(sphinx.__version__.split(".")[0]) < 9:
        pytest.skip("the docs are built with Sphinx 9")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    from sphinx.testing.util import SphinxTestApp
    return SphinxTestApp


def _write_traces(srcdir):
    source = os.path.join(srcdir, "socketserver.py")
    folder = os.path.join(srcdir, "_traces", "threading-tcp")
    os.makedirs(folder)
    for version in ("2.7.18", "3.12.1"):
        mros = model.MROSet(classes=[server_mro(version), handler_mro(version)])
        data = flow(version)
        for record in [a for m in mros.classes for a in m.attributes] + data.steps:
            record.file = source
        mros.dump(os.path.join(folder, version + ".mro.json"))
        data.dump(os.path.join(folder, version + ".flow.json"))
    # A file of the wrong schema where an MRO set belongs, in a scenario of its own.
    broken = os.path.join(srcdir, "_traces", "broken")
    os.makedirs(broken)
    flow("3.13.0").dump(os.path.join(broken, "3.13.0.mro.json"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The test root built once for the tests that only read its output."""
    SphinxTestApp = _sphinx()
    from pathlib import Path
    srcdir = tmp_path_factory.mktemp("built") / "root"
    shutil.copytree(ROOT, str(srcdir))
    _write_traces(str(srcdir))
    status, warning = io.StringIO(), io.StringIO()
    app = SphinxTestApp("html", srcdir=Path(str(srcdir)), status=status, warning=warning)
    try:
        app.build()
        yield app, warning.getvalue()
    finally:
        app.cleanup()


def _html(app, name):
    with io.open(os.path.join(str(app.outdir), name), encoding="utf-8") as f:
        return f.read()


def test_directives_render_without_warnings(built):
    app, warnings = built
    assert "index.rst" not in warnings, warnings
    html = _html(app, "index.html")
    # Two diagrams for the mro directive, one callflow, one sequence, one classes graph;
    # all through sphinx.ext.graphviz as SVG files that exist.
    images = [p for p in os.listdir(os.path.join(str(app.outdir), "_images"))
              if p.startswith("graphviz-") and p.endswith(".svg")]
    assert len(images) == 5
    for name in images:
        assert 'src="_images/%s"' % name in html or 'data="_images/%s"' % name in html
    assert "Bases of <code" in html and "MRO of <code" in html
    # Diagrams keep their natural size and scroll sideways (the extension's stylesheet).
    assert 'href="_static/compatserver-diagrams.css' in html
    assert '<figure class="compatserver-figure align-default"' in html
    with io.open(os.path.join(str(app.outdir), "_static", "compatserver-diagrams.css")) as f:
        css = f.read()
    assert "object.graphviz.compatserver-diagram {\n    max-width: none;" in css
    assert "object.graphviz.compatserver-diagram.compatserver-fit {\n    max-width: 100%;" in css
    # Class graphs fit the page (mro's two views, stdlib-classes); flows scroll.
    assert html.count('class="graphviz compatserver-diagram compatserver-fit"') == 3
    assert html.count('class="graphviz compatserver-diagram"') == 2
    # The owners table with an instance attribute and a name this version lacks.
    assert "instance attribute, set in" in html and "TCPServer.__init__" in html
    assert "absent in this version" in html
    # callflow: the cut from serve_forever to process_request, with the explanation.
    assert "3. BaseServer.serve_forever" in html
    assert "6. ThreadingMixIn.process_request" in html
    assert "7. ThreadingMixIn.process_request_thread" not in html.split("Sequence diagram")[0]
    assert "The mixin\u2019s own, first in the MRO." in html or \
        "The mixin's own, first in the MRO." in html
    # flowdiff / owner-diff: the statuses computed from the two recorded versions.
    assert "<strong>removed</strong>" in html and "<strong>owner-changed</strong>" in html
    assert "Python 2.7.18" in html and "Python 3.12.1" in html
    # stdlib-source: 2.7's listing of BaseRequestHandler.__init__, lines 70-76.
    assert "<code class=\"docutils literal notranslate\"><span class=\"pre\">socketserver.py" \
           "</span></code>, Python 2.7.18, lines 70-76" in html
    # stdlib-classes without :python: tabulates both versions.
    assert "if <code" in html


def test_inputs_are_dependencies(built):
    app, _ = built
    deps = set(str(d) for d in app.env.dependencies["index"])
    assert any(d.endswith(os.path.join("threading-tcp", "3.12.1.flow.json")) for d in deps)
    assert any(d.endswith(os.path.join("threading-tcp", "2.7.18.mro.json")) for d in deps)
    assert any(d.endswith("socketserver.py") for d in deps)


def test_a_rerecorded_trace_rebuilds_the_page_and_nothing_else_is_read(tmp_path):
    SphinxTestApp = _sphinx()
    from pathlib import Path
    srcdir = tmp_path / "root"
    shutil.copytree(ROOT, str(srcdir))
    _write_traces(str(srcdir))

    def build():
        status = io.StringIO()
        app = SphinxTestApp("html", srcdir=Path(str(srcdir)), status=status,
                            warning=io.StringIO())
        try:
            app.build()
            return app, status.getvalue()
        finally:
            app.cleanup()

    build()
    _, status = build()
    assert "0 added, 0 changed, 0 removed" in status
    path = os.path.join(str(srcdir), "_traces", "threading-tcp", "3.12.1.flow.json")
    recorded = model.Flow.load(path)
    recorded.steps[2].note = "Re-recorded note."
    recorded.dump(path)
    stamp = os.stat(path).st_mtime_ns + 2 * 10 ** 9  # past the doctree's own time
    os.utime(path, ns=(stamp, stamp))
    app, status = build()
    # Both documents that read that flow (index and bad's sequence directive), no other.
    assert "0 added, 2 changed, 0 removed" in status
    assert "Re-recorded note." in _html(app, "index.html")


def test_bad_input_becomes_warnings_naming_directive_document_and_file(built):
    _, warnings = built
    lines = [w for w in warnings.splitlines() if "bad.rst" in w]
    assert len(lines) == 7, warnings
    joined = "\n".join(lines)
    assert "bad.rst:6: WARNING: mro directive: unknown class 'NoSuchServer' (recorded: " \
           "socketserver.ThreadingTCPServer, examples.EchoHandler) (" in joined
    assert "3.12.1.mro.json) [compatserver.input]" in joined
    assert "bad.rst:9: WARNING: callflow directive: no flow recorded for scenario " \
           "'threading-tcp' and Python 3.5 (recorded: 2.7.18, 3.12.1)" in joined
    assert "bad.rst:12: WARNING: sequence directive: no step 'no_such_step' in the " \
           "recorded flow of Python 3.12.1" in joined
    assert "flowdiff directive: no flows recorded for scenario 'no-such-scenario'" in joined
    assert "stdlib-source directive: ThreadingMixIn.no_such_method is not defined in " \
           "Python 3.12.1's socketserver.py" in joined
    assert "bad.rst:21: WARNING: mro directive: expected schema 'compatserver.mro-set', " \
           "got 'compatserver.flow' (" in joined
    assert os.path.join("broken", "3.13.0.mro.json) [compatserver.input]") in joined
    assert "bad.rst:25: WARNING: flowdiff directive: a diff needs at least two flows, got 1" \
        in joined


def test_generate_walkthrough_writes_pages_once(tmp_path):
    # The generator needs Jinja2, not Sphinx: a command line runs it too.
    pytest.importorskip("jinja2")
    srcdir = tmp_path / "root"
    shutil.copytree(ROOT, str(srcdir))
    _write_traces(str(srcdir))
    outdir = os.path.join(str(srcdir), "walkthrough")
    os.makedirs(outdir)
    template = os.path.join(outdir, "_version.rst.jinja")
    with io.open(template, "w", encoding="utf-8") as f:
        f.write(u"{{ version }} {{ module }} {{ owners.handle_error }} {{ versions|join(',') }}\n")
    store = pages.TraceStore(os.path.join(str(srcdir), "_traces"))
    written = pages.generate_walkthrough(str(srcdir), store, "threading-tcp", template, outdir)
    assert written == ["2.7", "3.12"]
    with io.open(os.path.join(outdir, "2.7.rst"), encoding="utf-8") as f:
        assert f.read() == (
            ".. This page is generated by analysis.pages from "
            "``walkthrough/_version.rst.jinja``; edit that, not this.\n\n"
            "2.7.18 socketserver TCPServer 2.7,3.12\n")
    with io.open(os.path.join(outdir, "_versions.rst.inc"), encoding="utf-8") as f:
        assert f.read() == (".. toctree::\n   :maxdepth: 1\n\n"
                            "   Python 2.7.18 <2.7>\n   Python 3.12.1 <3.12>\n")
    # A second run with nothing changed rewrites nothing (Sphinx would re-read it).
    stamp = os.stat(os.path.join(outdir, "3.12.rst")).st_mtime_ns
    os.utime(os.path.join(outdir, "3.12.rst"), ns=(stamp - 10**9, stamp - 10**9))
    pages.generate_walkthrough(str(srcdir), store, "threading-tcp", template, outdir)
    assert os.stat(os.path.join(outdir, "3.12.rst")).st_mtime_ns == stamp - 10**9
    # An interpreter no longer recorded loses its generated page.
    os.remove(os.path.join(str(srcdir), "_traces", "threading-tcp", "2.7.18.mro.json"))
    pages.generate_walkthrough(str(srcdir), store, "threading-tcp", template, outdir)
    assert sorted(os.listdir(outdir)) == ["3.12.rst", "_version.rst.jinja", "_versions.rst.inc"]


@pytest.mark.parametrize("template,traces,expected", [
    (u"{{ version }}\n", False,
     "WARNING: walkthrough: no traces of scenario 'threading-tcp' under "),
    (u"{% if %}\n", True, "WARNING: walkthrough: cannot render "),
])
def test_walkthrough_problems_are_warnings(tmp_path, template, traces, expected):
    SphinxTestApp = _sphinx()
    from pathlib import Path
    srcdir = tmp_path / "root"
    shutil.copytree(ROOT, str(srcdir))
    if traces:
        _write_traces(str(srcdir))
    os.makedirs(os.path.join(str(srcdir), "walkthrough"))
    with io.open(os.path.join(str(srcdir), "walkthrough", "_version.rst.jinja"), "w",
                 encoding="utf-8") as f:
        f.write(template)
    warning = io.StringIO()
    app = SphinxTestApp("html", srcdir=Path(str(srcdir)), status=io.StringIO(),
                        warning=warning)
    try:
        pass  # builder-inited ran while the application was set up
    finally:
        app.cleanup()
    assert expected in warning.getvalue()
    assert not [n for n in os.listdir(os.path.join(str(srcdir), "walkthrough"))
                if n.endswith(".rst")]
