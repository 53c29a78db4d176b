# A user's own Sphinx project, documenting their own server (tests/scripts/
# thread_server.py stands for it).  Before the build, from this folder:
#
#   python -m analysis record ../../scripts/thread_server.py --out _traces
#   python -m analysis walkthrough ../../scripts/thread_server.py --out server
#
# The first writes the recording the directives of directives.rst read
# (_traces/thread_server/X.Y.Z.*.json); the second writes the walkthrough
# page that index.rst lists (server/thread_server.rst) and its SVG diagrams.
# tests/test_docs_user_py3.py does both, then builds with -W -n.
project = "My server"
extensions = ["analysis.sphinxext"]
compatserver_trace_dir = "_traces"
compatserver_default_scenario = "thread_server"
compatserver_walkthrough_template = ""  # no per-interpreter pages in this project
graphviz_output_format = "svg"
exclude_patterns = ["_build"]
