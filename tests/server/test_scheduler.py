"""Scheduling of synthesis steps on worker threads by urgency."""

import asyncio
import threading
import time

import pytest

from ttsd.engines.base import step_lead, step_threads
from ttsd.server.log_context import CONTEXT_ID, REQUEST_ID
from ttsd.server.scheduler import Scheduler, shared_step_threads
from ttsd.server.synthesis import Playback
from ttsd.server.urgency import FIRST_AUDIO, Urgency


async def _held(scheduler: Scheduler) -> tuple[threading.Event, asyncio.Task[bool]]:
    """Occupy `scheduler`'s worker with a step that waits for the event returned."""
    release = threading.Event()
    blocker = asyncio.create_task(scheduler.run(release.wait, _playing()))
    await asyncio.sleep(0.01)
    return release, blocker


async def test_steps_run_off_the_event_loop_and_return_their_result() -> None:
    scheduler = Scheduler(2)
    loop_thread = threading.get_ident()
    assert await scheduler.run(threading.get_ident, _playing()) != loop_thread
    scheduler.shutdown()


async def test_first_audio_work_jumps_the_queue() -> None:
    scheduler = Scheduler(1)
    release, blocker = await _held(scheduler)
    order: list[str] = []
    streaming = [
        asyncio.create_task(scheduler.run(lambda i=i: order.append(f"s{i}"), _playing()))
        for i in range(3)
    ]
    await asyncio.sleep(0.01)
    first = asyncio.create_task(scheduler.run(lambda: order.append("first"), FIRST_AUDIO))
    await asyncio.sleep(0.01)
    assert scheduler.queued == 4 and scheduler.running == 1
    release.set()
    await asyncio.gather(blocker, first, *streaming)
    assert order == ["first", "s0", "s1", "s2"]
    assert scheduler.running == 0 and scheduler.queued == 0
    scheduler.shutdown()


async def test_a_cancelled_step_keeps_its_slot_until_its_thread_finishes() -> None:
    scheduler = Scheduler(1)
    release = threading.Event()
    running = asyncio.create_task(scheduler.run(release.wait, _playing()))
    await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    started = threading.Event()
    waiting = asyncio.create_task(scheduler.run(started.set, FIRST_AUDIO))
    await asyncio.sleep(0.05)
    assert not started.is_set(), "two steps would run on a one-worker scheduler"
    release.set()
    await waiting
    assert started.is_set()
    scheduler.shutdown()


async def test_a_cancelled_waiter_does_not_take_a_slot() -> None:
    scheduler = Scheduler(1)
    release, blocker = await _held(scheduler)
    abandoned = asyncio.create_task(scheduler.run(lambda: "x", FIRST_AUDIO))
    await asyncio.sleep(0.01)
    abandoned.cancel()
    later = asyncio.create_task(scheduler.run(lambda: "later", _playing()))
    release.set()
    assert await later == "later"
    await blocker
    assert scheduler.running == 0 and scheduler.queued == 0
    scheduler.shutdown()


async def test_errors_in_steps_reach_the_caller_and_free_the_slot() -> None:
    scheduler = Scheduler(1)

    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await scheduler.run(fail, _playing())
    assert await scheduler.run(lambda: 7, _playing()) == 7
    scheduler.shutdown()


def test_at_least_one_worker() -> None:
    with pytest.raises(ValueError):
        Scheduler(0)


def _playing(lead: float = 100.0, cost: float = 0.0) -> Urgency:
    """A playing stream whose listener holds `lead` seconds from now."""
    return Urgency(dry_at=time.monotonic() + lead, cost=cost)


async def test_streaming_steps_run_earliest_deadline_first() -> None:
    """Among streams with audio in hand, the one whose listener runs dry first is served
    first; a stream before its first audio goes before them all."""
    scheduler = Scheduler(1)
    release, blocker = await _held(scheduler)
    order: list[str] = []
    steps = [
        asyncio.create_task(scheduler.run(lambda name=name: order.append(name), _playing(lead)))
        for name, lead in [("late", 30.0), ("soon", 10.0), ("middle", 20.0)]
    ]
    await asyncio.sleep(0.01)
    first = asyncio.create_task(scheduler.run(lambda: order.append("first"), FIRST_AUDIO))
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(blocker, first, *steps)
    assert order == ["first", "soon", "middle", "late"]
    scheduler.shutdown()


