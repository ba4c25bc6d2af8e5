"""The asyncio primitives of the async twin, under the names `_async.py` uses.

`_sync_io.py` has the same names for threads; generating `_sync.py` from `_async.py`
(scripts/gen_sync_client.py) swaps one module for the other, so where the twins differ in
more than ``async``/``await`` the difference is here, a few lines each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, TypeVarTuple

from websockets.asyncio.client import ClientConnection, connect

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

Lock = asyncio.Lock
Queue = asyncio.Queue
#: A reader (or resender) running in the background: a task.
Worker = asyncio.Task[None]
sleep = asyncio.sleep


def mux_lock() -> contextlib.nullcontext[None]:
    """What guards the multiplexer: nothing, since only the event loop's thread uses it."""
    return contextlib.nullcontext()


def spawn(target: Callable[[*Ts], Coroutine[Any, Any, None]], *args: *Ts, name: str) -> Worker:
    """Run ``target(*args)`` in the background: a task."""
    return asyncio.create_task(target(*args), name=name)


async def join(worker: Worker | None, timeout: float) -> None:
    """Wait up to `timeout` seconds for `worker` to end (at once if it is the caller)."""
    if worker is not None and worker is not asyncio.current_task():
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.shield(worker)


async def get(items: asyncio.Queue[T], timeout: float | None) -> T:
    """The next item of `items`; TimeoutError if none comes within `timeout` seconds (None:
    wait forever)."""
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel of the
    # caller's task that races with an item arriving.
    async with asyncio.timeout(timeout):
        return await items.get()


async def open_websocket(url: str, **options: Any) -> ClientConnection:
    """A connection to `url` (websockets' `connect`), closed with its `close()`."""
    return await connect(url, **options)
