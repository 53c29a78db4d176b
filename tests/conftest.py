"""Project-wide pytest configuration.

Files whose name ends in ``_py3.py`` use Python-3-only syntax and are kept
away from Python 2.7 here rather than guarded inside each file.
"""
import sys

collect_ignore_glob = []
if sys.version_info[0] < 3:  # Python 2
    collect_ignore_glob.append("*_py3.py")
