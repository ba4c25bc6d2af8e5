"""`POST /tts/bytes` and `POST /tts/sse` (docs/protocol.md §8.2, §8.3).

Both TTS endpoints synthesize the transcript in bounded steps (a sentence, or a step of a
long one) through the shared scheduler (`stream_segment`), so the engine stays off the
event loop and a REST request competes fairly with WebSocket contexts. The
first audio is computed before the response starts: anything wrong with the request, its
model or voice, or the first sentence's synthesis is a JSON error with its HTTP status,
never a 200 with a broken body. After that the body streams as it is synthesized; a
failure then can only cut the connection (`/tts/bytes`) or send an `error` event
(`/tts/sse`). A client that goes away stops the synthesis at the next sentence: Starlette
cancels the body iterator, and with it the wait for the next scheduler step.

Choices where the hosted API is undocumented (docs/protocol.md §9.7, §9.8):

- `Content-Type`: `audio/wav` for wav, `audio/mpeg` for mp3 (RFC 3003), and
  `application/octet-stream` for raw: headerless little-endian samples have no
  registered media type (`audio/L16` is big-endian, RFC 2586). The SDKs ignore it.
- SSE events are `data: <json>` lines only, as the OpenAPI spec shows them; every client
  ignores `event:` names, so sending them would only add bytes.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import replace
from typing import Final, Protocol

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ttsd.audio.mp3 import Mp3EncoderStream
from ttsd.audio.wav import wav_header
from ttsd.engines.base import SynthesisOptions
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.formats import Container, Encoding
from ttsd.protocol.frames import Frame, done_frame, error_frame
from ttsd.protocol.limits import Limits
from ttsd.protocol.openai import SpeechRequest
from ttsd.protocol.resolver import Resolved
from ttsd.protocol.rest import BytesRequest, SseRequest, parse_bytes_request, parse_sse_request
from ttsd.server.http import read_json
from ttsd.server.rendering import AudioRenderer, RenderedAudio, chunk_frames
from ttsd.server.runtime import Runtime
from ttsd.server.synthesis import Playback, is_engine_error, stream_segment, synthesis_error
from ttsd.server.telemetry import StreamTelemetry, request_line
from ttsd.text.steps import split_steps

_LOGGER = logging.getLogger(__name__)

#: `Content-Type` of `/tts/bytes` per container (see the module docstring).
MEDIA_TYPES: Final = {
    Container.RAW: "application/octet-stream",
    Container.WAV: "audio/wav",
    Container.MP3: "audio/mpeg",
}
SSE_MEDIA_TYPE: Final = "text/event-stream"


async def _synthesized(
    runtime: Runtime,
    spec: BytesRequest | SseRequest | SpeechRequest,
    resolved: Resolved,
    renderer: AudioRenderer,
    finalize: Callable[[RenderedAudio], bytes],
    *,
    timings: bool,
    telemetry: StreamTelemetry,
) -> AsyncGenerator[bytes, None]:
    """`finalize(rendered)` of each chunk of the request's transcript.

    The transcript goes to the engine in pieces of at most `max_step_chars`, cut at
    sentence ends where it has them, the first at most `first_step_chars` so that its first
    audio comes soon (`split_steps`; issue 8).
    """
    playback = Playback(telemetry=telemetry)
    options = SynthesisOptions(speed=spec.speed or 1.0, volume=spec.volume or 1.0, timings=timings)
    texts = await _steps_of(spec.transcript, runtime.settings.limits)
    engine = runtime.registry.engine(resolved.engine)
    with runtime.scheduler.stream(playback.urgency) as steps:
        for text in texts:
            options = replace(options, first_audio=not playback.started)
            pieces = stream_segment(
                steps,
                engine,
                text,
                resolved.voice_id,
                options,
                renderer,
                finalize,
                playback=playback,
            )
            async with aclosing(pieces):
                async for piece in pieces:
                    if piece:
                        # Handed to the response body, which sends it before asking for more.
                        playback.mark_sent()
                        yield piece


#: Transcripts longer than this are cut on a worker thread: the cut is linear, but 20,000
#: characters of it are milliseconds that the event loop owes every other client.
_OFF_LOOP_CHARS = 2000


async def _steps_of(transcript: str, limits: Limits) -> list[str]:
    cut = functools.partial(
        split_steps, transcript, limits.max_step_chars, first_chars=limits.first_step_chars
    )
    return cut() if len(transcript) <= _OFF_LOOP_CHARS else await run_in_threadpool(cut)


async def _first_piece(pieces: AsyncIterator[bytes], telemetry: StreamTelemetry) -> bytes:
    """The first payload (empty if there is none): computed before the response starts."""
    try:
        return await anext(pieces, b"")
    except ProtocolError:
        telemetry.finish("error")
        raise
    except Exception as exc:
        telemetry.finish("error")
        if not is_engine_error(exc):
            _LOGGER.exception("synthesis failed before the first audio")
        raise synthesis_error(exc) from exc
    except BaseException:
        telemetry.finish("cancelled")  # the client left
        raise


def _request_telemetry(
    runtime: Runtime,
    endpoint: str,
    request_id: str,
    transcript: str,
    arrived: float,
    context_id: str | None = None,
) -> StreamTelemetry:
    """A REST request's telemetry, from its arrival, with its transcript accepted."""
    telemetry = StreamTelemetry(runtime.metrics, endpoint, request_id, context_id, began_at=arrived)
    telemetry.accepted(len(transcript))
    return telemetry


