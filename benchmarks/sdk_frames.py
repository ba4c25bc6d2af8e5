"""The SDK's cost per frame (issue 13 part 3): `ttsd.client`'s response parsing beside two
pydantic versions of it, measured in the same run.

The SDK parses every frame a server sends (`_responses.parse_frame`: `json.loads`, then
hand-written field readers, then base64 for audio). The issue asked whether pydantic
models or a `TypeAdapter` would be shorter, clearer in their errors, and how much each
costs per frame. Two pydantic prototypes live in this file, in three rows (pydantic is
the server's dependency, not the client's, so they cannot live in `ttsd.client`):

* **pydantic strict**: what the issue imagined: one `BaseModel` per frame type in a
  `TypeAdapter` over their union, discriminated by `type`, strict types, then the SDK's
  dataclasses built from the model. Malformed frames raise `ValidationError`, so it is
  *not* today's behaviour (4 of the 23 tests in tests/client/test_responses.py fail on
  it).
* **pydantic strict, validate_json**: the same adapter fed the JSON text (pydantic-core's
  own parser, no dict in between): as fast as pydantic gets, but it cannot fill
  `Response.raw` (the frame as received) without a second `json.loads`.
* **pydantic lenient**: today's behaviour in pydantic (tests/client/test_responses.py
  passes on it whole): each
  field `on_error="default"` (a mistyped field becomes None), list items
  `on_error="omit"`, and the SDK's own code for what pydantic does not express (the type
  inferred from the fields, the legacy `error` string, base64 that logs and drops).

Frames are the server's own (`ttsd.protocol.frames`, serialized compactly as the server's
orjson does): a chunk of `--chunk-bytes` of audio (32 KiB, the server's default
`max_audio_frame_bytes`: 43,692 characters of base64), word timestamps for 20 words,
`flush_done`, `done` and `error`. `floor` is the work no parser avoids: `json.loads`
(and `base64.b64decode` for the chunk). Each implementation is first checked to return
what the SDK returns for every frame (and the lenient one also for malformed frames);
then the implementations are timed in turns, `--rounds` times, in CPU time of the thread
(`time.thread_time`: other processes on a shared machine disturb it far less than the
wall clock), and the best and the median round are reported in µs per frame.

Run: `.venv/bin/python benchmarks/sdk_frames.py [--errors] [--json FILE]` (about 30 s;
the pydantic rows need pydantic, i.e. `pip install -e '.[server]'`; in a client-only
install only the SDK is measured). `--errors` also prints what each implementation makes
of malformed frames.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal

from benchlib import format_table
from ttsd.client._responses import parse_frame
from ttsd.client.types import (
    Chunk,
    Done,
    Error,
    FlushDone,
    PhonemeTimestamps,
    PhonemeTimings,
    Response,
    Timestamps,
    WordTimings,
)
from ttsd.protocol import frames
from ttsd.protocol.errors import ErrorCode, ProtocolError

Parse = Callable[[str], Response]
#: benchmarks/latency.py's long sentence; the timestamps frame carries its first 20 words
SENTENCE = (
    "The package with the replacement parts that you ordered from our online store last "
    "week has already left the warehouse and should reach the post office near your home"
)
WORDS = SENTENCE.split()[:20]


def realistic_frames(chunk_bytes: int) -> dict[str, str]:
    """Frame kind → the frame's text, as the server sends it."""
    audio = random.Random(13).randbytes(chunk_bytes)
    starts = [round(0.31 * i, 3) for i in range(len(WORDS))]
    error = ProtocolError(
        400, ErrorCode.INVALID_REQUEST, "Invalid request", "`voice` is required", context_id="c1"
    )
    built = {
        f"chunk ({chunk_bytes // 1024} KiB audio)": frames.chunk_frame(
            "c1", base64.b64encode(audio).decode(), 123.4, 2
        ),
        f"timestamps ({len(WORDS)} words)": frames.timestamps_frame(
            "c1", WORDS, starts, [round(s + 0.28, 3) for s in starts], 2
        ),
        "flush_done": frames.flush_done_frame("c1", 2),
        "done": frames.done_frame("c1"),
        "error": frames.error_frame(error, "req-5f1c"),
    }
    return {kind: json.dumps(frame, separators=(",", ":")) for kind, frame in built.items()}


