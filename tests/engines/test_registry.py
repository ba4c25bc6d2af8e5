"""Model and voice resolution (docs/protocol.md §2.1.4)."""

import logging
from types import SimpleNamespace

import pytest

from tests.support.tone_engine import ToneEngine
from ttsd.engines.base import VoiceInfo
from ttsd.engines.registry import WARNED_VOICES, EngineRegistry
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.messages import GenerationRequest, Voice, parse_message
from ttsd.protocol.resolver import Resolved


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


def _resolve(registry: EngineRegistry, voice_id: str) -> Resolved:
    """Resolve a voice id as is (no message parsing, so no length limit on it)."""
    return registry.resolve(
        SimpleNamespace(model_id="sonic-3", voice=Voice(id=voice_id), language=None)
    )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ttsd.engines.registry"]


def test_unknown_voices_are_remembered_up_to_a_bound(caplog: pytest.LogCaptureFixture) -> None:
    registry = EngineRegistry([ToneEngine()])
    ids = [f"invented-{n}" for n in range(5000)]
    with caplog.at_level(logging.WARNING, logger="ttsd.engines.registry"):
        for voice_id in ids:
            assert _resolve(registry, voice_id).voice_id == "tone-low"
        assert len(_warnings(caplog)) == 5000  # each id warned once
        assert len(registry._warned) == WARNED_VOICES  # the memory of them stays bounded
        caplog.clear()
        for voice_id in ids[-WARNED_VOICES:]:  # remembered: no second warning
            _resolve(registry, voice_id)
        assert _warnings(caplog) == []
        _resolve(registry, ids[0])  # forgotten long ago: warns again, once
        _resolve(registry, ids[0])
    assert len(_warnings(caplog)) == 1 and "'invented-0'" in _warnings(caplog)[0]


def test_a_recently_seen_voice_is_not_forgotten(caplog: pytest.LogCaptureFixture) -> None:
    registry = EngineRegistry([ToneEngine()])
    with caplog.at_level(logging.WARNING, logger="ttsd.engines.registry"):
        _resolve(registry, "favourite")
        for n in range(2 * WARNED_VOICES):
            _resolve(registry, f"invented-{n}")
            _resolve(registry, "favourite")  # seen again: stays among the recent
    assert sum("'favourite'" in message for message in _warnings(caplog)) == 1


def test_a_huge_unknown_voice_id_logs_a_short_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ttsd.engines.registry"):
        _resolve(EngineRegistry([ToneEngine()]), "v\n" * 16_384)  # 32 KB, newlines too
    (message,) = _warnings(caplog)
    assert len(message) < 400 and "\n" not in message and "(32768 chars)" in message


class _FrenchTones(ToneEngine):
    """A second engine whose one voice speaks French."""

    name = "french-tones"

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("ton-fr", "Ton", self.name, "fr", 8000)]


def _asking(voice_id: str, language: str | None, model_id: str = "sonic-3") -> SimpleNamespace:
    return SimpleNamespace(model_id=model_id, voice=Voice(id=voice_id), language=language)


def test_under_a_sonic_model_the_voice_chooses_its_engine() -> None:
    registry = EngineRegistry([ToneEngine(), _FrenchTones()])
    assert registry.resolve(_asking("ton-fr", None)) == Resolved("french-tones", "ton-fr", "fr")
    assert registry.resolve(_asking("tone-high", None)) == Resolved("tones", "tone-high", "en")
    # An explicit engine name wins: its own default voice stands in for the other's voice.
    assert registry.resolve(_asking("ton-fr", None, "tones")) == Resolved("tones", "tone-low", "en")


@pytest.mark.parametrize("language", ["fr", "fr-FR", "FR", "fr_CA"])
def test_a_language_the_voice_speaks_is_accepted(language: str) -> None:
    registry = EngineRegistry([ToneEngine(), _FrenchTones()])
    assert registry.resolve(_asking("ton-fr", language)).voice_id == "ton-fr"


def test_a_language_the_voice_does_not_speak_is_a_400_naming_the_field() -> None:
    registry = EngineRegistry([ToneEngine(), _FrenchTones()])
    with pytest.raises(ProtocolError) as error:
        registry.resolve(_asking("tone-high", "fr"))
    assert error.value.status_code == 400
    assert error.value.error_code == ErrorCode.UNSUPPORTED_LANGUAGE
    message = str(error.value)
    assert "`language`" in message and "'en'" in message and "ton-fr" in message
    with pytest.raises(ProtocolError) as error:
        registry.resolve(_asking("tone-high", "de"))
    assert "no voice of this server speaks it" in str(error.value)


@pytest.mark.parametrize("language", ["", "e", "english!", "x" * 5000, "en-" + "a" * 9])
def test_a_malformed_language_is_a_400(language: str) -> None:
    with pytest.raises(ProtocolError) as error:
        EngineRegistry([ToneEngine()]).resolve(_asking("tone-high", language))
    assert error.value.error_code == ErrorCode.INVALID_REQUEST
    assert "`language`" in str(error.value) and len(str(error.value)) < 400


def test_language_fallback_speaks_the_voice_language_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = EngineRegistry([ToneEngine()], language_fallback=True)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert registry.resolve(_asking("tone-high", "fr")).voice_id == "tone-high"
    assert [r.getMessage() for r in caplog.records if "fallback" in r.getMessage()] == [
        "voice 'tone-high' does not speak 'fr': speaking 'en' (language fallback is on)"
    ]
