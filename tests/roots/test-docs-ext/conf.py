# The docs extension's test root: fixture traces are written by the test into
# _traces/ (their "file" fields must point at this copy's socketserver.py).
extensions = ["analysis.sphinxext"]
compatserver_trace_dir = "_traces"
graphviz_output_format = "svg"
exclude_patterns = ["_build"]
