"""Trace your own server: the worked example of the guide's "Trace your own server".

A server of your own: a threading TCP server that only lets the loopback
in, and a handler that answers each line in upper case.  As most scripts
do, it serves in a thread it starts itself and talks to itself from the
main thread; then it shuts down.  Run it traced::

    python -m analysis flow myserver.py

Works on Python 2.7 and 3.6+; binds 127.0.0.1 on a free port.
"""
import socket
import threading

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver


class LoopbackOnly(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def verify_request(self, request, client_address):
        return client_address[0] == "127.0.0.1"


class Upper(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())


def main():
    server = LoopbackOnly(("127.0.0.1", 0), Upper)
    serving = threading.Thread(target=server.serve_forever, name="serving")
    serving.start()
    conn = socket.create_connection(server.server_address, timeout=5)
    conn.sendall(b"hello\n")
    print(conn.makefile("rb").readline().decode("ascii").strip())
    conn.close()
    server.shutdown()
    serving.join(5)
    server.server_close()


if __name__ == "__main__":
    main()
