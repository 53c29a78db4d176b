"""A forking server in the main thread; a client thread sends one line, then shuts it down."""
import socket
import threading
import warnings

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver

# 3.12+ warns that forking a process with threads may deadlock; the client
# thread is idle in recv() while the child runs the handler.
warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)


class ForkedHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline()[::-1])


server = socketserver.ForkingTCPServer(("127.0.0.1", 0), ForkedHandler)


def client():
    try:
        sock = socket.create_connection(server.server_address, timeout=5)
        sock.sendall(b"abc\n")
        sock.makefile("rb").readline()
        sock.close()
    finally:
        server.shutdown()


thread = threading.Thread(target=client, name="client")
thread.start()
server.serve_forever(poll_interval=0.05)
thread.join(5)
server.server_close()
