"""analysis.versions: which interpreters run, and where their files go."""
import os

import pytest

from analysis import versions


def fake_pyenv(tmpdir, names):
    root = tmpdir.mkdir("pyenv")
    for name in names:
        minor = ".".join(name.split(".")[:2])
        exe = root.join("versions", name, "bin", "python" + minor)
        exe.ensure()
        exe.chmod(0o755)
    return str(root)


@pytest.fixture
def env(monkeypatch, tmpdir):
    monkeypatch.setattr(versions, "CHECKOUT", str(tmpdir.mkdir("checkout")))  # no .tox there
    monkeypatch.setenv("PYENV_ROOT", fake_pyenv(tmpdir, ["2.7.18", "3.12.1", "3.13.0", "system-ish"]))
    return monkeypatch


def labels(found):
    return [i.label for i in found]


def test_every_pyenv_version_when_pyenv_version_names_one(env):
    # pyenv's shims export the single version they resolved: not a choice.
    env.setenv("PYENV_VERSION", "3.13.0")
    found = versions.find_interpreters()
    assert labels(found) == ["2.7", "3.12", "3.13"]
    assert found[0].executable.endswith(os.path.join("versions", "2.7.18", "bin", "python2.7"))


def test_pyenv_version_joined_selects(env):
    env.setenv("PYENV_VERSION", "3.13.0:2.7.18")
    assert labels(versions.find_interpreters()) == ["3.13", "2.7"]


def test_tox_environment_is_preferred(env):
    env.delenv("PYENV_VERSION", raising=False)
    tox = os.path.join(versions.CHECKOUT, ".tox", "py312", "bin", "python")
    os.makedirs(os.path.dirname(tox))
    with open(tox, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(tox, 0o755)
    found = dict((i.label, i.executable) for i in versions.find_interpreters())
    assert found["3.12"] == tox
    assert found["3.13"].endswith("python3.13")


def test_pythons_by_version_and_path(env, tmpdir):
    env.setenv("PATH", "")
    found = versions.find_interpreters(["3.12"])
    assert [(i.label, i.display) for i in found] == [("3.12", "python3.12")]
    exe = tmpdir.join("mypython")
    exe.write("#!/bin/sh\n")
    exe.chmod(0o755)
    found = versions.find_interpreters([str(exe)])
    assert [(i.label, i.executable, i.display) for i in found] == [(str(exe), str(exe), str(exe))]
    with pytest.raises(versions.VersionsError) as info:
        versions.find_interpreters(["3.99"])
    assert str(info.value) == "interpreter python3.99 not found (pyenv, PATH or .tox)"
    with pytest.raises(versions.VersionsError) as info:
        versions.find_interpreters([str(tmpdir.join("missing"))])
    assert str(info.value) == "interpreter %s does not exist or is not executable" % tmpdir.join("missing")


def test_nothing_found(env, tmpdir):
    env.setenv("PYENV_ROOT", str(tmpdir.mkdir("empty")))
    env.setenv("PATH", "")
    with pytest.raises(versions.VersionsError) as info:
        versions.find_interpreters()
    assert str(info.value) == "no Python interpreter found (pyenv, PATH); give --pythons"


def test_output_paths():
    assert versions.output_paths("out", "http", "3.13.0") == {
        "trace": os.path.join("out", "http", "3.13.0.trace.json"),
        "flow": os.path.join("out", "http", "3.13.0.flow.json"),
        "mro": os.path.join("out", "http", "3.13.0.mro.json"),
    }


def shims(tmpdir, root, names):
    """pyenv's shims directory, on PATH: scripts that run what pyenv selects."""
    directory = os.path.join(root, "shims")
    os.makedirs(directory)
    for name in names:
        shim = os.path.join(directory, name)
        with open(shim, "w") as f:
            f.write("#!/bin/sh\necho 'pyenv: %s: command not found' >&2\nexit 127\n" % name)
        os.chmod(shim, 0o755)
    return directory


def test_pythons_finds_the_interpreter_behind_pyenv_shims(env):
    # PYENV_VERSION selects 3.12 and 3.13; python2.7 on PATH is pyenv's shim,
    # which would fail; the version named is pyenv's installed 2.7.18.
    root = os.environ["PYENV_ROOT"]
    env.setenv("PATH", shims(None, root, ["python2.7", "python3.13"]))
    env.setenv("PYENV_VERSION", "3.12.1:3.13.0")
    found = versions.find_interpreters(["2.7", "3.13"])
    assert [(i.label, i.executable) for i in found] == [
        ("2.7", os.path.join(root, "versions", "2.7.18", "bin", "python2.7")),
        ("3.13", os.path.join(root, "versions", "3.13.0", "bin", "python3.13")),
    ]


def test_shims_are_not_interpreters_on_path(env, tmpdir):
    # No pyenv root known: a shims directory is still recognized by pyenv's layout.
    root = str(tmpdir.mkdir("other-pyenv"))
    os.makedirs(os.path.join(root, "libexec"))
    open(os.path.join(root, "libexec", "pyenv"), "w").close()
    env.setenv("PYENV_ROOT", str(tmpdir.join("nowhere")))
    env.setenv("PATH", shims(None, root, ["python2.7"]))
    with pytest.raises(versions.VersionsError) as info:
        versions.find_interpreters()
    assert str(info.value) == "no Python interpreter found (pyenv, PATH); give --pythons"
