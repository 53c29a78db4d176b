"""A handler kept in its own module, beside the script that serves it (imports_handler.py)."""
try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver


class Shouter(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline().upper())
