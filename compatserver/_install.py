"""compatserver under the stdlib's name, for code that imports socketserver.

Libraries that import the stdlib module themselves (``http.server``,
``xmlrpc.server``, ``wsgiref.simple_server``, ``logging.config`` on 3.x;
``BaseHTTPServer``, ``SimpleXMLRPCServer`` ... on 2.7) cannot be told to
import compatserver instead.  :func:`install` puts compatserver into
``sys.modules`` under the stdlib module's name, so every *later* import of it
gets compatserver, and the classes those libraries build on it
(``HTTPServer(socketserver.TCPServer)``) get compatserver's behaviour.

An import that already ran cannot be redone from here: such a module keeps
the stdlib module and classes in its globals.  :func:`install` finds them by
looking at module globals only (never deeper into the object graph, which
could be large and whose objects could do anything when touched) and names
them in one :exc:`InstallWarning`.

compatserver itself keeps working after :func:`install`: it holds the real
stdlib module as :data:`compatserver.stdlib`, bound once at import, and
nothing in it imports the stdlib module by name again.
"""
import inspect
import sys
import threading
import types
import warnings

from ._compat import SIX_MOVES_NAME, STDLIB_NAME, stdlib

__all__ = ["InstallWarning", "install", "uninstall"]

#: "compatserver": the package whose module object install() registers.
_PACKAGE = __name__.rpartition(".")[0]

# install() and uninstall() are check-then-set on sys.modules; the lock makes
# each one atomic with respect to the other when threads call them at once.
_lock = threading.Lock()

# What install() did, for uninstall(): _NOT_INSTALLED, or a pair (what it
# replaced under the stdlib's name: normally the stdlib module, None if the
# name was absent; whether it pinned six.moves.socketserver, see install()).
_NOT_INSTALLED = object()
_done = _NOT_INSTALLED

# The kinds of class objects: type, and on Python 2.7 also the old-style
# classobj of every SocketServer class (on 3.x both are type).  Tested with
# type(value), which, unlike isinstance(), never asks the value itself
# (proxies answer __class__ with anything).
_CLASS_TYPES = (type, type(stdlib.BaseServer))


class InstallWarning(UserWarning):
    """Modules imported before :func:`install` keep the stdlib's classes.

    Issued once, by the :func:`install` call that puts compatserver in
    place, naming every such module.  The fix is to import them after
    :func:`install` (or to re-import them).

    .. versionadded:: 0.1
    """


def install():
    """Make every later ``import socketserver`` give compatserver.

    Puts the compatserver package into ``sys.modules`` under the running
    stdlib module's name, ``socketserver`` (``SocketServer`` on Python 2.7),
    so modules imported afterwards, the stdlib's ``http.server``,
    ``xmlrpc.server``, ``wsgiref.simple_server``, ``logging.config`` and
    third-party ones alike, build on compatserver's classes and get its
    behaviour (``shutdown()`` at once, the same ``block_on_close``, ...)
    without being edited.  Call it once, at program start, before importing
    them.  compatserver itself still uses the real stdlib module,
    :data:`compatserver.stdlib`.

    Modules imported *before* keep the stdlib's: those that hold the stdlib
    module, one of its classes or a class with such a base in their module
    globals (``http.server``: its ``socketserver`` global and ``HTTPServer``)
    are named, sorted, in one :exc:`InstallWarning`.  compatserver's own
    modules, ``six`` (whose ``six.moves`` caches the stdlib module) and the
    stdlib module itself are not counted.

    Return the sorted list of the names of those modules, as found by this
    call: empty when every module imported so far uses compatserver.

    Code that reaches the module through six (``from six.moves import
    socketserver``) keeps getting the stdlib's: import ``socketserver`` or
    compatserver there instead.

    Idempotent: a second call changes nothing and does not warn again; it
    returns the list as it is then (the same one, unless modules were
    imported or re-imported in between).  If something else already put
    compatserver under the stdlib's name, install() leaves it there and
    :func:`uninstall` does not remove it.

    .. versionadded:: 0.1
    """
    global _done
    package = sys.modules[_PACKAGE]
    with _lock:
        current = sys.modules.get(STDLIB_NAME)
        installing = current is not package
        if installing:
            # six resolves "import six.moves.socketserver" lazily: it imports
            # the stdlib's name again, which would now give compatserver, and
            # the import system then overwrites that module's __spec__ with
            # six's.  Pin it to the stdlib module, which is what "from
            # six.moves import socketserver" already gives (six cached it
            # when compatserver was imported), before the switch.
            pinned = SIX_MOVES_NAME not in sys.modules
            if pinned:
                sys.modules[SIX_MOVES_NAME] = stdlib
            _done = (current, pinned)
            sys.modules[STDLIB_NAME] = package
        holders = _stdlib_holders(package)
    if installing and holders:
        warnings.warn(
            "compatserver.install(): %s imported before install() and still "
            "use the stdlib's %s classes; import them after "
            "compatserver.install(), or re-import them"
            % (", ".join(holders), STDLIB_NAME),
            InstallWarning, stacklevel=2)
    return holders


