"""The docs check: the whole site builds clean, and what it shows is really there.

Builds ``docs/`` once per session with Sphinx, warnings as errors and nitpicky
(``-W -n``), into a temporary directory, from the inputs ``make docs`` records
(``docs/_generated``: traces and probe results; ``.ci/docs.sh --generate-only``
records them, and the ``docs`` tox environment runs it first).  Then:

- every internal link, anchor and image of every page resolves;
- every topic of walkthrough-topics.md is on the walkthrough of every
  interpreter traced (one check per topic and interpreter, keyed by the names
  the topic needs);
- the compatibility matrix and the benchmarks page show what their JSON says;
- a headless Chromium loads a walkthrough page and every diagram on it renders
  (an SVG document of real size, no broken image), and the checker itself
  notices a broken one.

Skipped, with the reason, when Sphinx is not installed (every environment but
``docs``).  Chromium and Graphviz are installed by the ``docs`` environment
(``.ci/apt.sh``); a missing one fails the check with what to install.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("sphinx", reason="the docs check runs in the docs environment (tox -e docs)")

pytestmark = pytest.mark.docs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
GENERATED = os.path.join(DOCS, "_generated")
#: make bench's figures; COMPATDOCS_BENCH_RESULTS points elsewhere (a checkout
#: whose results.json is not committed yet, a saved run).
BENCH_RESULTS = os.environ.get("COMPATDOCS_BENCH_RESULTS") or os.path.join(ROOT, "benchmarks", "results.json")
BUILD_TIMEOUT = 600
CHROMIUM_TIMEOUT = 60


# -- the build ----------------------------------------------------------------

@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build the site once; return (html directory, warnings printed)."""
    probes = glob.glob(os.path.join(GENERATED, "probes", "*.json"))
    if not probes:
        pytest.fail("no probe results in docs/_generated/probes: run `.ci/docs.sh --generate-only` "
                    "(or `make docs`) first")
    out = str(tmp_path_factory.mktemp("site"))
    html = os.path.join(out, "html")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q", "-b", "html",
         "-d", os.path.join(out, "doctrees"), "-D", "compatdocs_bench_results=" + BENCH_RESULTS,
         DOCS, html],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=BUILD_TIMEOUT,
        universal_newlines=True)
    return html, proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def html_dir(site):
    html, status, output = site
    if status != 0:
        pytest.fail("the site did not build:\n" + output[-4000:])
    return html


# The first test builds the site (the session fixture): on a loaded two-core
# machine that takes up to two minutes, the default per-test limit.
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_the_site_builds_with_zero_warnings(site):
    html, status, output = site
    warnings = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
    assert warnings == []
    assert status == 0, output[-4000:]
    assert os.path.exists(os.path.join(html, "index.html"))


# -- parsing the pages ---------------------------------------------------------

