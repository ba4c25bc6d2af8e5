"""Drive LiveKit Agents' Cartesia plugin against a running ttsd.

    python tests/e2e/livekit_scenarios.py 127.0.0.1:8420 OUT_DIR

Meant for the interpreter of a venv with `livekit-agents` and `livekit-plugins-cartesia`
(their pins conflict with the project's, so scripts/test.sh builds `.venv-livekit`): it
imports only LiveKit, aiohttp (which LiveKit uses) and the standard library, not ttsd and
not pytest. tests/e2e/test_livekit.py runs it and checks what it prints: one JSON object

    {"livekit_agents_version": "1.8.9", "plugin_version": "1.8.9", "sample_rate": 24000,
     "log_problems": ["..."],      # LiveKit's WARNING and ERROR log records
     "scenarios": {NAME: {"audio": "FILE.pcm",        # 16-bit mono PCM at sample_rate
                          "frames": [[segment_id, request_id, samples, is_final], ...],
                          "words": [[text, start_s, end_s], ...],   # the aligned transcript
                          "error": null or "ExceptionType: message",
                          ...}}}

The scenarios:

* `synthesize`: `tts.synthesize(text)`: POST /tts/bytes.
* `stream`: `tts.stream()` fed word pieces with `push_text` (one word split in two), then
  `end_input()`: the WebSocket, one context, word timestamps.
* `flush`: a stream fed a sentence with no final punctuation, then `flush()`: LiveKit sends
  the text at once, and its audio must arrive *before* `end_input()` (`audio_before_end`);
  then `end_input()`. Then a second stream, the next segment, on the same TTS (LiveKit
  reuses its pooled socket: a new context on the same connection), fed and flushed the
  same way. LiveKit 1.8 takes one segment per stream (text pushed after a `flush()` is
  dropped with a warning), so a new segment is a new stream.
* `error`: a stream asking for a speed ttsd refuses (`generation_config.speed` 3.0): how
  LiveKit surfaces ttsd's error frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from livekit.agents import __version__ as agents_version
from livekit.agents.types import USERDATA_TIMED_TRANSCRIPT
from livekit.plugins import cartesia

VOICE = "en_US-joe-medium"
SAMPLE_RATE = 24000

SYNTHESIZE = "I would like a cup of coffee."
#: Word pieces as an LLM streams them; "tomorrow" split inside the word.
STREAM = ["Please", " call", " me", " tom", "orrow", " morning", "."]
#: Two segments, each without final punctuation (only `flush()` sends it at once).
SEGMENTS = [
    ["Good", " morning", ",", " my", " name", " is", " Joe"],
    ["Thank", " you", " very", " much"],
]
ERROR = "One two three four five six seven."

_LOG_PROBLEMS: list[str] = []


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _LOG_PROBLEMS.append(f"{record.levelname} {record.name}: {record.getMessage()}")


class Recording:
    """The audio, frames and aligned transcript of one synthesis."""

    def __init__(self) -> None:
        self.audio = bytearray()
        self.frames: list[list[Any]] = []
        self.words: list[list[Any]] = []
        self.first_audio = asyncio.Event()

    def add(self, ev: Any) -> None:
        frame = ev.frame
        assert frame.sample_rate == SAMPLE_RATE and frame.num_channels == 1, frame
        self.audio += frame.data.tobytes()
        self.frames.append([ev.segment_id, ev.request_id, frame.samples_per_channel, ev.is_final])
        for word in frame.userdata.get(USERDATA_TIMED_TRANSCRIPT) or []:
            self.words.append([str(word), word.start_time, word.end_time])
        if frame.samples_per_channel:
            self.first_audio.set()

    async def drain(self, events: Any) -> None:
        async for ev in events:
            self.add(ev)

    def result(self, out_dir: Path, name: str, **extra: Any) -> dict[str, Any]:
        path = out_dir / f"{name}.pcm"
        path.write_bytes(bytes(self.audio))
        return {"audio": path.name, "frames": self.frames, "words": self.words, **extra}


def make_tts(base: str, session: aiohttp.ClientSession, **options: Any) -> cartesia.TTS:
    # The README's example (keep in sync).
    return cartesia.TTS(
        api_key="anything",
        base_url=f"http://{base}",
        voice=VOICE,
        http_session=session,
        **options,
    )


async def synthesize(tts: cartesia.TTS, out_dir: Path) -> dict[str, Any]:
    rec = Recording()
    async with tts.synthesize(SYNTHESIZE) as stream:
        await rec.drain(stream)
    return rec.result(out_dir, "synthesize", text=SYNTHESIZE)


async def stream_words(tts: cartesia.TTS, out_dir: Path) -> dict[str, Any]:
    rec = Recording()
    async with tts.stream() as stream:
        for piece in STREAM:
            stream.push_text(piece)
            await asyncio.sleep(0.02)
        stream.end_input()
        await rec.drain(stream)
    return rec.result(out_dir, "stream", text="".join(STREAM))


async def flushed_segment(
    tts: cartesia.TTS, pieces: list[str], out_dir: Path, name: str
) -> dict[str, Any]:
    rec = Recording()
    async with tts.stream() as stream:
        reading = asyncio.create_task(rec.drain(stream))
        for piece in pieces:
            stream.push_text(piece)
            await asyncio.sleep(0.02)
        stream.flush()
        flushed_at = time.monotonic()
        try:
            await asyncio.wait_for(rec.first_audio.wait(), 10)
            audio_before_end = True
        except TimeoutError:
            audio_before_end = False
        first_audio_s = time.monotonic() - flushed_at
        stream.end_input()
        await asyncio.wait_for(reading, 30)
    return rec.result(
        out_dir,
        name,
        text="".join(pieces),
        audio_before_end=audio_before_end,
        first_audio_after_flush_s=first_audio_s,
        connection_reused=getattr(stream, "_connection_reused", None),
    )


async def error(tts: cartesia.TTS, out_dir: Path) -> dict[str, Any]:
    rec = Recording()
    raised = None
    started = time.monotonic()
    try:
        async with tts.stream() as stream:
            stream.push_text(ERROR)
            stream.end_input()
            await asyncio.wait_for(rec.drain(stream), 30)
    except Exception as exc:
        raised = f"{type(exc).__name__}: {exc}"
    return rec.result(
        out_dir, "error", text=ERROR, error=raised, seconds=time.monotonic() - started
    )


async def main(base: str, out_dir: Path) -> dict[str, Any]:
    logging.getLogger().addHandler(_Collect(level=logging.WARNING))
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    out_dir.mkdir(parents=True, exist_ok=True)
    scenarios: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        tts = make_tts(base, session)
        try:
            scenarios["synthesize"] = await synthesize(tts, out_dir)
            scenarios["stream"] = await stream_words(tts, out_dir)
            scenarios["flush"] = [
                await flushed_segment(tts, pieces, out_dir, f"flush-{n}")
                for n, pieces in enumerate(SEGMENTS)
            ]
        finally:
            await tts.aclose()
        problems_before_error = len(_LOG_PROBLEMS)
        refused = make_tts(base, session, speed=3.0)
        try:
            scenarios["error"] = await error(refused, out_dir)
        finally:
            await refused.aclose()
        scenarios["error"]["log_problems"] = _LOG_PROBLEMS[problems_before_error:]
    return {
        "livekit_agents_version": agents_version,
        "plugin_version": cartesia.__version__,
        "sample_rate": SAMPLE_RATE,
        "log_problems": _LOG_PROBLEMS[:problems_before_error],
        "scenarios": scenarios,
    }


if __name__ == "__main__":
    output = asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
    print(json.dumps(output))
