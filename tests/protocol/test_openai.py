"""`POST /v1/audio/speech` bodies: OpenAI's fields, checked as its API documents them."""

from typing import Any

import pytest

from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.limits import Limits
from ttsd.protocol.openai import SpeechFormat, openai_error_body, parse_speech_request

LIMITS = Limits(max_transcript_chars=100)


def _body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "tts-1", "input": "Hello there.", "voice": "alloy"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def test_defaults_are_openais() -> None:
    spec = parse_speech_request(_body(), LIMITS)
    assert (spec.model_id, spec.transcript, spec.voice.id) == ("tts-1", "Hello there.", "alloy")
    assert spec.response_format is SpeechFormat.MP3 and spec.speed == 1.0 and not spec.sse


def test_every_field_is_read() -> None:
    spec = parse_speech_request(
        _body(
            response_format="opus",
            speed=0.25,
            stream_format="sse",
            instructions="Speak cheerfully.",
            voice={"id": "af_heart"},
        ),
        LIMITS,
    )
    assert spec.response_format is SpeechFormat.OPUS and spec.speed == 0.25 and spec.sse
    assert spec.voice.id == "af_heart"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": ...}, "model"),
        ({"input": ...}, "input"),
        ({"input": "   "}, "input"),
        ({"input": "x\x00y"}, "input"),
        ({"voice": ...}, "voice"),
        ({"voice": 7}, "voice"),
        ({"voice": {"name": "x"}}, "voice"),
        ({"response_format": "ogg"}, "response_format"),
        ({"speed": 4.5}, "speed"),
        ({"speed": 0.1}, "speed"),
        ({"stream_format": "chunks"}, "stream_format"),
    ],
)
def test_a_bad_field_is_a_400_whose_openai_param_names_it(
    fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_speech_request(_body(**fields), LIMITS)
    assert error.value.status_code == 400
    body = openai_error_body(error.value)["error"]
    assert body["param"] == param and body["type"] == "invalid_request_error"
    assert body["message"] and len(body["message"]) < 500


def test_input_longer_than_the_limit_is_refused_at_its_edge() -> None:
    assert parse_speech_request(_body(input="a" * 100), LIMITS).transcript == "a" * 100
    with pytest.raises(ProtocolError) as error:
        parse_speech_request(_body(input="a" * 101), LIMITS)
    assert error.value.error_code == ErrorCode.TRANSCRIPT_TOO_LONG
    assert openai_error_body(error.value)["error"]["param"] == "input"


def test_a_body_that_is_not_an_object_is_a_400() -> None:
    with pytest.raises(ProtocolError) as error:
        parse_speech_request(["input"], LIMITS)
    assert error.value.status_code == 400


def test_server_errors_are_server_errors() -> None:
    error = ProtocolError(500, ErrorCode.INTERNAL_ERROR, "Internal error", "the server failed")
    assert openai_error_body(error)["error"]["type"] == "server_error"
