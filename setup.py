# The version lives in one place, compatserver/__init__.py; it is read here
# as text, because the setuptools that builds on Python 2.7 (44) would import
# the package (and six) for setup.cfg's `attr:`.  Everything else lives in
# setup.cfg.  This file also lets pip 20.3 on Python 2.7 do editable installs.
import io
import os
import re

from setuptools import setup


def read_version():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "compatserver", "__init__.py")
    with io.open(path, encoding="utf-8") as f:
        match = re.search(r'^__version__ = "([^"]+)"$', f.read(), re.M)
    if match is None:
        raise SystemExit("setup.py: no __version__ = \"...\" line in %s" % path)
    return match.group(1)


setup(version=read_version())
