"""A UDP server in a thread, a datagram from the main thread."""
import socket
import threading

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver


class Shout(socketserver.DatagramRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.read().upper())


server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Shout)
thread = threading.Thread(target=server.serve_forever, args=(0.05,))
thread.start()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(5)
sock.sendto(b"hi", server.server_address)
sock.recv(100)
sock.close()
server.shutdown()
thread.join(5)
server.server_close()
