"""The per-connection outbox: bounded audio, immediate control frames, purge, byte budget."""

import asyncio

import pytest

from ttsd.server.outbox import Outbox


async def test_audio_waits_for_room_but_control_frames_do_not() -> None:
    outbox = Outbox(2)
    await outbox.put_audio("a", b"1")
    await outbox.put_audio("a", b"2")
    third = asyncio.create_task(outbox.put_audio("a", b"3"))
    await asyncio.sleep(0.01)
    assert not third.done() and len(outbox) == 2
    await outbox.put_control("a", b"done")
    assert len(outbox) == 3
    assert await outbox.get() == b"1"
    assert await outbox.get() == b"2"
    await asyncio.wait_for(third, 1)
    assert [await outbox.get(), await outbox.get()] == [b"done", b"3"]


async def test_purge_drops_one_contexts_frames_only() -> None:
    outbox = Outbox(10)
    for context_id, payload in [("a", b"a1"), ("b", b"b1"), ("a", b"a2"), (None, b"err")]:
        await outbox.put_control(context_id, payload)
    assert await outbox.purge("a") == 2
    assert [await outbox.get(), await outbox.get()] == [b"b1", b"err"]


async def test_close_drains_then_ends_and_wakes_blocked_writers() -> None:
    outbox = Outbox(1)
    await outbox.put_audio("a", b"1")
    blocked = asyncio.create_task(outbox.put_audio("a", b"2"))
    await asyncio.sleep(0.01)
    await outbox.close()
    await asyncio.wait_for(blocked, 1)
    assert await outbox.get() == b"1"
    assert await outbox.get() is None


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Outbox(0)


# --- the byte budget (issue 8) ---------------------------------------------------------


@pytest.mark.parametrize(("last", "overflows"), [(39, False), (40, False), (41, True)])
async def test_control_frames_overflow_only_past_the_budget(last: int, overflows: bool) -> None:
    seen: list[int] = []
    outbox = Outbox(10, 100, on_overflow=seen.append)
    await outbox.put_control("a", b"x" * 60)
    await outbox.put_control(None, b"y" * last)
    if not overflows:
        assert (len(outbox), outbox.unread_bytes, outbox.peak_bytes) == (2, 60 + last, 60 + last)
        assert seen == [] and outbox.overflow_bytes is None
        assert await outbox.get() == b"x" * 60
        return
    # Over: everything is dropped, the owner told once, and the writer ends.
    assert seen == [101] and outbox.overflow_bytes == 101
    assert (len(outbox), outbox.unread_bytes, outbox.peak_bytes) == (0, 0, 60)
    await outbox.put_control("a", b"more")
    await outbox.put_audio("a", b"more")
    assert len(outbox) == 0 and seen == [101]
    assert await outbox.get() is None


async def test_audio_waits_at_half_the_budget_so_control_frames_still_fit() -> None:
    outbox = Outbox(64, 100)
    await outbox.put_audio("a", b"1" * 30)
    await outbox.put_audio("a", b"2" * 20)  # 50: the audio half is full
    third = asyncio.create_task(outbox.put_audio("a", b"3"))
    await asyncio.sleep(0.01)
    assert not third.done() and outbox.unread_bytes == 50
    # The other half is the control frames': up to the budget, no overflow.
    await outbox.put_control("a", b"d" * 50)
    assert outbox.overflow_bytes is None and outbox.unread_bytes == 100
    assert await outbox.get() == b"1" * 30
    assert not third.done()  # 70 + 1 is still over the audio half
    assert await outbox.get() == b"2" * 20
    assert await outbox.get() == b"d" * 50
    await asyncio.wait_for(third, 1)
    assert outbox.unread_bytes == 1 and outbox.peak_bytes == 100


async def test_an_empty_outbox_takes_an_audio_frame_over_the_audio_half() -> None:
    outbox = Outbox(64, 100)
    await asyncio.wait_for(outbox.put_audio("a", b"x" * 80), 1)
    late = asyncio.create_task(outbox.put_audio("a", b"y"))
    await asyncio.sleep(0.01)
    assert not late.done()
    assert await outbox.get() == b"x" * 80
    await asyncio.wait_for(late, 1)


async def test_an_overflow_wakes_blocked_audio_and_drops_it() -> None:
    outbox = Outbox(1, 100)
    await outbox.put_audio("a", b"1")
    blocked = asyncio.create_task(outbox.put_audio("a", b"2"))
    await asyncio.sleep(0.01)
    await outbox.put_control(None, b"e" * 100)
    await asyncio.wait_for(blocked, 1)
    assert outbox.overflow_bytes == 101 and len(outbox) == 0
    assert await outbox.get() is None


async def test_get_and_purge_give_the_bytes_back() -> None:
    outbox = Outbox(10, 100)
    for context_id, payload in [("a", b"a" * 30), ("b", b"b" * 20), ("a", b"a" * 40)]:
        await outbox.put_control(context_id, payload)
    assert outbox.unread_bytes == 90
    assert await outbox.purge("a") == 2 and outbox.unread_bytes == 20
    await outbox.put_control("c", b"c" * 80)  # fits again: 100
    assert outbox.overflow_bytes is None
    assert await outbox.get() == b"b" * 20 and outbox.unread_bytes == 80
    assert outbox.peak_bytes == 100


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Outbox(1, 0)
