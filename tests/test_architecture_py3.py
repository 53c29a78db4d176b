"""Keep the arrows between the parts honest (../shared/STYLE.md).

- ``compatserver`` never imports ``analysis``;
- ``analysis.model`` imports nothing of the project;
- ``analysis.source`` (the source scanner) imports nothing of the project;
- ``analysis.flow`` imports only the model and the scanner;
- the renderers (``analysis.render_*``) know only the model and those two
  pure modules: no trace, no store, no file reading, no Sphinx;
- the page generator (``analysis.pages``) works without Sphinx;
- only ``analysis.sphinxext`` imports ``sphinx``;
- in each package only ``_compat.py`` compares ``sys.version_info`` or imports ``six``.

The checks read the installed sources with :mod:`ast` (nothing is imported),
so Python-3-only modules are parsed too; hence this file is ``_py3``.
"""
import ast
import os

import pytest

import analysis
import compatserver

PACKAGES = {
    "compatserver": os.path.dirname(os.path.abspath(compatserver.__file__)),
    "analysis": os.path.dirname(os.path.abspath(analysis.__file__)),
}


def _modules():
    for package, root in sorted(PACKAGES.items()):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    path = os.path.join(dirpath, name)
                    rel = os.path.relpath(path, os.path.dirname(root))
                    dotted = rel[:-3].replace(os.sep, ".")
                    if dotted.endswith(".__init__"):
                        dotted = dotted[: -len(".__init__")]
                    yield dotted, path


MODULES = list(_modules())


def imported_modules(dotted, path):
    """Absolute names of every module the file imports, relative ones resolved."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    return imported_modules_of(tree, dotted, path)


def imported_modules_of(tree, dotted, path):
    """Absolute names of every module *tree* (of module *dotted* at *path*) imports."""
    is_pkg = path.endswith("__init__.py")
    package = dotted if is_pkg else dotted.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            names.add(mod)
            names.update(mod + "." + alias.name for alias in node.names)
    return names


def _top(names):
    return {n.split(".")[0] for n in names}


def test_modules_were_found():
    found = {d for d, _ in MODULES}
    assert {"compatserver", "analysis"} <= found


@pytest.mark.parametrize("dotted,path", MODULES, ids=[d for d, _ in MODULES])
def test_import_arrows(dotted, path):
    tops = _top(imported_modules(dotted, path))
    if dotted.startswith("compatserver"):
        assert "analysis" not in tops, "compatserver must never import analysis"
    if dotted == "analysis.model":
        assert not tops & {"analysis", "compatserver"}, "model imports nothing of the project"
    if dotted != "analysis.sphinxext":
        assert "sphinx" not in tops, "only analysis.sphinxext imports sphinx"
    project = _project(imported_modules(dotted, path))
    allowed = _allowed(dotted)
    if allowed is not None:
        assert project <= allowed, "%s may import only %s of the project, not %s" % (
            dotted, sorted(allowed) or "nothing", sorted(project - allowed))


#: The project modules each pure module may import (submodule names resolved).
PURE = {"analysis.model", "analysis.source", "analysis.flow"}
ALLOWED = {
    "analysis.model": set(),
    "analysis.source": set(),
    "analysis.flow": {"analysis.model", "analysis.source"},
    "analysis.render_dot": PURE,
    "analysis.render_rst": PURE,
    # A user's walkthrough page (python -m analysis walkthrough): the two
    # renderers above put together, and that page's reST as one HTML file.
    "analysis.render_page": PURE | {"analysis.render_dot", "analysis.render_rst"},
    "analysis.render_html": set(),
    "analysis.pages": {"analysis.model", "analysis.source", "analysis.diff"},
}


def _project(names):
    """The project modules among *names* (``from analysis import model`` -> analysis.model)."""
    found = set()
    for name in names:
        parts = name.split(".")
        if parts[0] in PACKAGES and len(parts) >= 2:
            found.add(".".join(parts[:2]))
    return found


def _allowed(dotted):
    """The project modules *dotted* may import, or ``None`` for no rule."""
    if dotted.startswith("analysis.render_"):
        # A renderer may compose other renderers (a page of DOT and reST).
        return PURE | {d for d, _ in MODULES if d.startswith("analysis.render_")}
    return ALLOWED.get(dotted)


def test_every_pure_module_is_checked():
    found = {d for d, _ in MODULES}
    assert set(ALLOWED) <= found


#: What only reads recordings.  .ci/docs.sh leaves them out of the stamp that
#: decides whether to record again, so the recording side must not run them.
READERS = ("analysis.render_", "analysis.sphinxext", "analysis.pages")


@pytest.mark.parametrize("dotted,path", MODULES, ids=[d for d, _ in MODULES])
def test_the_recording_side_does_not_import_the_readers_at_import_time(dotted, path):
    if dotted.startswith(READERS):
        return
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    lazy = _inside_functions(tree)
    top = ast.Module(body=[n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                           and id(n) not in lazy], type_ignores=[])
    names = _project(imported_modules_of(top, dotted, path))
    assert not {n for n in names if n.startswith(READERS)}, (
        "%s imports %s when imported; import it inside the function that renders"
        % (dotted, sorted(n for n in names if n.startswith(READERS))))


def _inside_functions(tree):
    """The ids of the nodes that run only when a function is called."""
    inside = set()
    for parent in ast.walk(tree):
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(child) for child in ast.walk(parent) if child is not parent)
    return inside


def _reads_version(node):
    return (isinstance(node, ast.Attribute) and node.attr in ("version_info", "hexversion")
            and isinstance(node.value, ast.Name) and node.value.id == "sys")


@pytest.mark.parametrize("dotted,path", MODULES, ids=[d for d, _ in MODULES])
def test_version_logic_only_in_compat(dotted, path):
    # Recording the version as data (a trace's "python" field) is fine; a
    # comparison against it is a version decision and belongs in _compat.py.
    if dotted.rpartition(".")[2] == "_compat":
        return
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(_reads_version(n) for n in ast.walk(node)):
            pytest.fail("%s:%d compares sys.version_info/hexversion; version decisions "
                        "belong in _compat.py" % (dotted, node.lineno))
    assert "six" not in _top(imported_modules(dotted, path)), "six is imported only by _compat.py"
