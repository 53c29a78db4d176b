"""The CPython issues behind the changes the walkthrough shows.

The notes and the changelog find *that* a definition changed, and where,
from the recordings and each interpreter's source; no source says *why*.
This table does: which issue changed which definition of ``socketserver``,
and in which release.  A citation is printed only next to a change that
was computed in that release's range (between the interpreter before it
and the one that has it), so an entry whose change the recordings do not
show cites nothing, and the docs check fails on an entry that is cited
nowhere on the site (``tests/test_docs_site_py3.py``).

The behaviours the probes measure carry their own issues
(``upstream=`` in ``docs/_tools/probes.py``).

Data and one function; imports on Python 2.7.
"""

from analysis.diff import version_key

__all__ = ["CHANGES", "cite"]

#: ``(qualified name, release, issue)``: the issue that changed (added,
#: removed, rewrote) that definition of ``socketserver`` in that release
#: series, a backport counting for the series it reached (3.6.15 has
#: bpo-31233's thread list, off by default).  A qualified name is
#: ``Class.name`` or a class's own name.
CHANGES = (
    # The service_actions() hook, called once per serve_forever() loop.
    ("BaseServer.service_actions", "3.3", "bpo-11109"),
    # BaseServer as a context manager.
    ("BaseServer.__enter__", "3.6", "bpo-26404"),
    ("BaseServer.__exit__", "3.6", "bpo-26404"),
    # Only Exception goes to handle_error(); SystemExit and
    # KeyboardInterrupt close the request and propagate.
    ("BaseServer._handle_request_noblock", "3.6", "bpo-23430"),
    ("ThreadingMixIn.process_request_thread", "3.6", "bpo-23430"),
    # server_close() can join the handler threads and wait for the
    # children (backported to 3.6, off by default there: _block_on_close).
    ("ThreadingMixIn._threads", "3.6", "bpo-31233"),
    ("ThreadingMixIn._block_on_close", "3.6", "bpo-31233"),
    ("ThreadingMixIn.process_request", "3.6", "bpo-31233"),
    ("ThreadingMixIn.server_close", "3.6", "bpo-31233"),
    ("ForkingMixIn._block_on_close", "3.6", "bpo-31151"),
    ("ForkingMixIn.server_close", "3.6", "bpo-31151"),
    # ... and does by default from 3.7: the public block_on_close, true.
    ("ThreadingMixIn.block_on_close", "3.7", "bpo-33540"),
    ("ThreadingMixIn._block_on_close", "3.7", "bpo-33540"),
    ("ThreadingMixIn.process_request", "3.7", "bpo-33540"),
    ("ThreadingMixIn.server_close", "3.7", "bpo-33540"),
    ("ForkingMixIn.block_on_close", "3.7", "bpo-33540"),
    ("ForkingMixIn._block_on_close", "3.7", "bpo-33540"),
    ("ForkingMixIn.server_close", "3.7", "bpo-33540"),
    # The list of threads no longer keeps every finished thread
    # (backported to 3.8's late patch releases, never to 3.7).
    ("ThreadingMixIn._threads", "3.8", "bpo-37193"),
    ("ThreadingMixIn.process_request", "3.8", "bpo-37193"),
    ("ThreadingMixIn.server_close", "3.8", "bpo-37193"),
    # SO_REUSEPORT on request.
    ("TCPServer.allow_reuse_port", "3.11", "bpo-16594"),
    ("TCPServer.server_bind", "3.11", "bpo-16594"),
    # The forking Unix-socket servers.
    ("ForkingUnixStreamServer", "3.12", "gh-103673"),
    ("ForkingUnixDatagramServer", "3.12", "gh-103673"),
)


def _series(version):
    """``"3.12.1"`` -> ``(3, 12)``, to compare release series."""
    return version_key(version)[:2]


def cite(name, previous, version, changes=CHANGES):
    """The issues that changed *name* after *previous*, up to *version*.

    *name* is a qualified name (``ThreadingMixIn.server_close``) or a
    class's; *previous* and *version* are interpreter versions (``3.6``,
    ``3.7.16``): the change was seen between those two.  Returns the
    issues in the table's order, each once (``[]``: none known).
    """
    low, high = _series(previous), _series(version)
    found = []
    for qualname, release, issue in changes:
        if qualname == name and low < _series(release) <= high and issue not in found:
            found.append(issue)
    return found
