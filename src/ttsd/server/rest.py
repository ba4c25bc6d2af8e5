"""The REST surface (protocol.md §8): `POST /tts/bytes`, `POST /tts/sse`, `GET /voices`,
`GET /voices/{id}`, and JSON errors for every HTTP failure.

Both TTS endpoints synthesize the whole transcript as one segment through the shared
scheduler (`stream_segment`), so the engine stays off the event loop and a REST request
competes fairly with WebSocket contexts. The first audio is computed before the response
starts: anything wrong with the request, its model or voice, or the first sentence's
synthesis is a JSON error with its HTTP status, never a 200 with a broken body. After
that the body streams as it is synthesized; a failure then can only cut the connection
(`/tts/bytes`) or send an `error` event (`/tts/sse`). A client that goes away stops the
synthesis at the next sentence: Starlette cancels the body iterator, and with it the
wait for the next scheduler step.

Choices where the hosted API is undocumented (protocol.md §9.7, §9.8):

- `Content-Type`: `audio/wav` for wav, `audio/mpeg` for mp3 (RFC 3003), and
  `application/octet-stream` for raw: headerless little-endian samples have no
  registered media type (`audio/L16` is big-endian, RFC 2586). The SDKs ignore it.
- SSE events are `data: <json>` lines only, as the OpenAPI spec shows them; every client
  ignores `event:` names, so sending them would only add bytes.
- A voice's `created_at` is the Unix epoch: ttsd does not know when a voice was made, and
  a file's mtime would say when it was installed, differ between identical deployments,
  and change on every reinstall. The epoch is stable, parses everywhere, and reads as
  "unknown".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Final

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ttsd.audio.mp3 import Mp3EncoderStream
from ttsd.audio.wav import wav_header
from ttsd.engines.base import EngineError, SynthesisOptions, VoiceInfo, VoiceNotFound
from ttsd.protocol.errors import ErrorCode, ProtocolError, invalid_request
from ttsd.protocol.formats import Container, Encoding
from ttsd.protocol.frames import Frame, done_frame, error_frame
from ttsd.protocol.resolver import Resolved
from ttsd.protocol.rest import (
    BytesRequest,
    SseRequest,
    VoiceQuery,
    parse_bytes_request,
    parse_sse_request,
    parse_voice_query,
)
from ttsd.server.rendering import AudioRenderer, RenderedAudio, chunk_frames
from ttsd.server.request_id import request_id_of
from ttsd.server.runtime import Runtime
from ttsd.server.synthesis import stream_segment

_LOGGER = logging.getLogger(__name__)

#: `Content-Type` of `/tts/bytes` per container (see the module docstring).
MEDIA_TYPES: Final = {
    Container.RAW: "application/octet-stream",
    Container.WAV: "audio/wav",
    Container.MP3: "audio/mpeg",
}
SSE_MEDIA_TYPE: Final = "text/event-stream"
#: `created_at` of every voice (see the module docstring).
VOICE_CREATED_AT: Final = "1970-01-01T00:00:00Z"

Handler = Callable[[Request, str], Awaitable[Response]]


# --- errors ----------------------------------------------------------------------------


def error_response(error: ProtocolError, request_id: str) -> JSONResponse:
    """The JSON error body every REST failure gets (protocol.md §8)."""
    body = {
        "title": error.title,
        "message": error.message,
        "error_code": str(error.error_code),
        "request_id": request_id,
        "status_code": error.status_code,
    }
    return JSONResponse(body, status_code=error.status_code)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run `handler` with the request's id; turn whatever it raises into a JSON error."""

    async def endpoint(request: Request) -> Response:
        request_id = request_id_of(request.scope)
        try:
            return await handler(request, request_id)
        except ProtocolError as error:
            _LOGGER.info(
                "%s %s %s: %d %s",
                request.method,
                request.url.path,
                request_id,
                error.status_code,
                error,
            )
            return error_response(error, request_id)
        except Exception:
            _LOGGER.exception("%s %s %s failed", request.method, request.url.path, request_id)
            return error_response(_internal_error(), request_id)

    return endpoint


