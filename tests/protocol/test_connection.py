"""`ConnectionCore`: routing, errors that cost nothing else, cancel, finish, limits.

Driven directly: text frames in, events out, explicit `now` values, no event loop.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.protocol.helpers import (
    FakeResolver,
    aborts,
    errors,
    frames,
    make_core,
    only_error,
    opened,
    payload,
    segments,
    send,
)
from ttsd.protocol.connection import ConnectionCore
from ttsd.protocol.context import Phase
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.events import AbortContext, Event, OpenContext, QueueSegment, SendFrame
from ttsd.protocol.formats import Encoding
from ttsd.protocol.frames import Frame, done_frame
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import OutputFormat
from ttsd.text.segmenter import find_release_point, first_clause_end, first_phrase_end


def serial_of(events: list[Event]) -> int:
    """The serial of the context that `events` open."""
    (spec,) = [e.spec for e in events if isinstance(e, OpenContext)]
    return spec.serial


def assert_error(
    events: list[Event], code: ErrorCode, status: int, context_id: str | None
) -> Frame:
    """The single error frame of `events`, checked against the expected code and context."""
    frame = only_error(events)
    assert frame["error_code"] == code.value
    assert frame["status_code"] == status
    assert frame["context_id"] == context_id
    assert frame["done"] is True
    return frame


# --- opening ---------------------------------------------------------------------------


def test_first_message_opens_a_context_with_its_spec() -> None:
    core = make_core()
    events = send(
        core,
        transcript="Hello world. ",
        language="en",
        add_timestamps=True,
        use_original_timestamps=False,
        voice="tone-high",
        **{"continue": True},
    )
    assert isinstance(events[0], OpenContext)
    spec = events[0].spec
    assert spec.context_id == "c1"
    assert spec.model_id == "sonic-3"
    assert spec.engine == "tones"
    assert spec.voice_id == "tone-high"
    assert spec.output_format == OutputFormat(Encoding.PCM_S16LE, 24000)
    assert spec.language == "en"
    assert spec.add_timestamps is True
    assert spec.add_phoneme_timestamps is False
    assert spec.use_normalized_timestamps is True
    assert [s.text for s in segments(events)] == ["Hello world. "]
    assert core.context_ids == ["c1"]
    assert core.phase("c1") is Phase.OPEN


def test_open_comes_before_the_segments() -> None:
    events = send(make_core(), transcript="One. Two", **{"continue": False})
    assert [type(e) for e in events] == [OpenContext, QueueSegment]
    assert segments(events)[0].text == "One. Two"
    assert segments(events)[0].is_last


def test_resolver_is_asked_once_per_context() -> None:
    resolver = FakeResolver()
    core = ConnectionCore(resolver=resolver, release_finder=find_release_point)
    send(core, transcript="Hello", **{"continue": True})
    send(core, transcript=" there", **{"continue": True})
    send(core, context_id="c2", transcript="Hi", **{"continue": True})
    assert [r.context_id for r in resolver.calls] == ["c1", "c2"]


def test_serials_increase_even_for_a_reused_id() -> None:
    core = make_core()
    first = serial_of(send(core, transcript="Hi"))
    core.finish("c1", first)
    second = serial_of(send(core, transcript="Hi"))
    assert second > first


def test_message_without_context_id_gets_a_fresh_one() -> None:
    core = make_core()
    one = opened(send(core, context_id=None, transcript="Hi"))
    two = opened(send(core, context_id=None, transcript="Hi"))
    assert one[0] and two[0]
    assert one != two


def test_unknown_model_is_an_error_for_that_context_only() -> None:
    core = make_core()
    send(core, context_id="ok", transcript="Hello", **{"continue": True})
    events = send(core, model_id="bogus")
    frame = assert_error(events, ErrorCode.MODEL_NOT_FOUND, 400, "c1")
    assert "`model_id`" in frame["message"]
    assert aborts(events) == []
    assert core.context_ids == ["ok"]
    assert core.phase("ok") is Phase.OPEN
    # The id was never used: a good request opens it.
    assert opened(send(core, transcript="Hi")) == ["c1"]


def test_default_request_id_is_generated() -> None:
    core = ConnectionCore(resolver=FakeResolver(), release_finder=find_release_point)
    assert len(core.request_id) >= 32


# --- flush ids through the core --------------------------------------------------------


@pytest.mark.parametrize("base", [1, 0])
def test_flush_ids_start_at_the_configured_base(base: int) -> None:
    core = make_core(flush_id_base=base)
    assert [s.flush_id for s in segments(send(core, transcript="Hi. ", **{"continue": True}))] == [
        base
    ]
    (flushed,) = segments(send(core, transcript="", flush=True, **{"continue": True}))
    assert (flushed.flush_id, flushed.closes_flush, flushed.text) == (base, True, "")
    (after,) = segments(send(core, transcript="Bye.", **{"continue": False}))
    assert (after.flush_id, after.is_last) == (base + 1, True)


def test_reused_id_starts_again_at_the_flush_id_base() -> None:
    core = make_core()
    serial = serial_of(send(core, transcript="One. ", **{"continue": True}))
    send(core, transcript="", flush=True, **{"continue": True})
    send(core, transcript="", flush=True, **{"continue": True})
    (last,) = segments(send(core, transcript="", **{"continue": False}))
    assert last.flush_id == 3
    assert core.finish("c1", serial) == [SendFrame(done_frame("c1"))]
    assert core.context_ids == []
    events = send(core, transcript="Again. ", **{"continue": True})
    assert opened(events) == ["c1"]
    assert [s.flush_id for s in segments(events)] == [1]
    assert [s.index for s in segments(events)] == [0]


# --- end of input and late input -------------------------------------------------------


def test_continue_false_closes_and_late_input_is_context_closed() -> None:
    core = make_core()
    send(core, context_id="other", transcript="Hello", **{"continue": True})
    events = send(core, transcript="Bye.", **{"continue": False})
    assert [s.is_last for s in segments(events)] == [True]
    assert core.phase("c1") is Phase.CLOSING

    late = send(core, transcript="More.", **{"continue": True})
    frame = assert_error(late, ErrorCode.CONTEXT_CLOSED, 400, "c1")
    assert "'c1'" in frame["message"]
    assert segments(late) == []
    assert "other" not in aborts(late)
    # The other context is untouched and still takes input.
    assert core.phase("other") is Phase.OPEN
    assert [s.text for s in segments(send(core, context_id="other", transcript=" there. "))] == [
        "Hello there. "
    ]


def test_late_input_fails_the_closing_context_without_a_done() -> None:
    """The error frame says `done: true`: nothing may follow it for that context."""
    core = make_core()
    serial = serial_of(send(core, transcript="Bye."))
    late = send(core, transcript="More.")
    assert aborts(late) == ["c1"]
    assert core.phase("c1") is Phase.FAILED
    assert core.finish("c1", serial) == []
    assert core.context_ids == []


# --- cancel ----------------------------------------------------------------------------


def cancel(core: ConnectionCore, context_id: str = "c1") -> list[Event]:
    """Send a cancel request for `context_id`."""
    return core.receive_text(orjson.dumps({"context_id": context_id, "cancel": True}), 0.0)


def test_cancel_aborts_then_finish_sends_done() -> None:
    core = make_core()
    send(core, context_id="other", transcript="Hello", **{"continue": True})
    serial = serial_of(send(core, transcript="Hello there", **{"continue": True}))
    assert cancel(core) == [AbortContext("c1")]
    assert core.phase("c1") is Phase.CANCELLED
    assert core.next_deadline() == 3.0  # only "other"'s buffer is waiting
    assert core.finish("c1", serial) == [SendFrame(done_frame("c1"))]
    assert core.context_ids == ["other"]
    assert core.phase("other") is Phase.OPEN


def test_cancel_of_an_unknown_context_gets_no_reply() -> None:
    core = make_core()
    send(core, transcript="Hello", **{"continue": True})
    assert cancel(core, "nope") == []
    assert core.phase("c1") is Phase.OPEN


def test_second_cancel_gets_no_reply() -> None:
    core = make_core()
    send(core, transcript="Hello", **{"continue": True})
    cancel(core)
    assert cancel(core) == []


def test_cancel_after_done_gets_no_reply() -> None:
    core = make_core()
    serial = serial_of(send(core, transcript="Hi."))
    core.finish("c1", serial)
    assert cancel(core) == []


def test_cancel_of_a_closing_context_aborts_it() -> None:
    core = make_core()
    serial = serial_of(send(core, transcript="Bye."))
    assert cancel(core) == [AbortContext("c1")]
    assert core.finish("c1", serial) == [SendFrame(done_frame("c1"))]


def test_input_after_cancel_is_context_closed_and_done_still_comes() -> None:
    core = make_core()
    serial = serial_of(send(core, transcript="Hello", **{"continue": True}))
    cancel(core)
    late = send(core, transcript=" more", **{"continue": True})
    assert_error(late, ErrorCode.CONTEXT_CLOSED, 400, "c1")
    assert aborts(late) == []  # already aborting
    assert core.finish("c1", serial) == [SendFrame(done_frame("c1"))]


# --- failure and finish ----------------------------------------------------------------


def test_failure_sends_an_error_and_aborts_then_finish_sends_nothing() -> None:
    core = make_core()
    send(core, context_id="other", transcript="Hello", **{"continue": True})
    serial = serial_of(send(core, transcript="Hello", **{"continue": True}))
    error = ProtocolError(500, ErrorCode.SYNTHESIS_FAILED, "Synthesis failed", "boom")
    events = core.fail("c1", error)
    assert [type(e) for e in events] == [SendFrame, AbortContext]
    frame = assert_error(events, ErrorCode.SYNTHESIS_FAILED, 500, "c1")
    assert frame["error"] == "Synthesis failed: boom"
    assert aborts(events) == ["c1"]
    assert core.phase("c1") is Phase.FAILED
    assert cancel(core) == []  # nothing left to cancel
    assert core.finish("c1", serial) == []
    assert core.context_ids == ["other"]
    assert core.phase("other") is Phase.OPEN


def test_fail_of_an_unknown_context_only_reports() -> None:
    core = make_core()
    events = core.fail("gone", ProtocolError(500, ErrorCode.SYNTHESIS_FAILED, "x", "y"))
    assert aborts(events) == []
    assert_error(events, ErrorCode.SYNTHESIS_FAILED, 500, "gone")


def test_finish_with_a_stale_serial_does_nothing() -> None:
    core = make_core()
    old = serial_of(send(core, transcript="Hello", **{"continue": True}))
    cancel(core)
    assert core.finish("c1", old) == [SendFrame(done_frame("c1"))]
    new = serial_of(send(core, transcript="Hello", **{"continue": True}))
    assert new != old
    assert core.finish("c1", old) == []
    assert core.phase("c1") is Phase.OPEN
    assert core.finish("c1", old) == []
    assert core.finish("nope", new) == []


def test_finish_twice_sends_one_done() -> None:
    core = make_core()
    serial = serial_of(send(core, transcript="Hi."))
    assert len(core.finish("c1", serial)) == 1
    assert core.finish("c1", serial) == []


def test_segment_done_for_an_unknown_context_is_ignored() -> None:
    core = make_core()
    events = send(core, transcript="Hi.")
    (segment,) = segments(events)
    core.finish("c1", serial_of(events))
    core.segment_done(segment, 1.0)
    assert core.context_ids == []


# --- deadlines across contexts ---------------------------------------------------------


def test_no_contexts_no_deadline() -> None:
    core = make_core()
    assert core.next_deadline() is None
    assert core.poll(1e9) == []


def test_poll_releases_only_the_context_that_is_due() -> None:
    core = make_core()
    send(core, context_id="a", transcript="Hello there", now=1.0, **{"continue": True})
    send(
        core,
        context_id="b",
        transcript="Hello there",
        now=0.0,
        max_buffer_delay_ms=5000,
        **{"continue": True},
    )
    assert core.next_deadline() == 4.0
    assert core.poll(3.999) == []
    events = core.poll(4.0)
    assert [(s.context_id, s.text) for s in segments(events)] == [("a", "Hello there")]
    assert core.next_deadline() == 5.0
    assert [s.context_id for s in segments(core.poll(5.0))] == ["b"]


def test_idle_context_ends_through_poll_then_done() -> None:
    core = make_core(context_idle_timeout_s=10.0)
    events = send(core, transcript="Hi. ", now=0.0, **{"continue": True})
    serial = serial_of(events)
    (first,) = segments(events)
    assert core.next_deadline() is None  # audio outstanding
    core.segment_done(first, 2.0)
    assert core.next_deadline() == 12.0
    assert core.poll(11.0) == []
    (last,) = segments(core.poll(12.0))
    assert (last.text, last.is_last, last.closes_flush) == ("", True, False)
    assert core.phase("c1") is Phase.CLOSING
    assert core.finish("c1", serial) == [SendFrame(done_frame("c1"))]


# --- limits at their edges -------------------------------------------------------------


def test_transcript_at_the_limit_is_accepted_and_one_more_rejected() -> None:
    core = make_core(max_transcript_chars=10)
    assert opened(send(core, context_id="a", transcript="é" * 10)) == ["a"]
    events = send(core, context_id="b", transcript="x" * 11)
    frame = assert_error(events, ErrorCode.TRANSCRIPT_TOO_LONG, 400, "b")
    assert "`transcript`" in frame["message"]
    assert "11" in frame["message"]
    assert "b" not in core.context_ids


def test_too_long_transcript_fails_a_live_context() -> None:
    core = make_core(max_transcript_chars=10)
    send(core, transcript="Hello", **{"continue": True})
    events = send(core, transcript="x" * 11, **{"continue": True})
    assert aborts(events) == ["c1"]
    assert core.phase("c1") is Phase.FAILED


def test_max_contexts_at_the_limit_and_one_more() -> None:
    core = make_core(max_contexts=2)
    a = serial_of(send(core, context_id="a", transcript="Hi", **{"continue": True}))
    send(core, context_id="b", transcript="Hi", **{"continue": True})
    events = send(core, context_id="c", transcript="Hi", **{"continue": True})
    frame = assert_error(events, ErrorCode.TOO_MANY_CONTEXTS, 429, "c")
    assert "2" in frame["message"]
    assert aborts(events) == []
    assert core.context_ids == ["a", "b"]
    assert core.phase("a") is Phase.OPEN
    assert core.phase("b") is Phase.OPEN
    assert errors(send(core, context_id="a", transcript=" there", **{"continue": True})) == []
    # A closing context still counts until its done.
    send(core, context_id="a", transcript="", **{"continue": False})
    assert errors(send(core, context_id="c", transcript="Hi")) != []
    core.finish("a", a)
    assert opened(send(core, context_id="c", transcript="Hi")) == ["c"]


def test_pending_chars_limit_through_the_core() -> None:
    core = make_core(max_pending_chars=10)
    send(core, context_id="other", transcript="Hello", **{"continue": True})
    assert errors(send(core, transcript="0123456789", **{"continue": True})) == []
    events = send(core, transcript="x", **{"continue": True})
    assert_error(events, ErrorCode.QUEUE_FULL, 429, "c1")
    assert aborts(events) == ["c1"]
    assert core.phase("other") is Phase.OPEN


def test_first_message_over_the_pending_limit_opens_nothing() -> None:
    core = make_core(max_pending_chars=10, max_transcript_chars=100)
    events = send(core, transcript="x" * 11)
    assert_error(events, ErrorCode.QUEUE_FULL, 429, "c1")
    assert opened(events) == []
    assert core.context_ids == []


def _raw(**fields: Any) -> bytes:
    return orjson.dumps(payload(**fields))


def test_message_at_the_byte_limit_is_accepted_and_one_more_rejected() -> None:
    raw = _raw(transcript="Hello")
    core = make_core(max_message_bytes=len(raw))
    assert opened(core.receive_text(raw.decode(), 0.0)) == ["c1"]
    bigger = _raw(context_id="c2", transcript="Hello!")
    assert len(bigger) == len(raw) + 1
    events = core.receive_text(bigger.decode(), 0.0)
    frame = assert_error(events, ErrorCode.MESSAGE_TOO_LARGE, 413, "c2")
    assert str(len(bigger)) in frame["message"]
    assert "c2" not in core.context_ids


def test_message_size_is_counted_in_bytes() -> None:
    raw = _raw(transcript="ééééé")
    text = raw.decode()
    assert len(text) < len(raw)
    core = make_core(max_message_bytes=len(text))
    assert_error(core.receive_text(text, 0.0), ErrorCode.MESSAGE_TOO_LARGE, 413, "c1")
    assert_error(core.receive_text(raw, 0.0), ErrorCode.MESSAGE_TOO_LARGE, 413, "c1")
    core = make_core(max_message_bytes=len(raw))
    assert opened(core.receive_text(text, 0.0)) == ["c1"]


def test_oversized_message_fails_its_live_context_only() -> None:
    core = make_core(max_message_bytes=300)
    send(core, context_id="other", transcript="Hello", **{"continue": True})
    send(core, transcript="Hello", **{"continue": True})
    events = send(core, transcript="x" * 400, **{"continue": True})
    assert_error(events, ErrorCode.MESSAGE_TOO_LARGE, 413, "c1")
    assert aborts(events) == ["c1"]
    assert core.phase("other") is Phase.OPEN


# --- locked fields through the core ----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"model_id": "sonic-2"}, "model_id"),
        ({"voice": "tone-high"}, "voice"),
        (
            {"output_format": {"container": "raw", "encoding": "pcm_mulaw", "sample_rate": 8000}},
            "output_format",
        ),
        ({"language": "de"}, "language"),
    ],
)
def test_field_change_fails_the_context(fields: dict[str, Any], name: str) -> None:
    core = make_core()
    send(core, context_id="other", transcript="Hello", language="en", **{"continue": True})
    serial = serial_of(send(core, transcript="Hello", language="en", **{"continue": True}))
    events = send(core, transcript=" there", **fields, **{"continue": True})
    frame = assert_error(events, ErrorCode.CONTEXT_FIELD_CHANGED, 400, "c1")
    assert f"`{name}`" in frame["message"]
    assert segments(events) == []
    assert aborts(events) == ["c1"]
    assert core.phase("c1") is Phase.FAILED
    assert core.finish("c1", serial) == []
    assert core.phase("other") is Phase.OPEN


def test_end_marker_with_another_voice_is_accepted() -> None:
    core = make_core()
    send(core, transcript="Hello", **{"continue": True})
    events = send(core, transcript="", voice="some-default-voice", **{"continue": False})
    assert errors(events) == []
    assert [(s.text, s.is_last) for s in segments(events)] == [("Hello", True)]
    assert core.phase("c1") is Phase.CLOSING


def test_flush_marker_with_another_model_is_accepted() -> None:
    core = make_core()
    send(core, transcript="Hello", **{"continue": True})
    events = send(core, transcript="", model_id="sonic-2", flush=True, **{"continue": True})
    assert errors(events) == []
    assert [(s.text, s.closes_flush) for s in segments(events)] == [("Hello", True)]


# --- malformed frames ------------------------------------------------------------------


def test_binary_frame_is_an_error_that_costs_nothing_else() -> None:
    core = make_core()
    send(core, transcript="Hello", **{"continue": True})
    events = core.receive_bytes(b"\x00\x01\x02")
    frame = assert_error(events, ErrorCode.INVALID_MESSAGE, 400, None)
    assert "binary" in frame["message"].lower()
    assert aborts(events) == []
    assert core.phase("c1") is Phase.OPEN


@pytest.mark.parametrize("text", ["{", "not json", '{"context_id": "c1", "transcript": ', ""])
def test_invalid_json_is_an_error_with_null_context(text: str) -> None:
    core = make_core()
    send(core, transcript="Hello", **{"continue": True})
    events = core.receive_text(text, 0.0)
    assert_error(events, ErrorCode.INVALID_JSON, 400, None)
    assert aborts(events) == []
    assert core.phase("c1") is Phase.OPEN


def test_non_object_json_is_an_invalid_message() -> None:
    core = make_core()
    assert_error(core.receive_text("[1, 2]", 0.0), ErrorCode.INVALID_MESSAGE, 400, None)


def test_invalid_message_fails_its_live_context_only() -> None:
    core = make_core()
    send(core, context_id="other", transcript="Hello", **{"continue": True})
    send(core, transcript="Hello", **{"continue": True})
    events = send(core, transcript=5, **{"continue": True})
    frame = assert_error(events, ErrorCode.INVALID_REQUEST, 400, "c1")
    assert "`transcript`" in frame["message"]
    assert aborts(events) == ["c1"]
    assert core.phase("other") is Phase.OPEN


def test_invalid_message_for_a_new_context_opens_nothing() -> None:
    core = make_core()
    events = send(core, context_id="new", output_format={"container": "wav"})
    assert_error(events, ErrorCode.INVALID_REQUEST, 400, "new")
    assert core.context_ids == []


def test_connection_still_works_after_errors() -> None:
    core = make_core()
    core.receive_text("{", 0.0)
    core.receive_bytes(b"x")
    send(core, transcript=...)
    events = send(core, transcript="Hello world. ")
    assert opened(events) == ["c1"]
    assert errors(events) == []


def test_error_request_ids_are_per_message_and_name_the_context() -> None:
    core = make_core()
    one = only_error(send(core, transcript=...))
    two = only_error(send(core, transcript=...))
    none = only_error(core.receive_text("{", 0.0))
    assert one["request_id"].startswith("req:c1:")
    assert none["request_id"].startswith("req:-:")
    assert one["request_id"] != two["request_id"]


def test_every_error_frame_has_the_documented_fields() -> None:
    core = make_core()
    for events in (core.receive_text("{", 0.0), send(core, transcript=...)):
        frame = only_error(events)
        assert set(frame) >= {
            "type",
            "context_id",
            "status_code",
            "done",
            "title",
            "message",
            "error_code",
            "request_id",
            "error",
        }
        assert frame["error"] == f"{frame['title']}: {frame['message']}"


def test_frames_are_only_errors_or_done() -> None:
    """The core never builds audio frames: those come from the I/O layer."""
    core = make_core()
    serial = serial_of(send(core, transcript="Hi. ", **{"continue": True}))
    cancel(core)
    assert [f["type"] for f in frames(core.finish("c1", serial))] == ["done"]


# --- messages without a context_id ----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "limits", "code"),
    [
        ({"transcript": "x" * 11}, {"max_transcript_chars": 10}, ErrorCode.TRANSCRIPT_TOO_LONG),
        ({"model_id": "bogus"}, {}, ErrorCode.MODEL_NOT_FOUND),
        ({"transcript": "x" * 11}, {"max_pending_chars": 10}, ErrorCode.QUEUE_FULL),
        ({}, {"max_contexts": 0}, ErrorCode.TOO_MANY_CONTEXTS),
        ({"transcript": 5}, {}, ErrorCode.INVALID_REQUEST),
    ],
)
def test_error_for_a_message_without_context_id_has_null_context(
    fields: dict[str, Any], limits: dict[str, Any], code: ErrorCode
) -> None:
    """The id the core would invent for such a message means nothing to the client."""
    core = make_core(**limits)
    frame = only_error(send(core, context_id=None, **fields))
    assert frame["error_code"] == code.value
    assert frame["context_id"] is None
    assert frame["request_id"].startswith("req:-:")
    assert core.context_ids == []


def test_input_to_a_failed_context_before_finish_is_context_closed() -> None:
    core = make_core()
    serial = serial_of(send(core, transcript="Hello", **{"continue": True}))
    send(core, transcript=" there", voice="tone-high", **{"continue": True})
    late = send(core, transcript=" again", **{"continue": True})
    frame = assert_error(late, ErrorCode.CONTEXT_CLOSED, 400, "c1")
    assert "failed" in frame["message"]
    assert aborts(late) == []
    assert core.finish("c1", serial) == []


def test_a_late_segment_report_for_a_reused_id_is_ignored() -> None:
    """`segment_done` for an earlier context with the same id leaves the new one alone."""
    core = make_core(context_idle_timeout_s=1.0)
    (old,) = segments(send(core, 0.0, context_id="c1", transcript="Hi."))
    assert frames(core.finish("c1", old.serial))[0]["type"] == "done"
    (new,) = segments(
        send(
            core,
            1.0,
            context_id="c1",
            transcript="Hello",
            max_buffer_delay_ms=0,
            **{"continue": True},
        )
    )
    assert new.serial != old.serial
    core.segment_done(old, 2.0)  # stale: must not count for the new context
    assert core.next_deadline() is None  # the new segment is still outstanding
    core.segment_done(new, 2.0)
    assert core.next_deadline() == 3.0


# --- the first text of a context is cut after its first clause ---------------------------


def _clause_core() -> ConnectionCore:
    return ConnectionCore(
        resolver=FakeResolver(),
        release_finder=find_release_point,
        clause_finder=first_clause_end,
        request_id="req",
    )


def test_a_whole_paragraph_starts_with_its_first_clause() -> None:
    core = _clause_core()
    text = "Well, as I said before, the fox jumps. It runs away."
    first, rest = segments(core.receive_text(orjson.dumps(payload("c1", text)), 0.0))
    assert (first.text, rest.text) == ("Well, as I said before, ", "the fox jumps. It runs away.")
    assert first.flush_id == rest.flush_id == 1
    assert not first.is_last and rest.is_last
    assert first.index + 1 == rest.index


def test_the_cut_keeps_the_flush_on_the_second_part() -> None:
    core = _clause_core()
    message = payload("c1", "Well, as I said before, the fox jumps.", flush=True)
    message["continue"] = True
    first, rest = segments(core.receive_text(orjson.dumps(message), 0.0))
    assert not first.closes_flush and rest.closes_flush


def test_only_the_first_text_of_a_context_is_cut() -> None:
    core = _clause_core()
    opening = payload("c1", "Hello there. ", max_buffer_delay_ms=0)
    opening["continue"] = True
    assert [s.text for s in segments(core.receive_text(orjson.dumps(opening), 0.0))] == [
        "Hello there. "
    ]
    later = payload("c1", "Well, as I said before, the fox jumps.", max_buffer_delay_ms=0)
    later["continue"] = True
    assert [s.text for s in segments(core.receive_text(orjson.dumps(later), 0.0))] == [
        "Well, as I said before, the fox jumps."
    ]


# --- a slowly streamed first sentence is cut at a phrase (first_segment_delay_ms) --------


def _phrase_core(**limits: Any) -> ConnectionCore:
    """A core wired as the WebSocket endpoint wires it: every finder."""
    return ConnectionCore(
        resolver=FakeResolver(),
        release_finder=find_release_point,
        clause_finder=first_clause_end,
        phrase_finder=first_phrase_end,
        limits=Limits(**limits),
        request_id="req",
    )


def _stream(core: ConnectionCore, context_id: str, words: list[str], start: float) -> None:
    for i, word in enumerate(words):
        assert (
            segments(
                send(
                    core,
                    context_id=context_id,
                    transcript=word,
                    now=start + i * 0.03,
                    **{"continue": True},
                )
            )
            == []
        )


def test_the_default_first_segment_delay_is_150_ms() -> None:
    assert Limits().first_segment_delay_ms == 150


def test_poll_cuts_a_first_sentence_at_a_phrase_when_the_delay_runs_out() -> None:
    core = _phrase_core()
    _stream(core, "a", ["Thanks", " for", " calling", " our", " support"], start=1.0)
    assert core.next_deadline() == pytest.approx(1.15)
    assert core.poll(1.149) == []
    events = core.poll(1.15)
    assert [(s.context_id, s.text, s.flush_id) for s in segments(events)] == [
        ("a", "Thanks for calling ", 1)
    ]
    assert core.next_deadline() == pytest.approx(1.09 + 3.0)


def test_a_failed_phrase_cut_leaves_no_busy_deadline() -> None:
    core = _phrase_core()
    _stream(core, "a", ["Thanks", " for", " calling", " our"], start=0.0)
    assert core.next_deadline() == 0.15
    assert core.poll(0.15) == []
    assert core.next_deadline() == 3.0  # not 0.15 again, so the timer does not spin
    events = send(core, context_id="a", transcript=" support", now=0.2, **{"continue": True})
    assert [s.text for s in segments(events)] == ["Thanks for calling "]


def test_each_context_has_its_own_first_phrase() -> None:
    core = _phrase_core()
    _stream(core, "a", ["Thanks", " for", " calling", " our", " support"], start=0.0)
    _stream(core, "b", ["I", " went", " out", " to", " the"], start=0.1)
    assert [s.text for s in segments(core.poll(0.15))] == ["Thanks for calling "]
    assert core.next_deadline() == pytest.approx(0.25)
    assert [(s.context_id, s.text) for s in segments(core.poll(0.25))] == [("b", "I went out ")]


def test_first_segment_delay_zero_waits_for_the_sentence_as_before() -> None:
    core = _phrase_core(first_segment_delay_ms=0)
    _stream(core, "a", ["Thanks", " for", " calling", " our", " support"], start=0.0)
    assert core.next_deadline() == 3.0
    assert core.poll(2.0) == []


# --- context_id length and echoes (issue 8) ---------------------------------------------


def test_context_id_at_the_limit_opens_and_one_more_is_an_unattributed_error() -> None:
    core = make_core(max_context_id_chars=16)
    assert opened(send(core, context_id="a" * 16, **{"continue": True})) == ["a" * 16]
    events = send(core, context_id="a" * 17, **{"continue": True})
    frame = assert_error(events, ErrorCode.INVALID_REQUEST, 400, None)
    assert "`context_id`" in frame["message"] and "17 characters" in frame["message"]
    # The live context whose id is the cut one is not failed by it.
    assert aborts(events) == [] and core.phase("a" * 16) is Phase.OPEN
    assert core.context_ids == ["a" * 16]


def test_a_cancel_with_a_long_id_is_an_error_and_cancels_nothing() -> None:
    core = make_core(max_context_id_chars=16)
    send(core, context_id="a" * 16, **{"continue": True})
    text = orjson.dumps({"context_id": "a" * 17, "cancel": True}).decode()
    events = core.receive_text(text, 0.0)
    assert_error(events, ErrorCode.INVALID_REQUEST, 400, None)
    assert aborts(events) == [] and core.phase("a" * 16) is Phase.OPEN


def test_an_error_about_a_64_kb_id_stays_small() -> None:
    # Before: the frame echoed the id in `context_id`, `message` and `request_id`.
    core = make_core()
    long_id = "x" * 65536
    for fields in ({}, {"transcript": 42}, {"model_id": "bogus"}):
        frame = only_error(send(core, context_id=long_id, **fields))
        assert frame["context_id"] is None
        assert len(orjson.dumps(frame)) < 600, frame


def test_an_oversized_message_with_a_long_id_is_not_attributed() -> None:
    core = make_core(max_message_bytes=1000)
    events = send(core, context_id="x" * 257, transcript="y" * 1000)
    assert_error(events, ErrorCode.MESSAGE_TOO_LARGE, 413, None)
    events = send(core, context_id="x" * 256, transcript="y" * 1000)
    assert_error(events, ErrorCode.MESSAGE_TOO_LARGE, 413, "x" * 256)


def test_context_closed_quotes_the_id_shortened() -> None:
    core = make_core()
    long_id = "\x1b" + "x" * 255
    send(core, context_id=long_id)  # closes at once: continue is false
    frame = assert_error(send(core, context_id=long_id), ErrorCode.CONTEXT_CLOSED, 400, long_id)
    assert "'\\x1bxxx" in frame["message"] and "(256 chars)" in frame["message"]
    assert long_id not in frame["message"]


def test_a_field_change_quotes_the_values_shortened() -> None:
    core = make_core()
    send(core, model_id="sonic-3", **{"continue": True})
    events = send(core, model_id="sonic-" + "9" * 5000, **{"continue": True})
    frame = assert_error(events, ErrorCode.CONTEXT_FIELD_CHANGED, 400, "c1")
    assert "(5006 chars)" in frame["message"] and len(frame["message"]) < 600


@pytest.mark.parametrize("char", ["\x00", "\x7f", "\x9b"], ids=["NUL", "DEL", "CSI"])
def test_a_control_character_in_a_transcript_reaches_no_engine(char: str) -> None:
    core = make_core()
    send(core, context_id="other", transcript="Hello", **{"continue": True})
    send(core, transcript="Hello", **{"continue": True})
    events = send(core, transcript=f" there{char}.", **{"continue": True})
    frame = assert_error(events, ErrorCode.INVALID_REQUEST, 400, "c1")
    assert f"`transcript`: U+{ord(char):04X} at offset 6" in frame["message"]
    assert aborts(events) == ["c1"] and segments(events) == []
    assert core.phase("other") is Phase.OPEN
    # A new context with one queues nothing either.
    frame = assert_error(
        send(core, context_id="c2", transcript=char), ErrorCode.INVALID_REQUEST, 400, "c2"
    )
    assert "c2" not in core.context_ids
