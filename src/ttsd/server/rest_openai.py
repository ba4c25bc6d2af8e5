"""OpenAI's speech API: `POST /v1/audio/speech`, `GET /v1/models`, `GET /v1/audio/voices`.

What Open WebUI, SillyTavern and the `openai` SDK call (issue 12). The request goes through
the same resolution, scheduler, limits, auth, drain and metrics as `/tts/bytes`
(rest_tts.py); only the body and the errors are OpenAI's (protocol/openai.py). Audio is
24 kHz mono, as OpenAI's: `pcm` is raw s16le, `wav` a streaming WAV, `mp3` 128 kbit/s,
`opus` Ogg/Opus (streamed a page per second), `flac` FLAC (sent whole at the end: its
header holds the length; audio/sndfile.py); `aac` is refused (no encoder ttsd ships).
With `stream_format: "sse"` the same bytes come as `speech.audio.delta` events, base64,
then one `speech.audio.done`.

Voices: a ttsd voice id (or an `--alias`) is used as it is. OpenAI's voice names map onto
local voices (`DEFAULT_OPENAI_VOICES`, Kokoro's when it is installed, else the default
voice); `--alias alloy=VOICE` overrides any of them. Models: OpenAI's names mean "the
engine of the voice", engine names (`piper`, `kokoro`) and `sonic*` ids work as anywhere.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ttsd.audio.mp3 import Mp3EncoderStream
from ttsd.audio.sndfile import SndfileEncoderStream, SndfileFormat
from ttsd.audio.wav import wav_header
from ttsd.engines.registry import CARTESIA_MODEL_PREFIX, EngineRegistry
from ttsd.protocol.errors import ProtocolError, invalid_request
from ttsd.protocol.formats import Encoding
from ttsd.protocol.messages import Voice
from ttsd.protocol.openai import (
    OPENAI_MODELS,
    OPENAI_VOICES,
    SpeechFormat,
    SpeechRequest,
    openai_error_body,
    parse_speech_request,
)
from ttsd.server.http import Handler, endpoint, read_json
from ttsd.server.rendering import AudioRenderer
from ttsd.server.rest_tts import SSE_MEDIA_TYPE, AudioEncoder, encoded_audio
from ttsd.server.runtime import Runtime

#: OpenAI's output rate for every format.
OPENAI_SAMPLE_RATE: Final = 24_000
#: Bit rate of `mp3` (OpenAI does not say; 128 kbit/s is transparent for speech).
MP3_BIT_RATE: Final = 128_000
#: Formats ttsd answers in, with their media types (no AAC: no encoder ttsd ships has it).
MEDIA_TYPES: Final = {
    SpeechFormat.MP3: "audio/mpeg",
    SpeechFormat.WAV: "audio/wav",
    SpeechFormat.PCM: "audio/pcm",
    SpeechFormat.FLAC: "audio/flac",
    SpeechFormat.OPUS: "audio/ogg",
}
#: OpenAI voice name -> ttsd voice, used when the voice exists here (Kokoro's voices, when
#: `ttsd[kokoro]` is installed); otherwise the default voice speaks.
DEFAULT_OPENAI_VOICES: Final = {
    "alloy": "af_heart", "ash": "am_michael", "ballad": "bm_george", "coral": "af_bella",
    "echo": "am_fenrir", "fable": "bm_george", "nova": "af_bella", "onyx": "am_michael",
    "sage": "bf_emma", "shimmer": "af_heart", "verse": "am_fenrir",
}  # fmt: skip


def openai_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run `handler`; whatever it raises becomes an error body in OpenAI's shape."""
    return endpoint(handler, render=openai_error)


def openai_error(error: ProtocolError, request_id: str) -> JSONResponse:
    """`error` as OpenAI's clients parse it, with the request id in `X-Request-Id`."""
    return JSONResponse(
        openai_error_body(error),
        status_code=error.status_code,
        headers={"x-request-id": request_id},
    )


