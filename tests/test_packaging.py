"""The installed distribution is the one this checkout describes."""
import io
import os

import compatserver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup_cfg_version():
    with io.open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("version ="):
                return line.split("=", 1)[1].strip()
    raise AssertionError("setup.cfg has no version line")


def test_version_matches_setup_cfg():
    assert compatserver.__version__ == _setup_cfg_version()


def test_tests_run_against_the_installed_package_not_the_checkout():
    # tox installs an sdist; a test that imported the checkout instead would
    # miss packaging mistakes (a module left out of setup.cfg, say).
    if os.environ.get("TOX_ENV_NAME"):
        here = os.path.dirname(os.path.abspath(compatserver.__file__))
        assert here != os.path.join(ROOT, "compatserver")
        assert "site-packages" in here.split(os.sep)
