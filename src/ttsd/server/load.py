"""How much synthesis the machine is asked for, against what it can do: `ttsd_load_ratio`.

The scheduler (server/scheduler.py) has `parallel_steps` slots (its `workers`). A step
that runs alone holds all of them (it runs on every engine core); steps side by side hold
one each; a step waiting for a slot wants one. The *demand* at any moment is

    slots held by running steps + steps waiting for a slot

and the *load ratio* is the demand divided by the slots there are (`parallel_steps`),
averaged over the last `LOAD_WINDOW_S` seconds:

    load_ratio = ∫ demand(t) dt over [now - window, now]  /  (window × parallel_steps)

So 0 is idle; 0.5 is busy half of the time; 1.0 is exactly busy (every core synthesizing
all the time, nothing waiting); above 1 work queues, and 2.0 means twice what the machine
can do was asked of it (as many steps waiting as running). Unlike CPU utilisation, which
stops at 100 %, it keeps saying how far past full the machine is: the signal to scale on.
Before the process has run a whole window, the average is over its life so far.

`LoadMeter.total` is the same integral from the start, in "machine-seconds" (demand /
slots, integrated): exported as the counter `ttsd_load_seconds_total`, whose `rate()`
over any range is the load ratio over that range.

Everything here runs on the event loop (the scheduler's bookkeeping does), so it needs no
lock; each change costs a few float operations and one deque append.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

#: Seconds `ttsd_load_ratio` averages over: as long as a Prometheus scrape interval or two
#: (15-30 s), so a scrape sees every moment, and short enough for an autoscaler to follow.
LOAD_WINDOW_S = 30.0


class LoadMeter:
    """The integral of the scheduler's demand over time, and its recent average.

    `capacity` is the number of slots (`parallel_steps`); `add` changes the demand by `delta`
    slots at `now` (monotonic seconds, default the clock).
    """

    def __init__(
        self,
        capacity: int,
        window_s: float = LOAD_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.capacity = capacity
        #: seconds the ratio averages over
        self.window_s = window_s
        self._clock = clock
        self._started = clock()
        #: slots demanded now
        self._level = 0.0
        #: slot-seconds demanded from the start to `_since`
        self._area = 0.0
        self._since = self._started
        # (time, area at that time, level from then on), oldest first; the first entry is
        # the last one at or before the window's start, so the area there can be found.
        self._history: deque[tuple[float, float, float]] = deque([(self._started, 0.0, 0.0)])

    @property
    def demand(self) -> float:
        """Slots held or wanted now."""
        return self._level

    def add(self, delta: float, now: float | None = None) -> None:
        """The demand changes by `delta` slots (a step queued, started or ended)."""
        now = self._clock() if now is None else now
        self._area += self._level * (now - self._since)
        self._since = now
        self._level += delta
        self._history.append((now, self._area, self._level))
        self._forget_before(now - self.window_s)

    def total(self, now: float | None = None) -> float:
        """Machine-seconds demanded since the start (slot-seconds / capacity)."""
        now = self._clock() if now is None else now
        return self._area_at(now) / self.capacity

    def ratio(self, now: float | None = None) -> float:
        """The load ratio over the last `window_s` seconds (see the module docstring)."""
        now = self._clock() if now is None else now
        start = max(now - self.window_s, self._started)
        if now <= start:
            return 0.0
        self._forget_before(start)
        return (self._area_at(now) - self._area_at(start)) / ((now - start) * self.capacity)

    def _area_at(self, when: float) -> float:
        if when >= self._since:
            return self._area + self._level * (when - self._since)
        history = self._history
        if history[0][0] <= when and (len(history) == 1 or history[1][0] > when):
            # The window's start (`ratio` has just forgotten what came before it).
            at, area, level = history[0]
            return area + level * (when - at)
        for at, area, level in reversed(history):
            if at <= when:
                return area + level * (when - at)
        return 0.0

    def _forget_before(self, cutoff: float) -> None:
        history = self._history
        while len(history) >= 2 and history[1][0] <= cutoff:
            history.popleft()
