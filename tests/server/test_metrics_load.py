"""`ttsd_load_ratio`, `ttsd_load_seconds_total` and the scheduler gauges: the meter on a
fake clock, the scheduler's bookkeeping, and a live server under held load."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.server.conftest import ServedFactory
from tests.support.checks import wait_for
from tests.support.metrics import scrape
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, request
from ttsd.server.load import LOAD_WINDOW_S, LoadMeter
from ttsd.server.scheduler import Scheduler


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_idle_is_zero_and_exactly_busy_is_one() -> None:
    clock = FakeClock()
    meter = LoadMeter(2, window_s=10, clock=clock)
    clock.now += 20
    assert meter.ratio() == 0.0
    meter.add(2)  # one step alone on every core: both slots
    clock.now += 10
    assert meter.ratio() == pytest.approx(1.0)
    assert meter.total() == pytest.approx(10.0)  # ten machine-seconds


def test_waiting_steps_push_it_past_one() -> None:
    clock = FakeClock()
    meter = LoadMeter(2, window_s=10, clock=clock)
    clock.now += 10
    meter.add(2)  # two steps side by side, one slot each
    meter.add(2)  # two more waiting, one slot wanted each
    clock.now += 10
    assert meter.ratio() == pytest.approx(2.0)
    assert meter.demand == 4


def test_it_averages_over_the_window_and_falls_back_to_zero() -> None:
    clock = FakeClock()
    meter = LoadMeter(4, window_s=10, clock=clock)
    clock.now += 10
    meter.add(4)
    clock.now += 5
    meter.add(-4)
    clock.now += 5
    # Busy for 5 of the last 10 seconds.
    assert meter.ratio() == pytest.approx(0.5)
    clock.now += 2.5
    assert meter.ratio() == pytest.approx(0.25)
    clock.now += 2.5
    assert meter.ratio() == 0.0
    assert meter.total() == pytest.approx(5.0)


def test_a_young_process_averages_over_its_life() -> None:
    clock = FakeClock()
    meter = LoadMeter(2, window_s=30, clock=clock)
    meter.add(1)
    clock.now += 3
    assert meter.ratio() == pytest.approx(0.5)


def test_its_memory_stays_one_window_long() -> None:
    clock = FakeClock()
    meter = LoadMeter(1, window_s=1, clock=clock)
    for _ in range(10_000):
        meter.add(1)
        clock.now += 0.01
        meter.add(-1)
        clock.now += 0.01
    assert len(meter._history) <= 2 * 1 / 0.01 + 2
    assert meter.ratio() == pytest.approx(0.5)
    assert meter.total() == pytest.approx(100.0)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        LoadMeter(0)
    with pytest.raises(ValueError, match="window_s"):
        LoadMeter(1, window_s=0)
    assert LOAD_WINDOW_S == 30.0


async def test_the_scheduler_counts_running_and_waiting_steps() -> None:
    scheduler = Scheduler(2, 1)
    gate = threading.Event()
    steps = [asyncio.create_task(scheduler.run(lambda: gate.wait(10))) for _ in range(4)]
    while scheduler.running < 2:
        await asyncio.sleep(0.01)
    assert (scheduler.running, scheduler.queued, scheduler.load.demand) == (2, 2, 4)
    steps[3].cancel()  # a waiting step that gives up wants nothing any more
    await asyncio.sleep(0)
    assert (scheduler.queued, scheduler.load.demand) == (1, 3)
    gate.set()
    await asyncio.gather(*steps[:3])
    assert (scheduler.running, scheduler.queued, scheduler.load.demand) == (0, 0, 0)
    scheduler.shutdown()


async def test_a_lone_step_holds_every_slot() -> None:
    scheduler = Scheduler(2, 2)  # a lone step runs on both cores
    gate = threading.Event()
    with scheduler.stream():
        step = asyncio.create_task(scheduler.run(lambda: gate.wait(10)))
        while scheduler.running < 1:
            await asyncio.sleep(0.01)
        assert scheduler.load.demand == 2
        gate.set()
        await step
    assert scheduler.load.demand == 0
    scheduler.shutdown()


def test_load_ratio_rises_under_load_and_falls_back(
    serve_app: ServedFactory, tone_engine: ToneEngine
) -> None:
    tone_engine.gate = threading.Event()
    window = 1.0
    with serve_app() as served:  # two one-core workers
        served.runtime.scheduler.load.window_s = window
        time.sleep(window)
        assert scrape(served.base).value("ttsd_load_ratio") == 0.0
        with Client(served.base) as client:
            for i in range(3):  # held at the gate: two running, one waiting
                client.send(request(f"c{i}", "One two three."))

            def held() -> bool:
                metrics = scrape(served.base)
                return (
                    metrics.value("ttsd_scheduler_running_steps"),
                    metrics.value("ttsd_scheduler_queued_steps"),
                ) == (2, 1)

            wait_for(held, what="two steps running and one waiting")
            time.sleep(window * 1.2)
            loaded = scrape(served.base)
            # Three steps' worth of demand on two slots, the whole window long.
            assert 1.4 < loaded.value("ttsd_load_ratio") <= 1.5 + 1e-9
            tone_engine.gate.set()
            client.until_all_done("c0", "c1", "c2")
        time.sleep(window * 1.2)
        idle = scrape(served.base)
    assert idle.value("ttsd_load_ratio") == 0.0
    assert idle.value("ttsd_scheduler_running_steps") == 0
    assert idle.value("ttsd_scheduler_queued_steps") == 0
    # rate() of this counter is the load over any range: it grew by about 1.5 a second
    # while held.
    assert idle.value("ttsd_load_seconds_total") > loaded.value("ttsd_load_seconds_total")
    assert loaded.value("ttsd_load_seconds_total") >= 1.5 * window
