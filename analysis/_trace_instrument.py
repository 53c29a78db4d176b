"""``instrument``: the recorded modules' functions get a recording code object for the run.

A global hook (settrace, setprofile) runs a Python callback for every
Python call of the process, recorded or not: on the echo benchmark that is
a floor of 1.2-1.6x the untraced run on 3.6-3.11 before anything is
recorded.  Only the calls into the recorded modules matter, so this backend
changes those functions and nothing else: each function object whose
globals are a recorded module's gets, in place of its ``__code__``, a short
code object that records the call and calls a copy of the function with the
original code; uninstall() puts every original code object back.  The
function objects stay the same objects, so every reference to them (a
method in a class, a callback registered at import, a bound method made
before the run) records its calls; code that is not recorded runs untouched.

The recording code (``_TEMPLATE``) is compiled once per number of free
variables (a function's ``__code__`` can only be replaced by code with as
many) and specialised per function by its constants: the placeholders
``"__name__"`` in it become the objects the call needs (the copy to call,
the owner, the recording's list ...), so the hot path loads constants,
without a closure cell or a global lookup, and records a call the way the
hooks do (:mod:`analysis._trace_hooks`): the same owners (decided by the
code when it can, by the receiver's type when not), the same anchors (the
nearest frame running a recording code object).

What it does not see, and the hooks do: functions created after start() (a
nested function made by each call, a script's own module as it runs).  The
Tracer's default falls back to a hook when a recorded module is not
imported at start().
"""
import sys
import threading
import types
import warnings

from analysis import _compat
from analysis import _trace_owners as owners
from analysis._trace_hooks import Backend

_FUNCTION = types.FunctionType

# Strings in call position are placeholders, replaced by objects per
# function: the compiler warns about them ("'str' object is not callable"),
# nothing runs them as strings.
_TEMPLATE = '''
def _outer():
    %(free)s = None

    def recording_call(*args, **kwargs):
        if "__recording__".active:
            try:
                frame = "__getframe__"()
                caller = frame.f_back
                owner = "__owner__"
                if owner is None:  # decided by the receiver's type
                    owner = "__owner_of__"(args)
                try:
                    thread_id = "__local__".thread_id
                except "__AttributeError__":  # the first recorded call of a new thread
                    "__first_call__"(frame, "__info__", owner)
                else:
                    if thread_id is None:  # called by the tracer's own owner lookup (owner_of)
                        pass
                    elif caller is None:
                        "__raw_extend__"(("__id__"(frame), None, thread_id, "__index__", owner, None, None))
                    else:
                        above = caller.f_back
                        if above is not None and "__id__"(above.f_code) in "__recorded__":
                            anchor = "__id__"(above)  # called by a recorded function
                        else:
                            anchor = "__anchor_of__"(above)
                        "__raw_extend__"(("__id__"(frame), anchor, thread_id, "__index__", owner,
                                          caller.f_code, caller.f_lasti))
            except "__Exception__" as exc:
                "__fail__"(exc)
        return "__original__"(*args, **kwargs)
        %(free)s  # never runs: makes the names free variables of recording_call
    return recording_call
'''

_templates = {}  # number of free variables -> template code
_templates_lock = threading.Lock()


def _template(free):
    """The recording code object with *free* free variables (compiled once per count)."""
    with _templates_lock:
        code = _templates.get(free)
        if code is None:
            names = ", ".join("_free%d" % i for i in range(free)) or "_unused"
            source = _TEMPLATE % {"free": names if free else "_unused"}
            if not free:
                source = source.replace("        _unused  # never runs", "        pass  # never runs")
            namespace = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(source, __file__, "exec"), namespace)
            code = _templates[free] = _compat.func_code(namespace["_outer"]())
    return code


