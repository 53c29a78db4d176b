"""An upper-casing echo server and its client, for Python 2.7 and 3.x.

    python upper_echo.py serve 9999          # serve until Ctrl-C
    python upper_echo.py send 9999 hello     # prints HELLO
    python upper_echo.py --demo              # serve on a free port, send, stop
"""
from __future__ import print_function

import socket
import sys
import threading

try:
    import socketserver                    # Python 3
except ImportError:
    import SocketServer as socketserver    # Python 2


class UpperHandler(socketserver.StreamRequestHandler):
    """Send every line back upper-cased until the client closes."""

    def handle(self):
        while True:
            line = self.rfile.readline(65537)   # bytes on 3, str (bytes) on 2
            if not line:                        # empty: the client closed
                break
            self.wfile.write(line.upper())


def send(port, text):
    """Send one line, return the reply line as text."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(text.encode("utf-8") + b"\n")
        reply = sock.makefile("rb").readline()
    finally:
        sock.close()
    return reply.decode("utf-8").rstrip("\n")


def main(argv):
    if argv[:1] == ["--demo"]:
        server = socketserver.TCPServer(("127.0.0.1", 0), UpperHandler)
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            print(send(server.server_address[1], "hello"))
        finally:
            server.shutdown()          # from another thread than serve_forever's
            thread.join(10)
            server.server_close()
    elif argv[:1] == ["serve"]:
        server = socketserver.TCPServer(("127.0.0.1", int(argv[1])), UpperHandler)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    elif argv[:1] == ["send"]:
        print(send(int(argv[1]), " ".join(argv[2:])))
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