class Page(HTMLParser):
    """Links, image sources, ids and visible text of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.images, self.ids, self.text = [], [], set(), []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "link" and "href" in a:
            self.links.append(a["href"])
        elif tag == "img" and "src" in a:
            self.images.append(a["src"])
        elif tag == "object" and "data" in a:
            self.images.append(a["data"])
        elif tag == "script" and "src" in a:
            self.links.append(a["src"])
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


_pages = {}


def page(path):
    if path not in _pages:
        p = Page()
        with open(path, encoding="utf-8") as f:
            p.feed(f.read())
        p.close()
        _pages[path] = p
    return _pages[path]


def text_of(path):
    return re.sub(r"\s+", " ", " ".join(page(path).text))


def html_files(html_dir):
    return sorted(glob.glob(os.path.join(html_dir, "**", "*.html"), recursive=True))


def is_external(url):
    return urlsplit(url).scheme in ("http", "https", "mailto", "data", "javascript")


# -- links and images ------------------------------------------------------------

def test_every_internal_link_and_anchor_resolves(html_dir):
    broken = []
    checked = 0
    for path in html_files(html_dir):
        for url in page(path).links:
            if is_external(url):
                continue
            parts = urlsplit(url)
            target = path if not parts.path else os.path.normpath(
                os.path.join(os.path.dirname(path), unquote(parts.path)))
            checked += 1
            if not os.path.exists(target):
                broken.append("%s: %s (no file)" % (os.path.relpath(path, html_dir), url))
            elif parts.fragment and target.endswith(".html") and \
                    unquote(parts.fragment) not in page(target).ids:
                broken.append("%s: %s (no anchor)" % (os.path.relpath(path, html_dir), url))
    assert broken == []
    assert checked > 200  # the check really walked the site


def test_every_image_resolves(html_dir):
    broken = []
    images = 0
    for path in html_files(html_dir):
        for src in page(path).images:
            if is_external(src):
                broken.append("%s: %s (external image)" % (os.path.relpath(path, html_dir), src))
                continue
            images += 1
            target = os.path.normpath(os.path.join(os.path.dirname(path), unquote(urlsplit(src).path)))
            if not os.path.isfile(target) or os.path.getsize(target) == 0:
                broken.append("%s: %s" % (os.path.relpath(path, html_dir), src))
    assert broken == []
    assert images >= 20  # diagrams of every walkthrough page, the benchmark plots


# -- the walkthrough covers walkthrough-topics.md ------------------------------

#: For each point of ../shared/reference/walkthrough-topics.md, the names and
#: words a page must show to cover it.
TOPICS = {
    "1 servers, mixins, combinations": [
        "TCPServer", "UDPServer", "UnixStreamServer", "UnixDatagramServer", "ForkingMixIn",
        "ThreadingMixIn", "ForkingTCPServer", "ForkingUDPServer", "ThreadingTCPServer",
        "ThreadingUDPServer"],
    "2 inheritance and MRO, mixin first": [
        "BaseServer", "TCPServer", "UDPServer", "UnixStreamServer", "UnixDatagramServer",
        "ThreadingTCPServer", "ThreadingMixIn", "MRO", "first"],
    "3 steps to write a server": [
        "handle()", "serve_forever()", "handle_request()", "shutdown()", "server_close()"],
    "4 construction": [
        "__init__", "BaseServer.__init__", "server_bind", "server_activate", "allow_reuse_address",
        "bind", "getsockname", "listen", "request_queue_size"],
    "5 the loop": [
        "serve_forever", "_handle_request_noblock", "get_request", "accept", "verify_request",
        "process_request", "process_request_thread", "finish_request", "RequestHandlerClass",
        "setup", "handle", "finish", "finally", "shutdown_request", "close_request",
        "handle_error", "handle_timeout"],
    "6 every BaseServer attribute and hook": [
        "fileno", "handle_request", "serve_forever", "shutdown", "server_close",
        "address_family", "RequestHandlerClass", "server_address", "socket",
        "allow_reuse_address", "request_queue_size", "socket_type", "timeout",
        "finish_request", "get_request", "handle_error", "handle_timeout", "process_request",
        "server_activate", "server_bind", "verify_request", "service_actions"],
    "7 handlers": [
        "self.request", "self.client_address", "self.server", "StreamRequestHandler", "rfile",
        "wfile", "DatagramRequestHandler", "readline"],
    "8 empty recv means closed, loop in handle": ["recv", "empty", "closed", "loop"],
    "9 daemon_threads and block_on_close": ["daemon_threads", "block_on_close", "server_close"],
    "10 no forking without os.fork": ["os.fork", "Windows"],
    "11 the import split": ["SocketServer", "socketserver"],
    "12 worked examples": ["upper", "echo", "thread", "chat", "broadcast"],
}


def walkthrough_versions():
    pages = glob.glob(os.path.join(DOCS, "walkthrough", "[0-9]*.rst"))
    traces = glob.glob(os.path.join(GENERATED, "traces", "*", "*.trace.json"))
    versions = set(os.path.basename(p)[:-4] for p in pages)
    versions |= set(".".join(os.path.basename(t).split(".")[:2]) for t in traces)
    return sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def narrative_path(html_dir):
    return os.path.join(html_dir, "walkthrough", "index.html")


@pytest.fixture(scope="session")
def narrative_text(html_dir):
    """The narrative walkthrough's text and its diagrams' labels."""
    path = narrative_path(html_dir)
    return " ".join([text_of(path)] + diagram_texts(path))


def diagram_texts(path):
    """The labels of the SVG diagrams a page shows (they are part of what it says)."""
    texts = []
    for src in page(path).images:
        if src.endswith(".svg") and not is_external(src):
            svg = os.path.normpath(os.path.join(os.path.dirname(path), unquote(urlsplit(src).path)))
            with open(svg, encoding="utf-8") as f:
                texts += [t.strip() for t in re.findall(r"<(?:\w+:)?text[^>]*>([^<]*)</(?:\w+:)?text>",
                                                        f.read())]
    return texts


def test_a_reference_appendix_for_every_interpreter_traced(html_dir):
    versions = walkthrough_versions()
    assert len(versions) >= 1
    missing = [v for v in versions
               if not os.path.exists(os.path.join(html_dir, "walkthrough", v + ".html"))]
    assert missing == []


@pytest.mark.parametrize("topic", sorted(TOPICS, key=lambda t: int(t.split()[0])))
def test_every_topic_is_on_the_narrative_page(narrative_text, topic):
    missing = [w for w in TOPICS[topic] if w not in narrative_text]
    assert missing == []


def body_words(path):
    """The words of a page's body (prose, notes, listings), not of its sidebar."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    body = source[source.index('<div class="body"'):source.index('<div class="footer"')]
    p = Page()
    p.feed(body)
    return len(" ".join(p.text).split())


