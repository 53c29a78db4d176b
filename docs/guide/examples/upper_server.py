"""An upper-casing echo server: every line a client sends comes back in capitals.

Runs unchanged on Python 2.7 and 3.6-3.13::

    python upper_server.py --port 9999      # Ctrl-C stops it
    python upper_client.py --port 9999 hello world

The classic tutorial version reads one ``recv(1024)`` and replies once; this
one serves a client for as long as it stays connected, line by line, because a
TCP stream has no message boundaries: one ``recv()`` may return half a line or
three lines.
"""
from __future__ import print_function

import argparse
import sys

import compatserver

#: The longest line the server accepts, in bytes (newline included).
MAX_LINE = 65536


class UpperHandler(compatserver.StreamRequestHandler):
    """Reply to each line with the same line upper-cased."""

    def handle(self):
        while True:
            # Bounded: a client that never sends a newline cannot make the
            # server buffer without limit.  b"" means the client closed.
            line = self.rfile.readline(MAX_LINE)
            if not line:
                break
            # bytes on every version (str on 2.7 is bytes): upper() only
            # changes ASCII letters, so any encoding passes through intact.
            self.wfile.write(line.upper())


def make_server(host="127.0.0.1", port=0):
    """A synchronous TCP server: one client at a time, as in the tutorial."""
    return compatserver.TCPServer((host, port), UpperHandler)


def main(argv=None):
    parser = argparse.ArgumentParser(description="upper-casing echo server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999, help="0 picks a free port")
    args = parser.parse_args(argv)
    with make_server(args.host, args.port) as server:
        print("serving on %s:%d" % server.server_address[:2])
        sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
