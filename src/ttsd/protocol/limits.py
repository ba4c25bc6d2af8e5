"""Per-connection limits enforced by the protocol core. Every one is configurable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from annotated_types import Ge, Gt, Interval


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one client may ask of one connection.

    Each field's own bounds (`Ge(1)`, ...) are metadata only: the protocol checks nothing
    with them; `ttsd serve` checks every value it reads against them
    (server/settings_loader.py).
    """

    #: largest text frame accepted, in bytes (a larger one gets an error frame)
    max_message_bytes: Annotated[int, Ge(1)] = 256 * 1024
    #: longest `transcript` in one message, in characters
    max_transcript_chars: Annotated[int, Ge(1)] = 20_000
    #: longest `context_id`, in characters (SDKs send UUIDs, 36; LiveKit 12 hex digits).
    #: Every frame echoes the id, so a long one multiplies what a reply costs (issue 8)
    max_context_id_chars: Annotated[int, Ge(1)] = 256
    #: contexts alive at once on one connection (new ones beyond get a 429 error frame)
    max_contexts: Annotated[int, Ge(1)] = 64
    #: text accepted but not yet synthesized, per context, in characters
    max_pending_chars: Annotated[int, Ge(1)] = 100_000
    #: a context that waits this long for input, with all its audio out, ends with `done`
    context_idle_timeout_s: Annotated[float, Gt(0)] = 30.0
    #: `max_buffer_delay_ms` when a request leaves it out
    #: (within what a request may ask: messages.MAX_BUFFER_DELAY_RANGE_MS, docs/protocol.md §2.1)
    default_max_buffer_delay_ms: Annotated[int, Interval(ge=0, le=5000)] = 3000
    #: first `flush_id` of a context (1 as the docs say; 0 for 0-based clients)
    flush_id_base: Annotated[int, Interval(ge=0, le=1)] = 1
    #: words a first segment needs before it may be cut at a clause end (or a phrase boundary)
    min_clause_words: Annotated[int, Ge(1)] = 3
    #: a context's first text that has waited this long for a sentence or clause end is cut
    #: at a phrase boundary ("Thanks for calling | our ..."), in ms (0 turns this off)
    first_segment_delay_ms: Annotated[int, Ge(0)] = 150
    #: longest text one engine step synthesizes, in characters: longer text is cut at a
    #: clause end, else before a phrase, else between words (src/ttsd/text/steps.py), and
    #: text that waits for a sentence end is released once it passes this. One Piper step
    #: costs ~18 MiB per second of its audio; 200 characters are ~11 s (+~180 MiB)
    max_step_chars: Annotated[int, Ge(1)] = 200
    #: the same for a context's first piece, so that its first audio comes soon even when
    #: its first sentence is long and has no clause break
    first_step_chars: Annotated[int, Ge(1)] = 100

    def __post_init__(self) -> None:
        # A step budget below one character could never make progress.
        for name in ("max_step_chars", "first_step_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"limits.{name} must be an integer of at least 1, not {value!r}")
