"""A server that serves until Ctrl-C, as many do: here the client interrupts it after one request."""
import socket
import threading

try:
    from _thread import interrupt_main
except ImportError:  # Python 2
    from thread import interrupt_main

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver


class Once(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline())


class Server(socketserver.ThreadingTCPServer):
    # The Ctrl-C comes once the loop is past the request: inside process_request
    # (still waiting in Thread.start() on 2.7), 2.7's _handle_request_noblock
    # would swallow it with its bare except.
    handed_over = threading.Event()

    def process_request(self, request, client_address):
        socketserver.ThreadingTCPServer.process_request(self, request, client_address)
        self.handed_over.set()


server = Server(("127.0.0.1", 0), Once)


def client():
    sock = socket.create_connection(server.server_address, timeout=5)
    sock.sendall(b"hi\n")
    sock.makefile("rb").readline()
    sock.close()
    server.handed_over.wait(5)
    # What a user's Ctrl-C does: KeyboardInterrupt in the main thread.
    interrupt_main()


threading.Thread(target=client, name="client").start()
try:
    server.serve_forever(poll_interval=0.05)
finally:
    server.server_close()
