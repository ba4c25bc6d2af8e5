"""Priority scheduling of synthesis steps on worker threads."""

import asyncio
import math
import threading

import pytest

from ttsd.engines.base import step_threads
from ttsd.server.log_context import CONTEXT_ID, REQUEST_ID
from ttsd.server.scheduler import Priority, Scheduler, shared_step_threads
from ttsd.server.synthesis import Playback


async def test_steps_run_off_the_event_loop_and_return_their_result() -> None:
    scheduler = Scheduler(2)
    loop_thread = threading.get_ident()
    assert await scheduler.run(threading.get_ident, Priority.STREAMING) != loop_thread
    scheduler.shutdown()


async def test_first_audio_work_jumps_the_queue() -> None:
    scheduler = Scheduler(1)
    release = threading.Event()
    order: list[str] = []
    blocker = asyncio.create_task(scheduler.run(release.wait, Priority.STREAMING))
    await asyncio.sleep(0.01)
    streaming = [
        asyncio.create_task(scheduler.run(lambda i=i: order.append(f"s{i}"), Priority.STREAMING))
        for i in range(3)
    ]
    await asyncio.sleep(0.01)
    first = asyncio.create_task(scheduler.run(lambda: order.append("first"), Priority.FIRST_AUDIO))
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
    running = asyncio.create_task(scheduler.run(release.wait, Priority.STREAMING))
    await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    started = threading.Event()
    waiting = asyncio.create_task(scheduler.run(started.set, Priority.FIRST_AUDIO))
    await asyncio.sleep(0.05)
    assert not started.is_set(), "two steps would run on a one-worker scheduler"
    release.set()
    await waiting
    assert started.is_set()
    scheduler.shutdown()


async def test_a_cancelled_waiter_does_not_take_a_slot() -> None:
    scheduler = Scheduler(1)
    release = threading.Event()
    blocker = asyncio.create_task(scheduler.run(release.wait, Priority.STREAMING))
    await asyncio.sleep(0.01)
    abandoned = asyncio.create_task(scheduler.run(lambda: "x", Priority.FIRST_AUDIO))
    await asyncio.sleep(0.01)
    abandoned.cancel()
    later = asyncio.create_task(scheduler.run(lambda: "later", Priority.STREAMING))
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
        await scheduler.run(fail, Priority.STREAMING)
    assert await scheduler.run(lambda: 7, Priority.STREAMING) == 7
    scheduler.shutdown()


def test_at_least_one_worker() -> None:
    with pytest.raises(ValueError):
        Scheduler(0)


async def test_streaming_steps_run_earliest_deadline_first() -> None:
    """Among streams, the one whose listener runs dry first is served first."""
    scheduler = Scheduler(1)
    release = threading.Event()
    order: list[str] = []
    blocker = asyncio.create_task(scheduler.run(release.wait, Priority.STREAMING))
    await asyncio.sleep(0.01)
    steps = [
        asyncio.create_task(
            scheduler.run(lambda name=name: order.append(name), Priority.STREAMING, deadline)
        )
        for name, deadline in [("late", 30.0), ("soon", 10.0), ("middle", 20.0)]
    ]
    await asyncio.sleep(0.01)
    first = asyncio.create_task(scheduler.run(lambda: order.append("first"), Priority.FIRST_AUDIO))
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(blocker, first, *steps)
    assert order == ["first", "soon", "middle", "late"]
    scheduler.shutdown()


def test_playback_deadline_follows_the_audio_produced() -> None:
    playback = Playback()
    assert not playback.started
    assert playback.urgency(5.0) == (Priority.FIRST_AUDIO, math.inf)
    playback.mark_started()
    started_at = playback.first_audio_at
    assert started_at is not None
    playback.mark_started()  # only the first call counts
    assert playback.first_audio_at == started_at
    assert playback.urgency(2.5) == (Priority.STREAMING, started_at + 2.5)


# --- how wide a step runs ------------------------------------------------------------------


async def _hold(scheduler: Scheduler, release: threading.Event, seen: list[int | None]) -> None:
    """One stream whose single step records its cores and waits for `release`."""

    def step() -> None:
        seen.append(step_threads())
        release.wait()

    with scheduler.stream():
        await scheduler.run(step, Priority.FIRST_AUDIO)


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
    assert await scheduler.run(step_threads, Priority.STREAMING) == 3
    assert step_threads() is None
    scheduler.shutdown()


async def test_a_step_runs_in_its_callers_context_so_its_log_lines_name_the_request() -> None:
    scheduler = Scheduler(2)
    try:

        async def ids_seen_by_a_step(request_id: str, context_id: str) -> tuple[str | None, ...]:
            REQUEST_ID.set(request_id)
            CONTEXT_ID.set(context_id)
            return await scheduler.run(
                lambda: (REQUEST_ID.get(), CONTEXT_ID.get()), Priority.STREAMING
            )

        seen = await asyncio.gather(ids_seen_by_a_step("r1", "c1"), ids_seen_by_a_step("r2", "c2"))
        assert seen == [("r1", "c1"), ("r2", "c2")]
    finally:
        scheduler.shutdown()
