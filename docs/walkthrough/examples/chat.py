"""A chat server: each line a client sends goes to every other client (2.7 and 3.x).

    python chat.py serve 9997       # then: nc 127.0.0.1 9997, in two terminals
    python chat.py --demo           # two clients chat, one leaves, then stop
"""
from __future__ import print_function

import socket
import sys
import threading

try:
    import socketserver
except ImportError:
    import SocketServer as socketserver


class ChatHandler(socketserver.StreamRequestHandler):
    """One client: register, relay its lines, unregister when it leaves."""

    def setup(self):
        # Not super(): 2.7's classes are old-style.
        socketserver.StreamRequestHandler.setup(self)
        # A client that stops reading cannot block the others.
        self.request.settimeout(60)
        self.send_lock = threading.Lock()   # guards wfile: one sender at a time
        self.closed = False
        with self.server.lock:
            self.server.clients.add(self)

    def handle(self):
        with self.send_lock:                    # others may already be sending to us
            self.wfile.write(b"* welcome\n")    # registered by now: the client may talk
        self.broadcast(b"* joined\n")
        while True:
            try:
                line = self.rfile.readline(4097)
            except (socket.error, OSError):     # reset or timed out: treat as gone
                break
            if not line:
                break
            self.broadcast(line)

    def finish(self):
        with self.server.lock:                  # forget the client first, then close
            self.server.clients.discard(self)
        self.broadcast(b"* left\n")
        with self.send_lock:                    # no broadcast is writing to us now
            self.closed = True
            try:
                socketserver.StreamRequestHandler.finish(self)
            except (socket.error, OSError):     # the client vanished mid-flush
                pass

    def broadcast(self, line):
        who = ("%s:%d: " % self.client_address).encode("ascii")
        with self.server.lock:
            others = [c for c in self.server.clients if c is not self]
        for other in others:
            with other.send_lock:
                if other.closed:                # left after our snapshot
                    continue
                try:
                    other.wfile.write(who + line)
                    other.wfile.flush()
                except (socket.error, OSError):
                    pass                        # gone: its own thread cleans it up


class ChatServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler):
        socketserver.TCPServer.__init__(self, address, handler)
        self.clients = set()
        self.lock = threading.Lock()


def main(argv):
    if argv[:1] == ["--demo"]:
        server = ChatServer(("127.0.0.1", 0), ChatHandler)
        # Its clients have left: let the handlers finish before the program
        # exits (daemon threads are torn down mid-request at exit on 2.7).
        server.daemon_threads = False
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            address = server.server_address
            alice = socket.create_connection(address, timeout=10)
            alice_in = alice.makefile("rb")
            # The welcome: alice is registered.
            print(alice_in.readline().decode().strip())
            bob = socket.create_connection(address, timeout=10)
            # bob joined:
            print(alice_in.readline().split(b": ", 1)[1].decode().strip())
            bob.sendall(b"hi alice\n")
            print(alice_in.readline().split(b": ", 1)[1].decode().strip())
            bob.close()
            # bob left:
            print(alice_in.readline().split(b": ", 1)[1].decode().strip())
            alice_in.close()
            alice.close()
        finally:
            server.shutdown()
            thread.join(10)
            server.server_close()
    elif argv[:1] == ["serve"]:
        server = ChatServer(("127.0.0.1", int(argv[1])), ChatHandler)
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
