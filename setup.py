# Shim for pip 20.3 on Python 2.7, which cannot do editable installs from
# setup.cfg alone.  Everything lives in setup.cfg.
from setuptools import setup

setup()