#: Malformed frames: what a user of each implementation sees.
MALFORMED: dict[str, dict[str, Any]] = {
    "missing field: a chunk without `data`": {"type": "chunk", "context_id": "c1", "flush_id": 1},
    "wrong type: `flush_id` a string": {
        "type": "chunk",
        "context_id": "c1",
        "flush_id": "1",
        "data": "AAAA",
    },
    "bad base64 in `data`": {"type": "chunk", "context_id": "c1", "data": "!!notbase64"},
    "wrong type in a list: `start` holds a string": {
        "type": "timestamps",
        "context_id": "c1",
        "word_timestamps": {"words": ["a", "b"], "start": [0, "0.5"], "end": [0.5, 1.0]},
    },
    "wrong type: `words` a number": {
        "type": "timestamps",
        "context_id": "c1",
        "word_timestamps": {"words": 5, "start": [0.0], "end": [0.5]},
    },
    "a type this client does not know": {"type": "novel", "context_id": "c1"},
    "no `type` (typed from its fields)": {"context_id": "c1", "flush_done": True, "flush_id": 3},
}


# -- the pydantic prototypes ------------------------------------------------------------


def pydantic_parsers() -> dict[str, Parse]:
    """The pydantic prototypes (imported here: a client-only install has no pydantic)."""
    from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, with_config
    from pydantic_core import core_schema
    from typing_extensions import TypedDict

    # -- strict: one model per frame type, a discriminated union, ValidationError on bad input

    def b64(value: str) -> bytes:
        return base64.b64decode(value, validate=True)  # binascii.Error is a ValueError

    class Frame(BaseModel):
        model_config = ConfigDict(strict=True)
        context_id: str | None = None
        status_code: int | None = None
        flush_id: int | None = None
        done: bool = False

        def common(self, raw: Mapping[str, Any]) -> dict[str, Any]:
            return {
                "context_id": self.context_id,
                "status_code": self.status_code,
                "flush_id": self.flush_id,
                "raw": raw,
            }

    class Timings(BaseModel):
        model_config = ConfigDict(strict=True)
        start: list[float] = Field(default_factory=list)
        end: list[float] = Field(default_factory=list)

    class Words(Timings):
        words: list[str] = Field(default_factory=list)

    class Phonemes(Timings):
        phonemes: list[str] = Field(default_factory=list)

    class ChunkFrame(Frame):
        type: Literal["chunk"]
        data: Annotated[str, AfterValidator(b64)]
        step_time: float | None = None

        def response(self, raw: Mapping[str, Any]) -> Response:
            audio: Any = self.data  # bytes after the validator
            return Chunk(done=self.done, audio=audio, step_time=self.step_time, **self.common(raw))

    class TimestampsFrame(Frame):
        type: Literal["timestamps"]
        word_timestamps: Words

        def response(self, raw: Mapping[str, Any]) -> Response:
            w = self.word_timestamps
            timings = WordTimings(tuple(w.words), tuple(w.start), tuple(w.end))
            return Timestamps(done=self.done, word_timestamps=timings, **self.common(raw))

    class PhonemeTimestampsFrame(Frame):
        type: Literal["phoneme_timestamps"]
        phoneme_timestamps: Phonemes

        def response(self, raw: Mapping[str, Any]) -> Response:
            p = self.phoneme_timestamps
            timings = PhonemeTimings(tuple(p.phonemes), tuple(p.start), tuple(p.end))
            return PhonemeTimestamps(done=self.done, phoneme_timestamps=timings, **self.common(raw))

    class FlushDoneFrame(Frame):
        type: Literal["flush_done"]

        def response(self, raw: Mapping[str, Any]) -> Response:
            return FlushDone(done=self.done, **self.common(raw))

    class DoneFrame(Frame):
        type: Literal["done"]

        def response(self, raw: Mapping[str, Any]) -> Response:
            return Done(**self.common(raw))

    class ErrorFrame(Frame):
        type: Literal["error"]
        title: str | None = None
        message: str | None = None
        error_code: str | None = None
        request_id: str | None = None
        error: str | None = None

        def response(self, raw: Mapping[str, Any]) -> Response:
            title, message = self.title, self.message
            if title is None and message is None and self.error:
                title, _, rest = self.error.partition(": ")
                message = rest or None
            return Error(
                error_code=self.error_code,
                title=title,
                message=message,
                request_id=self.request_id,
                **self.common(raw),
            )

    frame_types = ChunkFrame | TimestampsFrame | PhonemeTimestampsFrame | FlushDoneFrame
    strict: Any = TypeAdapter(
        Annotated[frame_types | DoneFrame | ErrorFrame, Field(discriminator="type")]
    )

    def parse_strict(data: str) -> Response:
        obj = json.loads(data)
        return strict.validate_python(obj).response(obj)

    def parse_strict_json(data: str) -> Response:
        return strict.validate_json(data).response({})  # no `raw` without a second parse

    # -- lenient: today's behaviour (a mistyped field becomes None, never an error) --------

    class OrDefault:
        """Missing or mistyped: `default`."""

        def __init__(self, default: Any) -> None:
            self.default = default

        def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
            return core_schema.with_default_schema(
                handler(source), default=self.default, on_error="default"
            )

    class Omit:
        """A mistyped list item is dropped."""

        def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
            return core_schema.with_default_schema(handler(source), on_error="omit")

    def audio(data: Any) -> bytes:
        if not isinstance(data, str):
            return b""
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            logging.getLogger("ttsd.client").warning(
                "a chunk's `data` is not base64; its audio is dropped"
            )
            return b""

    def labels(values: Any) -> tuple[str, ...]:
        return tuple([str(v) for v in values]) if isinstance(values, list) else ()

    Str = Annotated[str | None, OrDefault(None)]
    Int = Annotated[int | None, OrDefault(None)]
    Floats = Annotated[list[Annotated[float, Omit()]], AfterValidator(tuple), OrDefault(())]
    Labels = Annotated[Any, AfterValidator(labels), OrDefault(())]

    @with_config(ConfigDict(strict=True))
    class LenientWords(TypedDict, total=False):
        words: Labels
        start: Floats
        end: Floats

    @with_config(ConfigDict(strict=True))
    class LenientPhonemes(TypedDict, total=False):
        phonemes: Labels
        start: Floats
        end: Floats

    @with_config(ConfigDict(strict=True))
    class LenientFrame(TypedDict, total=False):
        type: Str
        context_id: Str
        status_code: Int
        flush_id: Int
        done: Annotated[bool, OrDefault(False)]
        data: Annotated[Any, AfterValidator(audio), OrDefault(b"")]
        step_time: Annotated[float | None, OrDefault(None)]
        word_timestamps: Annotated[LenientWords | None, OrDefault(None)]
        phoneme_timestamps: Annotated[LenientPhonemes | None, OrDefault(None)]
        error_code: Str
        title: Str
        message: Str
        request_id: Str
        error: Str

    lenient = TypeAdapter(LenientFrame)

    def kind_of(obj: Mapping[str, Any]) -> str | None:  # the SDK's _infer_type
        if obj.get("title") is not None or obj.get("error") is not None:
            return "error"
        if obj.get("flush_done") is True:
            return "flush_done"
        for key, kind in (
            ("data", "chunk"),
            ("word_timestamps", "timestamps"),
            ("phoneme_timestamps", "phoneme_timestamps"),
        ):
            if key in obj:
                return kind
        return "done" if obj.get("done") is True else None

    def parse_lenient(data: str) -> Response:
        try:
            obj = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise ValueError(f"not a JSON object: {type(obj).__name__}")
        f: Any = lenient.validate_python(obj)
        kind = f["type"] or kind_of(obj)
        common = {k: f[k] for k in ("context_id", "status_code", "flush_id")}
        common["raw"] = obj
        if kind == "chunk":
            return Chunk(done=f["done"], audio=f["data"], step_time=f["step_time"], **common)
        if kind == "timestamps":
            w = f["word_timestamps"] or {"words": (), "start": (), "end": ()}
            timings = WordTimings(w["words"], w["start"], w["end"])
            return Timestamps(done=f["done"], word_timestamps=timings, **common)
        if kind == "phoneme_timestamps":
            p = f["phoneme_timestamps"] or {"phonemes": (), "start": (), "end": ()}
            phonemes = PhonemeTimings(p["phonemes"], p["start"], p["end"])
            return PhonemeTimestamps(done=f["done"], phoneme_timestamps=phonemes, **common)
        if kind == "flush_done":
            return FlushDone(done=f["done"], **common)
        if kind == "done":
            return Done(**common)
        if kind == "error":
            title, message = f["title"], f["message"]
            if title is None and message is None and f["error"]:
                title, _, rest = f["error"].partition(": ")
                message = rest or None
            return Error(
                error_code=f["error_code"],
                title=title,
                message=message,
                request_id=f["request_id"],
                **common,
            )
        return Response(type=kind or "", done=f["done"], **common)

    return {
        "pydantic lenient": parse_lenient,
        "pydantic strict": parse_strict,
        "pydantic strict, validate_json": parse_strict_json,
    }