async def speech(request: Request, request_id: str) -> Response:
    """`POST /v1/audio/speech`: the audio, streamed as it is synthesized."""
    arrived = time.monotonic()
    runtime: Runtime = request.app.state.runtime
    limits = runtime.settings.limits
    spec = parse_speech_request(await read_json(request, limits.max_message_bytes), limits)
    if spec.response_format not in MEDIA_TYPES:
        raise invalid_request(
            f"`response_format`: {spec.response_format.value!r} is not supported by ttsd; "
            f"use one of {', '.join(f.value for f in MEDIA_TYPES)}"
        )
    spec = _localized(spec, runtime.registry)
    try:
        resolved = runtime.registry.resolve(spec)  # an unknown model or voice: 4xx now
    except ProtocolError as error:  # the registry names Cartesia's field; OpenAI's is `model`
        message = error.message.replace("`model_id`", "`model`", 1)
        raise ProtocolError(error.status_code, error.error_code, error.title, message) from None
    header = (
        wav_header(OPENAI_SAMPLE_RATE, Encoding.PCM_S16LE, None)
        if spec.response_format is SpeechFormat.WAV
        else b""
    )
    body = await encoded_audio(
        runtime,
        "openai",
        request_id,
        arrived,
        spec,
        resolved,
        AudioRenderer(Encoding.PCM_S16LE, OPENAI_SAMPLE_RATE),
        _encoder(spec.response_format),
        header=header,
        wrap=_delta if spec.sse else None,
        trailer=_done(spec.transcript) if spec.sse else b"",
    )
    if spec.sse:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(body, media_type=SSE_MEDIA_TYPE, headers=headers)
    return StreamingResponse(body, media_type=MEDIA_TYPES[spec.response_format])


def _encoder(kind: SpeechFormat) -> AudioEncoder | None:
    """The encoder of a compressed format (None: raw samples, or WAV's samples)."""
    if kind is SpeechFormat.MP3:
        return Mp3EncoderStream(OPENAI_SAMPLE_RATE, MP3_BIT_RATE)
    if kind is SpeechFormat.FLAC:
        return SndfileEncoderStream(SndfileFormat.FLAC, OPENAI_SAMPLE_RATE)
    if kind is SpeechFormat.OPUS:
        return SndfileEncoderStream(SndfileFormat.OPUS, OPENAI_SAMPLE_RATE)
    return None


def _localized(spec: SpeechRequest, registry: EngineRegistry) -> SpeechRequest:
    """`spec` with OpenAI's model and voice names mapped onto ttsd's (see the module)."""
    model_id = CARTESIA_MODEL_PREFIX if spec.model_id in OPENAI_MODELS else spec.model_id
    return SpeechRequest(
        model_id=model_id,
        transcript=spec.transcript,
        voice=Voice(id=_local_voice_id(spec.voice.id or "", registry)),
        response_format=spec.response_format,
        speed=spec.speed,
        sse=spec.sse,
    )


def _local_voice_id(name: str, registry: EngineRegistry) -> str:
    """The voice `name` means here: itself (a ttsd id or an alias), else the voice an
    OpenAI name maps to, else itself (resolution then falls back or refuses)."""
    if registry.voice(name) is not None or name.lower() not in OPENAI_VOICES:
        return name
    target = DEFAULT_OPENAI_VOICES[name.lower()]
    return target if registry.voice(target) is not None else registry.voices()[0].id


def _delta(audio: bytes) -> bytes:
    event = {"type": "speech.audio.delta", "audio": base64.b64encode(audio).decode("ascii")}
    return b"data: " + orjson.dumps(event) + b"\n\n"


def _done(transcript: str) -> bytes:
    # OpenAI counts tokens; ttsd has none, so `input_tokens` counts the input's words.
    words = len(transcript.split())
    usage = {"input_tokens": words, "output_tokens": 0, "total_tokens": words}
    return b"data: " + orjson.dumps({"type": "speech.audio.done", "usage": usage}) + b"\n\n"


async def models(request: Request, request_id: str) -> Response:
    """`GET /v1/models`: OpenAI's speech model names and ttsd's engines."""
    runtime: Runtime = request.app.state.runtime
    engines = sorted({voice.engine for voice in runtime.registry.voices()})
    data = [
        {"id": name, "object": "model", "created": 0, "owned_by": "ttsd"}
        for name in (*OPENAI_MODELS, *engines)
    ]
    return JSONResponse({"object": "list", "data": data})


async def voices(request: Request, request_id: str) -> Response:
    """`GET /v1/audio/voices`: every voice, as `{id, name, language, engine}` (what Open
    WebUI reads), then OpenAI's names with the voice each maps to."""
    runtime: Runtime = request.app.state.runtime
    registry = runtime.registry
    listed: list[dict[str, Any]] = [
        {"id": v.id, "name": v.name, "language": v.locale, "engine": v.engine}
        for v in registry.voices()
    ]
    for name in OPENAI_VOICES:
        voice = registry.voice(_local_voice_id(name, registry))
        if voice is not None and voice.id != name:
            listed.append({"id": name, "name": f"{name} ({voice.id})", "language": voice.locale,
                           "engine": voice.engine})  # fmt: skip
    return JSONResponse({"voices": listed})
