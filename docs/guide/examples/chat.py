"""A chat server: every line a client sends is broadcast to every other client.

::

    python chat.py --port 9997
    nc 127.0.0.1 9997          # in two terminals: type in one, read in the other

A client that joins is told who is there; everyone hears when someone joins or
leaves.  A client that vanishes (closed, reset) is dropped at once and its
thread ends: the set of clients never holds a dead connection, and a broadcast
never waits on one client forever (each connection has a send timeout).
"""
from __future__ import print_function

import argparse
import socket
import sys
import threading

import compatserver


class ChatHandler(compatserver.TextStreamRequestHandler):
    """One connected client: read lines, broadcast them, clean up on leaving."""

    max_line_length = 4096
    # Bounds every read and every send on this connection (seconds): a
    # client that stops reading cannot block the broadcasts to the others.
    timeout = 60

    def setup(self):
        super(ChatHandler, self).setup()
        # Serialises writes to this client (two broadcasts never interleave
        # their bytes) and guards ``gone``.
        self.send_lock = threading.Lock()
        self.gone = False
        self.name = u"%s:%d" % self.client_address[:2]

    def handle(self):
        with self.send_lock:
            # The welcome comes first: a broadcast that already finds this
            # client in the set waits for this lock.
            others = self.server.join(self)
            names = u", ".join(sorted(c.name for c in others)) or u"nobody"
            self._send(u"* welcome %s; here: %s\n" % (self.name, names))
        # Outside the lock: a broadcast takes the other clients' locks, and
        # two clients joining at once must not wait for each other's.  Only
        # those who were there hear it; who joins later sees us listed.
        self.server.broadcast(u"* %s joined\n" % self.name, targets=others)
        try:
            for line in self.lines():
                text = line.rstrip(u"\r\n")
                if text:
                    self.server.broadcast(u"%s: %s\n" % (self.name, text), sender=self)
        except socket.error as exc:
            # A reset is one way of leaving, not an error to report.
            # is_disconnect() recognises it on 2.7 (socket.error + errno)
            # and on 3.x (ConnectionResetError) alike.
            if not compatserver.is_disconnect(exc):
                raise
        finally:
            # Runs however the client left: closed, reset, over-long line.
            self.server.leave(self)

    def finish(self):
        # After this the server closes the socket.  Another client's thread
        # may still hold this handler from a broadcast it started earlier:
        # marking it gone under the send lock means such a send either
        # finished before or never touches the closed socket.
        with self.send_lock:
            self.gone = True
        super(ChatHandler, self).finish()

    def send(self, text):
        """Send to this client; return False when it is gone."""
        with self.send_lock:
            return self._send(text)

    def _send(self, text):
        # Called with send_lock held.
        if self.gone:
            return False
        try:
            self.write(text)
            return True
        except socket.error as exc:
            if compatserver.is_disconnect(exc) or isinstance(exc, socket.timeout):
                return False
            raise


class ChatServer(compatserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close_timeout = 5.0
    allow_reuse_address = True

    def __init__(self, *args, **kwargs):
        self.clients = set()
        self.clients_lock = threading.Lock()
        super(ChatServer, self).__init__(*args, **kwargs)

    def join(self, client):
        """Add ``client``; return the clients that were already there."""
        with self.clients_lock:
            others = list(self.clients)
            self.clients.add(client)
        return others

    def leave(self, client):
        with self.clients_lock:
            self.clients.discard(client)
        self.broadcast(u"* %s left\n" % client.name, sender=client)

    def server_close(self):
        # Wake every client's thread (its read returns end-of-stream, it
        # leaves), so the wait for handler threads below ends at once.
        with self.clients_lock:
            clients = list(self.clients)
        for client in clients:
            try:
                client.connection.shutdown(socket.SHUT_RDWR)
            except socket.error:
                pass  # already gone
        super(ChatServer, self).server_close()

    def broadcast(self, text, sender=None, targets=None):
        """Send ``text`` to every client but ``sender`` (or to ``targets``)."""
        if targets is None:
            with self.clients_lock:
                targets = [c for c in self.clients if c is not sender]
        for client in targets:
            if not client.send(text):
                # Gone: drop it now; its own thread ends on its next read.
                with self.clients_lock:
                    self.clients.discard(client)


def make_server(host="127.0.0.1", port=0):
    return ChatServer((host, port), ChatHandler)


def main(argv=None):
    parser = argparse.ArgumentParser(description="chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9997, help="0 picks a free port")
    args = parser.parse_args(argv)
    with make_server(args.host, args.port) as server:
        print("serving on %s:%d" % server.server_address[:2])
        sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