# -- measuring ---------------------------------------------------------------------------


def floor(data: str) -> Any:
    """What no parser avoids: the JSON, and the audio's base64."""
    obj = json.loads(data)
    if isinstance(obj.get("data"), str):
        base64.b64decode(obj["data"], validate=True)
    return obj


def same(a: Response, b: Response) -> bool:
    """Equal as a user sees them (`raw` is not compared: validate_json has none)."""
    return type(a) is type(b) and a == b and a.audio == b.audio


def outcome_text(parse: Parse, data: str) -> str:
    """What parsing one frame gives a user: the response and any log lines, or the error."""
    logger = logging.getLogger("ttsd.client")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    level, logger.propagate = logger.level, False
    logger.setLevel(logging.WARNING)
    try:
        text = repr(parse(data))
    except Exception as exc:
        text = f"raises {type(exc).__name__}: {exc}"
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = True
    return "\n".join([text, *(f"logs {r.levelname}: {r.getMessage()}" for r in records)])


def time_per_call(fn: Callable[[str], Any], data: str, target_s: float) -> tuple[int, float]:
    """(calls per round, seconds per call) from a short calibration."""
    number, elapsed = 1, 0.0
    while elapsed < target_s / 4:
        number *= 2
        start = time.thread_time()
        for _ in range(number):
            fn(data)
        elapsed = time.thread_time() - start
    return max(1, int(number * target_s / elapsed)), elapsed / number


