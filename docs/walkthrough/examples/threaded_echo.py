"""A threaded echo server whose replies name the worker thread (2.7 and 3.x).

    python threaded_echo.py serve 9998
    python threaded_echo.py --demo     # two clients at once, then stop
"""
from __future__ import print_function

import socket
import sys
import threading

try:
    import socketserver
except ImportError:
    import SocketServer as socketserver


class NamedEchoHandler(socketserver.StreamRequestHandler):
    """Echo each line, prefixed with the name of the thread serving it."""

    def handle(self):
        name = threading.current_thread().name.encode("ascii", "replace")
        while True:
            line = self.rfile.readline(65537)
            if not line:
                break
            self.wfile.write(name + b": " + line)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """ThreadingTCPServer, spelled out: the mixin first, so its process_request wins."""

    daemon_threads = True       # do not keep the program alive for a stuck client
    allow_reuse_address = True


def ask(port, text):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(text.encode("ascii") + b"\n")
        return sock.makefile("rb").readline().decode("ascii").rstrip("\n")
    finally:
        sock.close()


def main(argv):
    if argv[:1] == ["--demo"]:
        server = Server(("127.0.0.1", 0), NamedEchoHandler)
        # Its clients have left: let the handlers finish before the program
        # exits (daemon threads are torn down mid-request at exit on 2.7).
        server.daemon_threads = False
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            port = server.server_address[1]
            replies = [ask(port, "one"), ask(port, "two")]
        finally:
            server.shutdown()
            thread.join(10)
            server.server_close()
        for reply in replies:
            print(reply)
    elif argv[:1] == ["serve"]:
        server = Server(("127.0.0.1", int(argv[1])), NamedEchoHandler)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
