"""The one place in ``analysis`` that knows which interpreter it runs on.

Every other module of the tracer side imports its version-dependent names from
here and is version-blind (STYLE.md: one ``_compat.py`` per package, decide
once, at import).  The tracer never uses ``six``: it must run in any
interpreter, including one where only the standard library is installed;
:func:`six_file` only finds six's file for the interpreters that
``analysis.versions`` runs.
"""
import bisect
import dis
import os
import sys
import threading

PY2 = sys.version_info[0] == 2

if PY2:  # Python 2
    import SocketServer as socketserver  # noqa: F401
    import BaseHTTPServer as http_server  # noqa: F401
    from types import ClassType

    string_types = (str, unicode)  # noqa: F821
    CLASS_TYPES = (type, ClassType)

    def is_classic(cls):
        """Return True for a Python 2 old-style class (no ``__mro__``)."""
        return isinstance(cls, ClassType)

    def class_qualname(cls):
        # Python 2 has no __qualname__; nested classes get their bare name.
        return cls.__name__

    def code_qualname(code):
        return code.co_name

    def func_code(func):
        return getattr(func, "func_code", None) or getattr(func, "__code__", None)

    def receiver_class(obj):
        # A classic instance's type() is `instance`; its class is __class__.
        return getattr(obj, "__class__", None) or type(obj)

    def text(value):
        """Return *value* as text (``unicode`` on 2), decoding bytes as UTF-8."""
        if isinstance(value, str):
            return value.decode("utf-8", "replace")
        return unicode(value)  # noqa: F821

else:
    import socketserver  # noqa: F401
    import http.server as http_server  # noqa: F401

    string_types = (str,)
    CLASS_TYPES = (type,)

    def is_classic(cls):
        return False

    def class_qualname(cls):
        return getattr(cls, "__qualname__", cls.__name__)

    if hasattr(compile("0", "<x>", "eval"), "co_qualname"):  # 3.11+

        def code_qualname(code):
            return code.co_qualname

    else:

        def code_qualname(code):
            return code.co_name

    def func_code(func):
        return getattr(func, "__code__", None)

    receiver_class = type

    def text(value):
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)


if PY2:  # Python 2
    import __builtin__ as builtins  # noqa: F401

    #: The stdlib modules that define servers on socketserver, recorded when
    #: a user's script runs (:mod:`analysis.script`).
    SERVER_MODULES = ("SocketServer", "BaseHTTPServer", "SimpleHTTPServer", "CGIHTTPServer",
                      "SimpleXMLRPCServer", "DocXMLRPCServer", "wsgiref.simple_server")
else:
    import builtins  # noqa: F401

    SERVER_MODULES = ("socketserver", "http.server", "xmlrpc.server", "wsgiref.simple_server")


#: Module names a user may write the Python 3 way; tried in this order on 2.7.
MODULE_ALIASES = {
    "socketserver": ("socketserver", "SocketServer"),
    "http.server": ("http.server", "BaseHTTPServer", "SimpleHTTPServer", "CGIHTTPServer"),
}

# sys.monitoring (PEP 669, 3.12+) is the cheap hook: a callback can DISABLE
# itself per code object, so uninteresting code costs nothing after its first
# call.  Below 3.12 only settrace / setprofile exist.
MONITORING = getattr(sys, "monitoring", None)

# The hooks threading installs in every new thread.  3.10 added the public
# getters; below that the only way to read them is the private attributes,
# which exist on every version from 2.7 on.
if hasattr(threading, "gettrace"):  # 3.10+

    def threading_hooks():
        return threading.gettrace(), threading.getprofile()

else:

    def threading_hooks():
        return getattr(threading, "_trace_hook", None), getattr(threading, "_profile_hook", None)


# Flags of generator-like code objects (generators, coroutines, async
# generators): their frames suspend and resume, which the call tree does not
# model, so the tracer leaves them out.
GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR|COROUTINE|ITERABLE_COROUTINE|ASYNC_GENERATOR


def version_string():
    return "%d.%d.%d" % tuple(sys.version_info[:3])


# The line of an instruction offset, from the code's line table.  A frame's
# f_lineno decodes that table on every read (0.5 us on 3.13, per recorded
# call); the tracer keeps the cheap f_lasti instead and maps it here, once
# per call when the trace is built, with the table decoded once per code.
if hasattr(compile("0", "<x>", "eval"), "co_lines"):  # 3.10+ (PEP 626)

    def line_table(code):
        starts, lines = [], []
        for start, _end, line in code.co_lines():
            if line is not None:
                starts.append(start)
                lines.append(line)
        return starts, lines

else:

    def line_table(code):
        pairs = list(dis.findlinestarts(code))
        return [p[0] for p in pairs], [p[1] for p in pairs]


def line_at(table, offset):
    """The line of instruction *offset* (``frame.f_lasti``) in a :func:`line_table`."""
    starts, lines = table
    index = bisect.bisect_right(starts, offset) - 1
    return lines[index] if index >= 0 else None


def six_file():
    """The path of the ``six.py`` this interpreter would import, or None.

    ``analysis.versions`` lends that one file (it runs on 2.7 and 3.x) to an
    interpreter that has no six of its own, for the compat- scenarios.  Only
    located here, never imported for use.
    """
    try:
        import six
    except ImportError:
        return None
    path = os.path.splitext(os.path.abspath(six.__file__))[0] + ".py"
    return path if os.path.isfile(path) else None


# A code object with other constants and file name: analysis.trace's
# "instrument" backend makes its recording code this way.  3.8 added
# code.replace(); below it the constructor, whose arguments differ on 2.7
# (no kwonlyargcount).  *filename* is stored as the very object given, which
# compile() does not promise (2.7 makes a new string per compile).
if hasattr(compile("0", "<x>", "eval"), "replace"):  # 3.8+

    def code_with_consts(code, consts, filename):
        return code.replace(co_consts=tuple(consts), co_filename=filename)

else:

    def code_with_consts(code, consts, filename):
        import types

        kwonly = [] if PY2 else [code.co_kwonlyargcount]
        return types.CodeType(*(
            [code.co_argcount] + kwonly + [
                code.co_nlocals, code.co_stacksize, code.co_flags, code.co_code, tuple(consts),
                code.co_names, code.co_varnames, filename, code.co_name, code.co_firstlineno,
                code.co_lnotab, code.co_freevars, code.co_cellvars,
            ]
        ))
