"""compatserver.install(): code importing socketserver gets compatserver.

Every check runs in a child process started with the interpreter running the
tests: install() changes ``sys.modules`` for the whole process, and its
warning would be an error under pytest's ``filterwarnings = error``.

The stdlib's own users of socketserver are tested with their own suites from
the stdlib's ``test`` package (``test_httpservers``, ``test_xmlrpc``,
``test_docxmlrpc``, ``test_wsgiref``, ``test_logging``), each run in the same
conditions once on the plain stdlib, to tell the environment's failures from
compatserver's, and once after ``compatserver.install()`` (the runner is
``conftest_suites.py``).  Every test must pass in both, except the documented
differences below, which must pass on the plain stdlib and fail under
install() (otherwise they are not differences).
"""
import pytest

import compatserver
from conftest_suites import (  # noqa: F401 (suite_runs: a fixture)
    SUITE_TIMEOUT, SUITES, compare, run_child, suite_runs)

pytestmark = pytest.mark.conformance

#: ``socketserver``, or ``SocketServer`` on Python 2.7.
STDLIB_NAME = compatserver.stdlib.__name__

# Suite -> {"Class.test_method": why it differs with compatserver on purpose}.
# Each must pass on the plain stdlib and fail under install().
DOCUMENTED_DIFFERENCES = {
}


CHILD_HTTP = r'''
import json, sys, threading, time
import compatserver
monotonic = getattr(time, "monotonic", time.time)  # Python 2: none
spec = getattr(compatserver, "__spec__", None)  # Python 2: none
out = {"first": compatserver.install(), "second": compatserver.install()}
# six would resolve this by importing the stdlib's name again, now
# compatserver, and give compatserver six's __spec__.
import six.moves.socketserver as moved
out["six_moves_stdlib"] = moved is compatserver.stdlib
out["spec_kept"] = getattr(compatserver, "__spec__", None) is spec
del moved  # a global holding the stdlib module: install() would name us
name = compatserver.stdlib.__name__
out["is_compatserver"] = __import__(name) is compatserver
try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from http.client import HTTPConnection
except ImportError:  # Python 2
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer
    from httplib import HTTPConnection
out["subclass"] = issubclass(HTTPServer, compatserver.TCPServer)
# http.server is built on compatserver now: nothing holds the stdlib's.
out["after_import"] = compatserver.install()


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello " + self.path.encode("ascii")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Hello)
thread = threading.Thread(target=server.serve_forever)
thread.daemon = True
thread.start()
try:
    conn = HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    conn.request("GET", "/x")
    response = conn.getresponse()
    out["status"] = response.status
    out["body"] = response.read().decode("ascii")
    conn.close()
    # Let the loop go back to its wait: the stdlib's would now need most of
    # its 0.5 s poll interval to notice shutdown().
    time.sleep(0.1)
    start = monotonic()
    server.shutdown()
    out["shutdown"] = monotonic() - start
    thread.join(10)
    out["joined"] = not thread.is_alive()
finally:
    server.server_close()
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
'''


def test_http_server_imported_after_install_is_compatserver(tmp_path):
    result = run_child(CHILD_HTTP, tmp_path)
    assert result["first"] == [] and result["second"] == []
    assert result["is_compatserver"]
    assert result["six_moves_stdlib"] and result["spec_kept"]
    assert result["subclass"]
    assert result["after_import"] == []
    assert (result["status"], result["body"]) == (200, "hello /x")
    assert result["joined"]
    # The stdlib's loop takes up to its 0.5 s poll (gh-88932).
    assert result["shutdown"] < 0.25, result


