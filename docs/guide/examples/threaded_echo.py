"""A threaded echo server whose replies name the worker thread.

Each client gets its own thread (``ThreadingTCPServer``), so a slow client does
not hold up the others; the reply says which thread served it::

    python threaded_echo.py --port 9998
    printf 'hi\\n' | nc 127.0.0.1 9998      # -> Thread-1 (process_request_thread): hi

Text in, text out: :class:`compatserver.TextStreamRequestHandler` decodes
UTF-8 lines (``unicode`` on 2.7, ``str`` on 3) with a bounded line length.
"""
from __future__ import print_function

import argparse
import sys
import threading

import compatserver


class NamedEchoHandler(compatserver.TextStreamRequestHandler):
    """Echo each line, prefixed with the name of the thread serving it."""

    max_line_length = 4096

    def handle(self):
        name = threading.current_thread().name
        for line in self.lines():
            self.write(u"%s: %s" % (name, line))


class EchoServer(compatserver.ThreadingTCPServer):
    # Handler threads do not keep the process alive at exit, and
    # server_close() waits at most 5 s for those still running.
    daemon_threads = True
    block_on_close_timeout = 5.0
    allow_reuse_address = True


def make_server(host="127.0.0.1", port=0):
    return EchoServer((host, port), NamedEchoHandler)


def main(argv=None):
    parser = argparse.ArgumentParser(description="threaded echo server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9998, help="0 picks a free port")
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
