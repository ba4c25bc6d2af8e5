"""What the scenarios of `load.py` share: the texts, what a client saw of one request
(`Stream`), the options and the running systems (`Bench`), rounds of requests sent at
once, percentiles, and the ratio check of issue 4's targets."""

from __future__ import annotations

import asyncio
import math
import resource
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchlib import BenchmarkError, Check, median, ms, percentile

if TYPE_CHECKING:
    from load_scenarios.clients import RawEngine

TEXTS: dict[str, str] = {
    # three sentences; the first has no clause break
    "paragraph": (
        "Thanks for calling our support line today. I have pulled up your account, and "
        "your last order shipped on Tuesday from our warehouse in Ohio. It should arrive "
        "by Friday afternoon, although storms may delay some deliveries by a day."
    ),
    # three sentences; the first opens with a clause of five words
    "clause": (
        "Well, as I said before, your last order shipped on Tuesday from our warehouse in "
        "Ohio. It should arrive by Friday afternoon, although storms may delay some "
        "deliveries by a day. If it has not arrived by Monday, just reply and I will send "
        "a replacement."
    ),
}
SYSTEMS = ("ttsd", "wyoming-piper", "piper-http")
REQUEST_TIMEOUT_S = 120.0
SCENARIO_TIMEOUT_S = 900.0
CONNECT_BATCH = 50


# --- observations ------------------------------------------------------------------------


@dataclass(slots=True)
class Stream:
    """One request as the client saw it (perf_counter seconds)."""

    system: str
    #: when the request (its first message) was sent
    sent: float = 0.0
    #: the reference moment of scenario 2: the message completing the first sentence
    mark: float | None = None
    #: (arrival, seconds of audio) per audio chunk/frame
    chunks: list[tuple[float, float]] = field(default_factory=list)
    #: ttsd's `step_time` per frame (engine time, split evenly over a chunk's frames)
    step_ms: list[float] = field(default_factory=list)
    end: float | None = None
    error: str | None = None
    #: the server answered with an error frame/event (not a timeout or a closed socket)
    error_frame: bool = False

    def add(self, now: float, seconds: float) -> None:
        self.chunks.append((now, seconds))

    @property
    def ok(self) -> bool:
        return self.error is None and self.end is not None and bool(self.chunks)

    @property
    def first(self) -> float:
        if not self.chunks:
            raise BenchmarkError(f"{self.system}: no audio ({self.error or 'no error'})")
        return self.chunks[0][0]

    @property
    def ttfa(self) -> float:
        return self.first - self.sent

    @property
    def since_mark(self) -> float:
        if self.mark is None:
            raise BenchmarkError("no reference moment recorded")
        return self.first - self.mark

    @property
    def audio_s(self) -> float:
        return sum(seconds for _, seconds in self.chunks)

    @property
    def total(self) -> float:
        return (self.end if self.end is not None else self.chunks[-1][0]) - self.sent

    @property
    def worst_lead(self) -> float | None:
        """Smallest playback margin after the first chunk (negative: starved), or None."""
        if len(self.chunks) < 2:
            return None
        start = self.chunks[0][0]
        played = 0.0
        worst = math.inf
        for index, (arrival, seconds) in enumerate(self.chunks):
            if index:
                worst = min(worst, played - (arrival - start))
            played += seconds
        return worst

    @property
    def first_step_ms(self) -> float | None:
        """ttsd's engine time for the first chunk: the leading frames with equal step_time."""
        if not self.step_ms:
            return None
        share = self.step_ms[0]
        count = 0
        for value in self.step_ms:
            if value != share:
                break
            count += 1
        return share * count

    def summary(self) -> dict[str, Any]:
        return {
            "ttfa_s": self.ttfa if self.chunks else None,
            "since_mark_s": self.since_mark if self.chunks and self.mark is not None else None,
            "total_s": self.total if self.chunks else None,
            "audio_s": self.audio_s,
            "chunks": len(self.chunks),
            "worst_lead_s": self.worst_lead,
            "first_step_ms": self.first_step_ms,
            "error": self.error,
        }


#: What `round_at_once` hands every client's `speak`: `opened` is set once its connection
#: is open, then it waits for `ready` before sending (None: no such wait).
Gate = asyncio.Event | None


def sleep_until(moment: float) -> Awaitable[None]:
    return asyncio.sleep(max(0.0, moment - time.perf_counter()))


async def connected(ready: Gate, opened: Gate) -> None:
    """A client's connection is open: say so (`opened`), then wait for the go (`ready`)."""
    if opened is not None:
        opened.set()
    if ready is not None:
        await ready.wait()


# --- the run's settings and systems ------------------------------------------------------