async def test_a_listener_about_to_run_dry_goes_before_first_audio() -> None:
    """A playing stream whose step must start now (its lead, less the step's cost and the
    typical step, is gone) goes before new streams; one with time to spare after."""
    scheduler = Scheduler(1)
    release, blocker = await _held(scheduler)
    order: list[str] = []
    new = [
        asyncio.create_task(scheduler.run(lambda i=i: order.append(f"new{i}"), FIRST_AUDIO))
        for i in range(2)
    ]
    await asyncio.sleep(0.01)
    # 0.5 s in hand but a step costs 0.6 s: it must start at once.
    urgent = asyncio.create_task(
        scheduler.run(lambda: order.append("urgent"), _playing(lead=0.5, cost=0.6))
    )
    relaxed = asyncio.create_task(
        scheduler.run(lambda: order.append("relaxed"), _playing(lead=5.0, cost=0.6))
    )
    await asyncio.sleep(0.01)
    assert scheduler.queued == 4
    release.set()
    await asyncio.gather(blocker, urgent, relaxed, *new)
    assert order == ["urgent", "new0", "new1", "relaxed"]
    scheduler.shutdown()


async def test_a_typical_step_counts_against_a_listeners_lead() -> None:
    """A step may have to wait for a running one: after 0.3 s steps, a listener with 0.25 s
    in hand must start at once even for a free step."""
    scheduler = Scheduler(1)
    await scheduler.run(lambda: time.sleep(0.3), FIRST_AUDIO)
    costs = scheduler.costs
    assert 0.3 <= costs.longest == costs.typical == costs.first < 1.0  # the only step so far
    assert _playing(lead=0.25).start_by(costs.typical) < time.monotonic()
    with pytest.raises(ValueError, match="first audio"):
        FIRST_AUDIO.start_by(costs.typical)
    # Short steps pull the typical cost down at once, the longest step slowly.
    for _ in range(5):
        await scheduler.run(lambda: None, _playing())
    assert scheduler.costs.typical < 0.15 < scheduler.costs.longest < 0.3
    assert scheduler.costs.first == costs.first  # only steps before first audio move it
    scheduler.shutdown()


async def test_a_playing_stream_between_two_steps_keeps_its_worker_from_a_new_stream() -> None:
    """When a new stream's first step does not fit (server/urgency.py), the worker a
    playing stream just left waits for that stream's next step instead of going to it."""
    scheduler = Scheduler(1)
    await scheduler.run(lambda: time.sleep(0.2), FIRST_AUDIO)  # a first step costs 0.2 s
    dry_at = time.monotonic() + 0.4  # less than a first step, this one's and one to wait for
    order: list[str] = []
    with scheduler.stream(lambda: Urgency(dry_at=dry_at, cost=0.05)) as playing:
        gate = threading.Event()
        step = asyncio.create_task(playing.run(lambda: (gate.wait(5), order.append("p1"))))
        await asyncio.sleep(0.01)
        new = asyncio.create_task(scheduler.run(lambda: order.append("new"), FIRST_AUDIO))
        await asyncio.sleep(0.01)
        assert scheduler.queued == 1
        gate.set()
        await step
        await playing.run(lambda: order.append("p2"))
    await new
    assert order == ["p1", "p2", "new"]
    scheduler.shutdown()


async def test_a_held_worker_goes_to_the_new_stream_if_nobody_comes_back() -> None:
    scheduler = Scheduler(1)
    await scheduler.run(lambda: time.sleep(0.2), FIRST_AUDIO)
    dry_at = time.monotonic() + 0.4
    with scheduler.stream(lambda: Urgency(dry_at=dry_at, cost=0.05)) as playing:
        gate = threading.Event()
        step = asyncio.create_task(playing.run(lambda: gate.wait(5)))
        await asyncio.sleep(0.01)
        new = asyncio.create_task(scheduler.run(lambda: "new", FIRST_AUDIO))
        await asyncio.sleep(0.01)
        gate.set()
        await step
        # The playing stream does not ask again (its client reads slowly, say).
        assert await asyncio.wait_for(new, 1.0) == "new"
    scheduler.shutdown()


async def test_a_step_knows_its_listeners_lead() -> None:
    scheduler = Scheduler(1)
    assert step_lead() is None
    assert await scheduler.run(step_lead, FIRST_AUDIO) == 0.0
    lead = await scheduler.run(step_lead, _playing(lead=2.0))
    assert lead is not None and 1.5 < lead <= 2.0
    # A listener already dry has nothing in hand.
    assert await scheduler.run(step_lead, _playing(lead=-1.0)) == 0.0
    assert step_lead() is None
    scheduler.shutdown()


