"""Runs synthesis steps on worker threads, most urgent first, as wide as the load allows.

Synthesis is CPU-bound, so it runs off the event loop on a fixed number of threads. Work
is handed out one engine chunk at a time (a sentence, or a window of the Piper decoder),
so a long paragraph never holds a worker while a new context waits. Which step goes next
is server/urgency.py's policy: first audio first, unless a listener already hearing audio
would pay for it with a gap.

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
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal, TypeVar

from ttsd.engines.base import running_with_threads
from ttsd.server.load import LoadMeter
from ttsd.server.urgency import (
    FIRST_AUDIO,
    StepCosts,
    Urgency,
    first_audio_fits,
)

T = TypeVar("T")


#: Seconds a free worker is kept for a playing stream that has just finished a step and is
#: about to ask for its next (its audio is being sent) when a new stream's first step
#: does not fit (server/urgency.py, rule 4): without it, every step's end would hand the
#: worker to a new stream before the stream that just finished could ask again.
HOLD_S = 0.02


class Stream:
    """One stream of work on a `Scheduler` (`open_stream`): a context or request with text to
    speak, step after step."""

    def __init__(self, scheduler: Scheduler, urgency: Callable[[], Urgency]) -> None:
        self._scheduler = scheduler
        #: how soon the stream's next step must run, asked at each step
        self.urgency = urgency
        #: monotonic time its last step ended; None while a step is queued or running
        self.idle_since: float | None = time.monotonic()

    async def run(self, step: Callable[[], T]) -> T:
        """Run the stream's next step (`Scheduler.run`, at the stream's urgency now)."""
        return await self._scheduler.run(step, self.urgency(), stream=self)

    def close(self) -> None:
        """The stream has no more work for now (closing twice does nothing)."""
        self._scheduler._close_stream(self)


class Scheduler:
    """A thread pool with a queue in front of it that hands out steps by `Urgency`.

    The pool has `workers` slots. A step that runs alone takes all of them and may use
    `threads` cores; while two or more streams are open (`open_stream`) each step takes one
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
        # Steps before their first audio, in arrival order; playing streams' steps by
        # start-by time. Entries whose waiter is done (cancelled) are dropped when met.
        self._first: deque[asyncio.Future[int]] = deque()
        self._playing: list[tuple[float, int, Urgency, asyncio.Future[int]]] = []
        #: what recent steps cost (server/urgency.py)
        self.costs = StepCosts()
        self._running = 0
        self._streams: set[Stream] = set()
        self._hold: asyncio.TimerHandle | None = None
        #: slots held plus steps waiting, over time: `ttsd_load_ratio` (server/load.py)
        self.load = LoadMeter(workers)

    @property
    def queued(self) -> int:
        """Steps waiting for a worker."""
        waiters = [*self._first, *(entry[-1] for entry in self._playing)]
        return sum(1 for waiter in waiters if not waiter.done())

    @property
    def running(self) -> int:
        """Steps on a worker now."""
        return self._running

    @property
    def busy_streams(self) -> int:
        """Streams inside `stream()` now."""
        return len(self._streams)

    def open_stream(self, urgency: Callable[[], Urgency] = lambda: FIRST_AUDIO) -> Stream:
        """Start one stream of work (a context or request with text to speak), whose steps
        run through the `Stream` returned, each at `urgency()` when it is asked for, until
        `Stream.close()`.

        Between two of its steps a stream has nothing queued, yet it will be back at
        once; counting streams rather than queued steps keeps two busy streams from
        taking turns at full width, each waiting for the other, and lets a playing
        stream between two steps count when a new stream's first step is weighed.
        """
        stream = Stream(self, urgency)
        self._streams.add(stream)
        return stream

    @contextlib.contextmanager
    def stream(self, urgency: Callable[[], Urgency] = lambda: FIRST_AUDIO) -> Iterator[Stream]:
        """`open_stream` for the block inside, closed after it."""
        stream = self.open_stream(urgency)
        try:
            yield stream
        finally:
            stream.close()

    def _close_stream(self, stream: Stream) -> None:
        if stream in self._streams:
            self._streams.discard(stream)
            self._dispatch()

    async def run(
        self, step: Callable[[], T], urgency: Urgency = FIRST_AUDIO, *, stream: Stream | None = None
    ) -> T:
        """Run `step` on a worker when its turn comes (server/urgency.py) and return its
        result; `stream`: the step is that stream's (see `stream`).

        The step sees `step_threads()` (its cores) and `step_lead()` (seconds its listener
        still holds when it starts: 0 before first audio), src/ttsd/engines/base.py.
        """
        if stream is not None:
            stream.idle_since = None
        slots = 0
        try:
            slots = await self._acquire(urgency)
            threads = self.solo_threads if slots > 1 or self.workers == 1 else self.shared_threads
            started = time.monotonic()
            lead = 0.0 if urgency.dry_at is None else max(0.0, urgency.dry_at - started)
            loop = asyncio.get_running_loop()
            # In the caller's context: the step's log lines name its request and context
            # (server/log_context.py), as `asyncio.to_thread` would do.
            context = contextvars.copy_context()
            future: Future[T] = self._executor.submit(context.run, _run_step, threads, lead, step)
        except BaseException:
            if stream is not None:
                stream.idle_since = time.monotonic()
            if slots:
                self._release(slots, count_running=False)
            raise
        self._running += 1
        first = urgency.first_audio
        future.add_done_callback(
            lambda _: loop.call_soon_threadsafe(self._finished, slots, started, first, stream)
        )
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Stop accepting work; running steps finish in the background."""
        if self._hold is not None:
            self._hold.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _slots_per_step(self) -> int:
        return self.workers if self._widens and len(self._streams) <= 1 else 1

    async def _acquire(self, urgency: Urgency) -> int:
        slots = self._slots_per_step()
        if self._free >= slots and not self.queued:
            self._free -= slots
            self.load.add(slots)
            return slots
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if urgency.first_audio:
            self._first.append(waiter)
        else:
            start_by = urgency.start_by(self.costs.typical)
            heapq.heappush(self._playing, (start_by, next(self._order), urgency, waiter))
        self.load.add(1)  # a waiting step wants one slot
        self._dispatch()  # a held worker may be waiting for just this step
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Woken and cancelled in the same tick: hand the slots on.
                self._release(waiter.result(), count_running=False)
            else:
                self.load.add(-1)
            raise

    def _finished(
        self, slots: int, started: float, first_audio: bool, stream: Stream | None
    ) -> None:
        """A step's thread is done: note its cost and its stream's return, free its slots."""
        now = time.monotonic()
        self.costs = self.costs.after(now - started, first_audio=first_audio)
        if stream is not None:
            stream.idle_since = now
        self._release(slots)

    def _release(self, slots: int, *, count_running: bool = True) -> None:
        if count_running:
            self._running -= 1
        self._free += slots
        self.load.add(-slots)
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand free slots to the most urgent waiters (server/urgency.py), as many as fit."""
        while True:
            while self._first and self._first[0].done():
                self._first.popleft()
            while self._playing and self._playing[0][-1].done():
                heapq.heappop(self._playing)
            if not (self._first or self._playing):
                return
            slots = self._slots_per_step()
            if self._free < slots:
                return
            now = time.monotonic()
            queue = self._next_queue(now)
            if queue is None:
                self._hold_until_back()
                return
            waiter = self._first.popleft() if queue == "first" else heapq.heappop(self._playing)[-1]
            self._free -= slots
            self.load.add(slots - 1)  # no longer waiting: holding its slots
            waiter.set_result(slots)

    def _next_queue(self, now: float) -> Literal["first", "playing"] | None:
        """The queue whose head runs next (server/urgency.py); None: keep the worker free
        for a playing stream about to ask (`HOLD_S`). Both queues' dead heads are gone."""
        if self._playing and self._playing[0][0] <= now:
            return "playing"  # rule 1: due now
        if not self._first:
            return "playing"
        # Each open stream's urgency once: the playing ones, and those about to ask again
        # counted as if queued.
        queued = [urgency for *_, urgency, waiter in self._playing if not waiter.done()]
        playing: list[Urgency] = []
        returning = False
        for stream in self._streams:
            urgency = stream.urgency()
            about_to_ask = self._about_to_ask(stream, now)
            returning = returning or about_to_ask
            if not urgency.first_audio:
                playing.append(urgency)
                if about_to_ask:
                    queued.append(urgency)
        if first_audio_fits(now, queued, playing, self.costs, self.workers):
            return "first"  # rule 2
        if self._playing:
            return "playing"  # rule 3
        return None if returning else "first"  # rule 4

    def _about_to_ask(self, stream: Stream, now: float) -> bool:
        return stream.idle_since is not None and now - stream.idle_since < HOLD_S

    def _hold_until_back(self) -> None:
        """Look again once the streams about to ask have had `HOLD_S` to do so."""
        if self._hold is None:
            self._hold = asyncio.get_running_loop().call_later(HOLD_S, self._end_hold)

    def _end_hold(self) -> None:
        self._hold = None
        self._dispatch()


def shared_step_threads(workers: int, threads: int) -> int:
    """Cores of each step while `workers` steps share `threads` cores."""
    return max(1, threads // workers)


def _run_step(threads: int | None, lead: float, step: Callable[[], T]) -> T:
    with running_with_threads(threads, lead):
        return step()
