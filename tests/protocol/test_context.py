"""`ContextState`: buffering, flush ids, `max_buffer_delay_ms`, idle end, pending limit."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.protocol.helpers import payload
from ttsd.protocol.context import ContextState, Phase
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.events import ContextSpec, Segment
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import GenerationRequest, parse_message
from ttsd.protocol.resolver import PhraseFinder
from ttsd.text.segmenter import find_release_point, first_phrase_end


def req(transcript: str = "", *, more: bool = True, **fields: Any) -> GenerationRequest:
    """A request for context "c1"; `more` is `continue`."""
    fields["continue"] = more
    message = parse_message(payload(transcript=transcript, **fields))
    assert isinstance(message, GenerationRequest)
    return message


def start(
    transcript: str = "",
    *,
    now: float = 0.0,
    limits: Limits | None = None,
    phrase_finder: PhraseFinder | None = None,
    voice_language: str | None = None,
    **fields: Any,
) -> tuple[ContextState, list[Segment]]:
    """Open a context the way `ConnectionCore` does: construct, then accept the first input
    (`voice_language`: the language of the voice the request resolved to)."""
    first = req(transcript, **fields)
    spec = ContextSpec(
        context_id="c1",
        serial=1,
        model_id=first.model_id,
        engine="tones",
        voice_id="tone-low",
        output_format=first.output_format,
        language=first.language or voice_language,
        add_timestamps=False,
        add_phoneme_timestamps=False,
        use_normalized_timestamps=False,
    )
    state = ContextState(
        spec,
        first,
        limits=limits or Limits(),
        release_finder=find_release_point,
        phrase_finder=phrase_finder,
        now=now,
    )
    return state, state.accept(first, now)


def texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments]


# --- flush ids -------------------------------------------------------------------------


@pytest.mark.parametrize("base", [1, 0])
def test_flush_ids_start_at_the_base_and_advance_per_flush(base: int) -> None:
    state, first = start("One two three four", limits=Limits(flush_id_base=base))
    assert first == []
    flushed = state.accept(req(flush=True), 1.0)
    assert [(s.text, s.flush_id, s.closes_flush) for s in flushed] == [
        ("One two three four", base, True)
    ]
    after = state.accept(req("Five six. "), 2.0)
    assert [(s.text, s.flush_id, s.closes_flush) for s in after] == [
        ("Five six. ", base + 1, False)
    ]
    again = state.accept(req(flush=True), 3.0)
    assert [(s.text, s.flush_id, s.closes_flush) for s in again] == [("", base + 1, True)]
    last = state.accept(req("End.", more=False), 4.0)
    assert [(s.flush_id, s.is_last) for s in last] == [(base + 2, True)]


def test_default_flush_id_base_is_one() -> None:
    _, segments = start("Hello world. ")
    assert [s.flush_id for s in segments] == [1]


def test_flush_on_a_text_message_includes_its_text() -> None:
    """`ctx.push(text, flush=True)`: the text joins the segment, then it is flushed."""
    state, _ = start("Hello")
    segments = state.accept(req(" there", flush=True), 1.0)
    assert len(segments) == 1
    assert segments[0].text == "Hello there"
    assert segments[0].closes_flush
    assert not segments[0].is_last
    assert segments[0].flush_id == 1
    assert state.accept(req("Next. "), 2.0)[0].flush_id == 2
    assert state.phase is Phase.OPEN


def test_flush_as_a_separate_empty_message() -> None:
    state, _ = start("Hello there")
    segments = state.accept(req("", flush=True), 1.0)
    assert [(s.text, s.closes_flush, s.is_last) for s in segments] == [("Hello there", True, False)]


def test_flush_with_an_empty_buffer_still_yields_a_segment() -> None:
    state, released = start("Hello world. ")
    assert texts(released) == ["Hello world. "]
    segments = state.accept(req(flush=True), 1.0)
    assert len(segments) == 1
    assert segments[0].text == ""
    assert segments[0].closes_flush
    assert segments[0].flush_id == 1


def test_consecutive_flushes_each_get_their_own_id() -> None:
    state, _ = start()
    ids = [state.accept(req(flush=True), float(t))[0].flush_id for t in range(3)]
    assert ids == [1, 2, 3]


def test_segment_indexes_count_up() -> None:
    state, first = start("A b c. ", max_buffer_delay_ms=0)
    rest = [*state.accept(req("D e f. "), 1.0), *state.accept(req("", flush=True), 2.0)]
    assert [s.index for s in first + rest] == [0, 1, 2]


# --- end of input ----------------------------------------------------------------------


def test_continue_false_ends_the_context_with_everything_buffered() -> None:
    state, _ = start("Hello there")
    segments = state.accept(req(" friend", more=False), 1.0)
    assert [(s.text, s.is_last, s.closes_flush) for s in segments] == [
        ("Hello there friend", True, False)
    ]
    assert state.phase is Phase.CLOSING
    assert not state.accepts_input
    assert state.deadline() is None


def test_single_message_without_continue_is_the_whole_context() -> None:
    state, segments = start("Hello", more=False)
    assert [(s.text, s.is_last) for s in segments] == [("Hello", True)]
    assert state.phase is Phase.CLOSING


def test_empty_end_marker_gives_an_empty_last_segment() -> None:
    state, _ = start("Hello world. ")
    segments = state.accept(req("", more=False), 1.0)
    assert [(s.text, s.is_last, s.closes_flush) for s in segments] == [("", True, False)]


def test_flush_and_end_together() -> None:
    state, _ = start("Hello")
    (segment,) = state.accept(req(" there", more=False, flush=True), 1.0)
    assert segment.text == "Hello there"
    assert segment.closes_flush
    assert segment.is_last
    assert segment.flush_id == 1


# --- verbatim concatenation ------------------------------------------------------------

STORY = (
    "Dr. Smith paid $3.50 for coffee, then left. It was 3:30 p.m. on a Tuesday!  "
    'He said, "Stop." She laughed... and waited. What now?\n\nA new paragraph starts '
    "here, with no end"
)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("delay", [0, 3000])
def test_segments_join_to_the_transcripts_verbatim(seed: int, delay: int) -> None:
    rng = random.Random(seed)
    pieces: list[str] = []
    rest = STORY
    while rest:
        size = rng.randint(1, 12)
        pieces.append(rest[:size])
        rest = rest[size:]
    state, released = start(pieces[0], max_buffer_delay_ms=delay)
    now = 0.0
    for piece in pieces[1:]:
        now += rng.choice([0.01, 0.2, 4.0])
        released += state.poll(now)
        released += state.accept(req(piece, flush=rng.random() < 0.1), now)
    released += state.accept(req("", more=False), now + 0.1)
    assert "".join(texts(released)) == STORY
    assert [s.index for s in released] == list(range(len(released)))
    assert [s.is_last for s in released] == [False] * (len(released) - 1) + [True]
    if delay == 0:
        assert all(s.text for s in released[:-1] if not s.closes_flush)


# --- max_buffer_delay_ms ---------------------------------------------------------------


def test_sentence_end_is_released_at_once() -> None:
    state, segments = start("Hello world. How are", now=5.0)
    assert texts(segments) == ["Hello world. "]
    assert state.deadline() == 8.0  # "How are" is held, from its arrival


def test_later_sentence_end_is_released_at_once() -> None:
    state, _ = start("Hello world. ")
    assert texts(state.accept(req("How are"), 0.1)) == []
    assert texts(state.accept(req(" you? I"), 0.5)) == ["How are you? "]


def test_first_segment_is_released_at_a_clause_end() -> None:
    state, segments = start("Hello there my friend, how")
    assert texts(segments) == ["Hello there my friend, "]
    # Later segments wait for a sentence end: a clause is not enough.
    assert state.accept(req(" are you doing, my"), 0.1) == []


def test_first_segment_clause_needs_min_clause_words() -> None:
    _, segments = start("Hi, how")
    assert segments == []
    _, more = start("Hi there you, how", limits=Limits(min_clause_words=3))
    assert texts(more) == ["Hi there you, "]
    _, fewer = start("Hi there you, how", limits=Limits(min_clause_words=4))
    assert fewer == []


def test_unterminated_text_is_held_until_the_deadline() -> None:
    state, segments = start("Hello there", now=10.0)
    assert segments == []
    assert state.deadline() == 13.0
    assert state.accept(req(" my"), 11.0) == []
    assert state.deadline() == 13.0  # measured from the oldest unreleased text
    assert state.poll(12.999) == []
    released = state.poll(13.0)
    assert [(s.text, s.is_last, s.closes_flush) for s in released] == [
        ("Hello there my", False, False)
    ]
    assert state.phase is Phase.OPEN
    assert state.poll(100.0) == []  # its audio is still outstanding: nothing to do


def test_delay_comes_from_the_request() -> None:
    state, _ = start("Hello there", now=2.0, max_buffer_delay_ms=250)
    assert state.deadline() == 2.25


def test_default_delay_comes_from_the_limits() -> None:
    state, _ = start("Hello there", now=2.0, limits=Limits(default_max_buffer_delay_ms=1000))
    assert state.deadline() == 3.0


def test_a_later_message_may_change_the_delay() -> None:
    state, _ = start("Hello there", now=0.0)
    state.accept(req(" you", max_buffer_delay_ms=500), 0.25)
    assert state.deadline() == 0.5


def test_delay_zero_releases_every_input() -> None:
    state, first = start("Hel", max_buffer_delay_ms=0)
    released = first + state.accept(req("lo"), 0.1) + state.accept(req(" wor"), 0.2)
    assert texts(released) == ["Hel", "lo", " wor"]
    assert state.deadline() is None  # nothing buffered, audio outstanding


def test_delay_zero_holds_whitespace_only_input_for_the_next_one() -> None:
    state, first = start("Hello", max_buffer_delay_ms=0)
    assert state.accept(req(" "), 0.1) == []
    assert texts(state.accept(req("world"), 0.2)) == [" world"]
    assert texts(first) == ["Hello"]


def test_deadline_after_a_partial_release_counts_from_the_held_text() -> None:
    """The rest of a clause-cut input keeps its own arrival time."""
    state, segments = start("Hello there my friend, how", now=0.0)
    assert texts(segments) == ["Hello there my friend, "]
    state.accept(req(" are"), 1.0)
    assert state.deadline() == 3.0
    assert state.poll(2.5) == []
    assert texts(state.poll(3.0)) == ["how are"]


def test_deadline_after_a_partial_release_ignores_released_inputs() -> None:
    state, _ = start("Hi", now=0.0)
    assert state.deadline() == 3.0
    released = state.accept(req(" there. And"), 1.0)
    assert texts(released) == ["Hi there. "]
    # "Hi" (t=0) is gone; "And" came with the input of t=1.
    assert state.deadline() == 4.0
    state.accept(req(" so"), 2.0)
    assert state.deadline() == 4.0
    assert state.poll(3.5) == []
    assert texts(state.poll(4.0)) == ["And so"]


def test_whitespace_only_buffer_has_no_release_deadline() -> None:
    state, segments = start("Hello world. ", now=0.0)
    state.accept(req(" "), 1.0)
    assert state.deadline() is None  # audio outstanding, nothing worth releasing
    state.segment_done(segments[0], 2.0)
    assert state.deadline() == 32.0  # idle timeout


# --- idle timeout ----------------------------------------------------------------------


def test_idle_context_ends_after_the_timeout() -> None:
    state, segments = start("", now=1.0)
    assert segments == []
    assert state.deadline() == 31.0
    assert state.poll(30.999) == []
    ended = state.poll(31.0)
    assert [(s.text, s.is_last, s.closes_flush) for s in ended] == [("", True, False)]
    assert state.phase is Phase.CLOSING
    assert state.deadline() is None
    assert state.poll(1000.0) == []


def test_idle_timeout_is_configurable() -> None:
    state, _ = start("", now=0.0, limits=Limits(context_idle_timeout_s=2.0))
    assert state.deadline() == 2.0
    assert texts(state.poll(2.0)) == [""]


def test_idle_timeout_waits_for_outstanding_audio() -> None:
    state, segments = start("Hello world. ", now=0.0)
    assert texts(segments) == ["Hello world. "]
    assert state.deadline() is None
    assert state.poll(500.0) == []
    assert state.phase is Phase.OPEN
    state.segment_done(segments[0], 40.0)
    assert state.deadline() == 70.0
    assert state.poll(69.0) == []
    (last,) = state.poll(70.0)
    assert last.is_last
    assert last.text == ""


def test_idle_timeout_waits_for_every_outstanding_segment() -> None:
    state, first = start("One. ", now=0.0, max_buffer_delay_ms=0)
    second = state.accept(req("Two. "), 0.0)
    state.segment_done(first[0], 1.0)
    assert state.deadline() is None
    state.segment_done(second[0], 2.0)
    assert state.deadline() == 32.0


def test_input_restarts_the_idle_timer() -> None:
    state, _ = start("", now=0.0)
    state.accept(req(""), 10.0)
    assert state.deadline() == 40.0
    assert state.poll(30.0) == []


def test_held_text_is_released_before_the_idle_end() -> None:
    state, _ = start("Hello there", now=0.0, limits=Limits(context_idle_timeout_s=1.0))
    assert state.deadline() == 3.0  # the buffer deadline, not the idle one
    (segment,) = state.poll(3.0)
    assert segment.text == "Hello there"
    assert not segment.is_last


# --- pending characters ----------------------------------------------------------------


def test_pending_chars_at_the_limit_is_accepted_and_one_more_rejected() -> None:
    state, _ = start("0123456789", limits=Limits(max_pending_chars=12))
    assert state.accept(req("ab"), 0.1) == []  # exactly 12
    with pytest.raises(ProtocolError) as info:
        state.accept(req("c"), 0.2)
    assert info.value.error_code is ErrorCode.QUEUE_FULL
    assert info.value.status_code == 429
    assert "13" in info.value.message
    assert "12" in info.value.message


def test_pending_chars_count_released_text_until_its_audio_is_out() -> None:
    state, segments = start("Hi there. ", limits=Limits(max_pending_chars=10))
    assert texts(segments) == ["Hi there. "]
    with pytest.raises(ProtocolError):
        state.accept(req("x"), 0.1)
    state.segment_done(segments[0], 0.2)
    assert state.accept(req("0123456789"), 0.3) == []


def test_first_input_over_the_pending_limit_is_rejected() -> None:
    with pytest.raises(ProtocolError) as info:
        start("x" * 11, limits=Limits(max_pending_chars=10))
    assert info.value.error_code is ErrorCode.QUEUE_FULL


# --- speed and volume ------------------------------------------------------------------


def test_speed_and_volume_reach_the_segments() -> None:
    state, first = start("One. ", generation_config={"speed": 1.5, "volume": 0.8})
    assert (first[0].speed, first[0].volume) == (1.5, 0.8)
    (second,) = state.accept(req("Two. ", generation_config={"speed": 0.7}), 0.1)
    assert (second.speed, second.volume) == (0.7, 0.8)
    (third,) = state.accept(req("Three. "), 0.2)
    assert (third.speed, third.volume) == (0.7, 0.8)


def test_no_speed_means_none() -> None:
    _, (segment,) = start("One. ")
    assert segment.speed is None
    assert segment.volume is None


# --- locked fields ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"model_id": "sonic-2"}, "model_id"),
        ({"voice": "tone-high"}, "voice"),
        ({"voice": {"mode": "embedding", "embedding": [0.1]}}, "voice"),
        (
            {"output_format": {"container": "raw", "encoding": "pcm_f32le", "sample_rate": 24000}},
            "output_format",
        ),
        (
            {"output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}},
            "output_format",
        ),
        ({"language": "fr"}, "language"),
    ],
)
def test_changing_a_locked_field_is_rejected(fields: dict[str, Any], name: str) -> None:
    state, _ = start("Hello there", language="en")
    with pytest.raises(ProtocolError) as info:
        state.check_compatible(req(" more", **fields))
    error = info.value
    assert error.error_code is ErrorCode.CONTEXT_FIELD_CHANGED
    assert error.status_code == 400
    assert f"`{name}`" in error.message
    assert "'c1'" in error.message


def test_same_voice_in_another_shape_is_no_change() -> None:
    state, _ = start("Hello", voice={"mode": "id", "id": "tone-low"}, language="en")
    state.check_compatible(req(" there", voice="tone-low", language="en"))
    state.check_compatible(req(" there", voice={"id": "tone-low"}))


def test_leaving_language_out_later_is_no_change() -> None:
    state, _ = start("Hello", language="en")
    state.check_compatible(req(" there"))
    state.check_compatible(req(" there", language=None))


@pytest.mark.parametrize("transcript", ["", " ", "\n"])
def test_end_and_flush_markers_may_carry_other_fields(transcript: str) -> None:
    """The Python SDK 4.x's `no_more_inputs()` sends a bare default voice on the end marker."""
    state, _ = start("Hello", language="en")
    state.check_compatible(
        req(transcript, more=False, voice="other", model_id="sonic-2", language="de")
    )
    state.check_compatible(req(transcript, flush=True, voice="other"))


