"""A connection's queue of serialized frames waiting to be written.

Audio waits for room (backpressure: a slow reader slows its own contexts, never the
engine, and memory stays bounded), while control frames (`error`, `flush_done`,
`done`) go in at once so a stuck reader never blocks the read loop. Frames of an
aborted context can be taken back out before they are written (docs/architecture.md "Cancel").

Control frames are bounded too, in bytes: a client that provokes them and never reads
(issue 8: 2,000 bad messages with 64 KB ids queued ~265 MiB in 0.2 s) overflows the
outbox once the unread bytes would pass `max_unread_bytes`. The outbox then drops what
it holds, closes, and tells its owner, which closes the connection. Audio never takes
more than `1 / AUDIO_SHARE` of that budget, so audio alone, however slow its reader,
cannot overflow it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

#: The default `max_unread_bytes` (see `Settings.max_unread_bytes` for why 8 MiB).
DEFAULT_MAX_UNREAD_BYTES = 8 * 1024 * 1024
#: Audio may fill the outbox up to `max_unread_bytes // AUDIO_SHARE` bytes.
AUDIO_SHARE = 2


class Outbox:
    """FIFO of `(context_id, payload)`.

    `limit` bounds the frames audio may find queued; `max_unread_bytes` bounds the bytes
    held in all (audio waits at half of it; a control frame beyond it overflows).
    `on_overflow(unread_bytes)` is called once, at the overflow, from inside the put.
    """

    def __init__(
        self,
        limit: int,
        max_unread_bytes: int = DEFAULT_MAX_UNREAD_BYTES,
        *,
        on_overflow: Callable[[int], None] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if max_unread_bytes < 1:
            raise ValueError("max_unread_bytes must be at least 1")
        self._limit = limit
        self._max_unread_bytes = max_unread_bytes
        self._audio_bytes = max_unread_bytes // AUDIO_SHARE
        self._on_overflow = on_overflow
        self._items: deque[tuple[str | None, bytes]] = deque()
        self._bytes = 0
        self._peak_bytes = 0
        self._overflow_bytes: int | None = None
        self._changed = asyncio.Condition()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def unread_bytes(self) -> int:
        """Bytes of the frames queued now."""
        return self._bytes

    @property
    def peak_bytes(self) -> int:
        """The most bytes the outbox has held at once (never above `max_unread_bytes`)."""
        return self._peak_bytes

    @property
    def overflow_bytes(self) -> int | None:
        """The unread bytes a control frame would have made, once it overflowed; else None."""
        return self._overflow_bytes

    async def put_audio(self, context_id: str, payload: bytes) -> None:
        """Queue an audio or timestamps frame, waiting while the outbox is full.

        Full: `limit` frames, or the frame would take the unread bytes past the audio
        share of the budget. An empty outbox takes any frame, so a frame larger than
        the share still gets through, alone.
        """
        size = len(payload)
        async with self._changed:
            await self._changed.wait_for(lambda: self._closed or self._has_room(size))
            self._append(context_id, payload)

    async def put_control(self, context_id: str | None, payload: bytes) -> None:
        """Queue a control frame now, whatever the fill level, unless it would take the
        unread bytes past `max_unread_bytes`: then the outbox overflows instead."""
        async with self._changed:
            if self._closed:
                return
            unread = self._bytes + len(payload)
            if unread > self._max_unread_bytes:
                self._overflow(unread)
                return
            self._append(context_id, payload)

    async def get(self) -> bytes | None:
        """The next payload, or None once closed and drained."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._items) or self._closed)
            if not self._items:
                return None
            _, payload = self._items.popleft()
            self._bytes -= len(payload)
            self._changed.notify_all()
            return payload

    async def purge(self, context_id: str) -> int:
        """Drop every queued frame of `context_id`; return how many."""
        async with self._changed:
            before = len(self._items)
            self._items = deque(item for item in self._items if item[0] != context_id)
            self._bytes = sum(len(payload) for _, payload in self._items)
            self._changed.notify_all()
            return before - len(self._items)

    async def close(self) -> None:
        """Wake everyone: `get` drains what is left, then returns None; puts are dropped."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _has_room(self, size: int) -> bool:
        if len(self._items) >= self._limit:
            return False
        return not self._items or self._bytes + size <= self._audio_bytes

    def _append(self, context_id: str | None, payload: bytes) -> None:
        if not self._closed:
            self._items.append((context_id, payload))
            self._bytes += len(payload)
            self._peak_bytes = max(self._peak_bytes, self._bytes)
            self._changed.notify_all()

    def _overflow(self, unread: int) -> None:
        # Nothing queued is worth keeping: the connection is about to be closed, and the
        # memory is what the budget is for. `get` returns None at once.
        self._overflow_bytes = unread
        self._items.clear()
        self._bytes = 0
        self._closed = True
        self._changed.notify_all()
        if self._on_overflow is not None:
            self._on_overflow(unread)