def uninstall():
    """Undo :func:`install`: the stdlib module is ``socketserver`` again.

    Puts back what :func:`install` replaced in ``sys.modules`` (the stdlib
    module), so later imports get the stdlib again.  Modules imported while
    compatserver was installed keep compatserver's classes; this is for
    tests and for the rare program that must undo the switch.

    Return True if something changed, False if there was nothing to undo:
    :func:`install` was not called, :func:`uninstall` already ran, or
    something else has replaced compatserver under that name since (it is
    left as it is).

    .. versionadded:: 0.1
    """
    global _done
    package = sys.modules[_PACKAGE]
    with _lock:
        done, _done = _done, _NOT_INSTALLED
        if done is _NOT_INSTALLED:
            return False
        previous, pinned = done
        if pinned and sys.modules.get(SIX_MOVES_NAME) is stdlib:
            del sys.modules[SIX_MOVES_NAME]
        if sys.modules.get(STDLIB_NAME) is not package:
            return False
        if previous is None:
            del sys.modules[STDLIB_NAME]
        else:
            sys.modules[STDLIB_NAME] = previous
        return True


def _stdlib_holders(package):
    """Return the sorted names of modules whose globals hold the stdlib's."""
    classes = set(id(value) for value in vars(stdlib).values()
                  if issubclass(type(value), _CLASS_TYPES)
                  and getattr(value, "__module__", None) == STDLIB_NAME)
    holders = []
    seen = set()
    # Sorted, so that a module known under two names (__main__ is also
    # __mp_main__ once multiprocessing ran) is named once, by its first.
    for name, module in sorted(sys.modules.items()):
        if id(module) in seen:
            continue
        seen.add(id(module))
        if (name == STDLIB_NAME or module is stdlib or module is package
                or name.startswith(_PACKAGE + ".")
                # six.moves caches the stdlib module once resolved, in
                # six or in a copy vendored as pip._vendor.six and the like.
                or "six" in name.split(".")
                or not issubclass(type(module), types.ModuleType)):
            continue
        # object.__getattribute__: a lazily loaded module
        # (importlib.util.LazyLoader) would be loaded by module.__dict__.
        namespace = object.__getattribute__(module, "__dict__")
        for value in list(namespace.values()):
            if value is stdlib or (issubclass(type(value), _CLASS_TYPES)
                                   and _built_on(value, classes)):
                holders.append(name)
                break
    return holders


def _built_on(klass, stdlib_classes):
    """Return True if *klass* gets its socketserver part from the stdlib.

    That is, if its MRO reaches a class of the stdlib module (whose ``id()``
    values are *stdlib_classes*) before any of compatserver's, which are
    themselves subclasses of the stdlib's and bring compatserver's
    behaviour: ``HTTPServer(socketserver.TCPServer)`` counts when it was
    built on the stdlib's ``TCPServer``, not when built on compatserver's.
    """
    for cls in inspect.getmro(klass):
        if id(cls) in stdlib_classes:
            return True
        module = getattr(cls, "__module__", None) or ""
        if module == _PACKAGE or module.startswith(_PACKAGE + "."):
            return False
    return False
