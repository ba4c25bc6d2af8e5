"""The per-connection outbox: bounded audio, immediate control frames, purge."""

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
