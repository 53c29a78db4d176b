"""A cut-down socketserver for the docs extension's tests (Python 2 syntax on purpose).

A docstring line that looks like code must not count:
class NotAClass(ThreadingMixIn, TCPServer): pass
"""
import os
import socket


class BaseServer:
    timeout = None

    def __init__(self, server_address, RequestHandlerClass):
        """Constructor.  May be extended, do not override."""
        self.server_address = server_address
        self.RequestHandlerClass = RequestHandlerClass

    def serve_forever(self, poll_interval=0.5):
        """Handle one request at a time until shutdown."""
        while True:
            self._handle_request_noblock()

    def _handle_request_noblock(self):
        request, client_address = self.get_request()
        self.process_request(request, client_address)

    def process_request(self, request, client_address):
        self.finish_request(request, client_address)

    def finish_request(self, request, client_address):
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        print '-'*40


class TCPServer(BaseServer):
    def __init__(self, server_address, RequestHandlerClass):
        BaseServer.__init__(self, server_address, RequestHandlerClass)
        self.socket = socket.socket()

    def get_request(self):
        return self.socket.accept()


if hasattr(os, "fork"):
    class ForkingMixIn:
        def process_request(self, request, client_address):
            os.fork()


class ThreadingMixIn:
    daemon_threads = False

    def process_request(self, request, client_address):
        """Start a new thread to process the request."""
        start_thread(self.process_request_thread)

    def process_request_thread(self, request, client_address):
        self.finish_request(request, client_address)


class ThreadingTCPServer(ThreadingMixIn, TCPServer): pass

if hasattr(os, "fork"):
    class ForkingTCPServer(ForkingMixIn, TCPServer): pass


class BaseRequestHandler:
    def __init__(self, request, client_address, server):
        self.request = request
        self.setup()
        try:
            self.handle()
        finally:
            self.finish()


def _eintr_retry(func, *args):
    return func(*args)


def serve_polling(server, poll_interval=0.5):
    r, w, e = _eintr_retry(select.select, [server], [], [],
                           poll_interval)
    lock = server.lock
    handler = getattr(server, "do_GET")
    handler()