def _internal_error() -> ProtocolError:
    return ProtocolError(
        500, ErrorCode.INTERNAL_ERROR, "Internal error", "the server failed (see its log)"
    )


def _synthesis_error(exc: Exception) -> ProtocolError:
    # Engine errors are the engine's words; anything else is a bug, logged with its trace.
    expected = isinstance(exc, EngineError | VoiceNotFound)
    detail = str(exc) if expected else "internal error (see the server log)"
    return ProtocolError(500, ErrorCode.SYNTHESIS_FAILED, "Synthesis failed", detail)


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (unknown path, wrong method) as JSON errors."""
    assert isinstance(exc, HTTPException)
    codes = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}
    code = codes.get(exc.status_code, ErrorCode.INVALID_REQUEST)
    if exc.status_code == 404:
        message = f"no endpoint {request.url.path!r}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path!r}"
    else:
        message = str(exc.detail)
    error = ProtocolError(exc.status_code, code, str(exc.detail), message)
    response = error_response(error, request_id_of(request.scope))
    response.headers.update(exc.headers or {})
    return response


#: For `Starlette(exception_handlers=...)`.
EXCEPTION_HANDLERS: Final = {HTTPException: http_exception}


# --- request bodies --------------------------------------------------------------------


async def read_json(request: Request, max_bytes: int) -> Any:
    """The decoded JSON body: 413 beyond `max_bytes`, 400 (415 if declared as another
    media type) when it is not JSON."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(f"the body is {int(declared)} bytes", max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(f"the body is over {max_bytes} bytes", max_bytes)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise ProtocolError(
            400, ErrorCode.INVALID_JSON, "Invalid JSON", "the body is empty; send a JSON object"
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and content_type != "application/json" and "json" not in content_type:
            raise ProtocolError(
                415,
                ErrorCode.INVALID_JSON,
                "Unsupported media type",
                f"the body is {content_type!r}, not JSON; send a JSON object with "
                "`Content-Type: application/json`",
            ) from None
        raise ProtocolError(
            400, ErrorCode.INVALID_JSON, "Invalid JSON", f"the body is not JSON: {exc}"
        ) from None


def _too_large(what: str, max_bytes: int) -> ProtocolError:
    return ProtocolError(
        413,
        ErrorCode.MESSAGE_TOO_LARGE,
        "Request too large",
        f"{what}; the limit is {max_bytes} (split the text over several requests)",
    )


# --- synthesis -------------------------------------------------------------------------


@dataclass
class _Progress:
    """Whether a stream has produced audio yet (its scheduling priority depends on it)."""

    started: bool = False


async def _synthesized(
    runtime: Runtime,
    spec: BytesRequest | SseRequest,
    resolved: Resolved,
    renderer: AudioRenderer,
    finalize: Callable[[RenderedAudio], bytes],
    *,
    timings: bool,
) -> AsyncGenerator[bytes, None]:
    """`finalize(rendered)` of each chunk of the request's transcript, as one segment."""
    progress = _Progress()
    options = SynthesisOptions(speed=spec.speed or 1.0, volume=spec.volume or 1.0, timings=timings)
    pieces = stream_segment(
        runtime.scheduler,
        runtime.registry.engine(resolved.engine),
        spec.transcript,
        resolved.voice_id,
        options,
        renderer,
        finalize,
        started=lambda: progress.started,
    )
    async with aclosing(pieces):
        async for piece in pieces:
            if piece:
                progress.started = True
                yield piece


async def _first_piece(pieces: AsyncIterator[bytes]) -> bytes:
    """The first payload (empty if there is none): computed before the response starts."""
    try:
        return await anext(pieces, b"")
    except ProtocolError:
        raise
    except Exception as exc:
        if not isinstance(exc, EngineError | VoiceNotFound):
            _LOGGER.exception("synthesis failed before the first audio")
        raise _synthesis_error(exc) from exc


