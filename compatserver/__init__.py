"""socketserver that behaves the same on Python 2.7 and 3.6-3.13.

``import compatserver`` replaces ``import socketserver`` (``SocketServer`` on
Python 2.7): the same names, each a subclass of the running stdlib's class,
with one behaviour on every interpreter.  The stdlib module itself is
:data:`compatserver.stdlib`.

``__all__`` lists every public name of the stdlib module (``BaseServer``
included, which Python 2.7's ``__all__`` lacks), the Unix and forking
combinations wherever ``socket.AF_UNIX`` and ``os.fork`` exist, and the
additions :class:`TextStreamRequestHandler`,
:class:`TextDatagramRequestHandler`, :exc:`LineTooLong`,
:exc:`ClientDecodeError` and :func:`is_disconnect`, :func:`install` /
:func:`uninstall` with
:exc:`InstallWarning` (compatserver under the stdlib's name, for code that
imports socketserver itself), :class:`LoopMixIn` (compatserver's loop for any
server class built on the stdlib's socketserver), and the thread-pool servers (:class:`ThreadPoolMixIn`,
:class:`ThreadPoolTCPServer`, :class:`ThreadPoolUDPServer` and, with
``AF_UNIX``, :class:`ThreadPoolUnixStreamServer` and
:class:`ThreadPoolUnixDatagramServer`).
"""
from ._compat import stdlib  # noqa: F401 - compatserver.stdlib, the stdlib module
from ._handlers import (
    BaseRequestHandler, ClientDecodeError, DatagramRequestHandler,
    LineTooLong, StreamRequestHandler, TextDatagramRequestHandler,
    TextStreamRequestHandler, is_disconnect)
from ._install import InstallWarning, install, uninstall
from ._loop import LoopMixIn  # noqa: F401 - in __all__, built from the parts
from ._servers import *  # noqa: F401,F403 - the names of _servers.__all__
from ._pool import *  # noqa: F401,F403 - the names of _pool.__all__
from . import _pool, _servers

__version__ = "0.1.0"

__all__ = ["LoopMixIn"] + _servers.__all__ + _pool.__all__ + [
    "BaseRequestHandler", "StreamRequestHandler", "DatagramRequestHandler",
    "TextStreamRequestHandler", "TextDatagramRequestHandler", "LineTooLong",
    "ClientDecodeError", "is_disconnect", "install", "uninstall",
    "InstallWarning",
]

# Public objects say they come from here: this is where users (and pickle,
# and Sphinx autodoc) find them.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(__name__ + "."):
        _obj.__module__ = __name__
del _name, _obj
