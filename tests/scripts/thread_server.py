"""A user's server whose serve_forever() runs in a thread the script starts.

``python thread_server.py [compat]``: the stdlib's socketserver, or
compatserver's with ``compat``.  Binds 127.0.0.1 port 0, sends one line
from the main thread, prints the reply, shuts down; done within seconds.
"""
import socket
import sys
import threading

if sys.argv[1:] == ["compat"]:
    import compatserver as socketserver
else:
    try:
        import socketserver
    except ImportError:  # Python 2
        import SocketServer as socketserver


class UpperHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline().upper())


class QuietServer(socketserver.TCPServer):
    allow_reuse_address = True

    def verify_request(self, request, client_address):
        return client_address[0] == "127.0.0.1"


def main():
    server = QuietServer(("127.0.0.1", 0), UpperHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="serving")
    thread.start()
    sock = socket.create_connection(server.server_address, timeout=5)
    sock.sendall(b"hello\n")
    reply = sock.makefile("rb").readline()
    sock.close()
    server.shutdown()
    thread.join(5)
    server.server_close()
    print(reply.decode("ascii").strip())


if __name__ == "__main__":
    main()