def test_the_narrative_reads_in_one_sitting(html_dir):
    words = body_words(narrative_path(html_dir))
    assert 3000 <= words <= 8000, words


def notes_text(path):
    """The text of the grey boxes of a page: the notes on other interpreters."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    boxes = re.findall(r'<div class="[^"]*(?:compatserver-version-notes|compat-behaviour)[^"]*">'
                       r"(.*?)</div>\s*</div>|"
                       r'<div class="[^"]*(?:compatserver-version-notes|compat-behaviour)[^"]*">'
                       r"(.*?)</div>", source, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", " ".join(a + b for a, b in boxes)))


def test_the_narrative_names_every_interpreter_with_its_differences(html_dir):
    path = narrative_path(html_dir)
    notes = notes_text(path)
    # Each traced interpreter other than the newest is named in a note; the
    # known differences are there, with their upstream issues.
    versions = walkthrough_versions()
    newest = versions[-1]
    named = set()
    for first, last in re.findall(r"(?<![\d.])(\d\.\d+)(?:-(\d\.\d+))?(?![\d])", notes):
        if first in versions and (not last or last in versions):
            named.update(versions[versions.index(first):versions.index(last or first) + 1])
    # A range (3.8-3.13) names every interpreter in it.
    assert [v for v in versions[:-1] if v not in named] == []
    if "2.7" in versions:
        assert "On 2.7 the module is SocketServer" in notes
        assert "On 2.7 the classes are classic (old-style)" in notes
        assert "_eintr_retry" in notes
    if "3.7" in versions and "3.8" in versions:
        assert "Changed in 3.7 (bpo-31233): all kept until server_close()" in notes
        assert "Changed in 3.8 (bpo-37193)" in notes
        assert "RuntimeError: cannot join current thread" in notes
    # The newest interpreter is the one taught: the page names it in captions.
    assert "Python %s" % newest in text_of(path)


def svg_width_px(svg_path):
    with open(svg_path, encoding="utf-8") as f:
        head = f.read(4000)
    match = re.search(r'<(?:\w+:)?svg[^>]*\swidth="([\d.]+)(pt|px)?"', head)
    assert match, svg_path
    value = float(match.group(1))
    return value * 4 / 3 if match.group(2) == "pt" else value


def test_every_diagram_of_the_narrative_fits_the_column(html_dir):
    path = narrative_path(html_dir)
    svgs = [os.path.normpath(os.path.join(os.path.dirname(path), unquote(urlsplit(src).path)))
            for src in page(path).images if src.endswith(".svg")]
    assert len(svgs) >= 6
    wide = [(os.path.basename(s), round(svg_width_px(s))) for s in svgs if svg_width_px(s) > 900]
    assert wide == []


def test_the_appendices_are_out_of_the_reading_path(html_dir):
    # The narrative's Next is what changed; no page's Next or Previous is an appendix.
    with open(narrative_path(html_dir), encoding="utf-8") as f:
        narrative = f.read()
    assert re.search(r'<link rel="next" [^>]*href="\.\./changes\.html"', narrative)
    chained = []
    for path in html_files(html_dir):
        with open(path, encoding="utf-8") as f:
            for rel, href in re.findall(r'<link rel="(next|prev)" [^>]*href="([^"]+)"', f.read()):
                if re.search(r"walkthrough/\d+\.\d+\.html$|^\d+\.\d+\.html$|directives\.html$",
                             href):
                    chained.append((os.path.relpath(path, html_dir), rel, href))
    assert chained == []
    # ... and the narrative links each of them.
    for version in walkthrough_versions():
        assert version + ".html" in page(narrative_path(html_dir)).links


def test_identical_flows_are_shown_once_and_said_to_be(html_dir):
    from analysis import model

    folder = os.path.join(GENERATED, "traces")
    newest = sorted(os.listdir(os.path.join(folder, "tcp")),
                    key=lambda n: tuple(int(x) for x in n.split(".")[:3]))[-1].split(".flow")[0]
    newest = ".".join(newest.split(".")[:3])
    flows = [model.Flow.load(os.path.join(folder, s, newest + ".flow.json"))
             for s in ("tcp", "unix-stream")]
    assert [s.qualname for s in flows[0].steps] == [s.qualname for s in flows[1].steps]
    assert "(the two recorded flows are identical)" in text_of(narrative_path(html_dir))


def test_every_worked_example_shows_its_recorded_output(html_dir):
    text = text_of(narrative_path(html_dir))
    assert text.count("(recorded when this site was built)") == 3
    outputs = glob.glob(os.path.join(GENERATED, "outputs", "*.json"))
    assert outputs
    by_version = {}
    for path in outputs:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        by_version[report["python"]] = report["examples"]["threaded_echo.py"]["stdout"]
    newest = max(by_version, key=lambda v: tuple(int(x) for x in v.split(".")))
    for line in by_version[newest].splitlines():
        assert line in text
    # A thread name that differs on an older interpreter is shown, marked as such.
    for version, stdout in by_version.items():
        if stdout != by_version[newest]:
            assert "line 1: " + stdout.splitlines()[0] in text


# -- the measured pages ------------------------------------------------------------

def probe_reports():
    sys.path.insert(0, os.path.join(DOCS, "_ext"))
    try:
        import compatdocs
    finally:
        sys.path.pop(0)
    folder = os.path.join(GENERATED, "probes")
    return compatdocs.merge_reports(folder, sorted(f for f in os.listdir(folder) if f.endswith(".json")))


def test_the_matrix_shows_every_probe_outcome_of_every_interpreter(html_dir):
    text = text_of(os.path.join(html_dir, "matrix.html"))
    reports = probe_reports()
    for report in reports:
        assert report["python"] in text
        for p in report["probes"]:
            for which in ("stdlib", "compatserver"):
                assert p[which]["text"] in text, (report["python"], p["id"], which)
    # One summary row per probe, each linking to its detail table.
    matrix = page(os.path.join(html_dir, "matrix.html"))
    for p in reports[0]["probes"]:
        assert "#probe-" + p["id"].replace("_", "-") in matrix.links


def test_the_benchmarks_page_plots_every_metric(html_dir):
    with open(BENCH_RESULTS, encoding="utf-8") as f:
        data = json.load(f)
    metrics = set()
    for run in data["runs"]:
        if run.get("status", "ok") == "ok" and run.get("output"):
            metrics |= set((run["benchmark"], r["metric"]) for r in run["output"]["results"])
    bench = page(os.path.join(html_dir, "benchmarks.html"))
    svgs = [os.path.basename(src) for src in bench.images]
    for benchmark, metric in metrics:
        assert any(s.startswith("%s-%s" % (benchmark, metric)) and s.endswith(".svg") for s in svgs), \
            (benchmark, metric)
    assert data["generated"] in text_of(os.path.join(html_dir, "benchmarks.html"))


def test_the_benchmarks_page_speaks_the_readers_words(html_dir):
    with open(BENCH_RESULTS, encoding="utf-8") as f:
        data = json.load(f)
    text = text_of(os.path.join(html_dir, "benchmarks.html"))
    keys = set()
    for run in data["runs"]:
        output = run.get("output") or {}
        keys |= set(r["metric"] for r in output.get("results", []))
        keys |= set(k for k in output.get("setup", {}) if "_" in k)
    raw = sorted(k for k in keys if re.search(r"(?<![\w.-])%s(?![\w])" % re.escape(k), text))
    assert raw == []
    assert "issue" not in text and "target" not in text
    for words in ("What was compared", "one machine", "load average", "interleaved"):
        assert words in text


# -- Chromium: the diagrams really render -------------------------------------------

CHECK_SCRIPT = """<script>
// At the load event, then again every 200 ms (virtual time) while a diagram
// has not loaded, up to 5 s: on a loaded machine an <object>'s document can
// still be on its way when the page's load event fires.  A diagram that
// never loads (a broken file name) is reported as such after the 5 s.
function compatdocsCheck(triesLeft) {
  var out = [];
  var pending = false;
  document.querySelectorAll("object, img").forEach(function (el) {
    var box = el.getBoundingClientRect();
    var r = {tag: el.tagName, src: el.getAttribute("data") || el.getAttribute("src"),
             width: box.width, height: box.height, loaded: false, natural: 0};
    if (el.tagName === "IMG") {
      r.loaded = el.complete && el.naturalWidth > 0;
      r.natural = el.naturalWidth;
    } else {
      var doc = null;
      try { doc = el.contentDocument; } catch (e) {}
      r.loaded = !!(doc && doc.documentElement && doc.documentElement.localName === "svg");
      r.natural = r.loaded ? doc.documentElement.getBoundingClientRect().width : 0;
    }
    if (!r.loaded) { pending = true; }
    out.push(r);
  });
  if (pending && triesLeft > 0) {
    setTimeout(function () { compatdocsCheck(triesLeft - 1); }, 200);
    return;
  }
  var root = document.scrollingElement || document.documentElement;
  // Boxes of the page body that scroll sideways (a diagram or a listing wider
  // than the column), besides the page itself.
  var boxes = [];
  document.querySelectorAll("div.body *").forEach(function (el) {
    var overflow = getComputedStyle(el).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && el.scrollWidth > el.clientWidth + 1) {
      boxes.push(el.tagName + "." + el.className + ": " + el.scrollWidth + " > " + el.clientWidth +
                 " (" + (el.textContent || "").trim().slice(0, 50) + ")");
    }
  });
  out.push({tag: "PAGE", src: "", scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
            width: window.innerWidth, height: 0, loaded: true, natural: 0, boxes: boxes});
  var pre = document.createElement("pre");
  pre.id = "compatdocs-image-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}
