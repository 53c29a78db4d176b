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
on 3.6, 49 ms on 3.13), and once more when some of its functions have an
owner decided per call and others not (the prologue has a form for each);
the result is kept per file (its size and modification time) and form, so
the runs of one process pay it once.
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
LOCALS = ("_analysis_frame", "_analysis_caller", "_analysis_owner", "_analysis_thread", "_analysis_exc")

# The recording of one call, in the function's own frame: the template's
# record (see analysis._trace_instrument._TEMPLATE), but for the thread.
# ``_analysis_caller`` is the real caller, and when it runs code with a
# prologue (its code's id is in the recording's set) it is the anchor, and
# the thread is left for the tree to take from the anchor's call: the
# thread-local is read only for a call from code that is not recorded
# (callgrind, 3.9: 410 of the 4,800 instructions of a recorded call).  That
# anchor's call is in the recording, noted by skip(), or made between
# install() and the recording's start (the tree leaves out its callees):
# a frame that was running at install() runs the original code, which is
# not recorded (tested).
# A caller in the same file is known by its code's file name, the string
# object install() made for this file and run (``"__analysis:file__"``):
# equal to the file's name, and held by no other code, so the test is
# one attribute and ``is`` where the set needs id() and a hash.  (Where the
# interpreter interns a code's file name, 3.13, it is an object no code
# holds, and every caller takes the set's test.)
# Two forms (_OWNER): the owner a constant when the code decides it, else
# looked up by the type of %(receiver)s, the first parameter (a constant
# and no test: 310 instructions less a call, 3.9).
# A call with no caller (a thread's target run from C) has NO_CALLER in
# ``_analysis_caller``, an object with a frame's attributes: the call from
# a recorded caller, nearly every call, is then three attribute reads
# (``f_back``, ``f_code``, ``co_filename``), an ``is`` and the record, with
# no test of None on its way (callgrind, 3.9: 3,000 fewer of the 77,000
# instructions analysis adds to an echo request, where runs differ by 1,000).
# No test of Recording.active: the code records from install() to
# uninstall(), which restores the originals, on failure too (see
# Backend.fail).  Until December 2026 it began ``if "__analysis:on__":``,
# which every compiler folds away (a placeholder is a true constant): the
# test never ran, and taking it out changes no recording code's bytecode.
PROLOGUE = '''
try:
    _analysis_frame = "__analysis:getframe__"()
    _analysis_caller = _analysis_frame.f_back or "__analysis:no_caller__"%(find_owner)s
    if (_analysis_caller.f_code.co_filename is "__analysis:file__"
            or "__analysis:id__"(_analysis_caller.f_code) in "__analysis:recorded__"):
        # Called by a recorded call, so in that call's thread: None
        # here, taken from the caller's record after the run, as is the
        # caller's code (see Recording.site_codes).
        "__analysis:raw_extend__"(("__analysis:id__"(_analysis_frame), "__analysis:id__"(_analysis_caller), None,
                                   "__analysis:index__", %(owner)s, None, _analysis_caller.f_lasti))
    else:
        _analysis_thread = "__analysis:local__".thread_id
        if _analysis_thread is None:
            "__analysis:skip__"(_analysis_frame)
        elif _analysis_thread is "__analysis:new_thread__":
            "__analysis:first_call__"(_analysis_frame, "__analysis:info__", %(owner)s)
        elif _analysis_caller is "__analysis:no_caller__":
            "__analysis:raw_extend__"(("__analysis:id__"(_analysis_frame), None, _analysis_thread,
                                       "__analysis:index__", %(owner)s, None, None))
        else:
            "__analysis:raw_extend__"(("__analysis:id__"(_analysis_frame),
                                       "__analysis:anchor_of__"(_analysis_caller.f_back),
                                       _analysis_thread, "__analysis:index__", %(owner)s,
                                       _analysis_caller.f_code, _analysis_caller.f_lasti))
        del _analysis_thread
    # The frame in its own local is a reference cycle (see the template).
    del _analysis_frame, _analysis_caller%(forget_owner)s
except "__analysis:Exception__" as _analysis_exc:
    _analysis_frame = _analysis_caller = None
    "__analysis:fail__"(_analysis_exc)
'''