def test_playback_urgency_follows_the_audio_sent() -> None:
    playback = Playback()
    assert not playback.started
    assert playback.urgency() == FIRST_AUDIO
    playback.produced(2.5, 0.2)
    playback.mark_sent(now=100.0)
    assert playback.started and playback.first_audio_at == 100.0
    assert playback.urgency() == Urgency(dry_at=102.5, cost=0.2, rate=0.2 / 2.5)
    # The tail (the resampler's rest) is not an engine step: cost and rate stay the engine's.
    playback.produced(1.0, 0.01, engine_step=False)
    playback.mark_sent(now=101.0)
    assert playback.urgency() == Urgency(dry_at=103.5, cost=0.2, rate=0.2 / 2.5)


# --- how wide a step runs ------------------------------------------------------------------


async def _hold(scheduler: Scheduler, release: threading.Event, seen: list[int | None]) -> None:
    """One stream whose single step records its cores and waits for `release`."""

    def step() -> None:
        seen.append(step_threads())
        release.wait()

    with scheduler.stream():
        await scheduler.run(step, FIRST_AUDIO)


async def test_a_lone_stream_runs_on_every_core_and_takes_every_slot() -> None:
    scheduler = Scheduler(2, threads=4)
    release, seen = threading.Event(), []
    alone = asyncio.create_task(_hold(scheduler, release, seen))
    await asyncio.sleep(0.02)
    assert seen == [4] and scheduler.running == 1
    later = asyncio.create_task(_hold(scheduler, threading.Event(), seen))
    await asyncio.sleep(0.02)
    # The second stream waits for the wide step: two would oversubscribe the cores.
    assert scheduler.queued == 1 and seen == [4]
    later.cancel()
    release.set()
    await alone
    with pytest.raises(asyncio.CancelledError):
        await later
    scheduler.shutdown()


async def test_busy_streams_run_side_by_side_on_a_share_of_the_cores() -> None:
    scheduler = Scheduler(2, threads=4)
    release, seen = threading.Event(), []
    with scheduler.stream():  # a second stream is busy (between two of its steps)
        streams = [asyncio.create_task(_hold(scheduler, release, seen)) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert seen == [2, 2] and scheduler.running == 2 and scheduler.queued == 1
        release.set()
        await asyncio.gather(*streams)
    assert seen == [2, 2, 2]
    assert scheduler.busy_streams == 0
    scheduler.shutdown()


async def test_when_streams_drop_to_one_the_next_step_widens_again() -> None:
    scheduler = Scheduler(2, threads=2)
    release, seen = threading.Event(), []
    with scheduler.stream():
        first = asyncio.create_task(_hold(scheduler, release, seen))
        await asyncio.sleep(0.02)
    release.set()
    await first
    await _hold(scheduler, release, seen)
    assert seen == [1, 2]
    scheduler.shutdown()


@pytest.mark.parametrize(("threads", "expected"), [(1, 1), (None, None)])
async def test_one_slot_per_step_when_a_lone_step_would_be_no_wider(
    threads: int | None, expected: int | None
) -> None:
    # One-core steps (or the engine's own thread count): nothing to gain from widening,
    # so two streams that arrive one after the other both run at once.
    scheduler = Scheduler(2, threads=threads)
    release, seen = threading.Event(), []
    streams = [asyncio.create_task(_hold(scheduler, release, seen)) for _ in range(2)]
    await asyncio.sleep(0.05)
    assert seen == [expected, expected] and scheduler.running == 2
    release.set()
    await asyncio.gather(*streams)
    scheduler.shutdown()


@pytest.mark.parametrize(
    ("workers", "threads", "shared"), [(1, 4, 4), (2, 2, 1), (2, 4, 2), (4, 2, 1), (3, 8, 2)]
)
def test_shared_step_threads(workers: int, threads: int, shared: int) -> None:
    assert shared_step_threads(workers, threads) == shared


def test_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="threads"):
        Scheduler(2, threads=0)


async def test_a_step_outside_the_scheduler_has_no_thread_hint() -> None:
    assert step_threads() is None
    scheduler = Scheduler(1, threads=3)
    assert await scheduler.run(step_threads, _playing()) == 3
    assert step_threads() is None
    scheduler.shutdown()


async def test_a_step_runs_in_its_callers_context_so_its_log_lines_name_the_request() -> None:
    scheduler = Scheduler(2)
    try:

        async def ids_seen_by_a_step(request_id: str, context_id: str) -> tuple[str | None, ...]:
            REQUEST_ID.set(request_id)
            CONTEXT_ID.set(context_id)
            return await scheduler.run(lambda: (REQUEST_ID.get(), CONTEXT_ID.get()))

        seen = await asyncio.gather(ids_seen_by_a_step("r1", "c1"), ids_seen_by_a_step("r2", "c2"))
        assert seen == [("r1", "c1"), ("r2", "c2")]
    finally:
        scheduler.shutdown()
