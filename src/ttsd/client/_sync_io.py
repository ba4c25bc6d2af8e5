"""The thread primitives of the synchronous twin: `_async_io.py`'s names, for threads.

`_sync.py` is generated from `_async.py` (scripts/gen_sync_client.py), which imports
`_async_io`; the generated file imports this module instead.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple

from websockets.sync.client import ClientConnection, connect

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

Lock = threading.Lock
Queue = queue.Queue
#: A reader (or resender) running in the background: a daemon thread.
Worker = threading.Thread
sleep = time.sleep


def mux_lock() -> threading.Lock:
    """What guards the multiplexer: a lock, since the reader thread and the callers' threads
    all use it."""
    return threading.Lock()


def spawn(target: Callable[[*Ts], None], *args: *Ts, name: str) -> Worker:
    """Run ``target(*args)`` in the background: a daemon thread, started."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def join(worker: Worker | None, timeout: float) -> None:
    """Wait up to `timeout` seconds for `worker` to end (at once if it is the caller)."""
    if worker is not None and worker is not threading.current_thread():
        worker.join(timeout=timeout)


def get(items: queue.Queue[T], timeout: float | None) -> T:
    """The next item of `items`; TimeoutError if none comes within `timeout` seconds (None:
    wait forever)."""
    try:
        return items.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError from None


def open_websocket(url: str, **options: Any) -> ClientConnection:
    """A connection to `url` (websockets' `connect`), closed with its `close()`.

    Entered as a context manager: websockets 17.1 deprecates its sync `connect()` used bare
    (before 17.1 the same call returns the connection, whose `__enter__` returns itself).
    """
    connection: ClientConnection = connect(url, **options).__enter__()
    return connection