def test_switching_the_delay_to_zero_releases_held_text() -> None:
    state, _ = start("Hello there", now=0.0)
    assert texts(state.accept(req(" you", max_buffer_delay_ms=0), 1.0)) == ["Hello there you"]
    assert texts(state.accept(req(" and"), 2.0)) == [" and"]


# --- first_segment_delay_ms: a slowly streamed first sentence is cut at a phrase --------

#: An LLM's tokens, one word every 40 ms, each with its leading space.
WORDS = ["Thanks", " for", " calling", " our", " support", " line", " today.", " I"]


def stream(
    words: list[str], *, every: float = 0.04, limits: Limits | None = None, **fields: Any
) -> tuple[ContextState, list[Segment]]:
    """Open a context with the phrase finder and send `words` at 0, `every`, 2*`every`, ..."""
    state, released = start(
        words[0], now=0.0, limits=limits, phrase_finder=first_phrase_end, **fields
    )
    for i, word in enumerate(words[1:], start=1):
        released += state.accept(req(word), i * every)
    return state, released


def test_the_first_text_is_cut_at_a_phrase_when_the_first_segment_delay_runs_out() -> None:
    state, released = stream(WORDS[:5], every=0.03)  # "Thanks for calling our support"
    assert released == []
    assert state.deadline() == 0.15  # from the first word, not the newest
    assert state.poll(0.149) == []
    segments = state.poll(0.15)
    assert [(s.text, s.index, s.flush_id, s.closes_flush, s.is_last) for s in segments] == [
        ("Thanks for calling ", 0, 1, False, False)
    ]
    # The rest keeps the arrival time of the input it came with (" our", t=0.09) and now
    # waits for its sentence end like any later text.
    assert state.deadline() == pytest.approx(0.09 + 3.0)
    assert state.poll(0.5) == []
    assert texts(state.accept(req(" line today. I"), 0.6)) == ["our support line today. "]


