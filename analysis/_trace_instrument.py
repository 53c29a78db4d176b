"""``instrument``: the recorded modules' functions get a recording code object for the run.

A global hook (settrace, setprofile) runs a Python callback for every
Python call of the process, recorded or not: on the echo benchmark that is
a floor of 1.2-1.6x the untraced run on 3.6-3.11 before anything is
recorded.  Only the calls into the recorded modules matter, so this backend
changes those functions and nothing else: each function object whose
globals are a recorded module's gets, in place of its ``__code__``, a code
object that records the call; uninstall() puts every original code object
back.  The function objects stay the same objects, so every reference to
them (a method in a class, a callback registered at import, a bound method
made before the run) records its calls; code that is not recorded runs
untouched.

Two kinds of recording code, the same record:

- the function's own code with a *prologue* (:mod:`analysis._trace_inline`),
  compiled again from its module's source: one frame per call, as
  untraced.  Every ``def`` of a module or class body whose file still
  holds the code it runs;
- else (generators, nested functions, code without a file) a short code
  object (``_TEMPLATE``) that records the call and calls a copy of the
  function with the original code: a second frame per call.  Measured with
  callgrind (a recorded method that calls two others, 5,000 times), the
  prologue records a call in 4,900 instructions on 2.7 where the template
  takes 6,000 (-19%); -14% on 3.6, -12% on 3.9, -11% on 3.12.

Both are specialised per function by their constants: the placeholders
(``"__analysis:name__"``) become the objects the call needs (the owner,
the recording's list ...), so the hot path loads constants, without a
closure cell or a global lookup, and records a call the way the hooks do
(:mod:`analysis._trace_hooks`): the same owners (decided by the code when
it can, by the receiver's type when not), the same anchors (the nearest
frame running a recording code object).  The template is compiled once per
signature (it takes the arguments the way the function does) and number of
free variables (a function's ``__code__`` can only be replaced by code with
as many).

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
from analysis import _trace_inline as _inline
from analysis import _trace_owners as owners
from analysis._trace_recording import NEW_THREAD
from analysis._trace_hooks import Backend

_FUNCTION = types.FunctionType

# Strings in call position are placeholders, replaced by objects per
# function (_specialise): the compiler warns about them ("'str' object is not
# callable"), nothing runs them as strings.  No test of Recording.active, as
# in the prologue (see _inline.PROLOGUE): the code records while installed.
_TEMPLATE = '''
def _outer():
    %(free)s = None

    def recording_call(%(params)s):
        try:
            _frame = "__analysis:getframe__"()
            _caller = _frame.f_back
            _owner = "__analysis:owner__"
            if _owner is None:  # decided by the receiver's type
                _owner = "__analysis:owner_of__"(%(receiver)s)
            _thread = "__analysis:local__".thread_id
            if _thread is None:  # the tracer's own code runs (first_call, owner_of)
                pass
            elif _thread is "__analysis:new_thread__":  # the first recorded call of a new thread
                "__analysis:first_call__"(_frame, "__analysis:info__", _owner)
            elif _caller is None:
                "__analysis:raw_extend__"(("__analysis:id__"(_frame), None, _thread, "__analysis:index__",
                                           _owner, None, None))
            else:
                _above = _caller.f_back
                if _above is not None and _above.f_code.co_filename is "__analysis:filename__":
                    _anchor = "__analysis:id__"(_above)  # called by a recorded function (its recording code)
                else:
                    _anchor = "__analysis:anchor_of__"(_caller)  # it may run a prologue
                _code = _caller.f_code
                if "__analysis:id__"(_code) in "__analysis:recorded__":
                    _code = None  # recording code: see Recording.site_codes
                "__analysis:raw_extend__"(("__analysis:id__"(_frame), _anchor, _thread, "__analysis:index__",
                                           _owner, _code, _caller.f_lasti))
        except "__analysis:Exception__" as _exc:
            "__analysis:fail__"(_exc)
        # A frame that holds itself in a local is a reference cycle: it
        # would outlive the call until the garbage collector finds it
        # (a fifth of the recording's cost, counted with callgrind).
        _frame = _caller = _above = _code = None
        return "__analysis:original__"(%(arguments)s)
        %(free)s  # never runs: makes the names free variables of recording_call
    return recording_call
'''
_GENERIC = ("*args, **kwargs", "*args, **kwargs", "args[0] if args else None")
_LOCALS = frozenset(["_frame", "_caller", "_owner", "_thread", "_above", "_anchor", "_code", "_exc", "_outer"])

# The file name of every recording code object: the same string object in
# all of them (install() puts it there: compile() makes a new string per
# template on 2.7), so that "this frame runs a recording code" is one
# identity test (a set of ids is what anchor() uses, and costs a call of
# id() per frame and a call of anchor() per recorded call).
_FILENAME = "<analysis.trace recording code>"
_PLACEHOLDER = _inline.PLACEHOLDER
_templates = {}  # (parameters, arguments, receiver, free variables) -> template code
_templates_lock = threading.Lock()


def _signature(code):
    """``(parameters, arguments, receiver)`` source for a function with *code*'s signature.

    The recording code takes the arguments the way the function does, so a
    call goes through the interpreter's fast path and the defaults of the
    function (``__defaults__``, ``__kwdefaults__``) apply to it unchanged;
    ``*args, **kwargs`` only for what cannot be spelled that way
    (positional-only parameters, Python 2's tuple parameters).
    """
    if getattr(code, "co_posonlyargcount", 0):  # 3.8+
        return _GENERIC
    names = code.co_varnames
    count = code.co_argcount
    kwonly = getattr(code, "co_kwonlyargcount", 0)  # Python 3
    positional = list(names[:count])
    keywords = list(names[count:count + kwonly])
    index = count + kwonly
    star = starstar = None
    if code.co_flags & 0x04:  # CO_VARARGS
        star = names[index]
        index += 1
    if code.co_flags & 0x08:  # CO_VARKEYWORDS
        starstar = names[index]
    every = positional + keywords + [n for n in (star, starstar) if n]
    if any(not _is_identifier(n) or n in _LOCALS for n in every):
        return _GENERIC
    params = list(positional)
    arguments = list(positional)
    if star:
        params.append("*" + star)
        arguments.append("*" + star)
    elif keywords:
        params.append("*")
    params += keywords
    arguments += ["%s=%s" % (k, k) for k in keywords]
    if starstar:
        params.append("**" + starstar)
        arguments.append("**" + starstar)
    receiver = positional[0] if positional else "None"
    return ", ".join(params), ", ".join(arguments), receiver


def _is_identifier(name):
    return bool(name) and (name[0].isalpha() or name[0] == "_") and name.replace("_", "a").isalnum()


def _template(code):
    """The recording code object for a function with *code* (compiled once per signature)."""
    key = _signature(code) + (len(code.co_freevars),)
    with _templates_lock:
        template = _templates.get(key)
        if template is None:
            params, arguments, receiver = key[:3]
            free = ", ".join("_free%d" % i for i in range(key[3]))
            source = _TEMPLATE % {
                "params": params, "arguments": arguments, "receiver": receiver, "free": free or "_unused",
            }
            if not free:
                source = source.replace("        _unused  # never runs", "        pass  # never runs")
            namespace = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(source, _FILENAME, "exec"), namespace)
            template = _templates[key] = _compat.func_code(namespace["_outer"]())
    return template


def _specialise(code, objects, filename):
    """*code* with each placeholder ``"__analysis:NAME__"`` replaced by ``objects[NAME]``."""
    start, end = len(_PLACEHOLDER), -len("__")
    return _compat.code_with_consts(code, [
        objects[const[start:end]] if isinstance(const, str) and const.startswith(_PLACEHOLDER) else const
        for const in code.co_consts
    ], filename)


def _own_filename(code):
    """``(file name for the recording codes, file name to test)`` for *code*'s file (see _inline.PROLOGUE).

    Both a new string object equal to the name, when the code keeps it; else
    (a one-character name, whose string is shared; 3.13, which interns a
    code's file name) the name itself and an object no code holds: every
    caller then takes the set's test.
    """
    filename = code.co_filename
    copy = filename[:1] + filename[1:]
    if copy is not filename and _compat.code_with_consts(code, code.co_consts, copy).co_filename is copy:
        return copy, copy
    return filename, object()


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
        found = [
            f for f in functions.values()
            if not owners.skipped_code(f.__code__) and wanted(f.__globals__.get("__name__"))
        ]
        # add_value() calls itself through its own cell, a cycle that would
        # hold the recording (wanted) until the collector found it.
        add_value = None
        return found

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

        def owner_of(receiver):
            # The lookup calls Python functions (analysis.mro, analysis._compat)
            # that are recorded when the filter covers them: not calls of the
            # run.  A None thread id tells the recording code so.
            thread_id = local.thread_id
            local.thread_id = None
            try:
                key = receiver_key(receiver if first_arg else None)
                return owner_for(info, code, key, module_globals, func)
            finally:
                local.thread_id = thread_id

        return {
            "getframe": sys._getframe,
            "owner": owner,
            "owner_of": owner_of,
            "local": recording.local,
            "new_thread": NEW_THREAD,
            "first_call": recording.first_call,
            "info": info,
            "raw_extend": recording.raw.extend,
            "id": id,
            "index": info.index,
            "filename": _FILENAME,
            "anchor_of": recording.anchor,
            "Exception": Exception,
            "fail": self.fail,
            "recorded": recording.recorded,
            "skip": recording.skip,
            "no_caller": _inline.NO_CALLER,
        }

    def install(self):
        recording = self.recording
        # Every decision first (owners read the functions' code), then the swap.
        made = []
        own_files = {}  # file name -> the name the recording codes of the run hold (see _inline.PROLOGUE)
        for func in self._functions():
            original = func.__code__
            constants = self._constants(func)
            inline = _inline.prologue_code(original, owner_known=constants["owner"] is not None)
            if inline is not None:  # the recording in the function's own code
                filename = original.co_filename
                if filename not in own_files:
                    own_files[filename] = _own_filename(inline)
                code_filename, constants["file"] = own_files[filename]
                code = _specialise(inline, constants, code_filename)
            else:  # the template, which calls a copy of the function
                constants["original"] = _copy(func)
                code = _specialise(_template(original), constants, _FILENAME)
            # Its id is in the set while the function runs it: patched
            # keeps it alive until uninstall(), which stops the recording
            # first.  Not the recording: the code's constants hold the
            # recording, and the garbage collector does not see through a
            # code object, so that cycle would never be freed (see
            # Recording.site_codes).
            recording.recorded.add(id(code))
            recording.site_codes[constants["index"]] = _compat.code_with_consts(code, (), code.co_filename)
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