def _copy(func):
    """A new function object running *func*'s code, with its globals, defaults and closure."""
    copy = _FUNCTION(func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    for name in ("__kwdefaults__", "__qualname__", "__doc__", "__module__"):  # the first two: Python 3
        if hasattr(func, name):
            setattr(copy, name, getattr(func, name))
    return copy


class InstrumentHook(Backend):
    """The recorded modules' functions run a recording code object for the run."""

    kind = "instrument"

    def __init__(self, recording):
        Backend.__init__(self, recording)
        self.patched = []  # (function, original code, recording code)
        self.module_classes = {}  # id(module globals) -> its classes, while installing

    def _functions(self):
        """Every function of a recorded module reachable now, once each.

        Reachable: held by a recorded module's globals, by a class reachable
        from them (its MRO and its subclasses included) as a method,
        staticmethod, classmethod or property accessor, or by the closure of
        one of those (a decorator's wrapper).  Not searched for in the whole
        heap: ``gc.get_objects()`` costs more than the run on a large
        process, and finds the copies made by earlier runs.
        """
        wanted = self.recording.wanted
        functions = {}
        classes = {}
        pending = []

        def add_class(klass):
            if id(klass) not in classes:
                classes[id(klass)] = klass
                pending.append(klass)

        def add_value(value):
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property):
                for accessor in (value.fget, value.fset, value.fdel):
                    add_value(accessor)
            elif isinstance(value, owners.CLASS_TYPES):
                if wanted(getattr(value, "__module__", None)):  # not every class a module imports
                    add_class(value)
            elif type(value) is _FUNCTION and id(value) not in functions:
                functions[id(value)] = value
                for cell in value.__closure__ or ():
                    try:
                        add_value(cell.cell_contents)
                    except ValueError:  # an empty cell
                        pass

        for name, module in sorted(sys.modules.items()):
            if module is not None and wanted(name):
                for value in list(vars(module).values()):
                    add_value(value)
        while pending:
            klass = pending.pop()
            for value in list(vars(klass).values()):
                add_value(value)
            # Up only within the recorded modules (never to object, whose
            # subclasses are every class); down to every subclass, wherever
            # it was made (type() in another module, a user's subclass).
            related = [b for b in getattr(klass, "__bases__", ()) if wanted(getattr(b, "__module__", None))]
            if isinstance(klass, type):  # not a Python 2 classic class
                related += type.__subclasses__(klass)  # a metaclass's own would need an argument
            for other in related:
                add_class(other)
        return [
            f for f in functions.values()
            if not owners.skipped_code(f.__code__) and wanted(f.__globals__.get("__name__"))
        ]

    def _classes_of(self, module_globals):
        found = self.module_classes.get(id(module_globals))
        if found is None:
            found = self.module_classes[id(module_globals)] = owners.module_classes(module_globals)
        return found

    def _constants(self, func):
        recording = self.recording
        code = func.__code__
        module_globals = func.__globals__
        first_arg = code.co_varnames[0] if code.co_argcount else None
        owner = owners.static_owner(module_globals, code, first_arg, self._classes_of(module_globals))
        info = recording.add_info(module_globals.get("__name__"), code, owner)
        owner_for, receiver_key = owners.owner_for, owners.receiver_key

        local = recording.local

        def owner_of(args):
            # The lookup calls Python functions (analysis.mro, analysis._compat)
            # that are recorded when the filter covers them: not calls of the
            # run.  A None thread id tells the recording code so.
            thread_id = getattr(local, "thread_id", None)
            local.thread_id = None
            try:
                key = receiver_key(args[0] if args and first_arg else None)
                return owner_for(info, code, key, module_globals, func)
            finally:
                if thread_id is None:
                    del local.thread_id
                else:
                    local.thread_id = thread_id

        return {
            "__recording__": recording,
            "__getframe__": sys._getframe,
            "__owner__": owner,
            "__owner_of__": owner_of,
            "__local__": recording.local,
            "__AttributeError__": AttributeError,
            "__first_call__": recording.first_call,
            "__info__": info,
            "__raw_extend__": recording.raw.extend,
            "__id__": id,
            "__index__": info.index,
            "__recorded__": recording.recorded,
            "__anchor_of__": recording.anchor,
            "__Exception__": Exception,
            "__fail__": self.fail,
            "__original__": _copy(func),
        }

    def install(self):
        recording = self.recording
        # Every decision first (owners read the functions' code), then the swap.
        made = []
        for func in self._functions():
            original = func.__code__
            template = _template(len(original.co_freevars))
            constants = self._constants(func)
            code = _compat.code_with_consts(
                template, [constants.get(c, c) if isinstance(c, str) else c for c in template.co_consts]
            )
            recording.recorded.add(id(code))
            recording.codes.append(code)
            made.append((func, original, code))
        self.module_classes.clear()
        for func, original, code in made:
            func.__code__ = code
            self.patched.append((func, original, code))

    def uninstall(self):
        self.disable()
        patched, self.patched = self.patched, []
        for func, original, code in reversed(patched):
            if func.__code__ is code:
                func.__code__ = original
