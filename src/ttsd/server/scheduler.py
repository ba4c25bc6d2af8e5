"""Runs synthesis steps on worker threads, most urgent first, as wide as the load allows.

Synthesis is CPU-bound, so it runs off the event loop on a fixed number of threads. A
context that has not yet sent any audio jumps the queue: time to first audio is what a
caller hears (design.md "Architecture"). Work is handed out one sentence at a time, so
a long paragraph never holds a worker while a new context waits.

How many cores a step gets depends on how many streams want work. A stream alone gets
one step on every core (`threads`): that is the lowest latency for it. Once two or more
streams are busy, up to `workers` steps run side by side with `threads // workers` cores
each: a Piper step on two cores is only ~1.6x faster than on one, so side by side the
machine makes more audio per second, and a new context's first step finds a free slot
sooner (benchmarks/README.md, "Latency under load").
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from enum import IntEnum
from typing import TypeVar

from ttsd.engines.base import running_with_threads
from ttsd.server.load import LoadMeter

T = TypeVar("T")


class Priority(IntEnum):
    """Lower runs first."""

    #: a context's work before its first audio
    FIRST_AUDIO = 0
    #: everything else
    STREAMING = 1


class Scheduler:
    """A thread pool with a priority queue in front of it.

    The pool has `workers` slots. A step that runs alone takes all of them and may use
    `threads` cores; while two or more streams are busy (see `stream`) each step takes one
    slot and `max(1, threads // workers)` cores. When that is no fewer cores than
    `threads` (or `threads` is None: the engine decides), every step takes one slot. A
    slot is held until its thread finishes, even if the awaiting task was cancelled
    meanwhile, so cancelled work never lets more steps run than there are slots.
    """

    def __init__(self, workers: int, threads: int | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if threads is not None and threads < 1:
            raise ValueError("threads must be at least 1")
        self.workers = workers
        #: cores of a step that runs alone (None: the engine's default)
        self.solo_threads = threads
        #: cores of a step that shares the machine with others
        self.shared_threads = None if threads is None else shared_step_threads(workers, threads)
        #: whether a step alone runs wider than steps side by side (else it takes one slot)
        self._widens = threads is not None and threads > (self.shared_threads or 0)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="ttsd-synth")
        self._free = workers
        self._order = itertools.count()
        self._waiting: list[tuple[int, float, int, asyncio.Future[int]]] = []
        self._running = 0
        self._streams = 0
        #: slots held plus steps waiting, over time: `ttsd_load_ratio` (server/load.py)
        self.load = LoadMeter(workers)

    @property
    def queued(self) -> int:
        """Steps waiting for a worker."""
        return sum(1 for *_, waiter in self._waiting if not waiter.done())

    @property
    def running(self) -> int:
        """Steps on a worker now."""
        return self._running

    @property
    def busy_streams(self) -> int:
        """Streams inside `stream()` now."""
        return self._streams

    @contextlib.contextmanager
    def stream(self) -> Iterator[None]:
        """Count the steps run inside as one stream of work (one segment being spoken).

        Between two of its steps a stream has nothing queued, yet it will be back at
        once; counting streams rather than queued steps keeps two busy streams from
        taking turns at full width, each waiting for the other.
        """
        self._streams += 1
        try:
            yield
        finally:
            self._streams -= 1
            self._dispatch()

    async def run(self, step: Callable[[], T], priority: Priority, deadline: float = math.inf) -> T:
        """Run `step` on a worker when its turn comes and return its result.

        Within a priority, earlier `deadline`s (monotonic seconds) go first, then arrival.
        """
        slots = await self._acquire(priority, deadline)
        threads = self.solo_threads if slots > 1 or self.workers == 1 else self.shared_threads
        loop = asyncio.get_running_loop()
        try:
            # In the caller's context: the step's log lines name its request and context
            # (server/log_context.py), as `asyncio.to_thread` would do.
            context = contextvars.copy_context()
            future: Future[T] = self._executor.submit(context.run, _run_with_threads, threads, step)
        except BaseException:
            self._release(slots, count_running=False)
            raise
        self._running += 1
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._release, slots))
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Stop accepting work; running steps finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _slots_per_step(self) -> int:
        return self.workers if self._widens and self._streams <= 1 else 1

    async def _acquire(self, priority: Priority, deadline: float) -> int:
        slots = self._slots_per_step()
        if self._free >= slots and not self.queued:
            self._free -= slots
            self.load.add(slots)
            return slots
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), deadline, next(self._order), waiter))
        self.load.add(1)  # a waiting step wants one slot
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Woken and cancelled in the same tick: hand the slots on.
                self._release(waiter.result(), count_running=False)
            else:
                self.load.add(-1)
            raise

    def _release(self, slots: int, *, count_running: bool = True) -> None:
        if count_running:
            self._running -= 1
        self._free += slots
        self.load.add(-slots)
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand free slots to the most urgent waiters, as many as fit."""
        while self._waiting:
            waiter = self._waiting[0][-1]
            if waiter.done():
                heapq.heappop(self._waiting)
                continue
            slots = self._slots_per_step()
            if self._free < slots:
                return
            heapq.heappop(self._waiting)
            self._free -= slots
            self.load.add(slots - 1)  # no longer waiting: holding its slots
            waiter.set_result(slots)


def shared_step_threads(workers: int, threads: int) -> int:
    """Cores of each step while `workers` steps share `threads` cores."""
    return max(1, threads // workers)


def _run_with_threads(threads: int | None, step: Callable[[], T]) -> T:
    with running_with_threads(threads):
        return step()
