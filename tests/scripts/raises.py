"""A script that fails before it serves anything."""


def configure(port):
    raise ValueError("bad port %r" % (port,))


configure("eighty")
