"""A connection's queue of serialized frames waiting to be written.

Audio waits for room (backpressure: a slow reader slows its own contexts, never the
engine, and memory stays bounded), while control frames (`error`, `flush_done`,
`done`) go in at once so a stuck reader never blocks the read loop. Frames of an
aborted context can be taken back out before they are written (design.md "cancel").
"""

from __future__ import annotations

import asyncio
from collections import deque


class Outbox:
    """FIFO of `(context_id, payload)`; `limit` bounds the audio it holds."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._items: deque[tuple[str | None, bytes]] = deque()
        self._changed = asyncio.Condition()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    async def put_audio(self, context_id: str, payload: bytes) -> None:
        """Queue an audio or timestamps frame, waiting while the outbox is full."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self._items) < self._limit or self._closed)
            self._append(context_id, payload)

    async def put_control(self, context_id: str | None, payload: bytes) -> None:
        """Queue a control frame now, whatever the fill level."""
        async with self._changed:
            self._append(context_id, payload)

    async def get(self) -> bytes | None:
        """The next payload, or None once closed and drained."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._items) or self._closed)
            if not self._items:
                return None
            _, payload = self._items.popleft()
            self._changed.notify_all()
            return payload

    async def purge(self, context_id: str) -> int:
        """Drop every queued frame of `context_id`; return how many."""
        async with self._changed:
            before = len(self._items)
            self._items = deque(item for item in self._items if item[0] != context_id)
            self._changed.notify_all()
            return before - len(self._items)

    async def close(self) -> None:
        """Wake everyone: `get` drains what is left, then returns None; puts are dropped."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _append(self, context_id: str | None, payload: bytes) -> None:
        if not self._closed:
            self._items.append((context_id, payload))
            self._changed.notify_all()
