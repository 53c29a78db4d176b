"""Who owns a function: pure functions over classes and module globals.

The owner of a method is the class that supplies it in the MRO of the
receiver's type, the class whose own ``__dict__`` holds the function.
"""
import os

from analysis import _compat
from analysis.mro import doc_line, linearize

CLASS_TYPES = _compat.CLASS_TYPES

#: What a hook's cache holds for a code object outside the filter.
SKIP = False


def skipped_code(code):
    """True for code that is never recorded, whatever the filter.

    Generators suspend and resume (not a call tree); ``<module>``,
    ``<listcomp>``, ``<lambda>`` ... are not methods a reader looks for.
    """
    return bool(code.co_flags & _compat.GENERATOR_FLAGS) or code.co_name.startswith("<")


class CodeInfo(object):
    """What the tracer decided about one code object, computed once."""

    __slots__ = ("module", "function", "file", "line", "first_arg", "qualname", "owner", "owners", "index")

    def __init__(self, module, code, first_arg, index, owner):
        self.index = index  # in Recording.infos: what a raw call record holds
        self.module = module
        self.function = code.co_name
        # Absolute: Python 2 keeps the path a module was imported by, which is
        # relative for a module found through a relative sys.path entry.
        self.file = os.path.abspath(code.co_filename)
        self.line = code.co_firstlineno
        self.first_arg = first_arg
        self.qualname = _compat.code_qualname(code)  # for a call with no owner class
        # (owner name or None, owner module, doc) when the code alone decides
        # it (see static_owner), else None and, per receiver type:
        self.owner = owner
        self.owners = {}


def is_function_with(obj, code):
    return _compat.func_code(obj) is code if obj is not None and callable(obj) else False


def _is(value, code, func):
    # *func*: the function itself, when its __code__ is replaced for the run
    # ("instrument"); else the code decides.
    return value is func if func is not None else _compat.func_code(value) is code


def supplied(klass, name, code, func=None):
    """The function of *code* (or *func*) that *klass*'s own ``__dict__`` holds as *name*, or None."""
    value = vars(klass).get(name)
    if value is None:
        return None
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    elif isinstance(value, property):
        for accessor in (value.fget, value.fset, value.fdel):
            if accessor is not None and _is(accessor, code, func):
                return accessor
        return None
    return value if _is(value, code, func) else None


def class_owner(klass, func):
    """``(owner, owner_module, doc)`` of *func* supplied by *klass*."""
    return (_compat.class_qualname(klass), klass.__module__, doc_line(func.__doc__))


def find_owner(cls, name, code, func=None):
    """The owner in *cls*'s MRO whose ``__dict__`` holds the function of *code* (or *func*), or None."""
    try:
        order = linearize(cls)
    except Exception:
        return None
    for klass in order:
        held = supplied(klass, name, code, func)
        if held is not None:
            return class_owner(klass, held)
    return None


def module_classes(module_globals):
    """The classes a module's globals hold, once each, in their order."""
    found = []
    for value in list(module_globals.values()):
        if isinstance(value, CLASS_TYPES) and not any(value is k for k in found):
            found.append(value)
    return found


def static_owner(module_globals, code, first_arg, classes=None):
    """``(owner, owner_module, doc)`` when *code* alone decides it, else None.

    A plain function of the module has no owner.  A function that exactly
    one class of the module holds, under its own name, is owned by that
    class whatever the receiver: every MRO that reaches it finds that class
    first, unless another class re-binds the same function object.  On
    Python 3 the function's ``__qualname__`` must also name that class (it
    was defined there, not assigned to it).  Anything else (a function held
    by two classes, or by none and not a module global) is looked up per
    receiver type through the MRO.  *classes*: :func:`module_classes` of
    the module, when the caller has it already.
    """
    name = code.co_name
    function = module_globals.get(name)
    is_global = is_function_with(function, code)
    holders = []
    for klass in module_classes(module_globals) if classes is None else classes:
        func = supplied(klass, name, code)
        if func is not None:
            holders.append((klass, func))
    if not holders:
        if is_global or first_arg is None:
            return (None, None, doc_line(function.__doc__) if is_global else "")
        return None
    if len(holders) > 1 or is_global:
        return None
    klass, func = holders[0]
    owner = _compat.class_qualname(klass)
    qualname = getattr(func, "__qualname__", None)  # None on Python 2
    if qualname is not None and qualname != owner + "." + name:
        return None
    return (owner, klass.__module__, doc_line(func.__doc__))


def receiver_key(receiver):
    """The type whose MRO supplies a call's function: of ``self``, or ``cls`` itself."""
    if receiver is None:
        return None
    if isinstance(receiver, CLASS_TYPES):
        return receiver  # a classmethod's cls (or a class passed first)
    return _compat.receiver_class(receiver)


def owner_for(info, code, key, module_globals, func=None):
    """``(owner, owner_module, doc)`` for a call whose receiver's type is *key*, cached in *info*."""
    found = info.owners.get(key)
    if found is not None:
        return found
    if key is not None:
        found = find_owner(key, info.function, code, func)
    if found is None:
        value = module_globals.get(info.function)
        held = value is func if func is not None else is_function_with(value, code)
        doc = doc_line(value.__doc__) if held else ""
        found = (None, None, doc)
    info.owners[key] = found
    return found


def owner_by_receiver(info, code, frame):
    """The owner of the call running in *frame*: from its first argument (``self`` / ``cls``)."""
    receiver = frame.f_locals.get(info.first_arg) if info.first_arg is not None else None
    return owner_for(info, code, receiver_key(receiver), frame.f_globals)
