"""Record what each worked example of the walkthrough prints, on this interpreter.

``make docs`` runs this under every interpreter (``.ci/docs.sh``, step 3)
next to the compatibility probes: each ``docs/walkthrough/examples/*.py``
is run with ``--demo`` (it serves on port 0, talks to itself and exits) in
a child process with a time limit, and its exit status, standard output
and standard error are written to one JSON file.  The walkthrough shows
the output once, with what differs on other interpreters marked
(``example-output`` in ``docs/_ext/compatdocs.py``).

Usage: python outputs.py --out FILE [--examples DIR] [--timeout SECONDS]

Runs on Python 2.7 and 3.x.
"""
from __future__ import print_function

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "walkthrough", "examples")


def run(path, timeout):
    """``{"status": int or "timeout", "stdout": str, "stderr": str}`` of one demo."""
    proc = subprocess.Popen([sys.executable, path, "--demo"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=os.path.dirname(path))
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        out, err = proc.communicate()
    finally:
        timer.cancel()
    status = proc.returncode if proc.returncode >= 0 else "timeout"
    return {"status": status, "stdout": out.decode("utf-8", "replace"),
            "stderr": err.decode("utf-8", "replace")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--examples", default=EXAMPLES, help="folder of the examples")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds each demo may take (default 60)")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.examples):
        print("outputs.py: no such folder: %s" % args.examples, file=sys.stderr)
        return 2
    names = sorted(n for n in os.listdir(args.examples) if n.endswith(".py"))
    if not names:
        print("outputs.py: no examples (*.py) in %s" % args.examples, file=sys.stderr)
        return 2
    report = {"python": platform.python_version(), "examples": {}}
    failed = []
    for name in names:
        result = run(os.path.join(args.examples, name), args.timeout)
        report["examples"][name] = result
        if result["status"] != 0:
            failed.append("%s (exit status %s)" % (name, result["status"]))
    text = json.dumps(report, indent=1, sort_keys=True)
    with io.open(args.out, "w", encoding="utf-8") as stream:
        stream.write(text if isinstance(text, type(u"")) else text.decode("utf-8"))
    if failed:
        print("outputs.py: failed on Python %s: %s" % (report["python"], ", ".join(failed)),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
