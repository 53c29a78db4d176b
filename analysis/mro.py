"""Linearize a class and tell, for every attribute, which class supplies it.

Everything is read from class ``__dict__`` entries, never through
``getattr`` on the class, so no descriptor runs (a property is seen as the
property object, a classmethod as the classmethod object).  Whether an
override *extends* the method it shadows (calls up through ``super()`` or
``Base.method(self, ...)``) or *replaces* it is read from the method's code
object: the names it loads.

Python 2 classic classes (``SocketServer``'s servers on 2.7) have no
``__mro__``; their lookup order is depth-first, left to right, first
occurrence wins, and that is the order reported for them.
"""
import importlib
import inspect
import types

from analysis import _compat
from analysis.model import MRO, Attribute, python_info

__all__ = ["resolve", "linearize", "c3", "qualified_name", "analyze", "UnknownClass"]

# Entries every class __dict__ has, which are bookkeeping rather than
# attributes a reader looks up.
_IMPLICIT = frozenset(
    [
        "__dict__",
        "__weakref__",
        "__module__",
        "__doc__",
        "__qualname__",
        "__slots__",
        "__firstlineno__",  # 3.13
        "__static_attributes__",  # 3.13
        "__orig_bases__",
        "__parameters__",
        "__abstractmethods__",
        "_abc_impl",
    ]
)


class UnknownClass(LookupError):
    """A class name that does not resolve to a class (the message is one line)."""


def resolve(name):
    """Return the class named ``module.Class`` or ``module:Class``.

    On Python 2 the Python 3 module names are accepted too
    (``socketserver.TCPServer`` finds ``SocketServer.TCPServer``).
    """
    if not isinstance(name, _compat.string_types) or not name.strip():
        raise UnknownClass("not a class name: %r" % (name,))
    if ":" in name:
        module_name, _, attr_path = name.partition(":")
        candidates = [(module_name, attr_path)]
    else:
        parts = name.split(".")
        # Longest importable module prefix first: "http.server.HTTPServer".
        candidates = [
            (".".join(parts[:i]), ".".join(parts[i:])) for i in range(len(parts) - 1, 0, -1)
        ]
    if not candidates or not all(m and a for m, a in candidates):
        raise UnknownClass("not a class name (want module.Class or module:Class): %r" % (name,))
    import_errors = []
    missing = []
    for module_name, attr_path in candidates:
        for real_module in _compat.MODULE_ALIASES.get(module_name, (module_name,)):
            try:
                module = importlib.import_module(real_module)
            except ImportError as exc:
                import_errors.append("%s: %s" % (module_name, exc))
                continue
            obj = module
            try:
                for part in attr_path.split("."):
                    obj = _dict_lookup(obj, part)
            except LookupError:
                missing.append("%s has no %s" % (real_module, attr_path))
                continue
            if not isinstance(obj, _compat.CLASS_TYPES):
                raise UnknownClass("%s is not a class (it is a %s)" % (name, type(obj).__name__))
            return obj
    # The most useful reason: a module that imported but lacks the name,
    # else why the module did not import.
    reason = missing[0] if missing else import_errors[0]
    raise UnknownClass("unknown class %s (%s)" % (name, reason))


def _dict_lookup(obj, name):
    # A module's or class's own namespace, without running descriptors.
    namespace = getattr(obj, "__dict__", None)
    if isinstance(obj, types.ModuleType):
        if name in namespace:
            return namespace[name]
        raise LookupError(name)
    for klass in linearize(obj) if isinstance(obj, _compat.CLASS_TYPES) else [obj]:
        if name in vars(klass):
            return vars(klass)[name]
    raise LookupError(name)


def qualified_name(cls):
    """``module.Qualname`` of a class: ``socketserver.ThreadingTCPServer``."""
    return "%s.%s" % (cls.__module__, _compat.class_qualname(cls))


def linearize(cls):
    """Return the method resolution order of *cls* as a list of classes.

    The interpreter's own ``__mro__`` (C3) for new-style classes; the
    depth-first, left-to-right rule of classic classes on Python 2.
    """
    if _compat.is_classic(cls):  # Python 2
        order = []

        def visit(klass):
            if klass not in order:
                order.append(klass)
            for base in klass.__bases__:
                visit(base)

        visit(cls)
        return order
    return list(cls.__mro__)


