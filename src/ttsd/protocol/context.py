"""One context's state machine: buffering, segments, flush ids and its end.

Implements docs/protocol.md §4 with ttsd's choices: text is concatenated verbatim
across inputs, held for at most `max_buffer_delay_ms` but released early at sentence
ends (and, for the first segment, at a clause end, or at a phrase boundary once it has
waited `first_segment_delay_ms`), and cut into segments each tagged with the `flush_id`
that manual flushes advance.
"""

from __future__ import annotations

from enum import Enum

from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.events import ContextSpec, Segment
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import GenerationRequest
from ttsd.protocol.resolver import ClauseFinder, PhraseFinder, ReleaseFinder, StepFinder
from ttsd.protocol.shown import shown


class Phase(Enum):
    """Where a context is in its life."""

    #: accepting input
    OPEN = "open"
    #: its last input arrived (`continue: false` or idle timeout); audio still going
    CLOSING = "closing"
    #: cancelled by the client; waiting for its work to stop, then `done`
    CANCELLED = "cancelled"
    #: failed with an error frame; waiting for its work to stop
    FAILED = "failed"


class ContextState:
    """The protocol state of one context on one connection."""

    def __init__(
        self,
        spec: ContextSpec,
        first: GenerationRequest,
        *,
        limits: Limits,
        release_finder: ReleaseFinder,
        clause_finder: ClauseFinder | None = None,
        phrase_finder: PhraseFinder | None = None,
        step_finder: StepFinder | None = None,
        now: float,
    ) -> None:
        self.spec = spec
        self.serial = spec.serial
        self.phase = Phase.OPEN
        self._limits = limits
        self._release_finder = release_finder
        self._clause_finder = clause_finder
        self._step_finder = step_finder
        # The phrase finder knows English function words only: other languages (asked for,
        # or the voice's own) wait for a sentence or clause end as before.
        language = (spec.language or "en").lower()
        self._phrase_finder = phrase_finder if language.startswith("en") else None
        # True once a phrase cut was due and found no boundary: from then on each new
        # input tries again, and `deadline` stops reporting the (past) phrase deadline.
        self._phrase_armed = False
        self._first = first
        self._buffer = ""
        # (offset in buffer, arrival time) of each input still in the buffer, so that the
        # delay is measured from when the oldest unreleased text arrived.
        self._arrivals: list[tuple[int, float]] = []
        self._flush_id = limits.flush_id_base
        self._next_index = 0
        self._released_text = False
        self._queued_chars = 0
        self._outstanding = 0
        self._idle_since = now
        self._max_buffer_delay_ms = limits.default_max_buffer_delay_ms
        #: when the context's first text (not only whitespace) arrived, None before it:
        #: where its time to first audio starts (`ttsd_time_to_first_audio_seconds`)
        self.first_text_at: float | None = None
        self._speed: float | None = None
        self._volume: float | None = None

    @property
    def accepts_input(self) -> bool:
        """True while new input may arrive."""
        return self.phase is Phase.OPEN

    @property
    def aborting(self) -> bool:
        """True once the context was cancelled or failed."""
        return self.phase in (Phase.CANCELLED, Phase.FAILED)

    def check_compatible(self, request: GenerationRequest) -> None:
        """Raise if `request` changes a field that is locked for the context's life.

        Only text-bearing messages are checked: a flush or end marker carries no audio,
        and the Python SDK's `no_more_inputs()` may repeat a default voice (docs/protocol.md §10.7).
        """
        if not request.transcript.strip():
            return
        first = self._first
        changes = [
            ("model_id", first.model_id, request.model_id),
            ("voice", first.voice.key, request.voice.key),
            ("output_format", first.output_format, request.output_format),
        ]
        if request.language is not None:
            changes.append(("language", first.language, request.language))
        for field, before, after in changes:
            if before != after:
                raise ProtocolError(
                    400,
                    ErrorCode.CONTEXT_FIELD_CHANGED,
                    "Context field changed",
                    f"`{field}` changed in the middle of context {shown(self.spec.context_id)} "
                    f"(was {_show(before)}, now {_show(after)}); start a new context to change it",
                )

    def accept(self, request: GenerationRequest, now: float) -> list[Segment]:
        """Take one input and return the segments it releases, in order."""
        pending = self._queued_chars + len(self._buffer) + len(request.transcript)
        if pending > self._limits.max_pending_chars:
            raise ProtocolError(
                429,
                ErrorCode.QUEUE_FULL,
                "Too much pending text",
                f"context {shown(self.spec.context_id)} would hold {pending} characters not yet "
                f"synthesized (limit {self._limits.max_pending_chars}); wait for audio first",
            )
        if request.max_buffer_delay_ms is not None:
            self._max_buffer_delay_ms = request.max_buffer_delay_ms
        if request.speed is not None:
            self._speed = request.speed
        if request.volume is not None:
            self._volume = request.volume
        self._idle_since = now
        if request.transcript:
            self._arrivals.append((len(self._buffer), now))
            if self.first_text_at is None and request.transcript.strip():
                self.first_text_at = now
            self._buffer += request.transcript

        if request.flush or not request.continue_:
            # A flush closes the segment with everything buffered (docs/protocol.md §4.4);
            # `continue: false` closes the context (docs/protocol.md §4.1).
            segments = self._cut(
                len(self._buffer), closes_flush=request.flush, is_last=not request.continue_
            )
            if request.flush:
                self._flush_id += 1
            if not request.continue_:
                self.phase = Phase.CLOSING
            return segments
        if self._max_buffer_delay_ms == 0:
            # "Custom buffering": synthesize each input as it comes (docs/protocol.md §4.2).
            return self._release(len(self._buffer))
        end = self._release_finder(
            self._buffer,
            first_segment=not self._released_text,
            min_clause_words=self._limits.min_clause_words,
        )
        if end == 0:
            phrase_due = self._phrase_deadline()
            if self._phrase_armed or (phrase_due is not None and now >= phrase_due):
                end = self._phrase_end()
        return self._release(self._within_budget(end))

    def deadline(self) -> float | None:
        """When `poll` has something to do next, or None."""
        if self.phase is not Phase.OPEN:
            return None
        if self._buffer.strip():
            due = self._arrivals[0][1] + self._max_buffer_delay_ms / 1000
            phrase_due = self._phrase_deadline()
            return due if phrase_due is None else min(due, phrase_due)
        if self._outstanding == 0:
            return self._idle_since + self._limits.context_idle_timeout_s
        return None

    def poll(self, now: float) -> list[Segment]:
        """Release text whose delay ran out; end the context when it has idled too long."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return []
        if self._buffer.strip():
            if now < self._arrivals[0][1] + self._max_buffer_delay_ms / 1000:
                # Only the first-segment delay ran out: cut at a phrase boundary, if any.
                return self._phrase_cut()
            return self._release(len(self._buffer))
        self.phase = Phase.CLOSING
        return self._cut(len(self._buffer), closes_flush=False, is_last=True)

    def segment_done(self, segment: Segment, now: float) -> None:
        """The I/O layer delivered all of `segment`'s audio."""
        self._outstanding -= 1
        self._queued_chars -= len(segment.text)
        self._idle_since = now

    def _phrase_cut_applies(self) -> bool:
        """Whether the context's first text may still be cut at a phrase boundary.

        Only until the context releases its first text: a slowly streamed first sentence
        would otherwise delay the first audio until it is complete (docs/protocol.md
        §4.2); later text has audio ahead of it and waits for sentences.
        A client's `max_buffer_delay_ms` of 0, or one no longer than the first-segment
        delay, already releases sooner or as soon, and is left to do so.
        """
        delay = self._limits.first_segment_delay_ms
        return (
            self._phrase_finder is not None
            and not self._released_text
            and self.phase is Phase.OPEN
            and 0 < delay < self._max_buffer_delay_ms
        )

    def _phrase_deadline(self) -> float | None:
        """When the first text is due for a phrase cut; None when that rule is off or armed."""
        if self._phrase_armed or not self._phrase_cut_applies() or not self._arrivals:
            return None
        return self._arrivals[0][1] + self._limits.first_segment_delay_ms / 1000

    def _phrase_cut(self) -> list[Segment]:
        """Release the buffer up to its last phrase boundary, or arm for the next input."""
        return self._release(self._phrase_end())

    def _phrase_end(self) -> int:
        """The buffer's last phrase boundary (0 if none, and then arm for the next input)."""
        if not self._phrase_cut_applies() or self._phrase_finder is None:
            return 0
        end = self._phrase_finder(self._buffer, min_words=self._limits.min_clause_words)
        # No boundary yet ("Thanks for calling our": "our" may become "ours"): wait for more
        # words instead of polling again and again.
        self._phrase_armed = end == 0
        return end

    def _within_budget(self, end: int) -> int:
        """`end`, moved on so that what stays buffered fits one engine step.

        Text that waits for a sentence end is released, a step at a time, once it is longer
        than one step could speak (issue 8): waiting longer would not make its cut better,
        and it keeps the buffer, and what each new input rescans, short.
        """
        budget = self._limits.max_step_chars
        if self._step_finder is None or len(self._buffer) - end <= budget:
            return end
        # Keep at most one step: the best cut in the buffer's last `budget` characters.
        # `_cut` then splits what is released into steps; this costs O(budget).
        tail = len(self._buffer) - budget
        return self._step_finder(self._buffer, tail, budget - 1)

    def _release(self, end: int) -> list[Segment]:
        if end <= 0 or not self._buffer[:end].strip():
            return []
        return self._cut(end, closes_flush=False, is_last=False)

    def _cut(self, end: int, *, closes_flush: bool, is_last: bool) -> list[Segment]:
        """Release `buffer[:end]`: one segment, or two when it opens the context's speech.

        The first text of a context is cut after its first clause (docs/protocol.md
        §4.2): a short first segment is synthesized, and heard, sooner.
        """
        text, self._buffer = self._buffer[:end], self._buffer[end:]
        kept = [(offset - end, at) for offset, at in self._arrivals if offset >= end]
        if self._buffer and (not kept or kept[0][0] > 0):
            # The cut went through an input: its rest stays buffered with its arrival time.
            straddling = [at for offset, at in self._arrivals if offset < end]
            kept.insert(0, (0, straddling[-1]))
        self._arrivals = kept
        pieces = self._pieces(text)
        self._released_text = self._released_text or bool(text.strip())
        last = len(pieces) - 1
        return [
            self._segment(
                piece, closes_flush=closes_flush and i == last, is_last=is_last and i == last
            )
            for i, piece in enumerate(pieces)
        ]

    def _pieces(self, text: str) -> list[str]:
        """`text` cut into the segments it is synthesized as: the context's first clause on
        its own, and no piece longer than one engine step (`Limits.max_step_chars`)."""
        limits = self._limits
        split = 0
        if not self._released_text and self._clause_finder is not None:
            if self._step_finder is None:
                split = self._clause_finder(text, min_words=limits.min_clause_words)
            else:
                # Only a first clause within the first step's budget helps the first audio;
                # past it, the step cut below comes first anyway.
                window = text[: limits.first_step_chars]
                split = self._clause_finder(window, min_words=limits.min_clause_words)
                if split == 0 and len(text) > limits.first_step_chars:
                    split = self._step_finder(text, 0, limits.first_step_chars)
        if split <= 0 or not text[split:].strip():
            split = 0
        pieces = [text[:split]] if split else []
        start = split
        while start < len(text):
            end = (
                len(text)
                if self._step_finder is None
                else self._step_finder(text, start, limits.max_step_chars)
            )
            pieces.append(text[start:end])
            start = end
        return pieces or [text]

    def _segment(self, text: str, *, closes_flush: bool, is_last: bool) -> Segment:
        segment = Segment(
            context_id=self.spec.context_id,
            serial=self.serial,
            index=self._next_index,
            text=text,
            flush_id=self._flush_id,
            closes_flush=closes_flush,
            is_last=is_last,
            speed=self._speed,
            volume=self._volume,
        )
        self._next_index += 1
        self._outstanding += 1
        self._queued_chars += len(text)
        return segment


def _show(value: object) -> str:
    # Model ids and voice ids come from clients: quoted, escaped and cut (protocol/shown.py).
    return shown(value) if isinstance(value, str) else str(value)
