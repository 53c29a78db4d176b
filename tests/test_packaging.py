"""The installed distribution is the one this checkout describes."""
import io
import os

import pytest

import analysis
import compatserver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_TOX = bool(os.environ.get("TOX_ENV_NAME"))


def _setup_cfg_version():
    with io.open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("version ="):
                return line.split("=", 1)[1].strip()
    raise AssertionError("setup.cfg has no version line")


def _files(root):
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if not name.endswith((".pyc", ".pyo")):
                found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def test_version_matches_setup_cfg():
    assert compatserver.__version__ == _setup_cfg_version()


@pytest.mark.skipif(not IN_TOX, reason="only meaningful against the installed sdist (tox)")
@pytest.mark.parametrize("package", [compatserver, analysis], ids=["compatserver", "analysis"])
def test_installed_package_is_not_the_checkout_and_has_every_file(package):
    # tox installs the sdist; a test that imported the checkout instead would
    # miss packaging mistakes such as a subpackage or data file left out.
    installed = os.path.dirname(os.path.abspath(package.__file__))
    name = package.__name__
    assert installed != os.path.join(ROOT, name)
    assert "site-packages" in installed.split(os.sep)
    missing = _files(os.path.join(ROOT, name)) - _files(installed)
    assert not missing, "files of %s missing from the installed package: %s" % (name, sorted(missing))
