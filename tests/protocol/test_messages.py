"""`parse_message`: every field of docs/protocol.md §2.1, legacy fields, voice shapes, errors."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from tests.protocol.helpers import OUTPUT_FORMAT, payload
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.formats import SAMPLE_RATES, Encoding
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import (
    CancelRequest,
    GenerationRequest,
    OutputFormat,
    Voice,
    check_text,
    parse_message,
)


def parse(**fields: Any) -> GenerationRequest:
    """Parse `payload(**fields)` and insist it is a generation request."""
    message = parse_message(payload(**fields))
    assert isinstance(message, GenerationRequest)
    return message


def reject(message: Any) -> ProtocolError:
    """Parse `message` and return the `ProtocolError` it must raise."""
    with pytest.raises(ProtocolError) as info:
        parse_message(message)
    return info.value


def reject_fields(**fields: Any) -> ProtocolError:
    return reject(payload(**fields))


# --- accepted fields -------------------------------------------------------------------


def test_every_documented_field_is_accepted_and_mapped() -> None:
    message = parse_message(
        {
            "model_id": "sonic-3",
            "transcript": "Hello, world! ",
            "voice": {"mode": "id", "id": "a0e99841-438c-4a64-b679-ae501e7d6091"},
            "language": "en",
            "context_id": "happy-monkeys-fly",
            "output_format": {"container": "raw", "encoding": "pcm_f32le", "sample_rate": 44100},
            "add_timestamps": True,
            "add_phoneme_timestamps": True,
            "use_normalized_timestamps": True,
            "continue": True,
            "flush": True,
            "max_buffer_delay_ms": 0,
            "generation_config": {"speed": 1.2, "volume": 0.7, "emotion": "happy"},
            "duration": 12.5,
            "pronunciation_dict_id": "dict-1",
        }
    )
    assert message == GenerationRequest(
        model_id="sonic-3",
        transcript="Hello, world! ",
        voice=Voice(id="a0e99841-438c-4a64-b679-ae501e7d6091"),
        output_format=OutputFormat(encoding=Encoding.PCM_F32LE, sample_rate=44100),
        context_id="happy-monkeys-fly",
        continue_=True,
        flush=True,
        max_buffer_delay_ms=0,
        add_timestamps=True,
        add_phoneme_timestamps=True,
        use_normalized_timestamps=True,
        language="en",
        speed=1.2,
        volume=0.7,
    )


def test_minimal_request_gets_the_documented_defaults() -> None:
    message = parse(context_id=None, transcript="Hi")
    assert message.context_id is None
    assert message.continue_ is False
    assert message.flush is False
    assert message.max_buffer_delay_ms is None  # the core applies Limits.default
    assert message.add_timestamps is False
    assert message.add_phoneme_timestamps is False
    assert message.use_normalized_timestamps is False
    assert message.language is None
    assert message.speed is None
    assert message.volume is None


@pytest.mark.parametrize(
    "field",
    [
        "continue",
        "flush",
        "max_buffer_delay_ms",
        "add_timestamps",
        "add_phoneme_timestamps",
        "use_normalized_timestamps",
        "language",
        "generation_config",
        "pronunciation_dict_id",
    ],
)
def test_nullable_fields_accept_null(field: str) -> None:
    """Clients send `null` for fields they leave unset (livekit: `"language": null`)."""
    message = parse(**{field: None})
    assert message.transcript == "Hello."


def test_empty_transcript_is_an_end_or_flush_marker() -> None:
    assert parse(transcript="").transcript == ""


def test_transcript_is_kept_verbatim() -> None:
    text = "  Hello,\n\tworld!  "
    assert parse(transcript=text).transcript == text


def test_unknown_fields_are_ignored() -> None:
    message = parse(
        locale="en-US",
        normalization="auto",
        text_cfg={"anything": 1},
        type="generate",
        some_future_field=[1, 2, 3],
    )
    assert message.transcript == "Hello."


@pytest.mark.parametrize("emotion", ["neutral", ["positivity:high", "curiosity"]])
def test_generation_config_emotion_is_accepted(emotion: Any) -> None:
    assert parse(generation_config={"emotion": emotion}).speed is None


def test_integer_numbers_are_accepted_where_floats_are_expected() -> None:
    message = parse(generation_config={"speed": 1, "volume": 2}, duration=5)
    assert message.speed == 1.0
    assert message.volume == 2.0


# --- legacy fields ---------------------------------------------------------------------


@pytest.mark.parametrize(("original", "normalized"), [(True, False), (False, True)])
def test_use_original_timestamps_is_the_inverse_of_normalized(
    original: bool, normalized: bool
) -> None:
    assert parse(use_original_timestamps=original).use_normalized_timestamps is normalized


@pytest.mark.parametrize("normalized", [True, False])
def test_use_normalized_timestamps_wins_over_the_legacy_field(normalized: bool) -> None:
    message = parse(use_normalized_timestamps=normalized, use_original_timestamps=normalized)
    assert message.use_normalized_timestamps is normalized


@pytest.mark.parametrize(
    ("name", "factor"),
    [("slowest", 0.6), ("slow", 0.8), ("normal", 1.0), ("fast", 1.25), ("fastest", 1.5)],
)
def test_legacy_speed_enum_maps_to_a_rate(name: str, factor: float) -> None:
    assert parse(speed=name).speed == pytest.approx(factor)


def test_generation_config_speed_wins_over_legacy_speed() -> None:
    assert parse(speed="slowest", generation_config={"speed": 1.4}).speed == pytest.approx(1.4)


def test_legacy_speed_applies_when_generation_config_has_no_speed() -> None:
    message = parse(speed="fast", generation_config={"volume": 1.5})
    assert message.speed == pytest.approx(1.25)
    assert message.volume == pytest.approx(1.5)


def test_unknown_legacy_speed_is_rejected_with_the_choices() -> None:
    error = reject_fields(speed="medium")
    assert error.error_code is ErrorCode.INVALID_REQUEST
    assert "`speed`" in error.message
    assert "fastest" in error.message


# --- voice shapes (docs/protocol.md §2.1.1) --------------------------------------------


@pytest.mark.parametrize(
    "voice",
    [
        "voice-1",
        {"id": "voice-1"},
        {"mode": "id", "id": "voice-1"},
        {
            "mode": "id",
            "id": "voice-1",
            "__experimental_controls": {"speed": "fast", "emotion": ["positivity:high"]},
        },
    ],
    ids=["bare-string", "id-only", "mode-id", "experimental-controls"],
)
def test_voice_id_shapes(voice: Any) -> None:
    parsed = parse(voice=voice)
    assert parsed.voice == Voice(id="voice-1")
    assert parsed.voice.key == "voice-1"


@pytest.mark.parametrize(
    "voice",
    [
        {"mode": "embedding", "embedding": [0.25] * 192},
        {"embedding": [0.25] * 192},
    ],
    ids=["mode-embedding", "embedding-only"],
)
def test_voice_embedding_shapes(voice: Any) -> None:
    parsed = parse(voice=voice)
    assert parsed.voice.id is None
    assert parsed.voice.embedding == (0.25,) * 192


def test_same_embedding_gives_the_same_key_and_another_a_different_one() -> None:
    first = parse(voice={"mode": "embedding", "embedding": [0.1, 0.2]}).voice
    again = parse(voice={"mode": "embedding", "embedding": [0.1, 0.2]}).voice
    other = parse(voice={"mode": "embedding", "embedding": [0.1, 0.3]}).voice
    assert first.key == again.key
    assert first.key != other.key


@pytest.mark.parametrize(
    ("voice", "field"),
    [
        ("", "`voice`"),
        (42, "`voice`"),
        (["voice-1"], "`voice`"),
        ({}, "`voice.id`"),
        ({"mode": "id"}, "`voice.id`"),
        ({"mode": "id", "id": ""}, "`voice.id`"),
        ({"mode": "embedding"}, "`voice.embedding`"),
        ({"mode": "embedding", "embedding": []}, "`voice.embedding`"),
        ({"mode": "clone", "id": "voice-1"}, "`voice.mode`"),
        ({"mode": "id", "id": 7}, "`voice.id`"),
        ({"mode": "embedding", "embedding": ["a"]}, "`voice.embedding"),
    ],
)
def test_bad_voice_names_the_field(voice: Any, field: str) -> None:
    error = reject_fields(voice=voice)
    assert error.error_code is ErrorCode.INVALID_REQUEST
    assert error.status_code == 400
    assert field in error.message
    assert error.context_id == "c1"


def test_missing_voice_is_rejected() -> None:
    error = reject_fields(voice=...)
    assert "`voice`" in error.message
    assert "required" in error.message


# --- continue --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"continue": True}, True),
        ({"continue": False}, False),
        ({}, False),
        ({"continue": None}, False),
    ],
    ids=["true", "false", "missing", "null"],
)
def test_continue_values(fields: dict[str, Any], expected: bool) -> None:
    assert parse(**fields).continue_ is expected


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, [True], {"a": 1}])
def test_mistyped_continue_is_rejected_by_name(value: Any) -> None:
    error = reject_fields(**{"continue": value})
    assert error.error_code is ErrorCode.INVALID_REQUEST
    assert "`continue`" in error.message
    assert "continue_" not in error.message


@pytest.mark.parametrize("field", ["flush", "add_timestamps", "add_phoneme_timestamps"])
def test_mistyped_flags_are_rejected_by_name(field: str) -> None:
    assert f"`{field}`" in reject_fields(**{field: "yes"}).message


# --- required fields and types ---------------------------------------------------------


@pytest.mark.parametrize("field", ["model_id", "transcript", "output_format"])
def test_missing_required_field_is_named(field: str) -> None:
    error = reject_fields(**{field: ...})
    assert error.error_code is ErrorCode.INVALID_REQUEST
    assert error.status_code == 400
    assert f"`{field}`: field required" in error.message
    assert error.context_id == "c1"


def test_missing_transcript_message_is_exact() -> None:
    assert reject_fields(transcript=...).message == "`transcript`: field required"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("transcript", 5),
        ("transcript", None),
        ("model_id", ""),
        ("model_id", 3),
        ("language", 1),
        ("duration", "long"),
        ("context_id", ""),
    ],
)
def test_mistyped_field_is_named(field: str, value: Any) -> None:
    assert f"`{field}`" in reject_fields(**{field: value}).message


def test_several_problems_are_all_named() -> None:
    error = reject_fields(transcript=..., model_id=..., **{"continue": "x"})
    for field in ("`transcript`", "`model_id`", "`continue`"):
        assert field in error.message


# --- output_format ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", [e.value for e in Encoding])
@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_every_raw_format_is_accepted(encoding: str, sample_rate: int) -> None:
    fmt = {"container": "raw", "encoding": encoding, "sample_rate": sample_rate}
    assert parse(output_format=fmt).output_format == OutputFormat(Encoding(encoding), sample_rate)


def test_output_format_ignores_bit_rate() -> None:
    fmt = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000, "bit_rate": 128000}
    assert parse(output_format=fmt).output_format.sample_rate == 16000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"container": "wav"}, "`output_format.container`"),
        ({"container": "mp3"}, "`output_format.container`"),
        ({"container": "ogg"}, "`output_format.container`"),
        ({"encoding": "pcm_s24le"}, "`output_format.encoding`"),
        ({"encoding": "mp3"}, "`output_format.encoding`"),
        ({"sample_rate": 12345}, "`output_format.sample_rate`"),
        ({"sample_rate": 96000}, "`output_format.sample_rate`"),
    ],
)
def test_unsupported_output_format_names_the_field(change: dict[str, Any], field: str) -> None:
    fmt = {**payload()["output_format"], **change}
    error = reject_fields(output_format=fmt)
    assert error.error_code is ErrorCode.UNSUPPORTED_OUTPUT_FORMAT
    assert error.status_code == 400
    assert field in error.message
    assert error.context_id == "c1"


@pytest.mark.parametrize(
    ("fmt", "field"),
    [
        ({"container": "raw", "encoding": "pcm_s16le"}, "`output_format.sample_rate`"),
        ({"container": "raw", "sample_rate": 24000}, "`output_format.encoding`"),
        ({"encoding": "pcm_s16le", "sample_rate": 24000}, "`output_format.container`"),
        (
            {"container": "raw", "encoding": "pcm_s16le", "sample_rate": "24000"},
            "`output_format.sample_rate`",
        ),
        ("raw", "`output_format`"),
    ],
)
def test_malformed_output_format_names_the_field(fmt: Any, field: str) -> None:
    error = reject_fields(output_format=fmt)
    assert error.error_code is ErrorCode.INVALID_REQUEST
    assert field in error.message


# --- max_buffer_delay_ms ---------------------------------------------------------------


@pytest.mark.parametrize("delay", [0, 1, 3000, 4999, 5000])
def test_max_buffer_delay_in_range_is_accepted(delay: int) -> None:
    assert parse(max_buffer_delay_ms=delay).max_buffer_delay_ms == delay


@pytest.mark.parametrize("delay", [-1, 5001, 100000, 1.5, "100", True])
def test_max_buffer_delay_out_of_range_or_mistyped_is_rejected(delay: Any) -> None:
    error = reject_fields(max_buffer_delay_ms=delay)
    assert error.error_code is ErrorCode.INVALID_REQUEST
    assert "`max_buffer_delay_ms`" in error.message


# --- generation_config -----------------------------------------------------------------


@pytest.mark.parametrize("speed", [0.6, 1.0, 1.5, 2.0])
def test_generation_config_speed_edges_accepted(speed: float) -> None:
    assert parse(generation_config={"speed": speed}).speed == pytest.approx(speed)


@pytest.mark.parametrize("volume", [0.5, 1.0, 2.0])
def test_generation_config_volume_edges_accepted(volume: float) -> None:
    assert parse(generation_config={"volume": volume}).volume == pytest.approx(volume)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"speed": 0.59}, "`generation_config.speed`"),
        ({"speed": 2.01}, "`generation_config.speed`"),
        ({"speed": "fast"}, "`generation_config.speed`"),
        ({"volume": 0.49}, "`generation_config.volume`"),
        ({"volume": 2.01}, "`generation_config.volume`"),
        ({"emotion": 5}, "`generation_config.emotion`"),
        ("fast", "`generation_config`"),
    ],
)
def test_generation_config_out_of_range_is_rejected(config: Any, field: str) -> None:
    error = reject_fields(generation_config=config)
    assert error.error_code is ErrorCode.INVALID_REQUEST
    assert field in error.message
    assert error.context_id == "c1"


# --- non-object JSON -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ([1, 2], "an array"),
        ("hello", "a string"),
        (3, "a number"),
        (None, "null"),
        (True, "a boolean"),
    ],
)
def test_non_object_json_is_an_invalid_message(value: Any, kind: str) -> None:
    error = reject(value)
    assert error.error_code is ErrorCode.INVALID_MESSAGE
    assert error.status_code == 400
    assert error.context_id is None
    assert "JSON object" in error.message
    assert kind in error.message


# --- cancel (docs/protocol.md §2.2) ----------------------------------------------------


def test_cancel_request() -> None:
    assert parse_message({"context_id": "c1", "cancel": True}) == CancelRequest("c1")


def test_cancel_ignores_other_fields() -> None:
    message = parse_message({"context_id": "c1", "cancel": True, "transcript": "x", "extra": 1})
    assert message == CancelRequest("c1")


@pytest.mark.parametrize("value", [False, "true", 1, 1.0, None])
def test_cancel_that_is_not_true_is_rejected(value: Any) -> None:
    error = reject({"context_id": "c1", "cancel": value})
    assert error.error_code is ErrorCode.INVALID_REQUEST
    assert "`cancel`" in error.message
    assert error.context_id == "c1"


def test_cancel_without_context_id_is_rejected() -> None:
    error = reject({"cancel": True})
    assert "`context_id`: field required" in error.message
    assert error.context_id is None


# --- context attribution ---------------------------------------------------------------


def test_error_is_attributed_to_the_context_id() -> None:
    assert reject_fields(context_id="ctx-9", transcript=...).context_id == "ctx-9"


def test_error_without_context_id_is_not_attributed() -> None:
    assert reject_fields(context_id=None, transcript=...).context_id is None


@pytest.mark.parametrize("context_id", ["", 42, ["c1"]])
def test_unusable_context_id_is_named_and_not_attributed(context_id: Any) -> None:
    error = reject_fields(context_id=context_id)
    assert error.context_id is None
    assert "`context_id`" in error.message


def test_format_error_is_attributed_to_the_context_id() -> None:
    fmt = {**payload()["output_format"], "container": "mp3"}
    assert reject_fields(context_id="ctx-2", output_format=fmt).context_id == "ctx-2"


def test_voice_error_is_attributed_to_the_context_id() -> None:
    assert reject_fields(context_id="ctx-3", voice="").context_id == "ctx-3"


# --- voice.__experimental_controls.speed (2024-11-13) -----------------------------------


@pytest.mark.parametrize(
    ("speed", "factor"),
    [("slowest", 0.6), ("fast", 1.25), (-1, 0.6), (-0.5, 0.8), (0, 1.0), (0.5, 1.25), (1, 1.5)],
)
def test_experimental_voice_speed_maps_to_a_rate(speed: object, factor: float) -> None:
    voice = {"mode": "id", "id": "v", "__experimental_controls": {"speed": speed}}
    assert parse(voice=voice).speed == pytest.approx(factor)


def test_top_level_and_generation_config_speed_win_over_experimental_controls() -> None:
    voice = {"mode": "id", "id": "v", "__experimental_controls": {"speed": "slowest"}}
    assert parse(voice=voice, speed="fast").speed == pytest.approx(1.25)
    assert parse(voice=voice, generation_config={"speed": 1.1}).speed == pytest.approx(1.1)


@pytest.mark.parametrize("speed", [1.5, -2, "warp", True])
def test_experimental_voice_speed_out_of_range_names_the_field(speed: object) -> None:
    voice = {"mode": "id", "id": "v", "__experimental_controls": {"speed": speed}}
    error = reject_fields(voice=voice)
    assert "`voice.__experimental_controls.speed`" in error.message


# --- context_id length (issue 8) -------------------------------------------------------


@pytest.mark.parametrize("cancel", [False, True], ids=["generation", "cancel"])
def test_context_id_at_the_limit_is_accepted_and_one_more_rejected(cancel: bool) -> None:
    limits = Limits(max_context_id_chars=40)
    at_limit = "c" * 40
    message = {"context_id": at_limit, "cancel": True} if cancel else payload(at_limit)
    assert parse_message(message, limits).context_id == at_limit
    over = "c" * 41
    message = {"context_id": over, "cancel": True} if cancel else payload(over)
    with pytest.raises(ProtocolError) as info:
        parse_message(message, limits)
    error = info.value
    assert (error.status_code, error.error_code) == (400, ErrorCode.INVALID_REQUEST)
    assert "`context_id`" in error.message and "41 characters" in error.message
    assert "limit is 40" in error.message
    # Not attributed, and not echoed: a cut id is one the client never sent.
    assert error.context_id is None
    assert over not in error.message


def test_a_long_context_id_is_the_error_even_when_other_fields_are_bad() -> None:
    long_id = "x" * 65536
    error = reject_fields(context_id=long_id, transcript=42, voice=None)
    assert "`context_id`" in error.message and "65536" in error.message
    assert error.context_id is None and len(error.message) < 200


def test_the_default_context_id_limit_takes_uuids_and_stops_at_256() -> None:
    assert Limits().max_context_id_chars == 256
    assert parse(context_id="6ccbfb76-1fc6-48f7-b71d-91ac6298247b").context_id is not None
    assert parse(context_id="x" * 256).context_id == "x" * 256
    assert reject_fields(context_id="x" * 257).context_id is None


def test_errors_quote_client_strings_shortened() -> None:
    long_value = "\n" + "e" * 10_000
    error = reject_fields(output_format={**OUTPUT_FORMAT, "encoding": long_value})
    assert "`output_format.encoding`" in error.message
    assert "'\\neeee" in error.message and "(10001 chars)" in error.message
    assert len(error.message) < 400


# --- control characters in transcripts (issue 8) ----------------------------------------

#: Code points at each edge of the classes `check_text` allows and rejects.
ALLOWED_IN_TEXT = [
    "\t",  # U+0009, first whitespace control
    "\n",
    "\x0b",
    "\x0c",
    "\r",  # U+000D, last of the first whitespace run
    "\x1c",  # U+001C-U+001F: whitespace to str.isspace
    "\x1f",
    " ",
    "~",  # U+007E, last before DEL
    "\x85",  # NEL, a line break
    "\xa0",  # first after the C1 block
    "\u2028",
    "\ud7ff",  # last before the surrogates
    "\ue000",  # first after them
    "\U0001f600",  # a paired surrogate in JSON, one code point here
]
REJECTED_IN_TEXT = [
    "\x00",
    "\x08",  # last before tab
    "\x0e",  # first after CR
    "\x1b",  # ESC, last before U+001C
    "\x7f",  # DEL
    "\x80",  # first C1
    "\x84",  # last before NEL
    "\x86",  # first after NEL
    "\x9f",  # last C1
    "\ud800",  # lone surrogates, both ends
    "\udfff",
]


@pytest.mark.parametrize("char", ALLOWED_IN_TEXT, ids=lambda c: f"U+{ord(c):04X}")
def test_whitespace_controls_and_text_are_allowed_in_a_transcript(char: str) -> None:
    assert parse(transcript=f"One{char}two.").transcript == f"One{char}two."
    check_text("transcript", char)


@pytest.mark.parametrize("char", REJECTED_IN_TEXT, ids=lambda c: f"U+{ord(c):04X}")
def test_other_controls_and_lone_surrogates_are_rejected_in_a_transcript(char: str) -> None:
    error = reject_fields(transcript=f"One{char}two.")
    assert (error.status_code, error.error_code) == (400, ErrorCode.INVALID_REQUEST)
    assert error.message.startswith("`transcript`: ")
    assert f"U+{ord(char):04X} at offset 3" in error.message
    assert error.context_id == "c1"
    kind = "lone surrogate" if 0xD800 <= ord(char) <= 0xDFFF else "control character"
    assert kind in error.message


def test_the_check_rejects_exactly_the_intended_code_points() -> None:
    def intended(code: int) -> bool:
        if code < 0x20:
            return not chr(code).isspace()
        return code == 0x7F or (0x80 <= code <= 0x9F and code != 0x85) or 0xD800 <= code <= 0xDFFF

    def rejected(code: int) -> bool:
        try:
            check_text("transcript", chr(code))
        except ProtocolError:
            return True
        return False

    assert [c for c in range(0xE001) if rejected(c) != intended(c)] == []


def test_the_first_offending_character_is_named_in_a_long_transcript() -> None:
    text = "word " * 3999 + "end\x00\x01"
    error = reject_fields(transcript=text)
    assert f"U+0000 at offset {len(text) - 2}" in error.message


def test_orjson_refuses_a_lone_surrogate_before_any_check() -> None:
    # So over the wire a lone surrogate is an invalid_json error; `check_text` guards the
    # parsers against callers that decode some other way (json.loads takes it).
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(b'{"transcript": "a\\ud800b"}')
    assert json.loads('"a\\ud800b"') == "a\ud800b"
