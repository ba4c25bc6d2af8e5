"""REST request validation (docs/protocol.md §8): `/tts/bytes` and `/tts/sse` bodies and the
`GET /voices` query. Errors name the field, as on the WebSocket."""

from __future__ import annotations

from typing import Any

import pytest

from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.formats import MP3_BIT_RATES, SAMPLE_RATES, Container, Encoding
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import OutputFormat, Voice
from ttsd.protocol.rest import (
    AudioFormat,
    BytesRequest,
    SseRequest,
    VoiceQuery,
    parse_bytes_request,
    parse_sse_request,
    parse_voice_query,
)

RAW = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 44100}
WAV = {"container": "wav", "encoding": "pcm_f32le", "sample_rate": 22050}
MP3 = {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000}


def body(**fields: Any) -> dict[str, Any]:
    """A valid body; `fields` override or add keys (`...` removes one)."""
    message: dict[str, Any] = {
        "model_id": "sonic-3",
        "transcript": "Hello.",
        "voice": {"mode": "id", "id": "v1"},
        "output_format": dict(RAW),
    }
    message.update(fields)
    return {key: value for key, value in message.items() if value is not ...}


def bytes_error(payload: Any, limits: Limits | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_bytes_request(payload, limits)
    return info.value


def sse_error(payload: Any, limits: Limits | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_sse_request(payload, limits)
    return info.value


def query_error(**params: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_voice_query(params.items())
    return info.value


def assert_invalid(
    error: ProtocolError, field: str, code: ErrorCode = ErrorCode.INVALID_REQUEST
) -> None:
    assert error.status_code == 400, error
    assert error.error_code == code, error
    assert f"`{field}`" in error.message, error.message


# --- /tts/bytes: accepted -----------------------------------------------------------------


def test_bytes_every_documented_field() -> None:
    request = parse_bytes_request(
        body(
            output_format=dict(MP3),
            language="en",
            generation_config={"speed": 1.2, "volume": 0.8, "emotion": "calm"},
            pronunciation_dict_id="dict-1",
            save=True,
            duration=3.5,
            locale="en-US",
            normalization={"numbers": True},
        )
    )
    assert request == BytesRequest(
        model_id="sonic-3",
        transcript="Hello.",
        voice=Voice(id="v1"),
        output_format=AudioFormat(Container.MP3, 44100, bit_rate=128000),
        language="en",
        speed=1.2,
        volume=0.8,
    )


def test_bytes_minimal_request() -> None:
    request = parse_bytes_request(body())
    assert request.output_format == AudioFormat(Container.RAW, 44100, encoding=Encoding.PCM_S16LE)
    assert (request.language, request.speed, request.volume) == (None, None, None)


@pytest.mark.parametrize("encoding", list(Encoding))
def test_bytes_wav_takes_every_encoding(encoding: Encoding) -> None:
    fmt = {"container": "wav", "encoding": encoding.value, "sample_rate": 8000}
    request = parse_bytes_request(body(output_format=fmt))
    assert request.output_format == AudioFormat(Container.WAV, 8000, encoding=encoding)


@pytest.mark.parametrize("rate", SAMPLE_RATES)
@pytest.mark.parametrize("bit_rate", MP3_BIT_RATES)
def test_bytes_mp3_rates(rate: int, bit_rate: int) -> None:
    fmt = {"container": "mp3", "sample_rate": rate, "bit_rate": bit_rate}
    assert parse_bytes_request(body(output_format=fmt)).output_format == AudioFormat(
        Container.MP3, rate, bit_rate=bit_rate
    )


def test_bytes_mp3_ignores_an_encoding() -> None:
    fmt = {**MP3, "encoding": "pcm_s16le"}
    assert parse_bytes_request(body(output_format=fmt)).output_format.encoding is None


@pytest.mark.parametrize(
    "voice",
    [
        "v1",
        {"id": "v1"},
        {"mode": "id", "id": "v1"},
    ],
    ids=["string", "id-only", "mode-id"],
)
def test_bytes_voice_shapes(voice: Any) -> None:
    assert parse_bytes_request(body(voice=voice)).voice == Voice(id="v1")


def test_bytes_embedding_voice() -> None:
    request = parse_bytes_request(body(voice={"mode": "embedding", "embedding": [0.5, 0.25]}))
    assert request.voice == Voice(id=None, embedding=(0.5, 0.25))


def test_bytes_unknown_fields_are_ignored() -> None:
    assert parse_bytes_request(body(stream=True, future_field={"x": 1})).transcript == "Hello."


@pytest.mark.parametrize(
    ("fields", "speed"),
    [
        ({"speed": "slow"}, 0.8),
        ({"speed": -1}, 0.6),
        (
            {"voice": {"mode": "id", "id": "v1", "__experimental_controls": {"speed": "fastest"}}},
            1.5,
        ),
        ({"speed": "fast", "generation_config": {"speed": 0.9}}, 0.9),
    ],
    ids=["legacy-name", "legacy-number", "experimental", "generation-config-wins"],
)
def test_bytes_speed_mapping_is_the_websockets(fields: dict[str, Any], speed: float) -> None:
    assert parse_bytes_request(body(**fields)).speed == pytest.approx(speed)


# --- /tts/bytes: rejected -----------------------------------------------------------------


@pytest.mark.parametrize("field", ["model_id", "transcript", "voice", "output_format"])
def test_bytes_missing_required_field(field: str) -> None:
    error = bytes_error(body(**{field: ...}))
    assert_invalid(error, field)
    assert "field required" in error.message


def test_bytes_body_must_be_an_object() -> None:
    error = bytes_error(["not", "an", "object"])
    assert error.status_code == 400
    assert "JSON object" in error.message and "an array" in error.message


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"transcript": 5}, "transcript"),
        ({"model_id": ""}, "model_id"),
        ({"voice": ""}, "voice"),
        ({"voice": 7}, "voice"),
        ({"voice": {"mode": "id"}}, "voice.id"),
        ({"generation_config": {"speed": 3.0}}, "generation_config.speed"),
        ({"generation_config": {"volume": 0.1}}, "generation_config.volume"),
        ({"speed": "warp"}, "speed"),
        ({"save": "yes"}, "save"),
        ({"language": 1}, "language"),
        ({"output_format": "raw"}, "output_format"),
        (
            {"output_format": {"encoding": "pcm_s16le", "sample_rate": 8000}},
            "output_format.container",
        ),
        ({"output_format": {"container": "raw", "sample_rate": 8000}}, "output_format.encoding"),
        (
            {"output_format": {"container": "wav", "encoding": "pcm_s16le"}},
            "output_format.sample_rate",
        ),
        ({"output_format": {"container": "mp3", "sample_rate": 8000}}, "output_format.bit_rate"),
        (
            {"output_format": {"container": "mp3", "sample_rate": "8000", "bit_rate": 32000}},
            "output_format.sample_rate",
        ),
    ],
)
def test_bytes_bad_field_is_named(fields: dict[str, Any], field: str) -> None:
    assert_invalid(bytes_error(body(**fields)), field)


