"""The async twin's own shape, written natively: ``async with``, an un-awaited
`ws.context()`, ``async for`` over `receive()`, contexts received concurrently, and the
awaited REST methods."""

from __future__ import annotations

import asyncio

import pytest

import ttsd
from tests.client.conftest import BYTES_PER_WORD, FMT
from ttsd.client import AsyncContext, Chunk, ContextLostError, Response

VOICE = "tone-low"


async def collect(ctx: AsyncContext) -> list[Response]:
    return [response async for response in ctx.receive()]


async def test_async_websocket_with_concurrent_receivers(server: str) -> None:
    async with (
        ttsd.AsyncClient(base_url=f"http://{server}") as client,
        client.tts.websocket_connect() as ws,
    ):
        contexts = [ws.context(voice=VOICE, output_format=FMT) for _ in range(3)]
        receivers = [asyncio.create_task(collect(ctx)) for ctx in contexts]
        for words, ctx in enumerate(contexts, start=1):
            await ctx.push(" ".join(["word"] * words) + ".", flush=True)
            await ctx.push("End.")
            await ctx.no_more_inputs()
        replies = await asyncio.gather(*receivers)
    for words, (ctx, responses) in enumerate(zip(contexts, replies, strict=True), start=1):
        assert {r.context_id for r in responses} == {ctx.context_id}
        assert [r.type for r in responses if r.type in ("flush_done", "done")] == [
            "flush_done",
            "done",
        ]
        audio = sum(len(r.audio) for r in responses if isinstance(r, Chunk))
        assert audio == (words + 1) * BYTES_PER_WORD


async def test_async_cancel_wakes_a_waiting_receiver(server: str) -> None:
    async with (
        ttsd.AsyncClient(base_url=f"http://{server}") as client,
        client.tts.websocket_connect() as ws,
    ):
        ctx = ws.context(voice=VOICE, output_format=FMT, max_buffer_delay_ms=5000)
        await ctx.push("Waiting")  # held by the server: nothing comes
        receiver = asyncio.create_task(collect(ctx))
        await asyncio.sleep(0.05)
        await ctx.cancel()
        assert await asyncio.wait_for(receiver, 10) == []
        # The socket goes on (and the server has handled the cancel before the close).
        after = ws.context(voice=VOICE, output_format=FMT)
        await after.push("Next.")
        await after.no_more_inputs()
        assert [r.type for r in await collect(after)][-1] == "done"


async def test_async_close_wakes_receivers(server: str) -> None:
    client = ttsd.AsyncClient(base_url=f"http://{server}")
    ws = await client.tts.websocket_connect().connect()
    ctx = ws.context(voice=VOICE, output_format=FMT, max_buffer_delay_ms=5000)
    await ctx.push("Waiting")
    receiver = asyncio.create_task(collect(ctx))
    await asyncio.sleep(0.05)
    await ws.close()
    with pytest.raises(ContextLostError):
        await asyncio.wait_for(receiver, 10)
    await client.close()


async def test_async_rest(server: str) -> None:
    async with ttsd.AsyncClient(base_url=f"http://{server}") as client:
        stream = await client.tts.bytes(transcript="One two.", voice=VOICE, output_format=FMT)
        chunks = [chunk async for chunk in stream]
        assert len(b"".join(chunks)) == 2 * BYTES_PER_WORD
        async with await client.tts.bytes(transcript="Three.", voice=VOICE, output_format=FMT) as s:
            assert len(await s.read()) == BYTES_PER_WORD
        events = [e async for e in await client.tts.sse(transcript="Hi.", voice=VOICE)]
        assert events[-1].type == "done"
        assert [v.id async for v in client.voices.list(limit=1)] == ["tone-low", "tone-high"]
        assert (await client.voices.get("tone-low")).name == "Low tone"
