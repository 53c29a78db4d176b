"""A self-contained HTML page from the reST that :mod:`analysis.render_page` writes.

For a reader without Sphinx: the same page, the same words, the diagrams
inlined as SVG and the styles in the page, so the one ``.html`` file opens
anywhere.  It reads only the reST the renderers of this package write:
section titles, paragraphs with ``literal``, ``*emphasis*`` and
``**strong**`` text, and the ``figure``, ``list-table``, ``rubric`` and
``code-block`` directives (line numbers, emphasized lines, caption); any
other directive is an error, so that a renderer that starts to write one is
caught by the tests rather than shown half-converted.

A pure function, imports nothing of the project; Python 3 only.
"""
import html
import re

__all__ = ["page", "UnknownMarkup"]

_LEVELS = {"=": 1, "-": 2, "~": 3, "^": 4}
_DIRECTIVE = re.compile(r"^\.\. ([\w-]+)::\s*(.*)$")
_OPTION = re.compile(r"^   :([\w-]+):\s*(.*)$")

STYLE = """\
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
code, pre { font-family: monospace; font-size: 0.92em; }
code { background: #f3f3f3; padding: 0 0.2em; }
figure { margin: 1.5em 0; overflow-x: auto; }
figcaption { font-size: 0.92em; color: #444; }
pre { background: #f8f8f8; border: 1px solid #ddd; padding: 0.5em; overflow-x: auto; }
pre .ln { color: #999; display: inline-block; width: 3em; text-align: right; margin-right: 1em; user-select: none; }
pre mark { background: #fff3b0; display: inline-block; width: 100%; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
h4.rubric { margin-top: 2em; }
"""


class UnknownMarkup(ValueError):
    """The reST holds a construct this converter does not know (one line)."""


def _inline(text):
    """``literal``, **strong**, *emphasis* and ``\\*`` of one paragraph's text, as HTML."""
    parts = re.split(r"``(.+?)``", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append("<code>%s</code>" % html.escape(part))
            continue
        part = html.escape(part.replace("\\*", "\0"))
        part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", part)
        out.append(part.replace("\0", "*"))
    return "".join(out)


def _code(body, options):
    start = int(options.get("lineno-start", "1"))
    marks = set(int(n) for n in options.get("emphasize-lines", "").split(",") if n.strip())
    numbered = "linenos" in options
    rows = []
    for n, line in enumerate(body, 1):
        text = html.escape(line)
        if numbered:
            text = '<span class="ln">%d</span>%s' % (start + n - 1, text)
        rows.append("<mark>%s</mark>" % text if n in marks else text)
    block = "<pre>%s</pre>" % "\n".join(rows)
    caption = options.get("caption")
    if caption:
        return "<figure><figcaption>%s</figcaption>%s</figure>" % (_inline(caption), block)
    return block


def _table(body):
    rows = []
    for line in body:
        if line.startswith("* - "):
            rows.append([line[4:]])
        elif line.startswith("  - ") and rows:
            rows[-1].append(line[4:])
        elif line.strip():
            raise UnknownMarkup("list-table line %r" % line)
    out = ["<table>"]
    for i, row in enumerate(rows):
        cell = "th" if i == 0 else "td"
        out.append("<tr>%s</tr>" % "".join("<%s>%s</%s>" % (cell, _inline(c), cell) for c in row))
    out.append("</table>")
    return "\n".join(out)


def _svg(text):
    """An SVG document's ``<svg>`` element, without its XML prolog and doctype."""
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _figure(argument, options, body, images):
    if argument not in images:
        raise UnknownMarkup("figure %s: no such diagram" % argument)
    caption = " ".join(line.strip() for line in body if line.strip())
    return '<figure role="img" aria-label="%s">%s<figcaption>%s</figcaption></figure>' % (
        html.escape(options.get("alt", argument)), _svg(images[argument]), _inline(caption))


def page(text, title, images):
    """The HTML page of reST *text*; *images*: ``{figure file name: SVG text}``, inlined."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        under = lines[i + 1] if i + 1 < len(lines) else ""
        if (under and under[0] in _LEVELS and under == under[0] * len(under)
                and len(under) >= len(line.strip()) and not line.startswith(" ")):
            level = _LEVELS[under[0]]
            out.append("<h%d>%s</h%d>" % (level, _inline(line.strip()), level))
            i += 2
            continue
        match = _DIRECTIVE.match(line)
        if match:
            name, argument = match.groups()
            i += 1
            options = {}
            while i < len(lines) and _OPTION.match(lines[i]):
                key, value = _OPTION.match(lines[i]).groups()
                options[key] = value
                i += 1
            body = []
            while i < len(lines) and (lines[i].startswith("   ") or not lines[i].strip()):
                body.append(lines[i][3:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            while body and not body[0].strip():
                body.pop(0)
            if name == "code-block":
                out.append(_code(body, options))
            elif name == "list-table":
                out.append(_table(body))
            elif name == "figure":
                out.append(_figure(argument, options, body, images))
            elif name == "rubric":
                out.append('<h4 class="rubric">%s</h4>' % _inline(argument))
            else:
                raise UnknownMarkup("directive %r" % name)
            continue
        paragraph = []
        while i < len(lines) and lines[i].strip() and not _DIRECTIVE.match(lines[i]):
            paragraph.append(lines[i].strip())
            i += 1
        out.append("<p>%s</p>" % _inline(" ".join(paragraph)))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n%s\n</body>\n</html>\n"
            % (html.escape(title), STYLE, "\n".join(out)))
