"""`POST /v1/audio/speech`, OpenAI's speech API, as ttsd understands it (issue 12).

Sans-I/O like the rest of this package: it validates a decoded body into a
`SpeechRequest` that the server resolves and synthesizes as it does `/tts/bytes`, and it
shapes errors the way OpenAI's clients parse them (`{"error": {message, type, param,
code}}`). Field rules follow OpenAI's API reference: `model`, `input` and `voice` are
required; `response_format` is one of mp3, opus, aac, flac, wav, pcm (default mp3);
`speed` 0.25–4.0 (default 1); `stream_format` audio or sse; `instructions` is accepted
and ignored (no ttsd engine takes style prompts). `voice` may also be an object
`{"id": ...}`, as newer SDKs send custom voices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import Field, ValidationError

from ttsd.protocol.errors import ErrorCode, ProtocolError, invalid_request
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import (
    Lenient,
    Voice,
    check_text,
    describe_validation_error,
    json_type_name,
)
from ttsd.protocol.shown import shown

#: OpenAI's speed range (ttsd's own endpoints take 0.6-2.0; the engines cap each step's
#: audio, not its phonemes, so a slow speed costs no more per step).
OPENAI_SPEED_RANGE: Final = (0.25, 4.0)
#: OpenAI's model names; each means "the engine of the voice asked for".
OPENAI_MODELS: Final = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
#: The voices OpenAI's API names (its documentation, 2025), mapped onto local voices by
#: `Settings.openai_voices`.
OPENAI_VOICES: Final = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
    "verse",
)  # fmt: skip


class SpeechFormat(StrEnum):
    """`response_format` values."""

    MP3 = "mp3"
    OPUS = "opus"
    AAC = "aac"
    FLAC = "flac"
    WAV = "wav"
    PCM = "pcm"


class _SpeechBody(Lenient):
    model: Annotated[str, Field(min_length=1)]
    input: str
    voice: Any
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, Field(ge=OPENAI_SPEED_RANGE[0], le=OPENAI_SPEED_RANGE[1])] = 1.0
    stream_format: Literal["audio", "sse"] = "audio"
    instructions: str | None = None


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """A validated `/v1/audio/speech` body, with the fields resolution and synthesis read
    (`model_id`, `voice`, `language`, `transcript`, `speed`, `volume`)."""

    model_id: str
    transcript: str
    voice: Voice
    response_format: SpeechFormat
    speed: float
    sse: bool
    language: str | None = None
    volume: float | None = None


def parse_speech_request(payload: Any, limits: Limits) -> SpeechRequest:
    """Validate a decoded body; raises `ProtocolError` naming the field."""
    if not isinstance(payload, dict):
        raise invalid_request(
            f"the request body must be a JSON object, got {json_type_name(payload)}"
        )
    try:
        body = _SpeechBody.model_validate(payload)
    except ValidationError as exc:
        raise invalid_request(describe_validation_error(exc)) from None
    if len(body.input) > limits.max_transcript_chars:
        raise ProtocolError(
            400,
            ErrorCode.TRANSCRIPT_TOO_LONG,
            "Input too long",
            f"`input` has {len(body.input)} characters; the limit is "
            f"{limits.max_transcript_chars} per request",
        )
    if not body.input.strip():
        raise invalid_request("`input`: must contain text to speak")
    check_text("input", body.input)
    return SpeechRequest(
        model_id=body.model,
        transcript=body.input,
        voice=Voice(id=_voice_id(body.voice)),
        response_format=SpeechFormat(body.response_format),
        speed=body.speed,
        sse=body.stream_format == "sse",
    )


def _voice_id(raw: Any) -> str:
    if isinstance(raw, dict):
        raw = raw.get("id")
    if not isinstance(raw, str) or not raw:
        raise invalid_request(
            f"`voice`: must be a voice name like 'alloy' or a ttsd voice id, got {shown(raw)}"
        )
    return raw


_FIELD = re.compile(r"`([^`]+)`")


#: Where OpenAI's API lives: errors under it are in OpenAI's shape, refusals included.
OPENAI_PATH_PREFIX = "/v1/"


def is_openai_path(path: str) -> bool:
    """Whether `path` is one of OpenAI's (`/v1/...`), whose clients read `error.message`."""
    return path.startswith(OPENAI_PATH_PREFIX)


def openai_error_body(error: ProtocolError) -> dict[str, Any]:
    """The error as OpenAI's API shapes it; `param` is the field the message names."""
    field = _FIELD.search(error.message)
    kind = "invalid_request_error" if error.status_code < 500 else "server_error"
    if error.status_code == 401:
        kind = "authentication_error"
    return {
        "error": {
            "message": str(error),
            "type": kind,
            "param": field.group(1) if field else None,
            "code": str(error.error_code),
        }
    }