async def tts_bytes(request: Request, request_id: str) -> Response:
    """`POST /tts/bytes`: the audio as the body, streamed (protocol.md §8.2)."""
    runtime: Runtime = request.app.state.runtime
    limits = runtime.settings.limits
    spec = parse_bytes_request(await read_json(request, limits.max_message_bytes), limits)
    resolved = runtime.registry.resolve(spec)  # an unknown model or voice: 4xx now
    fmt = spec.output_format
    # MP3 is encoded from 16-bit samples.
    encoding = fmt.encoding or Encoding.PCM_S16LE
    renderer = AudioRenderer(encoding, fmt.sample_rate)
    mp3 = Mp3EncoderStream(fmt.sample_rate, fmt.bit_rate) if fmt.bit_rate is not None else None

    def finalize(rendered: RenderedAudio) -> bytes:
        # On the worker thread, in order: the MP3 encoder sees one step at a time.
        return mp3.push(rendered.audio) if mp3 is not None else rendered.audio

    pieces = _synthesized(runtime, spec, resolved, renderer, finalize, timings=False)
    first = await _first_piece(pieces)
    header = wav_header(fmt.sample_rate, encoding, None) if fmt.container is Container.WAV else b""

    async def body() -> AsyncIterator[bytes]:
        try:
            yield header + first
            async for piece in pieces:
                yield piece
            tail = mp3.finish() if mp3 is not None else b""
            if tail:
                yield tail
        except Exception as exc:
            # The status is sent: the only way left to say "broken" is to cut the body.
            _LOGGER.error(
                "POST /tts/bytes %s: synthesis failed mid-stream, closing the connection: %s",
                request_id,
                exc,
                exc_info=not isinstance(exc, EngineError | VoiceNotFound),
            )
            raise
        finally:
            await pieces.aclose()

    return StreamingResponse(body(), media_type=MEDIA_TYPES[fmt.container])