@pytest.mark.parametrize(
    ("fmt", "field", "choices"),
    [
        ({"container": "ogg", "encoding": "pcm_s16le", "sample_rate": 8000}, "container", "mp3"),
        (
            {"container": "wav", "encoding": "pcm_s24le", "sample_rate": 8000},
            "encoding",
            "pcm_alaw",
        ),
        (
            {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 11025},
            "sample_rate",
            "48000",
        ),
        ({"container": "mp3", "sample_rate": 44100, "bit_rate": 320000}, "bit_rate", "192000"),
        ({"container": "mp3", "sample_rate": 44101, "bit_rate": 128000}, "sample_rate", "44100"),
    ],
)
def test_bytes_unsupported_format_lists_the_choices(
    fmt: dict[str, Any], field: str, choices: str
) -> None:
    error = bytes_error(body(output_format=fmt))
    assert_invalid(error, f"output_format.{field}", ErrorCode.UNSUPPORTED_OUTPUT_FORMAT)
    assert choices in error.message


def test_bytes_transcript_limit() -> None:
    limits = Limits(max_transcript_chars=10)
    assert parse_bytes_request(body(transcript="x" * 10), limits).transcript == "x" * 10
    error = bytes_error(body(transcript="x" * 11), limits)
    assert error.status_code == 400
    assert error.error_code == ErrorCode.TRANSCRIPT_TOO_LONG
    assert "`transcript`" in error.message and "11" in error.message and "10" in error.message


def test_bytes_default_transcript_limit_applies() -> None:
    error = bytes_error(body(transcript="x" * (Limits().max_transcript_chars + 1)))
    assert error.error_code == ErrorCode.TRANSCRIPT_TOO_LONG


# --- /tts/sse -------------------------------------------------------------------------------


def test_sse_every_documented_field() -> None:
    request = parse_sse_request(
        body(
            output_format={"container": "raw", "encoding": "pcm_f32le", "sample_rate": 24000},
            language="en",
            context_id="ctx-1",
            add_timestamps=True,
            add_phoneme_timestamps=True,
            use_normalized_timestamps=True,
            generation_config={"speed": 1.5, "volume": 2.0},
            pronunciation_dict_id="d",
        )
    )
    assert request == SseRequest(
        model_id="sonic-3",
        transcript="Hello.",
        voice=Voice(id="v1"),
        output_format=OutputFormat(Encoding.PCM_F32LE, 24000),
        language="en",
        speed=1.5,
        volume=2.0,
        context_id="ctx-1",
        add_timestamps=True,
        add_phoneme_timestamps=True,
        use_normalized_timestamps=True,
    )


def test_sse_defaults() -> None:
    request = parse_sse_request(body())
    assert request.context_id is None
    assert not request.add_timestamps
    assert not request.add_phoneme_timestamps
    assert not request.use_normalized_timestamps


def test_sse_legacy_original_timestamps_is_the_inverse() -> None:
    assert parse_sse_request(body(use_original_timestamps=False)).use_normalized_timestamps


