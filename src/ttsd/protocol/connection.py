"""The per-connection multiplexer: frames in, events out (no I/O).

It owns every context of one WebSocket connection, routes each message to its context,
turns bad input into error frames that cost nothing else (docs/protocol.md §4.6), and
tells the I/O layer what to synthesize and send, in order.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from ttsd.protocol.context import ContextState, Phase
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.events import (
    AbortContext,
    ContextSpec,
    Event,
    OpenContext,
    QueueSegment,
    Segment,
    SendFrame,
)
from ttsd.protocol.frames import done_frame, error_frame
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import CancelRequest, GenerationRequest, parse_message
from ttsd.protocol.resolver import (
    ClauseFinder,
    PhraseFinder,
    ReleaseFinder,
    Resolver,
    StepFinder,
)
from ttsd.protocol.shown import shown


class ConnectionCore:
    """Protocol state of one connection. Every method is synchronous and does no I/O.

    `now` arguments are monotonic seconds supplied by the caller, so tests control time.
    `clause_finder` and `phrase_finder` shape a context's first segment (docs/protocol.md
    §4.2); None leaves that cut out. `step_finder` bounds the text of one
    engine step to `limits.max_step_chars` (`first_step_chars` for a context's first
    piece); None leaves segments as long as the text released.
    """

    def __init__(
        self,
        *,
        resolver: Resolver,
        release_finder: ReleaseFinder,
        clause_finder: ClauseFinder | None = None,
        phrase_finder: PhraseFinder | None = None,
        step_finder: StepFinder | None = None,
        limits: Limits | None = None,
        request_id: str | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.request_id = request_id or str(uuid.uuid4())
        self._resolver = resolver
        self._release_finder = release_finder
        self._clause_finder = clause_finder
        self._phrase_finder = phrase_finder
        self._step_finder = step_finder
        self._contexts: dict[str, ContextState] = {}
        self._serial = 0

    @property
    def context_ids(self) -> list[str]:
        """Ids of the contexts alive now (including closing and aborting ones)."""
        return list(self._contexts)

    def phase(self, context_id: str) -> Phase | None:
        """The phase of a live context, or None when there is none with that id."""
        state = self._contexts.get(context_id)
        return state.phase if state else None

    def first_text_at(self, context_id: str) -> float | None:
        """When a live context's first text arrived (the `now` of its message), or None."""
        state = self._contexts.get(context_id)
        return state.first_text_at if state else None

    def receive_text(self, data: str | bytes, now: float) -> list[Event]:
        """Handle one text frame from the client."""
        size = len(data.encode() if isinstance(data, str) else data)
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return self._error(
                ProtocolError(
                    400, ErrorCode.INVALID_JSON, "Invalid JSON", f"the frame is not JSON: {exc}"
                )
            )
        if size > self.limits.max_message_bytes:
            # Parsed anyway (the transport caps the size) so the error names its context.
            return self._error(
                ProtocolError(
                    413,
                    ErrorCode.MESSAGE_TOO_LARGE,
                    "Message too large",
                    f"the frame is {size} bytes; the limit is {self.limits.max_message_bytes}",
                    context_id=_context_id_of(payload, self.limits),
                )
            )
        try:
            message = parse_message(payload, self.limits)
        except ProtocolError as exc:
            return self._error(exc)
        if isinstance(message, CancelRequest):
            return self._cancel(message.context_id)
        return self._generate(message, now)

    def receive_bytes(self, data: bytes) -> list[Event]:
        """Handle one binary frame: the protocol has none (docs/protocol.md §1.1)."""
        return self._error(
            ProtocolError(
                400,
                ErrorCode.INVALID_MESSAGE,
                "Binary frames are not supported",
                f"got a {len(data)}-byte binary frame; send JSON text frames",
            )
        )

    def segment_done(self, segment: Segment, now: float) -> None:
        """The I/O layer delivered all audio of `segment`."""
        state = self._contexts.get(segment.context_id)
        # A late report for an earlier context that used the same id must not count.
        if state is not None and state.serial == segment.serial:
            state.segment_done(segment, now)

    def finish(self, context_id: str, serial: int) -> list[Event]:
        """End a context whose work has stopped: after its last segment or an abort.

        `serial` is `ContextSpec.serial` of the context the caller ran, so a late call
        cannot end a newer context that reuses the id. Returns the `done` frame unless
        the context failed (its error frame already said `done: true`).
        """
        state = self._contexts.get(context_id)
        if state is None or state.serial != serial:
            return []
        del self._contexts[context_id]
        if state.phase is Phase.FAILED:
            return []
        return [SendFrame(done_frame(context_id))]

    def fail(self, context_id: str, error: ProtocolError) -> list[Event]:
        """Fail a context for a reason found outside the core (e.g. synthesis broke)."""
        return self._error(error.for_context(context_id))

    def poll(self, now: float) -> list[Event]:
        """Release buffered text whose delay ran out and end idle contexts."""
        events: list[Event] = []
        for state in list(self._contexts.values()):
            events.extend(QueueSegment(segment) for segment in state.poll(now))
        return events

    def next_deadline(self) -> float | None:
        """The earliest time at which `poll` would do something, or None."""
        deadlines = [d for d in (s.deadline() for s in self._contexts.values()) if d is not None]
        return min(deadlines, default=None)

    def _generate(self, request: GenerationRequest, now: float) -> list[Event]:
        context_id = request.context_id or str(uuid.uuid4())
        if len(request.transcript) > self.limits.max_transcript_chars:
            return self._error(
                ProtocolError(
                    400,
                    ErrorCode.TRANSCRIPT_TOO_LONG,
                    "Transcript too long",
                    f"`transcript` has {len(request.transcript)} characters; the limit is "
                    f"{self.limits.max_transcript_chars} per message (send it in pieces "
                    "with `continue: true`)",
                    # A message without `context_id` gets errors with `context_id: null`,
                    # not the id invented for it (docs/protocol.md §3.6).
                    context_id=request.context_id,
                )
            )
        state = self._contexts.get(context_id)
        if state is None:
            return self._open(context_id, request, now)
        if not state.accepts_input:
            return self._error(
                ProtocolError(
                    400,
                    ErrorCode.CONTEXT_CLOSED,
                    "Context closed",
                    f"context {shown(context_id)} is {state.phase.value} and takes no more input; "
                    "wait for its `done` or use a new context_id",
                    context_id=context_id,
                )
            )
        try:
            state.check_compatible(request)
            segments = state.accept(request, now)
        except ProtocolError as exc:
            return self._error(exc.for_context(context_id))
        return [QueueSegment(segment) for segment in segments]

    def _open(self, context_id: str, request: GenerationRequest, now: float) -> list[Event]:
        if len(self._contexts) >= self.limits.max_contexts:
            return self._error(
                ProtocolError(
                    429,
                    ErrorCode.TOO_MANY_CONTEXTS,
                    "Too many concurrent contexts",
                    f"this connection already has {len(self._contexts)} live contexts (limit "
                    f"{self.limits.max_contexts}); wait for a `done` or open another connection",
                    context_id=request.context_id,
                )
            )
        try:
            resolved = self._resolver.resolve(request)
        except ProtocolError as exc:
            return self._error(exc.for_context(request.context_id))
        self._serial += 1
        spec = ContextSpec(
            context_id=context_id,
            serial=self._serial,
            model_id=request.model_id,
            engine=resolved.engine,
            voice_id=resolved.voice_id,
            output_format=request.output_format,
            language=request.language or resolved.language,
            add_timestamps=request.add_timestamps,
            add_phoneme_timestamps=request.add_phoneme_timestamps,
            use_normalized_timestamps=request.use_normalized_timestamps,
        )
        state = ContextState(
            spec,
            request,
            limits=self.limits,
            release_finder=self._release_finder,
            clause_finder=self._clause_finder,
            phrase_finder=self._phrase_finder,
            step_finder=self._step_finder,
            now=now,
        )
        try:
            segments = state.accept(request, now)
        except ProtocolError as exc:
            return self._error(exc.for_context(request.context_id))
        self._contexts[context_id] = state
        return [OpenContext(spec), *(QueueSegment(segment) for segment in segments)]

    def _cancel(self, context_id: str) -> list[Event]:
        state = self._contexts.get(context_id)
        if state is None or state.aborting:
            # Nothing to stop: SDKs expect no reply to a cancel (docs/protocol.md §4.5).
            return []
        state.phase = Phase.CANCELLED
        return [AbortContext(context_id)]

    def _error(self, error: ProtocolError) -> list[Event]:
        events: list[Event] = [SendFrame(error_frame(error, self._request_id_for(error)))]
        state = self._contexts.get(error.context_id) if error.context_id else None
        if state is not None and not state.aborting:
            # A bad message fails its context, never the connection or another context.
            state.phase = Phase.FAILED
            events.append(AbortContext(state.spec.context_id))
        return events

    def _request_id_for(self, error: ProtocolError) -> str:
        # Per-message ids in the hosted API's "<uuid>:<context>:<uuid>" style (its error
        # documentation; docs/protocol.md §3.6).
        return f"{self.request_id}:{error.context_id or '-'}:{uuid.uuid4()}"


def _context_id_of(payload: Any, limits: Limits) -> str | None:
    # An over-long id is never echoed (see `check_context_id` in messages.py).
    if isinstance(payload, dict):
        value = payload.get("context_id")
        if isinstance(value, str) and 0 < len(value) <= limits.max_context_id_chars:
            return value
    return None