def test_before_the_delay_nothing_is_cut_even_with_a_phrase_boundary() -> None:
    state, released = start(
        "Thanks for calling our support", now=0.0, phrase_finder=first_phrase_end
    )
    assert released == []
    assert state.accept(req(" line"), 0.149) == []
    assert texts(state.accept(req(" and"), 0.15)) == ["Thanks for calling "]


def test_a_cut_through_one_input_keeps_the_rest_with_its_arrival_time() -> None:
    state, _ = start("Thanks for calling our support", now=1.0, phrase_finder=first_phrase_end)
    assert texts(state.poll(1.15)) == ["Thanks for calling "]
    assert state.deadline() == 4.0


def test_no_boundary_at_the_delay_arms_the_cut_for_the_next_word() -> None:
    state, released = stream(WORDS[:4])  # "Thanks for calling our": "our" may be "ours"
    assert released == []
    assert state.poll(0.15) == []
    # No busy loop: the phrase deadline has passed and is not reported again.
    assert state.deadline() == 3.0
    assert state.poll(0.155) == []
    assert texts(state.accept(req(" support"), 0.16)) == ["Thanks for calling "]
    assert state.deadline() == pytest.approx(0.12 + 3.0)


def test_an_armed_cut_waits_as_long_as_no_word_completes_a_boundary() -> None:
    state, _ = stream(["Thanks", " a", " lot"])
    assert state.poll(0.15) == []
    assert state.accept(req(" for"), 0.2) == []  # "for" is not known complete yet
    assert state.deadline() == 3.0
    assert texts(state.accept(req(" everything"), 0.25)) == ["Thanks a lot "]


