"""The order of synthesis steps (server/urgency.py): when a new stream's first audio may go
ahead of the streams already playing."""

import pytest

from ttsd.server.urgency import (
    FIRST_AUDIO,
    LONGEST_STEP_DECAY,
    UTILIZATION,
    StepCosts,
    Urgency,
    first_audio_fits,
)

NOW = 1000.0
#: First steps of 0.1 s, steps of 0.2 s and none longer lately.
COSTS = StepCosts(longest=0.2, typical=0.2, first=0.1)


def _playing(lead: float, cost: float = 0.1, rate: float = 0.1) -> Urgency:
    return Urgency(dry_at=NOW + lead, cost=cost, rate=rate)


def test_a_new_stream_goes_first_while_every_listener_has_time() -> None:
    waiting = [_playing(2.0), _playing(3.0)]
    assert first_audio_fits(NOW, waiting, waiting, COSTS, workers=2)
    assert first_audio_fits(NOW, [], [], COSTS, workers=2)


def test_not_when_a_listener_would_then_run_dry() -> None:
    # 0.35 s in hand: the new step (0.1) and this one's (0.1) on 2 workers take 0.1 s,
    # plus a typical 0.2 s step to wait for: 0.3 s, it fits; at 0.25 s it does not.
    assert first_audio_fits(NOW, [_playing(0.35)], [_playing(0.35)], COSTS, workers=2)
    assert not first_audio_fits(NOW, [_playing(0.25)], [_playing(0.25)], COSTS, workers=2)
    # With one worker the same work takes twice as long.
    assert not first_audio_fits(NOW, [_playing(0.35)], [_playing(0.35)], COSTS, workers=1)


def test_listeners_are_served_earliest_first_so_the_work_ahead_adds_up() -> None:
    # Each alone has time; the fifth in line waits for four steps before its own.
    waiting = [_playing(0.5 + 0.01 * i, cost=0.3) for i in range(5)]
    assert first_audio_fits(NOW, waiting[:1], waiting, COSTS, workers=2)
    assert not first_audio_fits(NOW, waiting, waiting, COSTS, workers=2)


@pytest.mark.parametrize("streams", [10, 16])
def test_near_capacity_every_listener_must_hold_a_full_round(streams: int) -> None:
    # `streams` playing streams at 0.1 s of work per second of audio need 1.0 and 1.6
    # of 2 workers: past UTILIZATION (1.5) with the new one, each must hold a round of
    # (streams + 1) steps of 0.2 s on 2 workers plus one to wait for.
    playing = [_playing(lead=1.0) for _ in range(streams)]
    demand = (streams + 1) * 0.1
    assert (demand > UTILIZATION * 2) == (streams == 16)
    round_s = (streams + 1) * 0.2 / 2 + 0.2
    ahead = [_playing(lead=round_s - 0.05)]
    assert first_audio_fits(NOW, ahead, playing, COSTS, workers=2) == (streams == 10)
    ahead = [_playing(lead=round_s + 0.05)]
    assert first_audio_fits(NOW, ahead, playing, COSTS, workers=2)


def test_streams_before_first_audio_have_no_deadline() -> None:
    assert first_audio_fits(NOW, [FIRST_AUDIO], [FIRST_AUDIO], COSTS, workers=1)
    assert FIRST_AUDIO.first_audio and not _playing(1.0).first_audio


def test_start_by_leaves_room_for_the_step_and_one_to_wait_for() -> None:
    assert _playing(lead=2.0, cost=0.3).start_by(0.5) == pytest.approx(NOW + 1.2)


def test_step_costs_remember_the_longest_and_average_the_rest() -> None:
    costs = StepCosts().after(0.5, first_audio=False)
    assert costs == StepCosts(longest=0.5, typical=0.5, first=0.0)
    costs = costs.after(0.1, first_audio=True)
    assert costs.longest == pytest.approx(0.5 * LONGEST_STEP_DECAY)
    assert 0.1 < costs.typical < 0.5
    assert costs.first == 0.1  # the first one sets it
    costs = costs.after(0.2, first_audio=True)
    assert 0.1 < costs.first < 0.2
