"""A user's own documentation: the walkthrough of a script, and the guide's real output.

``python -m analysis walkthrough SCRIPT.py --out DIR`` writes a reST page,
its SVG diagrams and one self-contained HTML page; the reST is built here
by Sphinx with ``-W -n`` inside a user's project (``tests/roots/
test-user-project``), next to the directives of ``analysis.sphinxext``
pointed at the script's recording.  The Sphinx build needs Sphinx (3.11+,
the docs environment) and Graphviz's ``dot``, and is skipped without them;
the rest runs on every Python 3.
"""
import io
import os
import re
import shutil
import subprocess
import sys

import pytest

from analysis import cli, render_html

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "roots", "test-user-project")
SCRIPT = os.path.join(HERE, "scripts", "thread_server.py")
GUIDE = os.path.join(os.path.dirname(HERE), "docs", "guide", "tracing.rst")
EXAMPLE = os.path.join(os.path.dirname(HERE), "docs", "guide", "examples", "myserver.py")
VERSION = "%d.%d.%d" % sys.version_info[:3]

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")


def _sphinx():
    try:
        import sphinx  # noqa: F401
    except ImportError:
        return False
    return True


def walkthrough(capsys, out, *args):
    assert cli.main(["walkthrough", SCRIPT] + list(args) + ["--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "HELLO\n"  # the script's own output, kept off stdout
    return captured.out.splitlines()


@needs_dot
def test_walkthrough_writes_rst_svg_and_html(tmp_path, capsys):
    written = walkthrough(capsys, tmp_path)
    assert [os.path.basename(p) for p in written] == [
        "thread_server.rst", "thread_server.html", "thread_server-callflow.svg",
        "thread_server-handler-bases.svg", "thread_server-handler-mro.svg",
        "thread_server-server-bases.svg", "thread_server-server-mro.svg"]
    rst = (tmp_path / "thread_server.rst").read_text(encoding="utf-8")
    assert rst.startswith("How ``thread_server.py`` serves a request\n====")
    assert ("the server ``QuietServer``, serving ``UpperHandler``.  The call flow runs in 15 steps "
            if sys.version_info[:2] != (2, 7) else "") in rst
    for figure in ("thread_server-server-bases.svg", "thread_server-server-mro.svg",
                   "thread_server-handler-bases.svg", "thread_server-handler-mro.svg",
                   "thread_server-callflow.svg"):
        assert rst.count(".. figure:: %s\n" % figure) == 1
    # Each step with its source: the script's own lines and the stdlib's.
    assert ".. rubric:: 9. QuietServer.verify_request" in rst
    assert ".. rubric:: 15. UpperHandler.handle" in rst
    assert "   :caption: ``thread_server.py``, Python %s, lines 28-29" % VERSION in rst
    assert "   :caption: ``socketserver.py``, Python %s, lines " % VERSION in rst
    page = (tmp_path / "thread_server.html").read_text(encoding="utf-8")
    # Self-contained: the five diagrams inlined, nothing fetched.
    assert page.count("<svg") == 5 and "<img" not in page and "src=" not in page
    assert '<h4 class="rubric">9. QuietServer.verify_request</h4>' in page
    assert "<mark>" in page  # the emphasized lines of the excerpts
    # Nothing changed, nothing rewritten: a Sphinx build stays incremental.
    stamp = os.stat(str(tmp_path / "thread_server.rst")).st_mtime_ns
    walkthrough(capsys, tmp_path)
    assert os.stat(str(tmp_path / "thread_server.rst")).st_mtime_ns == stamp


@pytest.mark.skipif(not _sphinx(), reason="needs Sphinx (the docs environment, 3.11+)")
@needs_dot
def test_a_users_project_builds_with_the_walkthrough_and_the_directives(tmp_path, capsys):
    srcdir = tmp_path / "root"
    shutil.copytree(ROOT, str(srcdir))
    # What the project's conf.py says to run before a build.
    assert cli.main(["record", SCRIPT, "--out", str(srcdir / "_traces")]) == 0
    assert capsys.readouterr().out == VERSION + "\n"
    walkthrough(capsys, srcdir / "server")
    outdir = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q", "-b", "html",
         str(srcdir), str(outdir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert proc.stderr == b""
    page = (outdir / "server" / "thread_server.html").read_text(encoding="utf-8")
    assert "9. QuietServer.verify_request" in page
    for svg in ("thread_server-callflow.svg", "thread_server-server-mro.svg"):
        assert (outdir / "_images" / svg).is_file() and ("_images/" + svg) in page
    directives = (outdir / "directives.html").read_text(encoding="utf-8")
    assert "the script\u2019s own override, first in the MRO." in directives
    assert directives.count('class="graphviz') >= 3  # MRO order, call flow, sequence


def test_the_html_converter_refuses_what_it_does_not_know():
    with pytest.raises(render_html.UnknownMarkup) as info:
        render_html.page(".. image:: x.png\n", "t", {})
    assert str(info.value) == "directive 'image'"
    assert render_html.page("A *b* ``c*d*`` \\*e\\*\n", "t", {}).count(
        "<p>A <em>b</em> <code>c*d*</code> *e*</p>") == 1


@needs_dot
def test_walkthrough_without_graphviz_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot there
    assert cli.main(["walkthrough", SCRIPT, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["HELLO", "analysis: error: Graphviz's dot is not on PATH, and the walkthrough's "
                   "diagrams need it (Debian: apt-get install graphviz; others: "
                   "https://graphviz.org/download/)"]
    assert not (tmp_path / "out").exists()


def _guide_block():
    """The terminal session the guide shows for ``flow myserver.py``."""
    with io.open(GUIDE, encoding="utf-8") as stream:
        text = stream.read()
    match = re.search(r"\n   \$ python -m analysis flow myserver.py\n((?:   .*\n|\n)+?)\n(?! )", text)
    assert match, "the guide lost its worked example"
    return [line[3:] for line in match.group(1).rstrip("\n").split("\n")]


def test_the_guide_shows_the_real_output(tmp_path):
    lines = _guide_block()
    assert lines[0] == "HELLO"  # what the script printed (on stderr)
    shown = re.match(r"^myserver: __init__ -> handle  \(Python (\S+), \d+ steps\)$", lines[1])
    assert shown, lines[1]
    if shown.group(1) != VERSION:
        pytest.skip("the guide shows Python %s's output" % shown.group(1))
    proc = subprocess.run([sys.executable, "-m", "analysis", "flow", "myserver.py"],
                          cwd=os.path.dirname(EXAMPLE), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120,
                          env=dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH", "")))
    assert proc.stderr.decode("utf-8") == "HELLO\n"
    assert proc.stdout.decode("utf-8").rstrip("\n").split("\n") == lines[1:], (
        "docs/guide/tracing.rst shows another output than this run's; paste this one:\n"
        + proc.stdout.decode("utf-8"))


@needs_dot
def test_a_recording_renders_like_the_run(tmp_path, capsys):
    # What a Python 2.7 recording goes through: record, then a Python 3 renders the .flow.json.
    assert cli.main(["record", SCRIPT, "--out", str(tmp_path / "traces")]) == 0
    capsys.readouterr()
    recorded = tmp_path / "traces" / "thread_server" / (VERSION + ".flow.json")
    assert cli.main(["walkthrough", str(recorded), "--out", str(tmp_path / "from-recording")]) == 0
    walkthrough(capsys, tmp_path / "from-run")
    texts = [(tmp_path / d / "thread_server.rst").read_text(encoding="utf-8").splitlines()
             for d in ("from-recording", "from-run")]
    differ = [(a, b) for a, b in zip(*texts) if a != b]
    assert differ == [("Written by ``python -m analysis walkthrough %s.flow.json``; run it again "
                       "after a change to the script." % VERSION,
                       "Written by ``python -m analysis walkthrough thread_server.py``; run it again "
                       "after a change to the script.")]
    assert len(texts[0]) == len(texts[1])