@pytest.mark.parametrize("fmt", [WAV, MP3], ids=["wav", "mp3"])
def test_sse_takes_raw_only(fmt: dict[str, Any]) -> None:
    error = sse_error(body(output_format=dict(fmt)))
    assert_invalid(error, "output_format.container", ErrorCode.UNSUPPORTED_OUTPUT_FORMAT)
    assert "/tts/sse" in error.message and "'raw'" in error.message


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"add_timestamps": "yes"}, "add_timestamps"),
        ({"context_id": ""}, "context_id"),
        ({"context_id": 3}, "context_id"),
        ({"transcript": ...}, "transcript"),
        (
            {"output_format": {"container": "raw", "encoding": "x", "sample_rate": 8000}},
            "output_format.encoding",
        ),
    ],
)
def test_sse_bad_field_is_named(fields: dict[str, Any], field: str) -> None:
    code = ErrorCode.UNSUPPORTED_OUTPUT_FORMAT if "encoding" in field else ErrorCode.INVALID_REQUEST
    assert_invalid(sse_error(body(**fields)), field, code)


def test_sse_transcript_limit() -> None:
    error = sse_error(body(transcript="abc"), Limits(max_transcript_chars=2))
    assert error.error_code == ErrorCode.TRANSCRIPT_TOO_LONG


# --- GET /voices query --------------------------------------------------------------------


def test_query_defaults() -> None:
    assert parse_voice_query([]) == VoiceQuery(limit=10)


def test_query_every_parameter() -> None:
    query = parse_voice_query(
        [
            ("limit", "25"),
            ("starting_after", "v3"),
            ("q", "Bright"),
            ("language", "en"),
            ("gender", "feminine"),
            ("is_owner", "false"),
            ("expand[]", "preview_file_url"),
            ("unknown", "x"),
        ]
    )
    assert query == VoiceQuery(
        limit=25, starting_after="v3", q="Bright", language="en", gender="feminine", is_owner=False
    )


@pytest.mark.parametrize("limit", ["1", "100"])
def test_query_limit_edges_are_accepted(limit: str) -> None:
    assert parse_voice_query([("limit", limit)]).limit == int(limit)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_query_limit_out_of_range_is_rejected(limit: str) -> None:
    error = query_error(limit=limit)
    assert_invalid(error, "limit")
    assert "1 to 100" in error.message


def test_query_empty_values_count_as_absent() -> None:
    assert parse_voice_query([("starting_after", ""), ("limit", "")]) == VoiceQuery()


def test_query_last_repeat_wins() -> None:
    assert parse_voice_query([("limit", "5"), ("limit", "7")]).limit == 7


def test_query_one_cursor_only() -> None:
    error = query_error(starting_after="a", ending_before="b")
    assert_invalid(error, "starting_after")
    assert "`ending_before`" in error.message


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("False", False), ("1", True)])
def test_query_is_owner_booleans(value: str, expected: bool) -> None:
    assert parse_voice_query([("is_owner", value)]).is_owner is expected


def test_query_bad_is_owner() -> None:
    assert_invalid(query_error(is_owner="maybe"), "is_owner")


def test_query_bad_gender() -> None:
    error = query_error(gender="robot")
    assert_invalid(error, "gender")
    assert "gender_neutral" in error.message


# --- issue 8: control characters, context_id length, quoted values ------------------------


@pytest.mark.parametrize("parse", [parse_bytes_request, parse_sse_request], ids=["bytes", "sse"])
@pytest.mark.parametrize(("char", "ok"), [("\x00", False), ("\x1f", True), ("\x85", True)])
def test_transcript_control_characters_as_on_the_websocket(parse: Any, char: str, ok: bool) -> None:
    if ok:
        assert parse(body(transcript=f"Hi{char}there.")).transcript == f"Hi{char}there."
        return
    with pytest.raises(ProtocolError) as info:
        parse(body(transcript=f"Hi{char}there."))
    assert_invalid(info.value, "transcript")
    assert f"U+{ord(char):04X} at offset 2" in info.value.message


def test_sse_context_id_at_the_limit_and_one_more() -> None:
    limits = Limits(max_context_id_chars=8)
    assert parse_sse_request(body(context_id="c" * 8), limits).context_id == "c" * 8
    error = sse_error(body(context_id="c" * 9), limits)
    assert_invalid(error, "context_id")
    assert "9 characters" in error.message and "c" * 9 not in error.message
    assert error.context_id is None


def test_bytes_ignores_a_context_id_as_before() -> None:
    assert parse_bytes_request(body(context_id="c" * 10_000)).transcript == "Hello."


@pytest.mark.parametrize(
    "make_error",
    [
        lambda v: bytes_error(body(output_format={"container": v})),
        lambda v: query_error(gender=v),
        lambda v: query_error(limit=v),
        lambda v: query_error(is_owner=v),
    ],
    ids=["container", "gender", "limit", "is_owner"],
)
def test_quoted_client_values_are_shortened(make_error: Any) -> None:
    error = make_error("\x1b[2J" + "z" * 5000)
    assert "'\\x1b[2Jzzz" in error.message and "(5004 chars)" in error.message
    assert len(error.message) < 500
