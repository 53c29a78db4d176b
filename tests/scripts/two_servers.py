"""Two servers, TCP and UDP, each serving in its own thread; one request each."""
import socket
import threading

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver


class EchoHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline())


class DatagramEcho(socketserver.DatagramRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.read())


tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), EchoHandler)
udp = socketserver.UDPServer(("127.0.0.1", 0), DatagramEcho)
threads = [threading.Thread(target=s.serve_forever, args=(0.05,)) for s in (tcp, udp)]
for t in threads:
    t.start()
conn = socket.create_connection(tcp.server_address, timeout=5)
conn.sendall(b"tcp\n")
assert conn.makefile("rb").readline() == b"tcp\n"
conn.close()
dgram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dgram.settimeout(5)
dgram.sendto(b"udp", udp.server_address)
assert dgram.recv(100) == b"udp"
dgram.close()
for s in (tcp, udp):
    s.shutdown()
for t in threads:
    t.join(5)
for s in (tcp, udp):
    s.server_close()
