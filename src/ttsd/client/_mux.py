"""The WebSocket multiplexer shared by both twins, without I/O.

It owns the contexts of one `WebSocket` object (across reconnects): which ids are live,
which connection (`epoch`) each one's messages went to, and what state its input is in.
It builds each message after checking the context may send it, routes every received
frame to the one context it belongs to (or drops it), and decides what the receiving
side yields, raises or ends on. The twins add the socket, a reader (thread or task) and
the queues.

Rules:

- A context is *bound* to the connection its first message went to. When that
  connection closes, every live context bound to it is lost: its `receive()` raises
  `ContextLostError` after the frames that did arrive, and so does any further input.
  Contexts that have sent nothing yet are not lost: they go to the next connection.
- Except after a restart: a server that drains closes a connection with 1012 only once
  none of its contexts is live (src/ttsd/server/drain.py), so a context that got no frame
  at all when that close came was never started there. It is sent again, message for
  message, on the next connection, before anything else (`take_resends`), up to
  `MAX_RESENDS` times.
- After such a close, the next connect keeps trying for `RESTART_RECONNECT_S` while the
  server answers 503 (draining: after its `Retry-After`) or refuses (restarting), so a
  lone server's restart costs its clients a wait, not an error (`reconnect_wait`).
- A cancelled context drops all its later frames (its `done` too); its id stays taken
  until that `done` comes, so the id is not reused while its frames are in flight.
- `done` or `error` ends a context and frees its id.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

from ttsd.client import _requests
from ttsd.client._base import RESTART_RECONNECT_S
from ttsd.client._requests import ContextOptions, Message
from ttsd.client._responses import error_of
from ttsd.client.errors import (
    ConnectionClosedError,
    ContextLostError,
    InputClosedError,
    TtsdError,
)
from ttsd.client.types import Done, Error, Response
from ttsd.protocol.shown import shown

_LOGGER = logging.getLogger("ttsd.client")

#: The close code of a server that restarts ("service restart"; a draining ttsd).
RESTART_CLOSE_CODE = 1012
#: Restarts a context may be sent again across before it counts as lost.
MAX_RESENDS = 3

Q = TypeVar("Q")


class Wake:
    """Queue item that wakes a waiting `receive()` (after a cancel)."""


WAKE = Wake()

#: What a context's queue holds: a response, an error to raise, or a wake-up.
Item = Response | TtsdError | Wake


@dataclass
class Outcome:
    """What `receive()` does with one queue item: yield `response` (if any), then raise
    `error` (if any), then stop if `end`."""

    response: Response | None
    error: TtsdError | None
    end: bool


class ContextCore(Generic[Q]):
    """One context's state; `queue` is the twin's queue of `Item`s."""

    def __init__(
        self, context_id: str, options: ContextOptions, timeout: float | None, queue: Q
    ) -> None:
        self.context_id = context_id
        self.options = options
        self.timeout = timeout
        self.queue = queue
        self.epoch: int | None = None
        self.input_closed = False
        self.cancelled = False
        self.finished = False
        self.lost: ContextLostError | None = None
        #: whether a frame of this context has arrived
        self.answered = False
        #: messages sent while unanswered: what a restart makes it send again
        self.unanswered: list[Message] = []
        self.resends = 0


class Multiplexer(Generic[Q]):
    """Contexts of one WebSocket object; see the module docstring."""

    def __init__(self) -> None:
        self.epoch = 0
        self.connected = False
        self.closed_by_user = False
        self._live: dict[str, ContextCore[Q]] = {}
        self._resend: list[ContextCore[Q]] = []
        #: until when (monotonic) a reconnect keeps trying after a restart's close
        self._reconnect_until: float | None = None

    # -- contexts ----------------------------------------------------------------

    def open(
        self, context_id: str | None, options: ContextOptions, timeout: float | None, queue: Q
    ) -> ContextCore[Q]:
        """Register a context (a uuid4 id if none); ValueError if the id is live."""
        if self.closed_by_user:
            raise ConnectionClosedError("this WebSocket was closed; open a new one")
        if context_id is None:
            context_id = str(uuid.uuid4())
        elif not context_id:
            raise ValueError("context_id: must not be empty")
        if context_id in self._live:
            raise ValueError(f"context {context_id!r} is already open on this WebSocket")
        ctx = ContextCore(context_id, options, timeout, queue)
        self._live[context_id] = ctx
        return ctx

    def live_ids(self) -> list[str]:
        """Ids of the contexts that have not ended (cancelled ones awaiting `done` too)."""
        return list(self._live)

    # -- sending -------------------------------------------------------------------

    def push(self, ctx: ContextCore[Q], text: str, *, flush: bool) -> Message:
        """`ctx.push(text, flush=...)`."""
        if not isinstance(text, str):
            raise TypeError(f"push: expected text (str), got {type(text).__name__}")
        self._check_input(ctx, "push")
        return _requests.push_message(ctx.context_id, ctx.options, text, flush=flush)

    def flush(self, ctx: ContextCore[Q]) -> Message:
        """`ctx.flush()`."""
        self._check_input(ctx, "flush")
        return _requests.flush_message(ctx.context_id, ctx.options)

    def end(self, ctx: ContextCore[Q]) -> Message | None:
        """`ctx.no_more_inputs()`: the message, or None if the input is already closed."""
        if ctx.input_closed or ctx.cancelled or ctx.finished:
            return None
        self._check_input(ctx, "no_more_inputs")
        ctx.input_closed = True
        return _requests.end_message(ctx.context_id, ctx.options)

    def cancel(self, ctx: ContextCore[Q]) -> Message | None:
        """`ctx.cancel()`: the message, or None when the server needs none (the context sent
        nothing, already ended, was lost or cancelled)."""
        if ctx.cancelled or ctx.finished or ctx.lost is not None:
            ctx.cancelled = True
            return None
        ctx.cancelled = ctx.input_closed = True
        if ctx.epoch is None:
            self._forget(ctx)
            return None
        return _requests.cancel_message(ctx.context_id)

    def needs_connection(self) -> bool:
        """True if a message needs a new connection first (ConnectionClosedError once the
        user closed this WebSocket)."""
        if self.closed_by_user:
            raise ConnectionClosedError("this WebSocket was closed; open a new one")
        return not self.connected

    def connection_opened(self) -> int:
        """A new connection is up; returns its epoch."""
        self.epoch += 1
        self.connected = True
        self._reconnect_until = None
        return self.epoch

    def reconnect_wait(self, delay: float | None, now: float) -> float | None:
        """Seconds to wait before the next try of a connect that failed, `delay` being what
        that failure allows (`retry_delay`), or None to give up: only a reconnect after a
        restart (close 1012) tries again, for `RESTART_RECONNECT_S` in all."""
        if delay is None or self._reconnect_until is None or self.closed_by_user:
            return None
        left = self._reconnect_until - now
        return min(delay, left) if left > 0 else None

    def bind(self, ctx: ContextCore[Q]) -> int:
        """`ctx` is about to send on the current connection (raises if it was lost)."""
        if ctx.lost is not None:
            raise ctx.lost
        if ctx.epoch is None:
            ctx.epoch = self.epoch
        return self.epoch

    def sent(self, ctx: ContextCore[Q], message: Message) -> None:
        """`message` of `ctx` went out on the current connection."""
        if not ctx.answered:
            ctx.unanswered.append(message)

    def has_resends(self) -> bool:
        """Whether contexts wait to be sent again on the next connection."""
        return any(self._resendable(ctx) for ctx in self._resend)

    def take_resends(self) -> list[tuple[ContextCore[Q], list[Message]]]:
        """The contexts to send again on the connection just opened, each with its
        messages in order (send them, through `bind` and `sent`, before anything else)."""
        taken = [(ctx, ctx.unanswered) for ctx in self._resend if self._resendable(ctx)]
        self._resend.clear()
        for ctx, _ in taken:
            ctx.unanswered = []
        return taken

    def drop_resends(self, cause: str) -> list[tuple[ContextCore[Q], TtsdError]]:
        """Reconnecting failed: the contexts waiting to be sent again are lost."""
        pending = [ctx for ctx in self._resend if self._resendable(ctx)]
        self._resend.clear()
        how = f"the server restarted (1012) and reconnecting failed: {cause}"
        return [(ctx, self._lose(ctx, how, RESTART_CLOSE_CODE, "")) for ctx in pending]

    def will_resend(self, ctx: ContextCore[Q]) -> bool:
        """Whether `ctx` waits to be sent again (its connection closed for a restart)."""
        return ctx in self._resend and self._resendable(ctx)

    def _resendable(self, ctx: ContextCore[Q]) -> bool:
        return self._live.get(ctx.context_id) is ctx and ctx.epoch is None and not ctx.cancelled

    def lost_error(self, ctx: ContextCore[Q]) -> ContextLostError:
        """The error for `ctx` when a send failed on a closing connection."""
        return ctx.lost or ContextLostError(
            f"context {ctx.context_id!r} was lost: the connection closed while sending",
            context_id=ctx.context_id,
        )

    # -- receiving ---------------------------------------------------------------

    def route(self, response: Response, epoch: int) -> ContextCore[Q] | None:
        """The context whose queue gets `response` (received on connection `epoch`), or
        None to drop it (unknown or cancelled context, another connection's context)."""
        cid = response.context_id
        ctx = self._live.get(cid) if cid is not None else None
        if ctx is not None and ctx.epoch == epoch:
            ctx.answered = True
            ctx.unanswered = []
        if ctx is None or ctx.epoch != epoch:
            if isinstance(response, Error):
                _LOGGER.warning(
                    "error frame for %s: %s: %s",
                    f"unknown context {shown(cid)}" if cid else "no context",
                    shown(response.title),
                    shown(response.message),
                )
            else:
                _LOGGER.debug("dropped a %s frame for context %s", shown(response.type), shown(cid))
            return None
        if isinstance(response, Done | Error):
            ctx.finished = True
            self._forget(ctx)
        return None if ctx.cancelled else ctx

    def connection_closed(
        self, epoch: int, code: int | None, reason: str, *, cause: str | None = None
    ) -> list[tuple[ContextCore[Q], TtsdError]]:
        """Connection `epoch` is gone: the live contexts bound to it are lost. Returns each
        context to wake and the error its `receive()` raises."""
        if epoch == self.epoch:
            self.connected = False
            if code == RESTART_CLOSE_CODE:
                # The next connect may find the server draining or down for a while.
                self._reconnect_until = time.monotonic() + RESTART_RECONNECT_S
        how = cause or _describe_close(code, reason, by_user=self.closed_by_user)
        woken: list[tuple[ContextCore[Q], TtsdError]] = []
        for ctx in list(self._live.values()):
            if ctx.epoch != epoch:
                continue
            if (
                code == RESTART_CLOSE_CODE
                and not ctx.answered
                and not ctx.cancelled
                and ctx.resends < MAX_RESENDS
                and not self.closed_by_user
            ):
                # Never started there (see the module docstring): send it again.
                ctx.epoch = None
                ctx.resends += 1
                self._resend.append(ctx)
                continue
            woken.append((ctx, self._lose(ctx, how, code, reason)))
        return woken

    def closing(self) -> None:
        """The user is closing this WebSocket: no new contexts, no reconnects."""
        self.closed_by_user = True

    def shutdown(self) -> list[tuple[ContextCore[Q], TtsdError]]:
        """After the user's close: wake every context still live (those that sent nothing
        get ConnectionClosedError: they can never send)."""
        self.closed_by_user = True
        self.connected = False
        how = _describe_close(None, "", by_user=True)
        woken: list[tuple[ContextCore[Q], TtsdError]] = []
        for ctx in list(self._live.values()):
            if ctx.epoch is None:
                self._forget(ctx)
                woken.append((ctx, ConnectionClosedError(how)))
            else:
                woken.append((ctx, self._lose(ctx, how, None, "")))
        return woken

    def _lose(
        self, ctx: ContextCore[Q], how: str, code: int | None, reason: str
    ) -> ContextLostError:
        ctx.lost = ContextLostError(
            f"context {ctx.context_id!r} was lost: {how}; a context cannot move to a new "
            "connection: open a new context and send its text again",
            context_id=ctx.context_id,
            code=code,
            reason=reason,
        )
        self._forget(ctx)
        return ctx.lost

    def _check_input(self, ctx: ContextCore[Q], what: str) -> None:
        if ctx.lost is not None:
            raise ctx.lost
        if ctx.cancelled:
            raise InputClosedError(f"{what}: context {ctx.context_id!r} was cancelled")
        # The caller's own no_more_inputs() explains a refusal better than the end it led
        # to, which may already have arrived (a short text is done within milliseconds).
        if ctx.input_closed:
            raise InputClosedError(
                f"{what}: context {ctx.context_id!r} takes no more input after no_more_inputs()"
            )
        if ctx.finished:
            raise InputClosedError(f"{what}: context {ctx.context_id!r} has ended")

    def _forget(self, ctx: ContextCore[Q]) -> None:
        if self._live.get(ctx.context_id) is ctx:
            del self._live[ctx.context_id]


def outcome(item: Item, *, cancelled: bool = False) -> Outcome:
    """What `receive()` does with `item` from a context's queue (SSE events too)."""
    if isinstance(item, Wake):
        return Outcome(None, None, cancelled)
    if isinstance(item, TtsdError):
        return Outcome(None, item, True)
    if isinstance(item, Error):
        return Outcome(item, error_of(item), True)
    return Outcome(item, None, isinstance(item, Done))


def _describe_close(code: int | None, reason: str, *, by_user: bool) -> str:
    if by_user:
        return "this WebSocket was closed by the client"
    if code is None:
        return "the connection failed"
    detail = f"code {code}" + (f", {reason!r}" if reason else "")
    return f"the server closed the connection ({detail})"
