"""Project-wide pytest configuration.

Files whose name ends in ``_py3.py`` use Python-3-only syntax and are kept
away from Python 2.7 here rather than guarded inside each file.
"""
import sys

import pytest

collect_ignore_glob = []
if sys.version_info[0] < 3:  # Python 2
    collect_ignore_glob.append("*_py3.py")


@pytest.fixture
def baseline():
    """(open descriptors, live threads) before the test; the same again after it.

    For the load tests: every server a test starts, every client, every
    worker thread must be gone when it ends (see conftest_load.assert_back_to).
    """
    from conftest_load import assert_back_to, resources
    before = resources()
    yield before
    assert_back_to(before)