CHILD_BEFORE = r'''
import json, sys, warnings
try:
    import http.server as before
except ImportError:  # Python 2
    import BaseHTTPServer as before
import compatserver
out = {"before": before.__name__}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out["first"] = compatserver.install()
    out["second"] = compatserver.install()
out["warnings"] = [
    {"category": "%s.%s" % (w.category.__module__, w.category.__name__),
     "user_warning": issubclass(w.category, UserWarning),
     "message": str(w.message), "filename": w.filename}
    for w in caught]
name = compatserver.stdlib.__name__
out["installed"] = sys.modules[name] is compatserver
out["still_stdlib"] = not issubclass(before.HTTPServer, compatserver.TCPServer)
out["uninstall"] = [compatserver.uninstall(), compatserver.uninstall()]
out["restored"] = sys.modules[name] is compatserver.stdlib
try:
    import xmlrpc.server as after
except ImportError:  # Python 2
    import SimpleXMLRPCServer as after
out["after_uninstall_compat"] = issubclass(after.SimpleXMLRPCServer,
                                           compatserver.TCPServer)
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
'''


def test_modules_imported_before_are_named_in_one_warning(tmp_path):
    result = run_child(CHILD_BEFORE, tmp_path)
    before = result["before"]
    assert before == ("BaseHTTPServer" if STDLIB_NAME == "SocketServer"
                      else "http.server")
    # compatserver's own modules, six.moves and the stdlib module hold the
    # stdlib module too and are not named.
    assert result["first"] == [before]
    assert result["second"] == result["first"]
    assert result["installed"] and result["still_stdlib"]
    assert [w["category"] for w in result["warnings"]] == [
        "compatserver.InstallWarning"], result["warnings"]
    warning = result["warnings"][0]
    assert warning["user_warning"]
    # The caller of install(): the child's -c code ("-c" on Python 2).
    assert warning["filename"] in ("<string>", "-c")
    assert warning["message"] == (
        "compatserver.install(): %s imported before install() and still use "
        "the stdlib's %s classes; import them after compatserver.install(), "
        "or re-import them" % (before, STDLIB_NAME))
    assert result["uninstall"] == [True, False]
    assert result["restored"]
    assert not result["after_uninstall_compat"]


CHILD_SUBMODULES = r'''
import json, sys, traceback
import compatserver
out = {"stale": compatserver.install(), "errors": {}}
for name in ("compatserver.http", "compatserver.xmlrpc", "compatserver.wsgi"):
    try:
        __import__(name)
    except Exception:
        out["errors"][name] = traceback.format_exc()
# Each server still carries compatserver's loop and is still the stdlib's.
out["servers"] = {}
for module, std_name, names in (
        ("http", "HTTPServer", ("HTTPServer", "ThreadingHTTPServer", "ThreadPoolHTTPServer")),
        ("xmlrpc", "SimpleXMLRPCServer", ("SimpleXMLRPCServer", "ThreadingXMLRPCServer")),
        ("wsgi", "WSGIServer", ("WSGIServer", "ThreadingWSGIServer"))):
    mod = getattr(compatserver, module, None)
    if mod is None:
        continue
    for name in names:
        cls = getattr(mod, name)
        out["servers"][module + "." + name] = [
            issubclass(cls, compatserver.LoopMixIn),
            any(k.__name__ == std_name and not k.__module__.startswith("compatserver")
                for k in cls.__mro__)]
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
'''


def test_compatserver_submodules_import_after_install(tmp_path):
    result = run_child(CHILD_SUBMODULES, tmp_path)
    assert result["stale"] == []
    assert result["errors"] == {}, "\n".join(result["errors"].values())
    assert len(result["servers"]) == 7
    assert all(v == [True, True] for v in result["servers"].values()), result["servers"]


# --- the stdlib's own suites --------------------------------------------

@pytest.mark.timeout(SUITE_TIMEOUT + 60)
@pytest.mark.parametrize("suite", SUITES)
def test_stdlib_suite_passes_under_install(suite, suite_runs):
    _, ours = compare(suite_runs, suite, "compatserver",
                          DOCUMENTED_DIFFERENCES.get(suite, {}))
    assert ours["installed"] and ours["stale"] == []
    assert ours["stale_after_import"] == []
