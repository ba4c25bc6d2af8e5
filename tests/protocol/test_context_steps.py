"""A context never hands the engine more than one step of text (issue 8).

With a step finder (the server passes `ttsd.text.steps.step_end`), released text is cut
into segments of at most `Limits.max_step_chars` (the context's first piece at most
`first_step_chars`), and text that waits for a sentence end is released once it is
longer than a step, so the buffer each new input rescans stays short.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.protocol.helpers import FakeResolver, payload, segments
from ttsd.protocol.connection import ConnectionCore
from ttsd.protocol.events import Segment
from ttsd.protocol.limits import Limits
from ttsd.text.segmenter import find_release_point, first_clause_end, first_phrase_end
from ttsd.text.steps import step_end

LIMITS = Limits(max_step_chars=200, first_step_chars=100)


def core(limits: Limits = LIMITS) -> ConnectionCore:
    return ConnectionCore(
        resolver=FakeResolver(),
        release_finder=find_release_point,
        clause_finder=first_clause_end,
        phrase_finder=first_phrase_end,
        step_finder=step_end,
        limits=limits,
    )


def send(target: ConnectionCore, transcript: str, now: float = 0.0, **fields: Any) -> list[Segment]:
    message = payload(transcript=transcript, **{"continue": True, **fields})
    return segments(target.receive_text(orjson.dumps(message), now))


def check_bounded(pieces: list[Segment], limits: Limits = LIMITS) -> None:
    assert pieces
    assert len(pieces[0].text) <= limits.first_step_chars
    assert all(len(piece.text) <= limits.max_step_chars for piece in pieces)


@pytest.mark.parametrize(
    "transcript",
    [
        "word " * 4000,
        "x" * 20_000,
        "(" + ", " * 9_999,
        '"' + "and then, " * 1_999,
        "1234567 " * 2_500,
    ],
    ids=["words", "one long word", "bracket and commas", "quote and clauses", "numbers"],
)
def test_one_long_message_without_a_sentence_end_is_released_in_steps(transcript: str) -> None:
    target = core()
    pieces = send(target, transcript)
    check_bounded(pieces)
    released = "".join(piece.text for piece in pieces)
    # All but the last step's worth is released now; the rest waits for more text.
    assert transcript.startswith(released)
    assert len(transcript) - len(released) <= LIMITS.max_step_chars
    # Closing the context releases the rest, still in bounded steps.
    rest = send(target, "", **{"continue": False})
    check_bounded(pieces + rest)
    assert released + "".join(piece.text for piece in rest) == transcript
    assert rest[-1].is_last and not any(piece.is_last for piece in pieces + rest[:-1])


def test_text_fed_in_pieces_never_piles_up_in_the_buffer() -> None:
    target = core()
    text = "word " * 20_000  # 100,000 characters without a sentence end
    released: list[Segment] = []
    for start in range(0, len(text), 1000):
        released += send(target, text[start : start + 1000], now=start / 1e6)
        held = start + 1000 - sum(len(piece.text) for piece in released)
        assert held <= LIMITS.max_step_chars
    check_bounded(released)


def test_the_budget_holds_at_its_edge() -> None:
    limits = Limits(max_step_chars=50, first_step_chars=50)
    at_edge = core(limits)
    assert send(at_edge, "a" * 10 + " " + "b" * 39) == []  # 50 characters wait
    over = core(limits)
    pieces = send(over, "a" * 10 + " " + "b" * 40)  # 51 are released up to the space
    assert [piece.text for piece in pieces] == ["a" * 10 + " "]


def test_a_flush_cuts_its_text_into_steps_and_tags_the_last() -> None:
    target = core()
    pieces = send(target, "word " * 100, flush=True)
    check_bounded(pieces)
    assert [piece.closes_flush for piece in pieces] == [False] * (len(pieces) - 1) + [True]
    assert {piece.flush_id for piece in pieces} == {1}


def test_a_short_first_sentence_is_not_cut() -> None:
    target = core()
    pieces = send(target, "The quick brown fox jumps over the lazy dog. ")
    assert [piece.text for piece in pieces] == ["The quick brown fox jumps over the lazy dog. "]


def test_a_long_first_sentence_without_a_clause_starts_with_a_short_step() -> None:
    target = core()
    sentence = (
        "Our support team will get back to you as soon as possible with an answer to every "
        "question that you asked us in the message you sent this morning. "
    )
    pieces = send(target, sentence)
    check_bounded(pieces)
    assert len(pieces) == 2
    assert pieces[1].text.split()[0] in {"with", "to", "that", "in", "the", "an"}


def test_without_a_step_finder_segments_are_not_cut() -> None:
    target = ConnectionCore(resolver=FakeResolver(), release_finder=find_release_point)
    transcript = "word " * 1000
    pieces = send(target, transcript, **{"continue": False})
    assert [piece.text for piece in pieces] == [transcript]


@pytest.mark.parametrize("field", ["max_step_chars", "first_step_chars"])
@pytest.mark.parametrize("value", [0, -5, "200", True])
def test_a_step_budget_must_be_a_positive_integer(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"limits.{field}"):
        Limits(**{field: value})  # type: ignore[arg-type]


def test_a_step_budget_of_one_character_still_makes_progress() -> None:
    target = core(Limits(max_step_chars=1, first_step_chars=1))
    pieces = send(target, "ab cd", **{"continue": False})
    assert "".join(piece.text for piece in pieces) == "ab cd"
    assert all(len(piece.text) == 1 for piece in pieces)
