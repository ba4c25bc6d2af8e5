"""Drive pipecat's Cartesia services through real pipelines against a running ttsd.

    python tests/e2e/pipecat_scenarios.py 127.0.0.1:8420 OUT_DIR

Meant for the interpreter of a venv with `pipecat-ai[cartesia]` (its pins conflict with the
project's, so scripts/test.sh builds `.venv-pipecat`): it imports only pipecat and the
standard library, not ttsd and not pytest. tests/e2e/test_pipecat.py runs it and checks
what it prints: one JSON object

    {"pipecat_version": "1.14.0",
     "sample_rate": 24000,
     "import_deprecations": ["..."],    # DeprecationWarnings raised importing pipecat
     "deprecations": ["..."],           # the ones raised building and running the pipelines
     "log_problems": ["..."],           # pipecat's WARNING and ERROR log lines
     "pipeline_errors": ["..."],        # ErrorFrames that reached the pipeline worker
     "scenarios": {NAME: {"events": [[kind, context_id, detail], ...],
                          "contexts": [context_id, ...],
                          "audio": {context_id: "FILE.pcm"},
                          "words": {context_id: [[text, pts_ns], ...]},
                          "marks": {...}}}}

Every scenario runs a `Pipeline([tts, sink])` in a `PipelineWorker`; the sink records the
frames the TTS service pushes downstream in order (`started`, `audio` with its byte count,
`word`, `stopped`, `interruption`, `llm_start`, `llm_end`) and writes each context's audio
(16-bit mono PCM at `sample_rate`) to OUT_DIR. The scenarios:

* `sentences`: `CartesiaTTSService` in its default (sentence) aggregation, fed an LLM-style
  reply: `LLMFullResponseStartFrame`, the text as `LLMTextFrame` tokens, then
  `LLMFullResponseEndFrame`.
* `tokens`: the same with `text_aggregation_mode=TextAggregationMode.TOKEN`, so every token
  goes to ttsd as it comes (one split inside a word).
* `interruption`: a long reply sent whole, an interruption (`InterruptionWorkerFrame`, which
  the worker turns into an `InterruptionFrame`, as a user starting to speak does) once its
  first audio reached the sink, then a new reply. `marks` holds the index of the event at
  which the interruption was queued and the interrupted context.
* `http`: `CartesiaHttpTTSService` (POST /tts/bytes) fed the same kind of reply.

The services are configured with pipecat's current settings form,
`settings=CartesiaTTSService.Settings(voice=...)`; a deprecated form would show up in
`deprecations`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

#: Every DeprecationWarning, whatever raised it (pipecat warns "always" itself; this shows
#: the ones raised the ordinary way too).
_DEPRECATIONS: list[str] = []


def _record_warning(message: Any, category: Any, filename: str, lineno: int, *_: Any) -> None:
    if issubclass(category, DeprecationWarning):
        _DEPRECATIONS.append(f"{filename}:{lineno}: {category.__name__}: {message}")
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno))


warnings.simplefilter("always", DeprecationWarning)
warnings.showwarning = _record_warning

import pipecat  # noqa: E402
from loguru import logger  # noqa: E402
from pipecat.frames.frames import (  # noqa: E402
    EndFrame,
    Frame,
    InterruptionFrame,
    InterruptionWorkerFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineParams, PipelineWorker  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.services.cartesia.tts import (  # noqa: E402
    CartesiaHttpTTSService,
    CartesiaTTSService,
)
from pipecat.services.tts_service import TextAggregationMode  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402

#: Raised inside pipecat's own imports (not something a user of it can change).
_IMPORT_DEPRECATIONS = list(_DEPRECATIONS)
_DEPRECATIONS.clear()

VOICE = "en_US-joe-medium"
SAMPLE_RATE = 24000

#: The replies, as an LLM streams them: word pieces with their leading spaces.
SENTENCES = ["Good", " morning", ",", " my", " name", " is", " Joe", ".", " I", " would"]
SENTENCES += [" like", " a", " cup", " of", " coffee", "."]
#: One word split in two, as tokenizers do with rarer words.
TOKENS = ["Please", " call", " me", " tom", "orrow", " morning", "."]
#: About 20 s of speech, which ttsd takes a second or more to synthesize: the cancel comes
#: long before its end.
LONG = 2 * (
    "The quick brown fox jumps over the lazy dog. One two three four five six seven. "
    "Please call me tomorrow morning. I would like a cup of coffee. "
    "Good morning, my name is Joe. Thank you very much. "
)
AFTER = ["Thank", " you", " very", " much", "."]
HTTP = ["I", " would", " like", " a", " cup", " of", " coffee", "."]

_LOG_PROBLEMS: list[str] = []
_PIPELINE_ERRORS: list[str] = []


class Sink(FrameProcessor):
    """Records what the TTS service pushes downstream and keeps each context's audio."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[list[Any]] = []
        self.audio: dict[str, bytearray] = {}
        self.words: dict[str, list[list[Any]]] = {}
        self.contexts: list[str] = []
        self.stopped: dict[str, asyncio.Event] = {}

    def _context(self, context_id: str | None) -> str:
        key = context_id or ""
        if key not in self.audio:
            self.contexts.append(key)
            self.audio[key] = bytearray()
            self.words[key] = []
        return key

    def event(self, kind: str, context_id: str | None = None, detail: Any = None) -> None:
        self.events.append([kind, context_id, detail])

    def stopped_event(self, context_id: str) -> asyncio.Event:
        return self.stopped.setdefault(context_id, asyncio.Event())

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            self._record(frame)
        await self.push_frame(frame, direction)

    def _record(self, frame: Frame) -> None:
        if isinstance(frame, TTSAudioRawFrame):
            if frame.context_id is None and not any(frame.audio):
                # The silence TTSService pushes after a TTSStoppedFrame (no context).
                self.event("silence", None, len(frame.audio))
                return
            key = self._context(frame.context_id)
            assert frame.sample_rate == SAMPLE_RATE and frame.num_channels == 1, frame
            self.audio[key] += frame.audio
            self.event("audio", frame.context_id, len(frame.audio))
        elif isinstance(frame, TTSTextFrame):
            key = self._context(frame.context_id)
            self.words[key].append([frame.text, frame.pts])
            self.event("word", frame.context_id, frame.text)
        elif isinstance(frame, TTSStartedFrame):
            self._context(frame.context_id)
            self.event("started", frame.context_id)
        elif isinstance(frame, TTSStoppedFrame):
            self.event("stopped", frame.context_id)
            self.stopped_event(frame.context_id or "").set()
        elif isinstance(frame, InterruptionFrame):
            self.event("interruption")
        elif isinstance(frame, LLMFullResponseStartFrame):
            self.event("llm_start")
        elif isinstance(frame, LLMFullResponseEndFrame):
            self.event("llm_end")

    async def next_stop(self, timeout: float = 60) -> str:
        """Wait for a context to stop that had not when called; its id."""
        seen = {key for key, ev in self.stopped.items() if ev.is_set()}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [key for key, ev in self.stopped.items() if ev.is_set() and key not in seen]
            if done:
                return done[0]
            await asyncio.sleep(0.02)
        raise TimeoutError("no TTSStoppedFrame")

    async def audio_of_next_context(self, after: int, timeout: float = 60) -> str:
        """Wait for audio of a context first seen after `after` contexts; its id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for key in self.contexts[after:]:
                if self.audio[key]:
                    return key
            await asyncio.sleep(0.005)
        raise TimeoutError("no audio")

    def result(self, out_dir: Path, name: str, marks: dict[str, Any]) -> dict[str, Any]:
        files = {}
        for n, key in enumerate(self.contexts):
            path = out_dir / f"{name}-{n}.pcm"
            path.write_bytes(bytes(self.audio[key]))
            files[key] = path.name
        return {
            "events": self.events,
            "contexts": self.contexts,
            "audio": files,
            "words": self.words,
            "marks": marks,
        }


def _reply(tokens: list[str]) -> list[Frame]:
    return [LLMFullResponseStartFrame(), *(LLMTextFrame(t) for t in tokens)]


async def _stream_reply(worker: PipelineWorker, tokens: list[str], gap: float = 0.02) -> None:
    """Queue one LLM reply token by token, `gap` seconds apart, as an LLM streams it."""
    await worker.queue_frame(LLMFullResponseStartFrame())
    for token in tokens:
        await worker.queue_frame(LLMTextFrame(token))
        await asyncio.sleep(gap)
    await worker.queue_frame(LLMFullResponseEndFrame())


async def _run(tts: Any, script: Any) -> Sink:
    """Run `Pipeline([tts, sink])` while `script(worker, sink)` feeds it, then end it."""
    sink = Sink()
    worker = PipelineWorker(
        Pipeline([tts, sink]),
        params=PipelineParams(audio_out_sample_rate=SAMPLE_RATE),
        enable_rtvi=False,
        idle_timeout_secs=None,
    )

    @worker.event_handler("on_pipeline_error")
    async def on_pipeline_error(_worker: Any, frame: Any) -> None:
        _PIPELINE_ERRORS.append(str(frame.error))

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    try:
        await script(worker, sink)
        await worker.queue_frame(EndFrame())
        await asyncio.wait_for(asyncio.shield(running), 30)
    finally:
        if not running.done():
            await runner.cancel()
            await running
    return sink


def _ws_service(base: str, **options: Any) -> CartesiaTTSService:
    # The README's example (keep in sync).
    return CartesiaTTSService(
        api_key="anything",
        url=f"ws://{base}/tts/websocket",
        settings=CartesiaTTSService.Settings(voice=VOICE),
        **options,
    )


async def sentences(base: str) -> Sink:
    async def script(worker: PipelineWorker, sink: Sink) -> None:
        await _stream_reply(worker, SENTENCES)
        await sink.next_stop()

    return await _run(_ws_service(base), script)


async def tokens(base: str) -> Sink:
    async def script(worker: PipelineWorker, sink: Sink) -> None:
        await _stream_reply(worker, TOKENS)
        await sink.next_stop()

    return await _run(_ws_service(base, text_aggregation_mode=TextAggregationMode.TOKEN), script)


async def interruption(base: str) -> tuple[Sink, dict[str, Any]]:
    marks: dict[str, Any] = {}

    async def script(worker: PipelineWorker, sink: Sink) -> None:
        await worker.queue_frames([*_reply([LONG]), LLMFullResponseEndFrame()])
        first = await sink.audio_of_next_context(0)
        marks["interrupted_context"] = first
        marks["interrupted_at_event"] = len(sink.events)
        marks["audio_bytes_at_interruption"] = len(sink.audio[first])
        await worker.queue_frame(InterruptionWorkerFrame())
        # What is still in flight for the cancelled context would arrive now.
        await asyncio.sleep(1.0)
        await _stream_reply(worker, AFTER)
        stopped = await sink.next_stop()
        marks["after_context"] = stopped

    sink = await _run(_ws_service(base), script)
    return sink, marks


async def http(base: str) -> Sink:
    tts = CartesiaHttpTTSService(
        api_key="anything",
        base_url=f"http://{base}",
        settings=CartesiaHttpTTSService.Settings(voice=VOICE),
    )

    async def script(worker: PipelineWorker, sink: Sink) -> None:
        await _stream_reply(worker, HTTP)
        await sink.next_stop()

    return await _run(tts, script)


def _log_sink(message: Any) -> None:
    record = message.record
    _LOG_PROBLEMS.append(f"{record['level'].name} {record['name']}: {record['message']}")


async def main(base: str, out_dir: Path) -> dict[str, Any]:
    logger.remove()
    logger.add(sys.stderr, level="INFO")
    logger.add(_log_sink, level="WARNING")
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    results["sentences"] = (await sentences(base)).result(out_dir, "sentences", {})
    results["tokens"] = (await tokens(base)).result(out_dir, "tokens", {})
    sink, marks = await interruption(base)
    results["interruption"] = sink.result(out_dir, "interruption", marks)
    results["http"] = (await http(base)).result(out_dir, "http", {})
    return {
        "pipecat_version": pipecat.__version__,
        "sample_rate": SAMPLE_RATE,
        "texts": {
            "sentences": "".join(SENTENCES),
            "tokens": "".join(TOKENS),
            "long": LONG,
            "after": "".join(AFTER),
            "http": "".join(HTTP),
        },
        "import_deprecations": _IMPORT_DEPRECATIONS,
        "deprecations": _DEPRECATIONS,
        "log_problems": _LOG_PROBLEMS,
        "pipeline_errors": _PIPELINE_ERRORS,
        "scenarios": results,
    }


if __name__ == "__main__":
    output = asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
    print(json.dumps(output))
