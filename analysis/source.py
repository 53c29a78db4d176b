"""Read Python source the way the walkthrough shows it: by lines, not by AST.

Python 2.7's ``SocketServer.py`` has ``print`` statements that Python 3
cannot parse, and the walkthrough shows 2.7's source next to 3.13's, so the
source is scanned line by line: the classes of a module and the ``if`` they
sit under, the span of a definition, the statement a line belongs to (the
whole of a call spread over several lines), the lines that mention a name.
Line numbers are 1-based, as in tracebacks and in the recorded traces.

Pure functions on a list of lines, plus :func:`read_lines` to get them.
Imports nothing of the project and nothing outside the standard library;
imports on Python 2.7 (``python -m analysis`` runs it there).
"""
import io
import re

__all__ = [
    "read_lines",
    "lexer_for",
    "scan_classes",
    "classes_calling",
    "find_class",
    "find_def",
    "find_assignment",
    "block_end",
    "statement_range",
    "enclosing_def",
    "instance_attributes",
    "matching_lines",
    "excerpt_ranges",
]

_CLASS = re.compile(r"^(\s*)class\s+(\w+)\s*(?:\((.*)\))?\s*:")
_DEF = r"^(\s*)def\s+%s\s*\("
_IF = re.compile(r"^(\s*)if\s+(.*?):\s*(#.*)?$")
_HEADER = re.compile(
    r"^\s*(if|elif|else|for|while|try|except|finally|with|def|class|async)\b.*:\s*(#.*)?$"
)
_SELF_ASSIGN = re.compile(r"^\s*self\.(\w+)\s*(?::[^=]*)?=[^=]")
# PEP 263: a coding declaration in a comment on line 1 or 2.
_CODING = re.compile(br"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def read_lines(path):
    """The lines of the Python source file *path*, decoded as Python would.

    The PEP 263 declaration on the first two lines names the encoding, else
    UTF-8 (a BOM is dropped); undecodable bytes become U+FFFD rather than an
    error, since the text is only shown.  ``IOError``/``OSError`` if the
    file cannot be read.
    """
    with io.open(path, "rb") as stream:
        data = stream.read()
    encoding = "utf-8"
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    else:
        for line in data.splitlines()[:2]:
            match = _CODING.match(line)
            if match:
                encoding = match.group(1).decode("ascii")
                break
    try:
        text = data.decode(encoding, "replace")
    except LookupError:  # an encoding this Python does not know
        text = data.decode("latin-1")
    return text.splitlines()


def lexer_for(version):
    """The Pygments lexer for the source of Python *version* (``"2.7.18"``...)."""
    return "python2" if version.split(".")[0] == "2" else "python3"


def _indent(line):
    return len(line) - len(line.lstrip(" \t"))


def _is_code(line):
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _in_string(lines):
    """For each line, whether it starts inside a triple-quoted string.

    Good enough for stdlib source: counts the triple quotes of each kind,
    ignoring those inside a string of the other kind on the same line.
    """
    inside = []
    state = None  # None, '"""' or "'''"
    for line in lines:
        inside.append(state is not None)
        i = 0
        while i < len(line):
            if state is None and line[i] == "#":
                break
            quote = line[i:i + 3]
            if quote in ('"""', "'''"):
                if state is None:
                    state = quote
                elif state == quote:
                    state = None
                i += 3
                continue
            i += 1
    return inside


def block_end(lines, start):
    """Last line (1-based) of the block whose header is line *start* (1-based).

    The block ends before the next code line indented no deeper than the
    header; trailing blank and comment lines are not part of it.  A header
    spread over several lines (a long ``def``) is followed to its colon.
    """
    indent = _indent(lines[start - 1])
    last = start
    i = start
    # Follow a multi-line header: parentheses still open.
    depth = lines[start - 1].count("(") - lines[start - 1].count(")")
    while depth > 0 and i < len(lines):
        i += 1
        depth += lines[i - 1].count("(") - lines[i - 1].count(")")
        last = i
    strings = _in_string(lines)
    for j in range(i + 1, len(lines) + 1):
        line = lines[j - 1]
        if strings[j - 1]:
            last = j
            continue
        if not _is_code(line):
            continue
        if _indent(line) <= indent:
            break
        last = j
    return last


def _logical_lines(lines, first, last):
    """The statements of lines *first*..*last*: ``[(a, b)]``, each a line range.

    A statement goes on while a bracket is open, a string (triple-quoted or
    not) is open or a line ends with a backslash.  Comment and blank lines
    between statements belong to none.
    """
    found = []
    depth = 0
    string = None  # the open quote: ' " ''' or """
    start = None
    for number in range(first, last + 1):
        line = lines[number - 1]
        i = 0
        if start is None and string is None and depth == 0 and not _is_code(line):
            continue
        if start is None:
            start = number
        continued = False
        while i < len(line):
            char = line[i]
            if string is not None:
                if char == "\\":
                    i += 2
                    continue
                if line.startswith(string, i):
                    i += len(string)
                    string = None
                    continue
                i += 1
                continue
            if char == "#":
                break
            if char in "\"'":
                triple = line[i:i + 3]
                string = triple if triple in ('"""', "'''") else char
                i += len(string)
                continue
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth = max(0, depth - 1)
            elif char == "\\" and i == len(line.rstrip()) - 1:
                continued = True
            i += 1
        if string in ("'", '"'):
            string = None  # an unterminated one-line string: stop at the line's end
        if depth == 0 and string is None and not continued:
            found.append((start, number))
            start = None
    if start is not None:
        found.append((start, last))
    return found


def statement_range(lines, line, first=None, last=None):
    """``(a, b)``: the lines of the statement that line *line* belongs to.

    A traced call site is one line, but a call may be spread over several:
    Python 2 reports its *last* line, Python 3.8+ the line of the callee's
    name.  Scanning from *first* (the ``def`` of the function that holds
    *line*; default the start of the file) to *last*, the statement is the
    logical line that contains *line*.  A compound statement's header
    (``if x:``) counts as a statement of its own, without its body.
    """
    first = 1 if first is None else first
    last = len(lines) if last is None else last
    if not first <= line <= last:
        return (line, line)
    for a, b in _logical_lines(lines, first, last):
        if a <= line <= b:
            return (a, b)
        if a > line:
            break
    return (line, line)


def enclosing_def(lines, line):
    """``(name, first line)`` of the innermost ``def`` that holds line *line*, or ``None``."""
    if not 0 < line <= len(lines):
        return None
    strings = _in_string(lines)
    indent = _indent(lines[line - 1])
    pattern = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")
    for number in range(line - 1, 0, -1):
        text = lines[number - 1]
        if strings[number - 1] or not _is_code(text) or _indent(text) >= indent:
            continue
        match = pattern.match(text)
        if match:
            if block_end(lines, number) >= line:
                return match.group(2), number
            return None
        indent = _indent(text)
    return None


def scan_classes(lines):
    """Every class statement of a module: ``[(name, [bases], guard, line)]``.

    *guard* is the condition of the enclosing ``if`` statements joined with
    ``and`` (``hasattr(os, "fork")``), or ``""`` for an unconditional class.
    Only module-level classes and classes under module-level ``if`` blocks
    count; classes nested in functions or classes do not.
    """
    found = []
    frames = []  # open compound statements: [(indent, keyword, condition)]
    strings = _in_string(lines)
    for number, line in enumerate(lines, 1):
        if strings[number - 1] or not _is_code(line):
            continue
        indent = _indent(line)
        while frames and indent <= frames[-1][0]:
            frames.pop()
        only_ifs = all(keyword == "if" for _, keyword, _ in frames)
        match = _CLASS.match(line)
        if match and only_ifs:
            bases = [b.strip() for b in (match.group(3) or "").split(",") if b.strip()]
            guard = " and ".join(c for _, _, c in frames)
            found.append((match.group(2), bases, guard, number))
        keyword = _HEADER.match(line)
        if keyword:
            condition = ""
            match = _IF.match(line)
            if match and keyword.group(1) == "if":
                condition = match.group(2).strip()
            frames.append((indent, keyword.group(1), condition))
    return found


def classes_calling(lines, needle):
    """Names of the module's classes whose code contains *needle* (``"os.fork("``).

    A class counts when its own body has the text on a code line (not a
    docstring, not a comment), or when one of its bases in the same module
    counts: ``ForkingTCPServer`` calls ``os.fork()`` through
    ``ForkingMixIn``.  In source order.
    """
    classes = scan_classes(lines)
    direct = set()
    for name, _, _, start in classes:
        if matching_lines(lines, start, block_end(lines, start), [needle]):
            direct.add(name)
    bases = dict((name, found) for name, found, _, _ in classes)
    found = []

    def calls(name, seen):
        if name in direct:
            return True
        return any(base in bases and base not in seen and calls(base, seen | set([base]))
                   for base in bases.get(name, ()))

    for name, _, _, _ in classes:
        if calls(name, set([name])):
            found.append(name)
    return found


def find_class(lines, name):
    """Line (1-based) of the first ``class name`` statement, or ``None``."""
    strings = _in_string(lines)
    for number, line in enumerate(lines, 1):
        match = _CLASS.match(line)
        if match and match.group(2) == name and not strings[number - 1]:
            return number
    return None


def _class_body(lines, owner):
    """``(start, end, code lines, indent)`` of class *owner*'s body, or ``None``.

    *owner* may be qualified (``module.Class``); an empty body is ``None``.
    """
    start = find_class(lines, owner.replace(":", ".").rsplit(".", 1)[-1])
    if start is None:
        return None
    end = block_end(lines, start)
    body = [n for n in range(start + 1, end + 1) if _is_code(lines[n - 1])]
    if not body:
        return None
    return start, end, body, _indent(lines[body[0] - 1])


def find_def(lines, owner, function):
    """``(first, last)`` lines of ``owner.function``'s definition, or ``None``.

    *owner* is a class name (qualified or not) or ``None``/``""`` for a
    module-level function.  Decorators above the ``def`` are included.
    """
    if owner:
        found = _class_body(lines, owner)
        if found is None:
            return None
        start, end, body, indent = found
        span = range(start + 1, end + 1)
    else:
        indent, span = 0, range(1, len(lines) + 1)
    pattern = re.compile(_DEF % re.escape(function))
    for number in span:
        match = pattern.match(lines[number - 1])
        if match and len(match.group(1)) == indent:
            first = number
            while first > 1 and lines[first - 2].strip().startswith("@"):
                first -= 1
            return first, block_end(lines, number)
    return None


def find_assignment(lines, owner, name):
    """Line of ``name = ...`` directly in class *owner*'s body, or ``None``."""
    found = _class_body(lines, owner)
    if found is None:
        return None
    body, indent = found[2], found[3]
    pattern = re.compile(r"^\s*%s\s*(?::[^=]*)?=[^=]" % re.escape(name))
    strings = _in_string(lines)
    for number in body:
        if not strings[number - 1] and _indent(lines[number - 1]) == indent \
                and pattern.match(lines[number - 1]):
            return number
    return None


def instance_attributes(lines, owner, function="__init__"):
    """Names ``owner.function`` assigns on ``self`` (``self.x = ...``), in order."""
    span = find_def(lines, owner, function)
    if span is None:
        return []
    names = []
    for number in range(span[0], span[1] + 1):
        match = _SELF_ASSIGN.match(lines[number - 1])
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def matching_lines(lines, first, last, needles):
    """Lines *first*..*last* of code (not docstring, not comment) containing a needle."""
    strings = _in_string(lines)
    found = []
    for number in range(first, last + 1):
        line = lines[number - 1]
        if strings[number - 1] or line.lstrip().startswith(("#", '"""', "'''")):
            continue
        if any(needle in line for needle in needles):
            found.append(number)
    return found


def excerpt_ranges(first, last, emphasize, max_lines=36, context=3):
    """The line ranges to show of a definition spanning *first*..*last*.

    A short definition is shown whole.  A long one shows its head (the
    ``def`` line and a few after it) and a window of *context* lines around
    each emphasized line, merging windows that touch.  Returns sorted,
    non-overlapping ``[(a, b)]`` within *first*..*last*.
    """
    if last - first + 1 <= max_lines:
        return [(first, last)]
    wanted = [(first, min(last, first + context))]
    for line in sorted(set(emphasize)):
        if first <= line <= last:
            wanted.append((max(first, line - context), min(last, line + context)))
    wanted.sort()
    merged = [list(wanted[0])]
    for a, b in wanted[1:]:
        if a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [tuple(r) for r in merged]
