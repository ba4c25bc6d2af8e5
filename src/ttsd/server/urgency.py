"""Which synthesis step goes next: the policy the scheduler (server/scheduler.py) applies.

A step belongs to a stream (one segment being spoken). Before its first audio a stream
waits for nothing but its turn; once it plays, its listener runs dry at a known time
(`Urgency.dry_at`, from src/ttsd/server/synthesis.py `Playback`), and its next step must
start early enough to finish before that. The order, at each free worker:

1. a playing stream's step that must start now (`start_by` has passed), earliest first;
2. else the oldest step before first audio, if it fits (`first_audio_fits`): run first,
   it still leaves every playing stream time for its next step;
3. else the playing stream whose `start_by` comes first;
4. else (nothing playing is queued, and no playing stream is about to queue: see the
   scheduler's hold) the oldest step before first audio.

So time to first audio is what a caller hears and comes first (docs/architecture.md "Scheduling"),
but never at the price of a gap for a listener already hearing audio: when sixteen
streams start in the same instant, the first ones build up audio in hand while the last
ones wait a little longer for their first (benchmarks/README.md, issue 10). Past the
machine's capacity new streams wait, with no bound, until streams playing end: the wait
shows as time to first audio (`ttsd_time_to_first_audio_seconds`) and in
`ttsd_load_ratio`, which is what to scale on (docs/production.md).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Each step's seconds on its worker are remembered as the longest recent step, which
#: decays by this factor per step after it: a step about to be dispatched may have to wait
#: for a running one about that long.
LONGEST_STEP_DECAY = 0.97
#: Weight of each new step in the moving averages of step costs (`StepCosts`).
STEP_WEIGHT = 0.2
#: Playing streams checked (earliest `dry_at` first) before a new stream's first step may
#: go ahead of them: a bound on the work of one dispatch.
ADMISSION_LOOKAHEAD = 64
#: Share of the workers that playing streams may need (the sum of their `Urgency.rate`s,
#: with a new one counted at their mean) before a new stream must wait for every listener
#: to hold a full round of steps (`first_audio_fits`, check 2). Below it there is room to
#: catch up: a new stream goes first as long as nobody's next step comes too late.
UTILIZATION = 0.75


@dataclass(frozen=True, slots=True)
class Urgency:
    """How soon a stream's next step must run."""

    #: monotonic time its listener runs out of audio; None: it has heard nothing yet
    dry_at: float | None = None
    #: seconds the step is expected to take on its worker (the stream's last step)
    cost: float = 0.0
    #: seconds on a worker per second of its audio (0: not known yet)
    rate: float = 0.0

    @property
    def first_audio(self) -> bool:
        """Whether the step comes before the stream's first audio."""
        return self.dry_at is None

    def start_by(self, wait_s: float) -> float:
        """The monotonic time by which a playing stream's step must start for its listener
        not to run dry: `dry_at` less the step's own cost and `wait_s` (for a worker to
        become free: `StepCosts.typical`)."""
        if self.dry_at is None:
            raise ValueError("a step before first audio has no start-by time")
        return self.dry_at - self.cost - wait_s


#: A step before its stream's first audio.
FIRST_AUDIO = Urgency()


@dataclass(frozen=True, slots=True)
class StepCosts:
    """What the scheduler has seen its steps cost, in seconds on a worker."""

    #: the longest recent step (decaying by `LONGEST_STEP_DECAY` per step)
    longest: float = 0.0
    #: a recent step (moving average): about how long a step waits for a busy worker
    typical: float = 0.0
    #: a recent step before first audio (moving average)
    first: float = 0.0

    def after(self, busy: float, *, first_audio: bool) -> StepCosts:
        """These costs once a step took `busy` seconds."""
        longest = max(busy, self.longest * LONGEST_STEP_DECAY)
        typical = _averaged(self.typical, busy)
        first = _averaged(self.first, busy) if first_audio else self.first
        return StepCosts(longest=longest, typical=typical, first=first)


def _averaged(average: float, value: float) -> float:
    return value if not average else average + STEP_WEIGHT * (value - average)


def first_audio_fits(
    now: float,
    waiting: Iterable[Urgency],
    playing: Sequence[Urgency],
    costs: StepCosts,
    workers: int,
) -> bool:
    """Whether a step before first audio may run now, ahead of playing streams' steps.

    `waiting`: the playing streams' steps queued now or about to be; `playing`: every
    playing stream (their steps may also be running). Two checks:

    1. **The next step.** Run first, the new step still leaves each waiting step (taken
       earliest `dry_at` first) time to finish before its listener runs dry, with the
       workers taken as one machine `workers` times as fast, after waiting for a running
       step to end (`costs.typical`).
    2. **The steady state,** only near capacity: when the playing streams and the new one
       would need more than `UTILIZATION` of the workers to keep up (each stream's
       `rate`), every waiting listener must hold one full round: a step as long as the
       longest recent one for every playing stream and the new one, one after the other
       on `workers` workers, plus one to wait for. Otherwise the streams already playing
       can never get ahead again: their decoder windows stay short (chunked.py), cost more
       per second of audio, and all of them run dry together (benchmarks/README.md,
       issue 10).
    """
    waiting = [u for u in waiting if u.dry_at is not None]
    work = costs.first
    for urgency in heapq.nsmallest(ADMISSION_LOOKAHEAD, waiting, key=_dry_at):
        work += urgency.cost
        if now + work / workers + costs.typical > _dry_at(urgency):
            return False
    rates = [u.rate for u in playing if u.rate > 0]
    demand = sum(rates) + (sum(rates) / len(rates) if rates else 0.0)
    if demand <= UTILIZATION * workers:
        return True
    round_s = (len(playing) + 1) * costs.longest / workers + costs.longest
    return all(_dry_at(u) - now >= round_s for u in waiting)


def _dry_at(urgency: Urgency) -> float:
    return urgency.dry_at if urgency.dry_at is not None else float("inf")
