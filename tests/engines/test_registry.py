"""Model and voice resolution (design.md "models", "voices")."""

import logging

import pytest

from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.messages import GenerationRequest, parse_message


def _request(model_id: str = "sonic-3", voice: object = "tone-high") -> GenerationRequest:
    message = parse_message(
        {
            "model_id": model_id,
            "transcript": "Hi",
            "voice": voice,
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 8000},
        }
    )
    assert isinstance(message, GenerationRequest)
    return message


@pytest.mark.parametrize("model_id", ["sonic", "sonic-3", "sonic-latest", "sonic-2-2025-03-07"])
def test_sonic_models_map_to_the_default_engine(model_id: str) -> None:
    resolved = EngineRegistry([ToneEngine()]).resolve(_request(model_id))
    assert (resolved.engine, resolved.voice_id) == ("tones", "tone-high")


def test_an_engine_name_is_a_model_id() -> None:
    assert EngineRegistry([ToneEngine()]).resolve(_request("tones")).engine == "tones"


def test_an_unknown_model_is_an_error_naming_the_field() -> None:
    with pytest.raises(ProtocolError) as error:
        EngineRegistry([ToneEngine()]).resolve(_request("gpt-voice"))
    assert error.value.error_code is ErrorCode.MODEL_NOT_FOUND
    assert "`model_id`" in error.value.message and "gpt-voice" in error.value.message


@pytest.mark.parametrize(
    "voice", ["tone-high", {"id": "tone-high"}, {"mode": "id", "id": "tone-high"}]
)
def test_every_voice_shape_resolves(voice: object) -> None:
    assert EngineRegistry([ToneEngine()]).resolve(_request(voice=voice)).voice_id == "tone-high"


def test_aliases_map_foreign_ids() -> None:
    registry = EngineRegistry([ToneEngine()], aliases={"6ccbfb76-1fc6": "tone-high"})
    assert registry.resolve(_request(voice="6ccbfb76-1fc6")).voice_id == "tone-high"
    assert registry.voice("6ccbfb76-1fc6") is not None


def test_an_alias_to_a_missing_voice_is_rejected_at_start() -> None:
    with pytest.raises(ValueError, match="nope"):
        EngineRegistry([ToneEngine()], aliases={"x": "nope"})


def test_unknown_voice_falls_back_to_the_default_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = EngineRegistry([ToneEngine()])
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert registry.resolve(_request(voice="who")).voice_id == "tone-low"
    assert len([r for r in caplog.records if "who" in r.getMessage()]) == 1


def test_an_embedding_voice_falls_back_too() -> None:
    voice = {"mode": "embedding", "embedding": [0.1] * 192}
    assert EngineRegistry([ToneEngine()]).resolve(_request(voice=voice)).voice_id == "tone-low"


def test_strict_voices_make_unknown_voices_errors() -> None:
    registry = EngineRegistry([ToneEngine()], strict_voices=True)
    with pytest.raises(ProtocolError) as error:
        registry.resolve(_request(voice="who"))
    assert error.value.status_code == 404
    assert error.value.error_code is ErrorCode.VOICE_NOT_FOUND
