"""The walkthrough of one server as a reST page and its diagrams, from the model.

``python -m analysis walkthrough SCRIPT.py --out DIR`` writes what this
module renders: one reST page that a Sphinx project includes as it is
(plain ``figure``, ``list-table``, ``rubric`` and ``code-block``
directives, no extension needed), with the diagrams it names as SVG files
beside it.  The pieces are the site's own: the MRO diagrams and the call
flow of :mod:`analysis.render_dot`, the attribute table and the step by
step source of :mod:`analysis.render_rst`.

Pure functions of the model and of source lines the caller has read, like
the other renderers; running ``dot`` and writing files is the caller's job.
Python 3 only.
"""
from analysis import render_dot, render_rst
from analysis.model import short_name

__all__ = ["diagrams", "page", "shadows_of"]


def _literal(text):
    return "``%s``" % text


def _count(n, thing):
    plural = thing + "es" if thing.endswith("process") else thing + "s"
    return "%d %s" % (n, thing if n == 1 else plural)


def _title(text, mark):
    return "%s\n%s\n" % (text, mark * len(text))


def shadows_of(mros):
    """``{(owner class name, attribute): [shadowed classes]}`` from an MRO set."""
    shadows = {}
    for mro in mros.classes:
        for attribute in mro.attributes:
            if attribute.shadows:
                shadows.setdefault((short_name(attribute.owner), attribute.name), attribute.shadows)
    return shadows


def _roles(mros):
    return ["server", "handler"][:len(mros.classes)]


def diagrams(name, flow, mros):
    """``[(file name, DOT text)]``: the diagrams :func:`page` shows, in its order."""
    found = []
    for role, mro in zip(_roles(mros), mros.classes):
        short = short_name(mro.cls)
        found.append(("%s-%s-bases.svg" % (name, role), render_dot.inheritance_dot(mro, name="bases of %s" % short)))
        found.append(("%s-%s-mro.svg" % (name, role), render_dot.mro_order_dot(mro, name="MRO of %s" % short)))
    found.append(("%s-callflow.svg" % name, render_dot.callflow_dot(flow, name="callflow")))
    return found


def _figure(path, alt, caption):
    return ".. figure:: %s\n   :alt: %s\n\n   %s\n" % (path, alt, caption)


def page(name, script, flow, mros, sources, command=None):
    """The reST page: the classes (bases, MRO, owners), the call flow, each step's source.

    *name*: the stem of the diagrams' file names (:func:`diagrams`);
    *script*: the script's file name as the reader knows it; *sources*:
    ``{file: lines}`` for the steps (the script's and the stdlib's);
    *command*: the command line that wrote the page, said at the top.
    """
    version = flow.python["version"]
    steps = flow.steps
    server = short_name(mros.classes[0].cls)
    lanes = []
    for step in steps:
        if (step.thread, step.role == "child") not in lanes:
            lanes.append((step.thread, step.role == "child"))
    children = len([lane for lane in lanes if lane[1]])
    where = _count(len(lanes) - children, "thread") + (
        " and " + _count(children, "child process") if children else "")
    out = [_title("How %s serves a request" % _literal(script), "=")]
    intro = ("Recorded on Python %s (%s) from a real run of %s: the server %s%s.  The call flow "
             "runs in %d steps from the server's construction to %s, in %s." % (
                 version, flow.tracer or "?", _literal(script), _literal(server),
                 ", serving %s" % _literal(short_name(mros.classes[1].cls))
                 if len(mros.classes) > 1 else "",
                 len(steps), _literal(steps[-1].qualname) if steps else "?",
                 where))
    out.append(intro + "\n")
    if command:
        out.append("Written by ``%s``; run it again after a change to the script.\n" % command)
    out.append(_title("The classes", "-"))
    for role, mro in zip(_roles(mros), mros.classes):
        short = short_name(mro.cls)
        out.append(_title("The %s, %s" % (role, _literal(short)), "~"))
        out.append(_figure(
            "%s-%s-bases.svg" % (name, role), "bases graph of %s" % mro.cls,
            "Bases of %s: each class points at its direct bases, numbered in the order its "
            "``class`` statement lists them." % _literal(short)))
        out.append(_figure(
            "%s-%s-mro.svg" % (name, role), "method resolution order of %s" % mro.cls,
            "MRO of %s: attribute lookup tries each class in this order; each box lists what "
            "that class supplies (it is their owner)." % _literal(short)))
        out.append(render_rst.mro_table(mro))
    out.append(_title("The call flow", "-"))
    out.append(_figure(
        "%s-callflow.svg" % name, "call flow of %s on Python %s" % (script, version),
        "Call flow of %s on Python %s, from the construction of %s to %s: numbered in call "
        "order, one lane per thread." % (_literal(script), version,
                                         _literal(server),
                                         _literal(flow.target))))
    out.append(_title("Step by step", "-"))
    out.append(render_rst.flow_steps(flow, sources, version, shadows=shadows_of(mros)))
    return "\n".join(out)
