"""Runs synthesis steps on worker threads, most urgent first.

Synthesis is CPU-bound, so it runs off the event loop on a fixed number of threads. A
context that has not yet sent any audio jumps the queue: time to first audio is what a
caller hears (design.md "Architecture"). Work is handed out one sentence at a time, so
a long paragraph never holds a worker while a new context waits.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from enum import IntEnum
from typing import TypeVar

T = TypeVar("T")


class Priority(IntEnum):
    """Lower runs first."""

    #: a context's work before its first audio
    FIRST_AUDIO = 0
    #: everything else
    STREAMING = 1


class Scheduler:
    """A thread pool with a priority queue in front of it.

    A worker slot is held until its thread finishes, even if the awaiting task was
    cancelled meanwhile, so cancelled work never lets more threads run than `workers`.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="ttsd-synth")
        self._free = workers
        self._order = itertools.count()
        self._waiting: list[tuple[int, float, int, asyncio.Future[None]]] = []
        self._running = 0

    @property
    def queued(self) -> int:
        """Steps waiting for a worker."""
        return sum(1 for *_, waiter in self._waiting if not waiter.done())

    @property
    def running(self) -> int:
        """Steps on a worker now."""
        return self._running

    async def run(self, step: Callable[[], T], priority: Priority, deadline: float = math.inf) -> T:
        """Run `step` on a worker when its turn comes and return its result.

        Within a priority, earlier `deadline`s (monotonic seconds) go first, then arrival.
        """
        await self._acquire(priority, deadline)
        loop = asyncio.get_running_loop()
        try:
            future: Future[T] = self._executor.submit(step)
        except BaseException:
            self._release()
            raise
        self._running += 1
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._release))
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Stop accepting work; running steps finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _acquire(self, priority: Priority, deadline: float) -> None:
        if self._free > 0 and not self.queued:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), deadline, next(self._order), waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Woken and cancelled in the same tick: hand the slot on.
                self._release(count_running=False)
            raise

    def _release(self, *, count_running: bool = True) -> None:
        if count_running:
            self._running -= 1
        while self._waiting:
            *_, waiter = heapq.heappop(self._waiting)
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
