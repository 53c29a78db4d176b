"""The recording written into each function's own code, compiled from its module's source.

The ``instrument`` backend (:mod:`analysis._trace_instrument`) first gave
each recorded function a short code object that records the call and then
calls a copy of the function: two frames per recorded call, where the
untraced run has one.  Measured with callgrind (a recorded method calling
two others, 5,000 times), the copy's frame and call were 1,100 of the
6,000 instructions a recorded call cost on 2.7, 860 of 6,300 on 3.6.

This module makes code objects with no second frame: it compiles the
function's own module again from its source, with a *prologue* (the same
recording as the template's, :data:`PROLOGUE`) as the first statement of
each function, after the docstring.  The body is the original's, on its
original lines, so a traceback, ``f_lineno`` and the call-site lines after
the run read as before.  Pure Python on every interpreter: ``ast`` and
``compile()``, no bytecode written by hand.

What gets a prologue, and what keeps the template:

- only functions defined by a ``def`` at module level or in a class body
  (through ``if`` / ``try`` / ``with`` blocks, as ``socketserver`` defines
  ``ForkingMixIn``): those exist when the run starts.  A function nested in
  another is made by each call of its parent, from the parent's constants:
  those constants stay the original code;
- not generators or coroutines: their body runs at the first ``next()``,
  not at the call;
- only when the module compiled again from its file gives the very code
  object the function runs (``==``: bytecode, constants, names, line):
  a file edited since the import, a module compiled with other flags, or
  a function with no file keeps the template.

Compiling a module twice costs time (socketserver.py: 36 ms on 2.7, 41 ms
on 3.6, 49 ms on 3.13); the result is kept per file (its size and
modification time), so the runs of one process pay it once.
"""
import ast
import os
import threading
import warnings

#: The placeholders of :data:`PROLOGUE` (and of the template) start with
#: this: a string no source holds, so a function's own constants are never
#: taken for one.
PLACEHOLDER = "__analysis:"

#: The locals the prologue adds (a function that uses one of them keeps the
#: template).  Deleted at the end of the prologue: ``locals()`` in the body
#: sees the function's own names only (unless recording failed in it).
LOCALS = ("_analysis_frame", "_analysis_caller", "_analysis_owner", "_analysis_thread", "_analysis_code",
          "_analysis_exc")

# The recording of one call, as the template records it (see
# analysis._trace_instrument._TEMPLATE), in the function's own frame:
# ``_analysis_caller`` is the real caller, and when it runs code with a
# prologue (its code's id is in the recording's set) it is the anchor.
# %(receiver)s: the first parameter, whose type decides the owner when the
# code does not.
PROLOGUE = '''
if "__analysis:on__":
    try:
        _analysis_frame = "__analysis:getframe__"()
        _analysis_caller = _analysis_frame.f_back
        _analysis_owner = "__analysis:owner__"
        if _analysis_owner is None:
            _analysis_owner = "__analysis:owner_of__"(%(receiver)s)
        _analysis_thread = "__analysis:local__".thread_id
        if _analysis_thread is None:
            pass
        elif _analysis_thread is "__analysis:new_thread__":
            "__analysis:first_call__"(_analysis_frame, "__analysis:info__", _analysis_owner)
        elif _analysis_caller is None:
            "__analysis:raw_extend__"(("__analysis:id__"(_analysis_frame), None, _analysis_thread,
                                       "__analysis:index__", _analysis_owner, None, None))
        else:
            _analysis_code = _analysis_caller.f_code
            if "__analysis:id__"(_analysis_code) in "__analysis:recorded__":
                "__analysis:raw_extend__"(("__analysis:id__"(_analysis_frame), "__analysis:id__"(_analysis_caller),
                                           _analysis_thread, "__analysis:index__", _analysis_owner,
                                           _analysis_code, _analysis_caller.f_lasti))
            else:
                "__analysis:raw_extend__"(("__analysis:id__"(_analysis_frame),
                                           "__analysis:anchor_of__"(_analysis_caller.f_back),
                                           _analysis_thread, "__analysis:index__", _analysis_owner,
                                           _analysis_code, _analysis_caller.f_lasti))
            del _analysis_code
        # The frame in its own local is a reference cycle (see the template).
        del _analysis_frame, _analysis_caller, _analysis_owner, _analysis_thread
    except "__analysis:Exception__" as _analysis_exc:
        _analysis_frame = _analysis_caller = None
        "__analysis:fail__"(_analysis_exc)
'''

_NOT_AT_CALL = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator

