"""How the serving loop waits, and how shutdown() wakes it.

The stdlib's ``serve_forever()`` sleeps in ``select()`` for up to
``poll_interval`` seconds and looks at a flag when it wakes up, so
``shutdown()`` takes on average half a poll interval (250 ms by default) to
return and, on Python 2, a signal every 10 ms restarts the whole interval and
makes it take seconds (bpo-7978; gh-88932 / bpo-44769 upstream).  Python 2.7
also waits with ``select.select()``, which fails outright for a file
descriptor above 1023 (``FD_SETSIZE``).

compatserver waits with ``select.poll()``, which has no descriptor limit, on
two descriptors: the listening socket and the read end of a *self-pipe*.
``shutdown()`` sets the flag and writes one byte into the pipe, so the loop
wakes at once, whatever ``poll_interval`` is; ``poll_interval`` still bounds
how often ``service_actions()`` runs.  The interrupted-wait retry (with the
*remaining* time) lives in :func:`compatserver._compat.wait_for`, the one
place that knows whether the interpreter already does it (PEP 475).

The pipe is created when a loop starts and closed when it ends, so a server
that is never served holds no extra descriptors.  Both ends are
non-blocking: a wake-up is never lost (one byte in the pipe is enough) and
never blocks the caller (a full pipe already means "wake up").
"""
import errno
import fcntl
import os
import select
import socket

from ._compat import wait_for

__all__ = ["Poller", "WakeupPipe", "READ_EVENTS", "POLLNVAL", "wait_for", "readable"]


if hasattr(select, "poll"):
    Poller = select.poll
    #: Events that make a descriptor "ready to read" for the loop; an error or
    #: hang-up is reported as ready, as the stdlib's selectors do, so that the
    #: next accept() or recv() sees the error instead of the loop spinning.
    READ_EVENTS = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP
else:  # pragma: no cover - every POSIX system has poll(); this is for others
    READ_EVENTS = 1

    class Poller(object):
        """The part of ``select.poll`` the loop uses, built on ``select()``."""

        def __init__(self):
            self._fds = []

        def register(self, fd, eventmask=READ_EVENTS):
            self._fds.append(fd)

        def poll(self, timeout_ms=None):
            timeout = None if timeout_ms is None else timeout_ms / 1000.0
            ready = select.select(self._fds, [], [], timeout)[0]
            return [(fd, READ_EVENTS) for fd in ready]


#: poll()'s "not an open descriptor" event (0 where there is no poll()): the
#: listening socket was closed while a loop waited on it.
POLLNVAL = getattr(select, "POLLNVAL", 0)


def _set_nonblocking_cloexec(fd):
    # Python 3.4+ makes os.pipe() non-inheritable already (PEP 446);
    # Python 2 does not, so a subprocess would inherit the pipe.
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)


class WakeupPipe(object):
    """A self-pipe: :meth:`wake` from any thread ends the loop's wait."""

    def __init__(self):
        self.read_fd, self.write_fd = os.pipe()
        _set_nonblocking_cloexec(self.read_fd)
        _set_nonblocking_cloexec(self.write_fd)
        self.closed = False

    def wake(self):
        """Make the read end readable; never blocks, never raises.

        After :meth:`close`, does nothing: a signal handler that outlived
        its loop must not write to a descriptor number reused since.
        """
        if self.closed:
            return
        try:
            os.write(self.write_fd, b"x")
        except OSError as exc:
            # EAGAIN: the pipe is full, so the loop is woken already.  (The
            # caller holds the server's loop lock, so the pipe is still open.)
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise

    def drain(self):
        """Empty the pipe so the next wait sleeps again."""
        try:
            while os.read(self.read_fd, 4096):
                pass
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise

    def close(self):
        self.closed = True  # first: wake() may run between these lines (a signal handler)
        os.close(self.read_fd)
        os.close(self.write_fd)


# A non-blocking peek: one recv() system call that says whether a socket has
# data (or EOF) without taking it, where the platform has MSG_DONTWAIT.
_PEEK = (socket.MSG_PEEK | socket.MSG_DONTWAIT) if hasattr(socket, "MSG_DONTWAIT") else 0
_WOULD_BLOCK = (errno.EAGAIN, errno.EWOULDBLOCK)


def readable(sock, timeout_ms=0):
    """Whether *sock* has something to read, EOF or an error within *timeout_ms*.

    Asked for each connection a pool worker accepts, so the common answer
    (the client's request is there) costs one ``recv(MSG_PEEK |
    MSG_DONTWAIT)``; only a connection with nothing yet is polled.
    """
    if _PEEK and sock.gettimeout() is None:
        try:
            sock.recv(1, _PEEK)
            return True
        except socket.error as exc:
            if exc.args[0] not in _WOULD_BLOCK:
                return True
        if not timeout_ms:
            return False
    poller = Poller()
    poller.register(sock.fileno(), READ_EVENTS)
    return bool(poller.poll(timeout_ms))