async def tts_sse(request: Request, request_id: str) -> Response:
    """`POST /tts/sse`: `data:` events of chunks, timestamps, then `done` (protocol.md §8.3)."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    spec = parse_sse_request(
        await read_json(request, settings.limits.max_message_bytes), settings.limits
    )
    resolved = runtime.registry.resolve(spec)
    fmt = spec.output_format
    renderer = AudioRenderer(fmt.encoding, fmt.sample_rate)
    context_id = spec.context_id

    def finalize(rendered: RenderedAudio) -> bytes:
        frames = chunk_frames(
            context_id,
            rendered,
            None,
            settings.max_audio_frame_bytes,
            words=spec.add_timestamps,
            phonemes=spec.add_phoneme_timestamps,
        )
        return b"".join(sse_event(frame) for frame in frames)

    timings = spec.add_timestamps or spec.add_phoneme_timestamps
    pieces = _synthesized(runtime, spec, resolved, renderer, finalize, timings=timings)
    first = await _first_piece(pieces)

    async def events() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for piece in pieces:
                yield piece
        except Exception as exc:
            _LOGGER.error(
                "POST /tts/sse %s: synthesis failed mid-stream: %s",
                request_id,
                exc,
                exc_info=not isinstance(exc, EngineError | VoiceNotFound),
            )
            error = _synthesis_error(exc).for_context(context_id)
            yield sse_event(error_frame(error, request_id))
            return
        finally:
            await pieces.aclose()
        yield sse_event(done_frame(context_id))

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type=SSE_MEDIA_TYPE, headers=headers)


def sse_event(frame: Frame) -> bytes:
    """One server-sent event carrying `frame` as JSON."""
    return b"data: " + orjson.dumps(frame) + b"\n\n"


# --- voices ----------------------------------------------------------------------------


def voice_json(voice: VoiceInfo) -> dict[str, Any]:
    """A voice as the voice API describes it (protocol.md §8.5), for SDK 3.x and 4.x.

    Every voice is installed on the server for every caller: public, owned by nobody.
    """
    locale = f"{voice.language}-{voice.country}" if voice.country else voice.language
    return {
        "id": voice.id,
        "name": voice.name,
        "description": voice.description,
        "created_at": VOICE_CREATED_AT,
        "language": voice.language,
        "is_owner": False,
        "is_public": True,
        "gender": voice.gender,
        "country": voice.country,
        # 2026-08-14 (SDK 4.x) names
        "access": "public",
        "visibility": "all",
        "tagline": "",
        "accent": None,
        "locales": [{"locale": locale, "is_native": True}],
        # ttsd's own
        "engine": voice.engine,
        "sample_rate": voice.sample_rate,
    }


def page_voices(voices: list[VoiceInfo], query: VoiceQuery) -> tuple[list[VoiceInfo], bool]:
    """The page `query` asks for, and whether more match beyond it (in its direction).

    Cursors are positions in the full list, so a filter may change between pages. A page
    after the last voice is empty: the SDKs page until they get one (protocol.md §8.4).
    """
    candidates = voices
    if query.starting_after is not None:
        candidates = voices[_position(voices, "starting_after", query.starting_after) + 1 :]
    elif query.ending_before is not None:
        candidates = voices[: _position(voices, "ending_before", query.ending_before)]
    matching = [voice for voice in candidates if _matches(voice, query)]
    has_more = len(matching) > query.limit
    if query.ending_before is not None:
        return matching[-query.limit :] if has_more else matching, has_more
    return matching[: query.limit], has_more


def _position(voices: list[VoiceInfo], field: str, voice_id: str) -> int:
    for index, voice in enumerate(voices):
        if voice.id == voice_id:
            return index
    raise invalid_request(
        f"`{field}`: {voice_id!r} is not a voice id of this server; "
        "use the id of a voice from a previous page"
    )


def _matches(voice: VoiceInfo, query: VoiceQuery) -> bool:
    if query.q is not None:
        needle = query.q.lower()
        haystacks = (voice.id, voice.name, voice.description)
        if not any(needle in text.lower() for text in haystacks):
            return False
    if query.language is not None and _primary(query.language) != _primary(voice.language):
        return False
    if query.gender is not None and voice.gender != query.gender:
        return False
    # Nobody owns a ttsd voice (see `voice_json`).
    return not query.is_owner


def _primary(language: str) -> str:
    # "en", "en-US" and "en_US" all mean English.
    return language.replace("_", "-").split("-")[0].lower()


async def list_voices(request: Request, request_id: str) -> Response:
    """`GET /voices`: one page of voices (protocol.md §8.4)."""
    runtime: Runtime = request.app.state.runtime
    query = parse_voice_query(request.query_params.multi_items())
    page, has_more = page_voices(runtime.registry.voices(), query)
    next_page = None
    if has_more and page:
        next_page = page[0].id if query.ending_before is not None else page[-1].id
    return JSONResponse(
        {"data": [voice_json(v) for v in page], "has_more": has_more, "next_page": next_page}
    )


async def get_voice(request: Request, request_id: str) -> Response:
    """`GET /voices/{id}`: one voice; an alias gives the voice it stands for."""
    runtime: Runtime = request.app.state.runtime
    voice_id = request.path_params["voice_id"]
    voice = runtime.registry.voice(voice_id)
    if voice is None:
        raise ProtocolError(
            404,
            ErrorCode.VOICE_NOT_FOUND,
            "Voice not found",
            f"`id`: {voice_id!r} is not a voice of this server; GET /voices lists them",
        )
    return JSONResponse(voice_json(voice))


def rest_routes() -> list[Route]:
    """The REST endpoints, for the app's route table."""
    return [
        Route("/tts/bytes", _endpoint(tts_bytes), methods=["POST"]),
        Route("/tts/sse", _endpoint(tts_sse), methods=["POST"]),
        Route("/voices", _endpoint(list_voices), methods=["GET"]),
        Route("/voices/{voice_id}", _endpoint(get_voice), methods=["GET"]),
    ]
