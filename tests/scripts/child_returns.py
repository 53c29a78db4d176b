"""A script that forks a child which leaves by the script's end, not os._exit().

The child closes its copy of the server and exits with sys.exit(3) when the
script is given "exit", or falls off the end of the script otherwise; the
parent waits for it and prints the child's exit status.
"""
import os
import sys

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        pass


server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
pid = os.fork()
if pid == 0:
    server.server_close()
    if sys.argv[1:] == ["exit"]:
        sys.exit(3)
else:
    _, status = os.waitpid(pid, 0)
    server.server_close()
    print("child status %d" % (os.WEXITSTATUS(status),))