def test_a_word_after_a_late_poll_cuts_at_once() -> None:
    """A timer that fires late does not matter: the next word past the delay tries too."""
    state, released = stream(WORDS[:4])
    assert released == []
    assert texts(state.accept(req(" support"), 0.16)) == ["Thanks for calling "]


def test_the_phrase_cut_is_for_the_first_release_only() -> None:
    state, _ = stream(WORDS[:5], every=0.03)
    assert texts(state.poll(0.15)) == ["Thanks for calling "]
    # Later text waits for its sentence end (or max_buffer_delay_ms), phrases or not.
    for i, word in enumerate([" line", " and", " the", " rest", " of", " it"]):
        assert state.accept(req(word), 0.2 + i * 0.04) == []
    assert state.poll(1.0) == []


def test_no_phrase_cut_after_a_sentence_was_released() -> None:
    state, released = start("Hello there. ", phrase_finder=first_phrase_end)
    assert texts(released) == ["Hello there. "]
    assert state.accept(req("Thanks for calling our support"), 1.0) == []
    assert state.deadline() == 4.0
    assert state.poll(1.15) == []
    assert state.accept(req(" line"), 1.2) == []


def test_no_phrase_cut_after_a_flush() -> None:
    state, _ = start("Hi", phrase_finder=first_phrase_end)
    assert texts(state.accept(req(" there", flush=True), 0.05)) == ["Hi there"]
    assert state.accept(req("Thanks for calling our support"), 0.1) == []
    assert state.deadline() == pytest.approx(3.1)
    assert state.poll(0.3) == []


