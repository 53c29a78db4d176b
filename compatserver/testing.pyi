# Type information for compatserver.testing (see __init__.pyi).
import socketserver
import threading
from typing import ContextManager, Iterable, Optional, TypeVar

_S = TypeVar("_S", bound=socketserver.BaseServer)

__all__: list[str]

DEFAULT_TIMEOUT: float
LOOP_THREAD_NAME: str

class ServingError(AssertionError): ...

def start(server: socketserver.BaseServer, poll_interval: float = 0.5,
          timeout: float = ...) -> threading.Thread: ...
def stop(server: socketserver.BaseServer, thread: Optional[threading.Thread] = None,
         timeout: float = ...,
         threads_before: Optional[Iterable[threading.Thread]] = None) -> None: ...
def serving(server: _S, timeout: float = ...,
            poll_interval: float = 0.5) -> ContextManager[_S]: ...