window.addEventListener("load", function () { compatdocsCheck(25); });
</script>"""


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not installed: apt-get install chromium (or .ci/apt.sh chromium:chromium)")


def chromium_run(args, timeout=CHROMIUM_TIMEOUT):
    profile = tempfile.mkdtemp(prefix="compatdocs-chromium-")
    try:
        return subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + profile] + args,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
            universal_newlines=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def rendered_images(html_path):
    """Load a copy of the page (same directory) in Chromium; what each image did."""
    with open(html_path, encoding="utf-8") as f:
        source = f.read()
    probe = os.path.join(os.path.dirname(html_path), "_image-check-" + os.path.basename(html_path))
    with open(probe, "w", encoding="utf-8") as f:
        f.write(source.replace("</body>", CHECK_SCRIPT + "</body>"))
    try:
        proc = chromium_run(["--allow-file-access-from-files", "--virtual-time-budget=15000",
                             "--window-size=1280,1000", "--dump-dom", "file://" + probe])
    finally:
        os.unlink(probe)
    match = re.search(r'<pre id="compatdocs-image-check">(.*?)</pre>', proc.stdout, re.S)
    assert match, "chromium printed no result: %s" % proc.stderr[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))


def walkthrough_page(html_dir):
    return narrative_path(html_dir)


def test_chromium_renders_every_diagram_of_the_narrative_page(html_dir):
    path = walkthrough_page(html_dir)
    images = rendered_images(path)
    layout = [i for i in images if i["tag"] == "PAGE"]
    images = [i for i in images if i["tag"] != "PAGE"]
    diagrams = [i for i in images if i["src"].endswith(".svg")]
    assert len(diagrams) >= 6, images
    bad = [i for i in images if not i["loaded"] or i["natural"] < 50 or i["height"] < 50]
    assert bad == []
    # At 1280 px: no sideways scroll on the page, and every diagram is shown
    # at most 900 px wide and no narrower than its natural size (not shrunk).
    assert layout[0]["width"] == 1280
    assert layout[0]["scrollWidth"] <= layout[0]["clientWidth"], layout
    assert layout[0]["boxes"] == []
    too_wide = [(i["src"], i["width"]) for i in diagrams if i["width"] > 900]
    assert too_wide == []
    shrunk = [(i["src"], i["width"], i["natural"]) for i in diagrams
              if i["width"] + 1 < i["natural"]]
    assert shrunk == []


def test_chromium_check_notices_a_broken_diagram(html_dir, tmp_path):
    # The checker must be able to fail: the same page with one diagram's file
    # name broken reports that diagram as not loaded.
    path = walkthrough_page(html_dir)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    first = re.search(r'data="([^"]+\.svg)"', source).group(1)
    broken = os.path.join(os.path.dirname(path), "_broken-" + os.path.basename(path))
    with open(broken, "w", encoding="utf-8") as f:
        f.write(source.replace('data="%s"' % first, 'data="%s"' % first.replace(".svg", "-missing.svg"), 1))
    try:
        images = rendered_images(broken)
    finally:
        os.unlink(broken)
    states = [(i["src"].endswith("-missing.svg"), i["loaded"]) for i in images
              if i["tag"] != "PAGE"]
    assert (True, False) in states
    assert all(loaded for missing, loaded in states if not missing)


def test_chromium_screenshot_of_the_narrative_page(html_dir):
    """Kept in docs/_build/screenshots for a human to look at."""
    shots = os.path.join(DOCS, "_build", "screenshots")
    os.makedirs(shots, exist_ok=True)
    path = walkthrough_page(html_dir)
    png = os.path.join(shots, "walkthrough-narrative.png")
    if os.path.exists(png):
        os.unlink(png)
    proc = chromium_run(["--window-size=1280,3000", "--virtual-time-budget=15000",
                         "--screenshot=" + png, "file://" + path])
    assert os.path.exists(png), proc.stderr[-2000:]
    with open(png, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 3000)


# -- the plotting function ------------------------------------------------------------

def _svgplot():
    sys.path.insert(0, os.path.join(DOCS, "_ext"))
    try:
        import svgplot
    finally:
        sys.path.pop(0)
    return svgplot


def test_bar_chart_is_deterministic_and_draws_what_it_is_given():
    svgplot = _svgplot()
    values = {("2.7", "stdlib"): 250.0, ("2.7", "compat"): 0.5, ("3.13", "stdlib"): 251.0}
    one = svgplot.bar_chart("shutdown", ["2.7", "3.13"], ["stdlib", "compat"], values, "ms",
                            reference=(5, "target <= 5 ms"))
    assert one == svgplot.bar_chart("shutdown", ["2.7", "3.13"], ["stdlib", "compat"], dict(values),
                                    "ms", reference=(5, "target <= 5 ms"))
    assert one.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="760" height="300"')
    # One bar per measured pair, none for 3.13 compat (not measured).
    assert re.findall(r"<title>([^<]*)</title></rect>", one) == [
        "2.7, stdlib: 250 ms", "2.7, compat: 0.5 ms", "3.13, stdlib: 251 ms"]
    assert "target &lt;= 5 ms" in one
    assert one.count('stroke-dasharray="6 4"') == 2  # the line and its legend entry


@pytest.mark.parametrize("groups, series, values, message", [
    ([], ["a"], {}, "at least one group"),
    (["2.7"], ["a"], {}, "no values"),
    (["2.7"], ["a"], {("2.7", "a"): -1.0}, "negative value"),
])
def test_bar_chart_refuses_bad_input(groups, series, values, message):
    with pytest.raises(ValueError, match=message):
        _svgplot().bar_chart("t", groups, series, values, "ms")


# -- the narrative's notes on measured behaviour and recorded outputs ---------------

def _compatdocs():
    sys.path.insert(0, os.path.join(DOCS, "_ext"))
    try:
        import compatdocs
    finally:
        sys.path.pop(0)
    return compatdocs


def test_behaviour_notes_mark_each_change_with_its_upstream_issue():
    notes = _compatdocs().behaviour_notes(
        ["2.7", "3.6", "3.7", "3.8", "3.13"],
        [("reaped", "reaped: 0 of 201 kept"), ("reaped", "reaped: 0 of 201 kept"),
         ("kept", "all kept: 201 of 201 kept"), ("reaped", "reaped: 1 of 201 kept"),
         ("reaped", "reaped: 1 of 201 kept")],
        [("3.7", "bpo-31233"), ("3.8", "bpo-37193")])
    assert notes == [
        "- Changed in 3.8 (bpo-37193), on 3.8-3.13: reaped: 1 of 201 kept",
        "- Changed in 3.7 (bpo-31233): all kept: 201 of 201 kept",
        "- On 2.7-3.6: reaped: 0 of 201 kept",
    ]
    # 2.7 -> 3.6 is not one release: "On", with the issue and the release it names.
    notes = _compatdocs().behaviour_notes(
        ["2.7", "3.6", "3.13"], [("no", "never"), ("yes", "called"), ("yes", "called")],
        [("3.3", "bpo-11109")])
    assert notes == ["- On 3.6-3.13 (bpo-11109, since 3.3): called", "- On 2.7: never"]
    # Same key, different words once figures are masked: two outcomes.
    notes = _compatdocs().behaviour_notes(
        ["2.7", "3.6"], [("bytes", "bytes (str)"), ("bytes", "bytes (bytes)")])
    assert notes == ["- On 3.6: bytes (bytes)", "- On 2.7: bytes (str)"]


def test_example_output_is_shown_once_with_the_differences_marked():
    lines = _compatdocs().example_output_blocks(
        [("2.7", "Thread-2: one\nThread-3: two\n"), ("3.7", "Thread-2: one\nThread-3: two\n"),
         ("3.10", "Thread-2 (p): one\nThread-3 (p): two\n"),
         ("3.13", "Thread-2 (p): one\nThread-3 (p): two\n")], "3.13")
    assert lines == [
        ".. code-block:: text",
        "   :caption: Output on 3.10-3.13 (recorded when this site was built)",
        "",
        "   Thread-2 (p): one",
        "   Thread-3 (p): two",
        "",
        "On 2.7-3.7 the output differs:",
        "",
        ".. code-block:: text",
        "",
        "   line 1: Thread-2: one",
        "   line 2: Thread-3: two",
        "",
    ]


# -- who calls each step: from the recording (issue 12, item 4) --------------------


def _prose(text):
    """*text* with the spaces that inline markup leaves before punctuation taken out."""
    return re.sub(r"\( ", "(", re.sub(r" ([,.;:)])", r"\1", text))


def _page_text(html_dir, series):
    path = os.path.join(html_dir, "walkthrough", "%s.html" % series)
    assert os.path.isfile(path), "no reference page for Python %s" % series
    return _prose(text_of(path))


_DO_GET = (r"HelloHTTPHandler\.do_GET is defined in examples\.py at line \d+; step \d+, "
           r"BaseHTTPRequestHandler\.handle_one_request, calls it at line \d+ as method\(\), in "
           r"the main thread \(MainThread\)\.")


@pytest.mark.parametrize("series, case, pattern", [
    # 2.7 reports the LAST line of a multi-line call: the whole statement is named.
    ("2.7", "serve_forever calls _eintr_retry (a call over two lines)",
     r"_eintr_retry is defined in SocketServer\.py at line \d+; step \d+, "
     r"BaseServer\.serve_forever, calls it at lines (\d+)-(\d+), in the main thread "
     r"\(MainThread\)\."),
    ("2.7", "select.select, C code, calls fileno()",
     r"TCPServer\.fileno is defined in SocketServer\.py at line \d+; C code calls it: step \d+, "
     r"_eintr_retry, calls select\.select at line \d+, which calls it back, in the main thread "
     r"\(MainThread\)\."),
    ("2.7", "handle_one_request calls do_GET through a variable", _DO_GET),
    ("3.13", "selectors (not recorded) calls fileno()",
     r"TCPServer\.fileno is defined in socketserver\.py at line \d+; _fileobj_to_fd in "
     r"selectors\.py, a module that is not recorded, calls it at line \d+ while step \d+, "
     r"BaseServer\.serve_forever, runs, in the main thread \(MainThread\)\."),
    ("3.13", "handle_one_request calls do_GET through a variable", _DO_GET),
])
def test_callers_are_said_from_the_recording(html_dir, series, case, pattern):
    if series not in walkthrough_versions():
        pytest.skip("Python %s was not recorded" % series)
    text = _page_text(html_dir, series)
    found = re.search(pattern, text)
    assert found, "the Python %s page does not say: %s" % (series, case)
    if found.groups():
        first, last = (int(n) for n in found.groups())
        assert last == first + 1, "the whole two-line call is named"
    # The old guess (the callee's name on the caller's line) said this of both.
    assert "called from code outside the recorded modules" not in text


def test_the_changelog_tells_not_called_from_gone(html_dir):
    text = _prose(text_of(os.path.join(html_dir, "changes.html")))
    assert re.search(r"ForkingMixIn\.process_request no longer calls "
                     r"ForkingMixIn\.collect_children, which still exists \(source, lines "
                     r"\d+-\d+\); the recorded run calls it from .{0,80}ForkingMixIn\."
                     r"service_actions", text)
    assert re.search(r"_eintr_retry is gone: on 2\.7\.\d+ BaseServer\.serve_forever called it",
                     text)
    # Prose, not tables of rows that say "same".
    with open(os.path.join(html_dir, "changes.html"), encoding="utf-8") as f:
        assert "<table" not in f.read()


def test_every_upstream_issue_of_the_table_is_cited_where_its_change_is_shown(html_dir):
    # analysis.upstream cites an issue only next to a change computed in its
    # release's range: an entry whose change the recordings do not show is
    # cited nowhere, and fails here.
    from analysis import upstream

    def key(version):
        return tuple(int(x) for x in version.split("."))

    versions = walkthrough_versions()
    shown = _prose(text_of(os.path.join(html_dir, "changes.html"))) + " " + notes_text(
        narrative_path(html_dir))
    missing = sorted(set(
        "%s (%s, %s)" % (issue, name, release) for name, release, issue in upstream.CHANGES
        if key(versions[0]) < key(release) <= key(versions[-1]) and issue not in shown))
    assert missing == []
    # The source notes of the narrative cite theirs.
    notes = notes_text(narrative_path(html_dir))
    if "3.6" in versions and "3.7" in versions:
        assert re.search(r"Changed in 3\.7 \(bpo-33540\)", notes)
    if "3.7" in versions and "3.8" in versions:
        assert re.search(r"Changed in 3\.8 \(bpo-37193\)", notes)