def test_a_flush_before_the_delay_releases_everything_with_its_flush_id() -> None:
    state, released = stream(WORDS[:4])
    assert released == []
    flushed = state.accept(req(" support", flush=True), 0.149)
    assert [(s.text, s.flush_id, s.closes_flush) for s in flushed] == [
        ("Thanks for calling our support", 1, True)
    ]
    assert state.poll(0.15) == []
    after = state.accept(req("Then more of the text"), 0.2)
    assert after == []
    assert state.deadline() == pytest.approx(3.2)
    assert [s.flush_id for s in state.poll(3.2)] == [2]


def test_continue_false_before_the_delay_releases_everything() -> None:
    state, _ = stream(WORDS[:4])
    last = state.accept(req(" support", more=False), 0.149)
    assert [(s.text, s.is_last) for s in last] == [("Thanks for calling our support", True)]
    assert state.deadline() is None


def test_first_segment_delay_zero_turns_the_cut_off() -> None:
    state, released = stream(WORDS[:6], limits=Limits(first_segment_delay_ms=0))
    assert released == []
    assert state.deadline() == 3.0
    assert state.poll(0.15) == []
    assert state.poll(2.999) == []
    assert texts(state.poll(3.0)) == ["Thanks for calling our support line"]


def test_without_a_phrase_finder_there_is_no_cut() -> None:
    state, released = start("Thanks for calling our support", now=0.0)
    assert released == []
    assert state.deadline() == 3.0
    assert state.poll(0.15) == []


