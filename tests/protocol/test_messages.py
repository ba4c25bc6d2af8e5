"""`parse_message`: every field of protocol.md §2.1, legacy fields, voice shapes, errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.protocol.helpers import payload
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.formats import SAMPLE_RATES, Encoding
from ttsd.protocol.messages import (
    CancelRequest,
    GenerationRequest,
    OutputFormat,
    Voice,
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


# --- voice shapes (§2.1.1) -------------------------------------------------------------


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


# --- cancel (§2.2) ---------------------------------------------------------------------


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