class _NoCallerCode(object):
    co_filename = None  # in no file: not the recording's


class _NoCaller(object):
    """The caller in PROLOGUE of a call with no caller: its code in no file, and not recorded."""

    f_back = f_lasti = None
    f_code = _NoCallerCode()


NO_CALLER = _NoCaller()


# PROLOGUE's owner, by whether it is known when the code is made.
_OWNER = {
    True: {"find_owner": "", "owner": '"__analysis:owner__"', "forget_owner": ""},
    False: {
        "find_owner": '\n        _analysis_owner = "__analysis:owner_of__"(%(receiver)s)',
        "owner": "_analysis_owner",
        "forget_owner": ", _analysis_owner",
    },
}

_NOT_AT_CALL = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator

# (file name, owner known) -> ((size, mtime), {(co_name, co_firstlineno): (original, with prologue)})
_cache = {}
_cache_lock = threading.Lock()


def prologue_code(code, owner_known=True):
    """*code* with the recording prologue, its placeholders still strings; or None.

    *owner_known*: the owner is a constant (``"__analysis:owner__"``), not
    looked up per call (``"__analysis:owner_of__"``).  None when *code*
    keeps the template (see the module's docstring).
    """
    if code.co_flags & _NOT_AT_CALL or any(name in code.co_varnames for name in LOCALS):
        return None
    found = _module_codes(code.co_filename, bool(owner_known)).get((code.co_name, code.co_firstlineno))
    if found is None or found[0] != code:
        return None
    made = found[1]
    if made.co_freevars != code.co_freevars or made.co_cellvars != code.co_cellvars:
        return None
    return made


def _module_codes(filename, owner_known):
    try:
        stat = os.stat(filename)
    except (OSError, IOError, TypeError, ValueError):  # "<string>", a removed file
        return {}
    stamp = (stat.st_size, stat.st_mtime)
    with _cache_lock:
        cached = _cache.get((filename, owner_known))
        if cached is None or cached[0] != stamp:
            cached = _cache[filename, owner_known] = (stamp, _compile_both(filename, owner_known))
    return cached[1]


def _compile_both(filename, owner_known):
    """``{(co_name, co_firstlineno): (original code, code with prologue)}`` for *filename*."""
    try:
        with open(filename, "rb") as source_file:
            source = source_file.read()
        tree = ast.parse(source, filename)
        original = compile(tree, filename, "exec", 0, True)
        if not _add_prologues(tree.body, _OWNER[owner_known]):
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


def _add_prologues(statements, owner):
    """Give a prologue to every ``def`` in *statements* that runs at import; how many got one."""
    count = 0
    for node in statements:
        if isinstance(node, ast.FunctionDef):  # not AsyncFunctionDef: a coroutine
            at = 0 if ast.get_docstring(node, False) is None else 1
            node.body[at:at] = _prologue(node, owner)
            count += 1
        elif isinstance(node, ast.ClassDef):
            count += _add_prologues(node.body, owner)
        elif not isinstance(node, _ASYNC_DEF):
            for field in _BLOCKS:  # if, try, with, for, while (and except handlers)
                block = getattr(node, field, None)
                if isinstance(block, list):
                    count += _add_prologues(block, owner)
    return count


def _prologue(function, owner):
    """The prologue's statements for *function* (an ``ast.FunctionDef``), on its first body line.

    *owner*: one of the _OWNER forms.
    """
    source = PROLOGUE % dict(owner, find_owner=owner["find_owner"] % {"receiver": _receiver(function.args)})
    statements = ast.parse(source).body
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
