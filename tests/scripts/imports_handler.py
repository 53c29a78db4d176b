"""A server whose handler comes from a module beside the script (shouting.py)."""
import socket
import threading

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver

from shouting import Shouter

server = socketserver.TCPServer(("127.0.0.1", 0), Shouter)


def client():
    try:
        sock = socket.create_connection(server.server_address, timeout=5)
        sock.sendall(b"hey\n")
        sock.makefile("rb").readline()
        sock.close()
    finally:
        server.shutdown()


thread = threading.Thread(target=client, name="client")
thread.start()
server.serve_forever(poll_interval=0.05)
thread.join(5)
server.server_close()