async def tts_bytes(request: Request, request_id: str) -> Response:
    """`POST /tts/bytes`: the audio as the body, streamed (docs/protocol.md §8.2)."""
    arrived = time.monotonic()
    runtime: Runtime = request.app.state.runtime
    limits = runtime.settings.limits
    spec = parse_bytes_request(await read_json(request, limits.max_message_bytes), limits)
    resolved = runtime.registry.resolve(spec)  # an unknown model or voice: 4xx now
    fmt = spec.output_format
    # MP3 is encoded from 16-bit samples.
    encoding = fmt.encoding or Encoding.PCM_S16LE
    renderer = AudioRenderer(encoding, fmt.sample_rate)
    mp3 = Mp3EncoderStream(fmt.sample_rate, fmt.bit_rate) if fmt.bit_rate is not None else None
    header = wav_header(fmt.sample_rate, encoding, None) if fmt.container is Container.WAV else b""
    body = await encoded_audio(
        runtime, "bytes", request_id, arrived, spec, resolved, renderer, mp3, header=header
    )
    return StreamingResponse(body, media_type=MEDIA_TYPES[fmt.container])


class AudioEncoder(Protocol):
    """A streaming encoder of s16le samples (MP3, FLAC, Opus): bytes out as they are ready."""

    def push(self, pcm: bytes, /) -> bytes:
        """Encode more samples; the bytes ready so far."""
        ...

    def finish(self) -> bytes:
        """End the stream; the last bytes."""
        ...


async def encoded_audio(
    runtime: Runtime,
    endpoint: str,
    request_id: str,
    arrived: float,
    spec: BytesRequest | SpeechRequest,
    resolved: Resolved,
    renderer: AudioRenderer,
    encoder: AudioEncoder | None,
    *,
    header: bytes = b"",
    wrap: Callable[[bytes], bytes] | None = None,
    trailer: bytes = b"",
) -> AsyncIterator[bytes]:
    """The body of an audio response (`endpoint`: its metrics label): the transcript's
    audio rendered by `renderer`, through `encoder` (None: the samples as they are).

    The first audio is made here, before the response starts, so that a failure until
    then is an HTTP error (`_first_piece`); the rest streams (`_audio_body`)."""

    def finalize(rendered: RenderedAudio) -> bytes:
        # On the worker thread, in order: the encoder sees one step at a time.
        return encoder.push(rendered.audio) if encoder is not None else rendered.audio

    telemetry = _request_telemetry(runtime, endpoint, request_id, spec.transcript, arrived)
    pieces = _synthesized(
        runtime, spec, resolved, renderer, finalize, timings=False, telemetry=telemetry
    )
    first = await _first_piece(pieces, telemetry)
    return _audio_body(
        runtime,
        f"{request_line(endpoint)} {request_id}",
        header + first,
        pieces,
        encoder.finish if encoder is not None else None,
        telemetry,
        wrap=wrap,
        trailer=trailer,
    )


async def _audio_body(
    runtime: Runtime,
    what: str,
    head: bytes,
    pieces: AsyncGenerator[bytes, None],
    finish: Callable[[], bytes] | None,
    telemetry: StreamTelemetry,
    *,
    wrap: Callable[[bytes], bytes] | None = None,
    trailer: bytes = b"",
) -> AsyncIterator[bytes]:
    """A streamed audio response's body: `head` (the header and first audio, made before
    the status went out), the other `pieces`, the encoder's `finish()`, each through
    `wrap` (an SSE event, say), then `trailer`. `what` names the request in the log.

    After the status, the only way left to say "broken" is to cut the body: a failure is
    logged, counted and re-raised, which closes the connection mid-body."""
    outcome = "cancelled"  # unless it ends one of the ways below: the client left
    try:
        async for data in _chained(head, pieces):
            if data:
                yield wrap(data) if wrap is not None else data
        tail = finish() if finish is not None else b""
        if tail:
            yield wrap(tail) if wrap is not None else tail
        if trailer:
            yield trailer
        outcome = "done"
    except Exception as exc:
        _LOGGER.error(
            "%s: synthesis failed mid-stream, closing the connection: %s",
            what,
            exc,
            exc_info=not is_engine_error(exc),
        )
        outcome = "error"
        runtime.metrics.count_error(ErrorCode.SYNTHESIS_FAILED)
        raise
    finally:
        await pieces.aclose()
        telemetry.finish(outcome)


async def _chained(head: bytes, pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for piece in pieces:
        yield piece


async def tts_sse(request: Request, request_id: str) -> Response:
    """`POST /tts/sse`: `data:` events of chunks, timestamps, then `done`
    (docs/protocol.md §8.3)."""
    arrived = time.monotonic()
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
    telemetry = _request_telemetry(runtime, "sse", request_id, spec.transcript, arrived, context_id)
    pieces = _synthesized(
        runtime, spec, resolved, renderer, finalize, timings=timings, telemetry=telemetry
    )
    first = await _first_piece(pieces, telemetry)

    async def events() -> AsyncIterator[bytes]:
        outcome = "cancelled"  # unless it ends one of the ways below: the client left
        try:
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
                    exc_info=not is_engine_error(exc),
                )
                outcome = "error"
                error = synthesis_error(exc).for_context(context_id)
                runtime.metrics.count_error(error.error_code)
                yield sse_event(error_frame(error, request_id))
                return
            finally:
                await pieces.aclose()
            outcome = "done"  # all its audio is sent
            yield sse_event(done_frame(context_id))
        finally:
            telemetry.finish(outcome)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type=SSE_MEDIA_TYPE, headers=headers)


def sse_event(frame: Frame) -> bytes:
    """One server-sent event carrying `frame` as JSON."""
    return b"data: " + orjson.dumps(frame) + b"\n\n"
