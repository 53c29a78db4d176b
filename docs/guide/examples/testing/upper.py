"""The server a project ships: upper-cases every line a client sends."""
import compatserver


class Upper(compatserver.TextStreamRequestHandler):
    def handle(self):
        for line in self.lines():
            self.write(line.upper())