@pytest.mark.parametrize("delay", [100, 150])
def test_a_max_buffer_delay_up_to_the_first_segment_delay_wins(delay: int) -> None:
    state, released = stream(WORDS[:5], every=0.03, max_buffer_delay_ms=delay)
    assert released == []
    if delay == 100:
        assert state.deadline() == 0.1
        assert texts(state.poll(0.1)) == ["Thanks for calling our support"]  # all of it
    else:
        assert state.deadline() == 0.15
        assert texts(state.poll(0.15)) == ["Thanks for calling our support"]


def test_max_buffer_delay_zero_releases_every_input_as_before() -> None:
    _, released = stream(WORDS[:3], max_buffer_delay_ms=0)
    assert texts(released) == ["Thanks", " for", " calling"]


def test_a_request_that_lowers_the_delay_later_turns_the_cut_off() -> None:
    state, _ = stream(WORDS[:4])
    assert state.poll(0.15) == []  # armed
    assert state.accept(req(" support", max_buffer_delay_ms=150), 0.16) == []
    assert state.deadline() == 0.15
    assert texts(state.poll(0.16)) == ["Thanks for calling our support"]


def test_other_languages_wait_for_a_sentence_end() -> None:
    """The finder knows English function words only; a context in another language waits."""
    state, _ = stream(WORDS[:5], every=0.03, language="de")
    assert state.deadline() == 3.0
    assert state.poll(0.2) == []
    english, _ = stream(WORDS[:5], every=0.03, language="en")
    assert texts(english.poll(0.15)) == ["Thanks for calling "]


def test_without_a_language_the_voice_language_decides() -> None:
    # ConnectionCore puts the voice's language in the spec when the request has none.
    spanish, _ = stream(WORDS[:5], every=0.03, voice_language="es")
    assert spanish.poll(0.2) == []
    english, _ = stream(WORDS[:5], every=0.03, voice_language="en")
    assert texts(english.poll(0.15)) == ["Thanks for calling "]
