"""Serve in a background thread, talk to the server, stop it: the whole life cycle.

Runs unchanged on Python 2.7 and 3.6-3.13::

    python background.py hello world        # prints HELLO WORLD, then exits
"""
from __future__ import print_function

import socket
import sys
import threading

import compatserver


class Upper(compatserver.StreamRequestHandler):
    """Reply to each line with the same line upper-cased."""

    def handle(self):
        while True:
            line = self.rfile.readline(65536)   # bounded; b"" means the client closed
            if not line:
                break
            self.wfile.write(line.upper())


def main(argv):
    words = " ".join(argv) or "hello"
    server = compatserver.ThreadingTCPServer(("127.0.0.1", 0), Upper)   # port 0: a free port
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        client = socket.create_connection(server.server_address, timeout=10)
        try:
            client.sendall(words.encode("utf-8") + b"\n")
            reply = client.makefile("rb")
            print(reply.readline().decode("utf-8").rstrip("\n"))
            reply.close()
        finally:
            client.close()
    finally:
        server.shutdown()       # returns within milliseconds, on every version
        server.server_close()   # waits for the handler threads still running
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
