"""The classic socketserver tutorial servers, on any Python: ``python -m compatserver``.

::

    python -m compatserver echo|upper|chat [--host 127.0.0.1] [--port N]
                                           [--server sync|threading|forking]

- ``echo`` answers each line with the name of the worker that handled it
  (thread name, and the process id under ``--server forking``);
- ``upper`` answers each line upper-cased;
- ``chat`` greets each client with its name (``* you are HOST:PORT``),
  sends each line to every other client, and tells them when a client joins
  or leaves (it needs shared state: ``sync`` or ``threading``).

It listens on the loopback interface and any free port by default, and prints
the address it is bound to (``listening on HOST:PORT``) first, so that
``--port 0`` is usable.  Ctrl-C stops it cleanly: open connections are shut
down, handler threads and child processes are waited for, exit status 0.
An address that cannot be used is one line on stderr and exit status 1; bad
arguments exit with status 2.
"""
import argparse
import os
import signal
import socket
import sys
import threading

import compatserver

PROG = "python -m compatserver"

SERVERS = {"sync": compatserver.TCPServer,
           "threading": compatserver.ThreadingTCPServer}
if hasattr(compatserver, "ForkingTCPServer"):
    SERVERS["forking"] = compatserver.ForkingTCPServer


class DemoHandler(compatserver.TextStreamRequestHandler):
    """Text lines in UTF-8; undecodable bytes are replaced, not fatal."""

    errors = "replace"

    def setup(self):
        super(DemoHandler, self).setup()
        self.server.track(self)

    def finish(self):
        self.server.forget(self)
        super(DemoHandler, self).finish()

    def lines(self):
        for line in super(DemoHandler, self).lines():
            yield line if line.endswith(u"\n") else line + u"\n"


class EchoHandler(DemoHandler):
    def handle(self):
        worker = threading.current_thread().name
        if isinstance(self.server, getattr(compatserver, "ForkingMixIn", ())):
            worker = "process %d" % os.getpid()
        for line in self.lines():
            self.write(u"%s: %s" % (worker, line))


class UpperHandler(DemoHandler):
    def handle(self):
        for line in self.lines():
            self.write(line.upper())


class ChatHandler(DemoHandler):
    def handle(self):
        name = u"%s:%d" % self.client_address[:2]
        # The newcomer is registered (setup()) and announced before this
        # greeting, so a client that has read it receives every later
        # message and no longer its own announcement race.
        self.server.broadcast(u"* %s joined\n" % name, sender=self)
        self.write(u"* you are %s\n" % name)
        try:
            for line in self.lines():
                self.server.broadcast(u"%s: %s" % (name, line), sender=self)
        finally:
            self.server.broadcast(u"* %s left\n" % name, sender=self)


HANDLERS = {"echo": EchoHandler, "upper": UpperHandler, "chat": ChatHandler}


class DemoServerMixIn(object):
    """Keeps the open connections: for the chat, and to end them on Ctrl-C."""

    allow_reuse_address = True
    daemon_threads = True
    block_on_close_timeout = 5.0

    def server_activate(self):
        self.handlers = set()
        self.handlers_lock = threading.Lock()
        super(DemoServerMixIn, self).server_activate()

    def track(self, handler):
        with self.handlers_lock:
            self.handlers.add(handler)

    def forget(self, handler):
        with self.handlers_lock:
            self.handlers.discard(handler)

    def broadcast(self, text, sender):
        """Send *text* to every client but *sender*; drop clients that left."""
        with self.handlers_lock:
            for handler in list(self.handlers):
                if handler is sender:
                    continue
                try:
                    handler.write(text)
                except socket.error as exc:
                    if not compatserver.is_disconnect(exc):
                        raise
                    self.handlers.discard(handler)

    def end_connections(self):
        """Shut every open connection down, so that its handler sees EOF."""
        with self.handlers_lock:
            handlers = list(self.handlers)
        for handler in handlers:
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except socket.error:
                pass  # already gone


def port_number(text):
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("%r is not a port number (0-65535)" % text)
    return port


def make_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run one of the classic socketserver tutorial servers.")
    parser.add_argument("demo", choices=sorted(HANDLERS),
                        help="echo: name the worker; upper: upper-case each "
                             "line; chat: relay lines to every other client")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=0,
                        help="port to listen on (default: 0, any free port)")
    parser.add_argument("--server", choices=sorted(SERVERS), default="threading",
                        help="how requests are handled (default: threading)")
    return parser


def main(argv=None):
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.demo == "chat" and args.server == "forking":
        parser.error("chat shares its clients between handlers: "
                     "use --server threading or sync")
    server_class = type("DemoServer", (DemoServerMixIn, SERVERS[args.server]), {})
    try:
        server = server_class((args.host, args.port), HANDLERS[args.demo])
    except (socket.error, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        sys.stderr.write("%s: error: cannot listen on %s:%d: %s\n"
                         % (PROG, args.host, args.port, reason))
        return 1
    host, port = server.server_address[:2]
    sys.stdout.write("%s %s (%s) listening on %s:%d\n"
                     % (PROG, args.demo, args.server, host, port))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.stdout.write("stopping\n")
        sys.stdout.flush()
    finally:
        server.end_connections()
        server.server_close()
        for pid in list(getattr(server, "active_children", None) or ()):
            # A child still busy after block_on_close_timeout.
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
