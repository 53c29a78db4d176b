"""The client of ``upper_server.py``: send each argument as a line, print the replies.

::

    python upper_client.py --port 9999 hello world
    HELLO
    WORLD
"""
from __future__ import print_function

import argparse
import socket
import sys


def upper(lines, host="127.0.0.1", port=9999, timeout=5.0):
    """Send ``lines`` (text) and return the server's replies (text), in order."""
    conn = socket.create_connection((host, port), timeout=timeout)
    try:
        # One makefile each way: readline() then returns whole lines however
        # the bytes were split on the wire.
        reader = conn.makefile("rb")
        replies = []
        for line in lines:
            conn.sendall(line.encode("utf-8") + b"\n")
            reply = reader.readline()
            if not reply:
                raise EOFError("the server closed the connection")
            replies.append(reply.decode("utf-8").rstrip("\n"))
        reader.close()
        return replies
    finally:
        conn.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description="client of upper_server.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("lines", nargs="+", help="lines to send")
    args = parser.parse_args(argv)
    if sys.version_info[0] < 3:  # Python 2: argv is bytes
        args.lines = [line.decode(sys.getfilesystemencoding() or "utf-8") for line in args.lines]
    for reply in upper(args.lines, args.host, args.port):
        print(reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
