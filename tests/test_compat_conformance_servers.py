"""The stdlib's server suites with compatserver's classes substituted.

Each interpreter's own ``test_httpservers``, ``test_xmlrpc``,
``test_docxmlrpc``, ``test_wsgiref`` and ``test_logging`` run on the plain
stdlib in a child process, with compatserver's servers and handlers
(``compatserver.http``, ``.xmlrpc``, ``.wsgi``) set on the stdlib modules the
suites take them from (``http.server``, ``xmlrpc.server``,
``wsgiref.simple_server``; on 2.7 ``BaseHTTPServer``, ``SimpleHTTPServer``,
``CGIHTTPServer``, ``SimpleXMLRPCServer``, ``DocXMLRPCServer``) before the
suite is imported: its ``from http.server import HTTPServer`` and its
``xmlrpc.server.SimpleXMLRPCServer`` are compatserver's
(``conftest_suites.SUBSTITUTIONS``).  ``install()`` is the other route, in
``test_compat_install.py``; both share the plain run and its runner.

Every test must run, pass and skip as on the plain stdlib, except the
documented differences below: each is a change compatserver.http makes on
purpose (its module docstring lists them), must pass on the plain stdlib and
fail here.
"""
import sys

import pytest

from conftest_suites import (  # noqa: F401 (suite_runs: a fixture)
    SUITE_TIMEOUT, SUITES, compare, suite_runs)

pytestmark = pytest.mark.conformance

# Suite -> {"Class.test_method": why it differs with compatserver on purpose},
# for the versions where it differs: each must fail in the substituted run.
DOCUMENTED_DIFFERENCES = {
    "test_httpservers": {
        "MiscTestCase.test_all": (
            "3.x: expects http.server.__all__ to be the names in http.server "
            "whose __module__ is 'http.server'; the substituted classes are "
            "compatserver.http's (as test_socketserver's test_all in "
            "test_compat_conformance.py)"),
    },
}
if sys.version_info[0] == 2:  # Python 2
    DOCUMENTED_DIFFERENCES["test_httpservers"][  # Python 2
        "BaseHTTPServerTestCase.test_head_via_send_error"] = (
            "2.7: asserts that send_error(200) answers HEAD without "
            "Content-Length; compatserver.http sends it on 2.7 as 3.x does "
            "(bpo-12921), which 3.x's own test asserts")

#: Suite -> the names it imports with ``from <stdlib module> import`` on
#: every version, which must be compatserver's in its globals.  The other
#: suites take the classes as module attributes
#: (``xmlrpc.server.SimpleXMLRPCServer``), checked for every suite; 3.x's
#: test_logging imports HTTPServer and BaseHTTPRequestHandler, 2.7's no
#: HTTP server.
SUITE_GLOBALS = {
    "test_httpservers": ["BaseHTTPRequestHandler", "CGIHTTPRequestHandler",
                         "HTTPServer", "SimpleHTTPRequestHandler"],
    "test_docxmlrpc": ["DocXMLRPCServer"],
    "test_wsgiref": ["WSGIRequestHandler", "WSGIServer", "make_server"],
}


@pytest.mark.timeout(SUITE_TIMEOUT + 60)
@pytest.mark.parametrize("suite", SUITES)
def test_stdlib_suite_passes_substituted(suite, suite_runs):
    differences = DOCUMENTED_DIFFERENCES.get(suite, {})
    ours = compare(suite_runs, suite, "substituted", differences)[1]
    print("substituted: %s\nsuite globals: %s" % (
        ", ".join(ours["substituted"]), ours["suite_globals"]))
    # Every server module of this version had its classes replaced ...
    assert set(s.rsplit(".", 1)[1] for s in ours["substituted"]) >= set([
        "HTTPServer", "BaseHTTPRequestHandler", "SimpleHTTPRequestHandler",
        "SimpleXMLRPCServer", "DocXMLRPCServer", "SimpleXMLRPCRequestHandler",
        "DocXMLRPCRequestHandler", "WSGIServer", "WSGIRequestHandler",
        "make_server"])
    # ... and neither they nor a test module holds a stdlib class.
    assert ours["still_stdlib"] == [] and ours["stale_globals"] == []
    for name in SUITE_GLOBALS.get(suite, []):
        assert ours["suite_globals"].get(name, "").startswith(
            "compatserver."), (name, ours["suite_globals"])