@dataclass
class Options:
    runs: int = 5
    pause: float = 0.3
    interval: float = 0.04
    concurrency: int = 8
    rounds: int = 3
    sweep: tuple[int, ...] = (1, 2, 4, 8, 16)
    sweep_samples: int = 8
    contexts: int = 32
    connections: int = 100
    idle: int = 1000
    active: int = 32
    peers: bool = True
    #: streams started in the same instant in `burst` (issue 10's target 4), and its rounds
    burst: int = 16
    burst_rounds: int = 3
    #: the breaking-point search: most streams it tries, rounds per probe (a probe passes
    #: only if every round does), and the seconds it may take (no probe starts that would
    #: end past them, as estimated from the probes before it)
    breaking_cap: int = 64
    breaking_rounds: int = 2
    breaking_budget_s: float = 300.0
    #: extra `ttsd serve` arguments (e.g. --parallel-steps 1: one step at a time)
    ttsd_args: tuple[str, ...] = ()


@dataclass
class Bench:
    """The running systems."""

    options: Options
    raw: RawEngine
    clients: dict[str, Any]

    def peers(self, *names: str) -> list[Any]:
        return [self.clients[n] for n in names if n in self.clients]


def raise_fd_limit(wanted: int) -> None:
    """Raise this process's open-file limit to `wanted` (as far as the hard limit allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# --- requests at once: `concurrent`, `sweep`, `burst` and `breaking` ---------------------


async def round_at_once(client: Any, text: str, count: int) -> tuple[list[Stream], float]:
    """`count` connections opened first, then all requests sent together; (streams, wall)."""
    ready = asyncio.Event()
    opened = [asyncio.Event() for _ in range(count)]
    tasks = [asyncio.create_task(client.speak(text, ready=ready, opened=event)) for event in opened]
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(event.wait() for event in opened))
    finally:
        ready.set()
    streams: list[Stream] = await asyncio.gather(*tasks)
    ends = [s.end for s in streams if s.end is not None]
    sends = [s.sent for s in streams if s.sent]
    wall = (max(ends) - min(sends)) if ends and sends else math.nan
    return streams, wall


def stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values),
        "n": len(values),
    }


def underran(streams: Sequence[Stream]) -> bool:
    """A stream failed, or a player that started at its first chunk ran dry."""
    return any(not s.ok or (s.worst_lead is not None and s.worst_lead < 0) for s in streams)


async def concurrent_rounds(
    bench: Bench,
    client: Any,
    count: int,
    rounds: int,
    text: str,
    *,
    stop_on_underrun: bool = False,
) -> dict[str, Any]:
    """`rounds` rounds of `count` requests at once (`round_at_once`), summarized; with
    `stop_on_underrun`, no round starts after one in which a stream failed or ran dry."""
    streams: list[Stream] = []
    throughputs: list[float] = []
    done = 0
    for _ in range(rounds):
        await asyncio.sleep(bench.options.pause * 2)
        batch, wall = await round_at_once(client, text, count)
        done += 1
        streams += batch
        if wall > 0:
            throughputs.append(sum(s.audio_s for s in batch if s.ok) / wall)
        if stop_on_underrun and underran(batch):
            break
    good = [s for s in streams if s.ok]
    leads = [lead for s in good if (lead := s.worst_lead) is not None]
    steps = [step for s in good if (step := s.first_step_ms) is not None]
    return {
        "count": count,
        "rounds": done,
        "ttfa_s": stats([s.ttfa for s in good]),
        "throughput": median(throughputs) if throughputs else None,
        "throughputs": throughputs,
        "worst_lead_s": min(leads) if leads else None,
        "starved_streams": sum(1 for x in leads if x < 0),
        "first_step_ms_median": median(steps) if steps else None,
        "completed": len(good),
        "errors": [s.error for s in streams if not s.ok],
        "streams": [s.summary() for s in streams],
    }


def kept(result: dict[str, Any]) -> bool:
    """A `concurrent_rounds` result in which every stream completed and none ran dry."""
    complete = result["completed"] == result["count"] * result["rounds"]
    return bool(complete and result["starved_streams"] == 0)


# --- checks ------------------------------------------------------------------------------


def ratio_check(
    label: str,
    what: str,
    value: float | None,
    reference: float | None,
    reference_name: str,
    limit: float,
    *,
    upper: bool,
) -> Check:
    """A target that is a ratio to a reference measured in the same run (`upper`: the
    ratio must stay at or below `limit`; otherwise at or above it)."""
    ratio = value / reference if value is not None and reference else None
    ok = None if ratio is None else (ratio <= limit if upper else ratio >= limit)
    return Check(
        label,
        what,
        f"{ms(value)} ms",
        f"{reference_name} {ms(reference)} ms",
        ratio,
        f"{'<=' if upper else '>='} {limit:.2f}",
        ok,
    )


def ttsd_vs_raw(
    medians: dict[str, float], label: str, what: str, reference_name: str, limit: float
) -> Check:
    """ttsd's median against raw's in the same run: at most `limit` times it."""
    return ratio_check(
        label, what, medians.get("ttsd"), medians.get("raw"), reference_name, limit, upper=True
    )