def c3(cls, bases_of=None):
    """Compute the C3 linearization of *cls* from its bases (the Python 2.3+ rule).

    Independent of ``__mro__``; used to show, and test, that the order the
    interpreter uses is C3 for new-style classes.  *bases_of* maps a class to
    its bases (default ``cls.__bases__``), so a hierarchy that Python would
    refuse to create can be checked too.  Raises ``TypeError`` when no
    consistent order exists.
    """
    if bases_of is None:
        bases_of = _bases
    bases = list(bases_of(cls))
    sequences = [c3(base, bases_of) for base in bases] + [bases]
    result = [cls]
    while True:
        sequences = [s for s in sequences if s]
        if not sequences:
            return result
        for seq in sequences:
            head = seq[0]
            if not any(head in s[1:] for s in sequences):
                break
        else:
            raise TypeError(
                "no consistent method resolution order for %s"
                % (qualified_name(cls) if isinstance(cls, _compat.CLASS_TYPES) else cls)
            )
        result.append(head)
        for seq in sequences:
            if seq[0] is head:
                del seq[0]


def _bases(cls):
    return cls.__bases__


def _kind_and_function(value):
    if isinstance(value, staticmethod):
        return "staticmethod", value.__func__
    if isinstance(value, classmethod):
        return "classmethod", value.__func__
    if isinstance(value, property):
        return "property", value.fget
    if isinstance(value, types.FunctionType):
        return "method", value
    if type(value).__name__ in ("method_descriptor", "wrapper_descriptor", "builtin_function_or_method"):
        return "method", None
    return "attribute", None


def doc_line(doc):
    """The first non-blank line of a docstring, or ``""``."""
    if not doc or not isinstance(doc, _compat.string_types):
        return ""
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _code_names(code):
    """Every global and attribute name a code object and its nested code load."""
    names = set(code.co_names) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def calls_up(func, name, shadowed):
    """Return True if *func*'s code calls up to the *name* it overrides.

    Through ``super()`` (explicit or zero-argument: the code loads ``super``
    or closes over ``__class__``), or through ``Base.name(self, ...)`` with
    ``Base`` one of the *shadowed* classes (or any name, when the code loads
    *name* as an attribute together with a class name it shadows).
    """
    code = _compat.func_code(func) if func is not None else None
    if code is None:
        return False
    names = _code_names(code)
    if name not in names:
        return False
    if "super" in names:
        return True
    shadowed_names = set(c.__name__ for c in shadowed)
    return bool(names & shadowed_names)


def analyze(cls, include_object=False):
    """Return the :class:`~analysis.model.MRO` of *cls* (a class or a name)."""
    if isinstance(cls, _compat.string_types):
        cls = resolve(cls)
    order = linearize(cls)
    shown = [k for k in order if include_object or k.__module__ not in ("builtins", "__builtin__")]
    bases = dict(
        (qualified_name(k), [qualified_name(b) for b in k.__bases__]) for k in order
    )
    attributes = []
    seen = set()
    for index, klass in enumerate(shown):
        namespace = vars(klass)
        for name in sorted(namespace):
            if name in seen or name in _IMPLICIT:
                continue
            seen.add(name)
            value = namespace[name]
            kind, func = _kind_and_function(value)
            shadowed = [k for k in order[order.index(klass) + 1:] if name in vars(k)]
            shadowed = [k for k in shadowed if include_object or k is not object]
            override = None
            if shadowed:
                override = "extends" if calls_up(func, name, shadowed) else "replaces"
            code = _compat.func_code(func) if func is not None else None
            doc = doc_line(getattr(func, "__doc__", None)) if func is not None else ""
            attributes.append(
                Attribute(
                    name=name,
                    kind=kind,
                    owner=qualified_name(klass),
                    shadows=[qualified_name(k) for k in shadowed],
                    override=override,
                    file=code.co_filename if code is not None else _class_file(klass),
                    line=code.co_firstlineno if code is not None else None,
                    doc=doc,
                )
            )
    return MRO(
        cls=qualified_name(cls),
        python=python_info(),
        new_style=not _compat.is_classic(cls),
        mro=[qualified_name(k) for k in order],
        bases=bases,
        attributes=attributes,
        module=cls.__module__,
        doc=doc_line(vars(cls).get("__doc__")),
    )


def _class_file(klass):
    try:
        return inspect.getsourcefile(klass)
    except (TypeError, IOError, OSError):
        return None