def measure(
    parsers: Mapping[str, Callable[[str], Any]], data: str, rounds: int, round_s: float
) -> dict[str, list[float]]:
    """Seconds per call of each parser, one number per round; the parsers take turns, in a
    new order each round (the first after a switch is not always the same one)."""
    numbers = {name: time_per_call(fn, data, round_s)[0] for name, fn in parsers.items()}
    samples: dict[str, list[float]] = {name: [] for name in parsers}
    order = list(parsers)
    shuffle = random.Random(len(data)).shuffle
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            fn, number = parsers[name], numbers[name]
            start = time.thread_time()
            for _ in range(number):
                fn(data)
            samples[name].append((time.thread_time() - start) / number)
    return samples


def import_seconds(code: str, runs: int = 5) -> float:
    """The median wall time of `code` in a fresh interpreter (imports, schema building)."""
    probe = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            cwd=Path(__file__).parent,
        )
        times.append(float(done.stdout))
    return statistics.median(times)


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunk-bytes", type=int, default=32 * 1024, help="audio per chunk")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per parser")
    parser.add_argument("--round-s", type=float, default=0.1, help="seconds per round")
    parser.add_argument("--errors", action="store_true", help="print malformed frames' outcomes")
    parser.add_argument("--json", type=Path, help="write every sample here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the lenient parsers' base64 warnings

    parsers: dict[str, Parse] = {"sdk (ttsd.client)": parse_frame}
    try:
        parsers.update(pydantic_parsers())
    except ImportError:
        print("pydantic is not installed: only the SDK is measured", file=sys.stderr)
    texts = realistic_frames(args.chunk_bytes)

    mismatches = [
        f"{name}: {kind}"
        for kind, data in texts.items()
        for name, parse in parsers.items()
        if not same(parse(data), parse_frame(data))
    ]
    lenient = parsers.get("pydantic lenient")
    for kind, frame in MALFORMED.items() if lenient else ():
        data = json.dumps(frame)
        if not same(lenient(data), parse_frame(data)):  # type: ignore[misc]
            mismatches.append(f"pydantic lenient: {kind}")
    if mismatches:
        print("not the SDK's responses:\n  " + "\n  ".join(mismatches), file=sys.stderr)
        return 1

    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"pydantic {version('pydantic')}, pydantic-core {version('pydantic-core')}; "
        f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    results: dict[str, dict[str, list[float]]] = {}
    rows: list[list[str]] = []
    sdk = "sdk (ttsd.client)"
    for kind, data in texts.items():
        timed: dict[str, Callable[[str], Any]] = {"floor (json.loads + base64)": floor, **parsers}
        samples = measure(timed, data, args.rounds, args.round_s)
        results[kind] = samples
        best = {name: min(values) for name, values in samples.items()}
        if rows:
            rows.append([])
        for name in timed:
            rows.append(
                [
                    kind if name == sdk else "",
                    name,
                    f"{best[name] * 1e6:.1f}",
                    f"{statistics.median(samples[name]) * 1e6:.1f}",
                    "1.00" if name == sdk else f"{best[name] / best[sdk]:.2f}",
                ]
            )
    header = ["frame", "parser", "µs/frame (best)", "µs (median)", "× sdk"]
    print(f"\n{len(texts)} frames, best of {args.rounds} rounds of ~{args.round_s} s each\n")
    print(format_table(header, rows, left=2))

    # sdk_frames itself (benchlib, ttsd.protocol) in both, so the difference is pydantic's
    imports = {
        "import ttsd.client (and this script)": import_seconds("import ttsd.client, sdk_frames")
    }
    if len(parsers) > 1:
        imports["... + import pydantic, build the prototypes"] = import_seconds(
            "import ttsd.client, sdk_frames; sdk_frames.pydantic_parsers()"
        )
    print()
    print(
        format_table(
            ["fresh interpreter", "ms (median of 5)"],
            [[what, f"{s * 1000:.0f}"] for what, s in imports.items()],
        )
    )

    if args.errors:
        for kind, frame in MALFORMED.items():
            print(f"\n## {kind}: {json.dumps(frame)}")
            for name, parse in parsers.items():
                if name != "pydantic strict, validate_json":  # the same errors as strict
                    text = outcome_text(parse, json.dumps(frame)).replace("\n", "\n    ")
                    print(f"- {name}:\n    {text}")

    if args.json:
        args.json.write_text(
            json.dumps({"seconds_per_frame": results, "import_seconds": imports}, indent=2),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
