"""Sphinx configuration of the compatserver site (``make docs``).

The site is built with warnings as errors and nitpicky references
(``sphinx-build -W -n``), so a broken reference, a missing trace or a probe
that did not run fails the build instead of shipping a page that lies.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The docs describe this checkout, never an older installed copy.
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(HERE, "_ext"))

import compatserver  # noqa: E402

project = "compatserver"
author = "the compatserver maintainers"
copyright = "2026, " + author
release = compatserver.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
    # The walkthrough: directives (mro, callflow, sequence, flowdiff ...) and
    # the per-interpreter pages, generated from the recorded traces.
    "analysis.sphinxext",
    # This site's own: the compatibility matrix, the benchmark plots, offline
    # links to the standard library (docs/_ext/compatdocs.py).
    "compatdocs",
]

root_doc = "index"
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
templates_path = []
# Recorded inputs, written by .ci/docs.sh before Sphinx runs.
compatserver_trace_dir = os.path.join(HERE, "_generated", "traces")
compatdocs_probe_dir = os.path.join(HERE, "_generated", "probes")
compatserver_probe_dir = compatdocs_probe_dir  # the changelog links measured changes
# What each worked example printed under each interpreter (docs/_tools/outputs.py).
compatdocs_output_dir = os.path.join(HERE, "_generated", "outputs")
# make bench's figures; COMPATDOCS_BENCH_RESULTS points at another run's file.
compatdocs_bench_results = (os.environ.get("COMPATDOCS_BENCH_RESULTS")
                            or os.path.join(ROOT, "benchmarks", "results.json"))

# Diagrams: SVG from Debian's Graphviz, so they scale and stay searchable.
graphviz_output_format = "svg"
graphviz_dot_args = ["-Gfontname=DejaVu Sans", "-Nfontname=DejaVu Sans", "-Efontname=DejaVu Sans"]

# autodoc: members in source order, the override contracts in the docstrings.
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autoclass_content = "both"

# Nitpicky without the network: the build machine has no route to
# docs.python.org, so intersphinx cannot fetch Python's inventory.  The
# ``compatdocs`` extension links references to standard-library names
# (``socketserver.TCPServer``, ``threading.Thread``, ``OSError`` ...) to their
# pages on docs.python.org instead; every other unresolved reference is still
# a warning, hence an error.
nitpicky = True

# Exact text: the matrix quotes error messages ('__exit__'), which must not
# turn into typographic quotes.
smartquotes = False

pygments_style = "sphinx"
html_theme = "alabaster"
html_title = "compatserver " + release
html_theme_options = {
    "description": "one socketserver for Python 2.7 and 3.6-3.13, and how it really works",
    "fixed_sidebar": True,
    # 1240 px: a 950 px text column, where every diagram fits at its natural
    # size (at most 900 px wide), with no sideways scroll in a 1280 px window.
    "page_width": "1240px",
    "body_max_width": "none",
    "sidebar_width": "230px",
}
html_static_path = ["_static"]
# Written as the HTML builder stores it, or Sphinx sees a changed configuration
# on every build and reads a page again.
html_css_files = [("compatdocs.css", {"priority": 800})]
html_last_updated_fmt = "%Y-%m-%d %H:%M UTC"