_cache = {}  # file name -> ((size, mtime), {(co_name, co_firstlineno): (original, with prologue)})
_cache_lock = threading.Lock()


def prologue_code(code):
    """*code* with the recording prologue, its placeholders still strings; or None.

    None when *code* keeps the template (see the module's docstring).
    """
    if code.co_flags & _NOT_AT_CALL or any(name in code.co_varnames for name in LOCALS):
        return None
    found = _module_codes(code.co_filename).get((code.co_name, code.co_firstlineno))
    if found is None or found[0] != code:
        return None
    made = found[1]
    if made.co_freevars != code.co_freevars or made.co_cellvars != code.co_cellvars:
        return None
    return made


def _module_codes(filename):
    try:
        stat = os.stat(filename)
    except (OSError, IOError, TypeError, ValueError):  # "<string>", a removed file
        return {}
    stamp = (stat.st_size, stat.st_mtime)
    with _cache_lock:
        cached = _cache.get(filename)
        if cached is None or cached[0] != stamp:
            cached = _cache[filename] = (stamp, _compile_both(filename))
    return cached[1]


def _compile_both(filename):
    """``{(co_name, co_firstlineno): (original code, code with prologue)}`` for *filename*."""
    try:
        with open(filename, "rb") as source_file:
            source = source_file.read()
        tree = ast.parse(source, filename)
        original = compile(tree, filename, "exec", 0, True)
        if not _add_prologues(tree.body):
            return {}
        with warnings.catch_warnings():
            # The placeholders are strings in call position: the compiler
            # warns ("'str' object is not callable"); nothing calls them.
            warnings.simplefilter("ignore")
            made = compile(tree, filename, "exec", 0, True)
    except Exception:  # unreadable, not Python, too deep: the template it is
        return {}
    before = _codes_by_key(original, lambda code: True)
    after = _codes_by_key(made, lambda code: LOCALS[0] in code.co_varnames)
    return dict((key, (before[key], code)) for key, code in after.items() if key in before)


def _codes_by_key(module_code, keep):
    """The code objects below *module_code* that *keep* accepts, by (name, first line), once each."""
    found = {}
    twice = set()
    pending = [module_code]
    while pending:
        code = pending.pop()
        for const in code.co_consts:
            if type(const) is type(code):
                pending.append(const)
                if keep(const):
                    key = (const.co_name, const.co_firstlineno)
                    if key in found:
                        twice.add(key)
                    found[key] = const
    for key in twice:  # two functions on one line: neither is told apart
        del found[key]
    return found


_BLOCKS = ("body", "orelse", "finalbody", "handlers")
# Not entered: what a coroutine defines is made by each of its calls (3.5+).
_ASYNC_DEF = tuple(getattr(ast, name) for name in ("AsyncFunctionDef",) if hasattr(ast, name))


def _add_prologues(statements):
    """Give a prologue to every ``def`` in *statements* that runs at import; how many got one."""
    count = 0
    for node in statements:
        if isinstance(node, ast.FunctionDef):  # not AsyncFunctionDef: a coroutine
            at = 0 if ast.get_docstring(node, False) is None else 1
            node.body[at:at] = _prologue(node)
            count += 1
        elif isinstance(node, ast.ClassDef):
            count += _add_prologues(node.body)
        elif not isinstance(node, _ASYNC_DEF):
            for field in _BLOCKS:  # if, try, with, for, while (and except handlers)
                block = getattr(node, field, None)
                if isinstance(block, list):
                    count += _add_prologues(block)
    return count


def _prologue(function):
    """The prologue's statements for *function* (an ``ast.FunctionDef``), on its first body line."""
    statements = ast.parse(PROLOGUE % {"receiver": _receiver(function.args)}).body
    line = function.body[0].lineno
    for statement in statements:
        for node in ast.walk(statement):
            if "lineno" in node._attributes:
                node.lineno = line
                node.col_offset = 0
                if "end_lineno" in node._attributes:  # Python 3.8+
                    node.end_lineno = line
                    node.end_col_offset = 0
    return statements


def _receiver(args):
    """The source of the function's first positional argument, or ``None``."""
    positional = list(getattr(args, "posonlyargs", [])) + list(args.args)  # posonlyargs: 3.8+
    if positional:
        first = positional[0]
        name = getattr(first, "arg", None) or getattr(first, "id", None)  # Python 3: arg; 2: Name
        return name or "None"  # Python 2: a tuple parameter
    if args.vararg:
        star = getattr(args.vararg, "arg", args.vararg)  # Python 3: arg; 2: the name
        return "(%s[0] if %s else None)" % (star, star)
    return "None"
