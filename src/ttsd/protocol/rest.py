"""REST requests: `POST /tts/bytes`, `POST /tts/sse` bodies and `GET /voices` queries
(docs/protocol.md §8), validated without I/O.

The bodies share the WebSocket's fields and its helpers (voice shapes, formats, speed
mapping), so an error names the field and reads the same on every endpoint. Unknown
fields are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import Field, ValidationError

from ttsd.protocol.errors import ErrorCode, ProtocolError, invalid_request
from ttsd.protocol.formats import MP3_BIT_RATES, Container, Encoding
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import (
    GenerationConfig,
    Lenient,
    OutputFormat,
    Voice,
    check_context_id,
    check_pcm_format,
    check_sample_rate,
    check_text,
    describe_validation_error,
    json_type_name,
    normalized_timestamps,
    parse_voice,
    resolve_speed,
    unsupported_format,
)
from ttsd.protocol.shown import shown

#: `limit` of `GET /voices`: its range and the default (docs/protocol.md §8.4).
VOICE_PAGE_LIMITS = (1, 100)
DEFAULT_VOICE_PAGE_LIMIT = 10

M = TypeVar("M", bound=Lenient)

#: `gender` values of the voice API (`GenderPresentation` in the SDKs).
GENDERS = ("masculine", "feminine", "gender_neutral")


class _SpeechModel(Lenient):
    """The fields both TTS endpoints take (docs/protocol.md §8.2)."""

    model_id: Annotated[str, Field(min_length=1)]
    transcript: str
    # Both validated by hand: a pydantic union error would list every branch.
    voice: Any
    output_format: Any
    language: str | None = None
    generation_config: GenerationConfig | None = None
    speed: str | float | None = None
    # Accepted and ignored: legacy or hosted-only features.
    duration: float | None = None
    pronunciation_dict_id: str | None = None
    save: bool | None = None
    locale: str | None = None
    normalization: Any = None


class _SseModel(_SpeechModel):
    """`/tts/sse` adds timestamps and an echoed `context_id` (docs/protocol.md §8.3)."""

    context_id: Annotated[str, Field(min_length=1)] | None = None
    add_timestamps: bool | None = None
    add_phoneme_timestamps: bool | None = None
    use_normalized_timestamps: bool | None = None
    use_original_timestamps: bool | None = None


class _Container(Lenient):
    container: str


class _PcmFormat(Lenient):
    container: str
    encoding: str
    sample_rate: int


class _Mp3Format(Lenient):
    container: str
    sample_rate: int
    bit_rate: int


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """A validated `/tts/bytes` output format.

    `encoding` is set for raw and wav (the samples' encoding), `bit_rate` for mp3.
    """

    container: Container
    sample_rate: int
    encoding: Encoding | None = None
    bit_rate: int | None = None


@dataclass(frozen=True, slots=True)
class BytesRequest:
    """A validated `POST /tts/bytes` body."""

    model_id: str
    transcript: str
    voice: Voice
    output_format: AudioFormat
    language: str | None
    speed: float | None
    volume: float | None


@dataclass(frozen=True, slots=True)
class SseRequest:
    """A validated `POST /tts/sse` body (raw output only)."""

    model_id: str
    transcript: str
    voice: Voice
    output_format: OutputFormat
    language: str | None
    speed: float | None
    volume: float | None
    context_id: str | None
    add_timestamps: bool
    add_phoneme_timestamps: bool
    use_normalized_timestamps: bool


@dataclass(frozen=True, slots=True)
class VoiceQuery:
    """A validated `GET /voices` query: one page, a cursor, and filters."""

    limit: int = DEFAULT_VOICE_PAGE_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None
    #: case-insensitive substring of a voice's id, name or description
    q: str | None = None
    language: str | None = None
    gender: str | None = None
    is_owner: bool | None = None


def parse_bytes_request(payload: Any, limits: Limits | None = None) -> BytesRequest:
    """Validate a decoded `/tts/bytes` body; raises `ProtocolError` naming the field."""
    model = _validate(_SpeechModel, payload, limits or Limits())
    config = model.generation_config
    return BytesRequest(
        model_id=model.model_id,
        transcript=model.transcript,
        voice=parse_voice(model.voice),
        output_format=parse_audio_format(model.output_format),
        language=model.language,
        speed=resolve_speed(config, model.speed, model.voice),
        volume=config.volume if config else None,
    )


def parse_sse_request(payload: Any, limits: Limits | None = None) -> SseRequest:
    """Validate a decoded `/tts/sse` body; raises `ProtocolError` naming the field."""
    model = _validate(_SseModel, payload, limits or Limits())
    config = model.generation_config
    voice = parse_voice(model.voice)
    fmt = parse_audio_format(model.output_format)
    if fmt.container is not Container.RAW or fmt.encoding is None:
        raise unsupported_format(
            f"`output_format.container`: {fmt.container.value!r} is not supported on "
            "/tts/sse; use 'raw' (wav and mp3 are for POST /tts/bytes)"
        )
    return SseRequest(
        model_id=model.model_id,
        transcript=model.transcript,
        voice=voice,
        output_format=OutputFormat(encoding=fmt.encoding, sample_rate=fmt.sample_rate),
        language=model.language,
        speed=resolve_speed(config, model.speed, model.voice),
        volume=config.volume if config else None,
        context_id=model.context_id,
        add_timestamps=bool(model.add_timestamps),
        add_phoneme_timestamps=bool(model.add_phoneme_timestamps),
        use_normalized_timestamps=normalized_timestamps(
            model.use_normalized_timestamps, model.use_original_timestamps
        ),
    )


def parse_audio_format(raw: Any) -> AudioFormat:
    """`output_format` of `/tts/bytes`: raw or wav {encoding, sample_rate}, or mp3
    {sample_rate, bit_rate} (docs/protocol.md §2.1.2)."""
    if not isinstance(raw, dict):
        raise invalid_request(
            "`output_format`: must be an object like "
            '{"container": "raw", "encoding": "pcm_s16le", "sample_rate": 44100}'
        )
    container = _validate_part(_Container, raw).container
    if container in (Container.RAW, Container.WAV):
        pcm = _validate_part(_PcmFormat, raw)
        checked = check_pcm_format(pcm.encoding, pcm.sample_rate)
        return AudioFormat(Container(container), checked.sample_rate, encoding=checked.encoding)
    if container == Container.MP3:
        mp3 = _validate_part(_Mp3Format, raw)
        sample_rate = check_sample_rate(mp3.sample_rate)
        if mp3.bit_rate not in MP3_BIT_RATES:
            choices = ", ".join(str(rate) for rate in MP3_BIT_RATES)
            raise unsupported_format(
                f"`output_format.bit_rate`: {mp3.bit_rate} is not supported; use one of {choices}"
            )
        return AudioFormat(Container.MP3, sample_rate, bit_rate=mp3.bit_rate)
    choices = ", ".join(c.value for c in Container)
    raise unsupported_format(
        f"`output_format.container`: {shown(container)} is not supported; use one of {choices}"
    )


def parse_voice_query(params: Iterable[tuple[str, str]]) -> VoiceQuery:
    """Validate `GET /voices` query parameters (a repeated one counts once, the last).

    Empty values count as absent; `expand[]` / `expand` and unknown parameters are
    ignored.
    """
    values = {name: value for name, value in params if value != ""}
    limit = DEFAULT_VOICE_PAGE_LIMIT
    if "limit" in values:
        low, high = VOICE_PAGE_LIMITS
        try:
            limit = int(values["limit"])
        except ValueError:
            limit = low - 1
        if not low <= limit <= high:
            raise invalid_request(
                f"`limit`: must be an integer from {low} to {high}, got {shown(values['limit'])}"
            )
    if "starting_after" in values and "ending_before" in values:
        raise invalid_request(
            "`starting_after`, `ending_before`: give at most one of them (one cursor per page)"
        )
    gender = values.get("gender")
    if gender is not None and gender not in GENDERS:
        raise invalid_request(f"`gender`: must be one of {', '.join(GENDERS)}, got {shown(gender)}")
    return VoiceQuery(
        limit=limit,
        starting_after=values.get("starting_after"),
        ending_before=values.get("ending_before"),
        q=values.get("q"),
        language=values.get("language"),
        gender=gender,
        is_owner=_query_bool("is_owner", values.get("is_owner")),
    )


def _query_bool(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise invalid_request(f"`{name}`: must be true or false, got {shown(value)}")


def _validate(model: type[M], payload: Any, limits: Limits) -> M:
    if not isinstance(payload, dict):
        raise ProtocolError(
            400,
            ErrorCode.INVALID_REQUEST,
            "Invalid request",
            f"the request body must be a JSON object, got {json_type_name(payload)}",
        )
    if "context_id" in model.model_fields:
        check_context_id(payload.get("context_id"), limits)
    try:
        validated = model.model_validate(payload)
    except ValidationError as exc:
        raise invalid_request(describe_validation_error(exc)) from None
    transcript = getattr(validated, "transcript", "")
    if len(transcript) > limits.max_transcript_chars:
        raise ProtocolError(
            400,
            ErrorCode.TRANSCRIPT_TOO_LONG,
            "Transcript too long",
            f"`transcript` has {len(transcript)} characters; the limit is "
            f"{limits.max_transcript_chars} per request (split the text over several "
            "requests, or stream it over the WebSocket)",
        )
    # The same check as the WebSocket's: a NUL used to reach the engine (a 500).
    check_text("transcript", transcript)
    return validated


def _validate_part(model: type[M], raw: dict[str, Any]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request(describe_validation_error(exc, prefix="output_format")) from None
