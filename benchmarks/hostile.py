"""Hostile input: what one request inside every limit costs the server (issue 8).

Each case runs against a fresh `ttsd serve` subprocess (so one case's leftovers, such as
ONNX Runtime's arena, do not hide the next one's growth), after a short warm-up request:

* **run-on words**: a 20,000-character transcript of ordinary words without any `.?!,`
  (one espeak sentence), over the WebSocket and over `POST /tts/bytes`;
* **x * 20000**: one "word" of 20,000 letters, both ways;
* **baseline**: the ~80-word paragraph of benchmarks/latency.py, both ways: a normal
  first sentence, for the ratios;
* **stall, parens**: one WebSocket message of 19,999 characters, `"(" + ", " * 9999`,
  while another client polls `GET /` every 5 ms: the worst `GET /` latency says how long
  the event loop was blocked;
* **stall, stream**: 100,000 characters of words fed 1,000 at a time on one context with
  `continue: true`, then an empty `continue: false`, with the same poller.

Measured: time to first audio (from the first byte sent to the first audio chunk/bytes),
the server process's peak RSS growth over the warm RSS (psutil, every 20 ms) and the
worst `GET /` latency. A case stops at first audio + `--tail` seconds (the context is
cancelled and the connection closed) or at `--cutoff` seconds (reported as `>60 s`), and
the server is killed if its RSS grows past `--rss-cap` GiB (reported as `>8 GiB`, so an
old build cannot take the machine down with it).

The same script measures another build of ttsd: `--pythonpath DIR` runs
`python -m ttsd serve` with `PYTHONPATH=DIR` (e.g. a `git worktree` of an older commit's
`src`), `--server-cmd 'CMD --port {port}'` any command that serves on `{port}`.

Run: `.venv/bin/python benchmarks/hostile.py [--cases ...] [--json out.json]`
(needs psutil: `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    LOOPBACK,
    VOICE_RATE,
    BenchmarkError,
    ServerProcess,
    format_table,
    free_port,
    http_ok,
    machine,
    machine_lines,
    median,
    running_process,
    stop_on_sigterm,
    ttsd_serve_argv,
)
from latency import TEXTS

MIB = 1024 * 1024
GIB = 1024 * MIB
#: Ordinary words, no punctuation at all: espeak makes one sentence of the whole text.
_WORDS = (
    "we walked along the river past the old mill and the bakery on the corner then over "
    "the bridge where the fishermen sat with their lines in the water "
)
RUN_ON = (_WORDS * (20_000 // len(_WORDS) + 1))[:20_000]
LONG_WORD = "x" * 20_000
PARENS = "(" + ", " * 9999
STREAM_CHARS = 100_000
STREAM_PIECE = 1_000
BASELINE = TEXTS["paragraph"]
POLL_INTERVAL_S = 0.005
SAMPLE_INTERVAL_S = 0.02


@dataclass(slots=True)
class Result:
    """One case on one transport."""

    case: str
    transport: str
    #: seconds from the first byte sent to the first audio; None if none came
    ttfa_s: float | None = None
    #: peak RSS of the server minus its RSS after the warm-up, in bytes
    rss_growth: int = 0
    #: the server was killed because it grew past --rss-cap
    killed: bool = False
    #: no audio (or no end) within --cutoff seconds
    cut_off: bool = False
    #: worst GET / latency while the case ran (stall cases)
    worst_get_s: float | None = None
    #: an error frame or status, or what went wrong
    note: str = ""


# --- watching the server -----------------------------------------------------------------


class RssWatch:
    """Samples a process's RSS every 20 ms; kills it (SIGKILL) past `cap` bytes of growth."""

    def __init__(self, pid: int, cap: int) -> None:
        import psutil  # type: ignore[import-untyped]

        self._process = psutil.Process(pid)
        self._cap = cap
        self.base = int(self._process.memory_info().rss)
        self.peak = self.base
        self.killed = False
        #: seconds from the start of the watch to the kill
        self.killed_after_s = 0.0
        self._start = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            try:
                rss = int(self._process.memory_info().rss)
            except Exception:  # the process is gone
                return
            self.peak = max(self.peak, rss)
            if rss - self.base > self._cap and not self.killed:
                self.killed = True
                self.killed_after_s = time.perf_counter() - self._start
                with suppress(Exception):
                    self._process.send_signal(signal.SIGKILL)

    def stop(self) -> int:
        """Stop sampling; the peak growth in bytes."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak - self.base


class Poller:
    """`GET /` every 5 ms on one keep-alive connection, remembering the slowest answer."""

    def __init__(self, server: ServerProcess, timeout_s: float) -> None:
        self._server = server
        self._timeout_s = timeout_s
        self.worst = 0.0
        self.count = 0
        self.error = ""
        self._in_flight: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = http.client.HTTPConnection(
            self._server.host, self._server.port, timeout=self._timeout_s
        )
        try:
            while not self._stop.is_set():
                self._in_flight = start = time.perf_counter()
                connection.request("GET", "/")
                connection.getresponse().read()
                self._in_flight = None
                self.worst = max(self.worst, time.perf_counter() - start)
                self.count += 1
                self._stop.wait(POLL_INTERVAL_S)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    def stop(self) -> float:
        """Stop polling; the worst latency (a request still unanswered counts until now)."""
        self._stop.set()
        in_flight = self._in_flight
        if in_flight is not None:
            self.worst = max(self.worst, time.perf_counter() - in_flight)
        self._thread.join(timeout=1)
        return self.worst


# --- the server --------------------------------------------------------------------------


def server_argv(port: int, server_cmd: str | None) -> list[str]:
    """The command that serves on `port`: ours (`python -m ttsd serve`) or `server_cmd`."""
    if server_cmd:
        return ["bash", "-c", "exec " + server_cmd.format(host=LOOPBACK, port=port)]
    return ttsd_serve_argv([sys.executable, "-m", "ttsd"], port)


@contextmanager
def fresh_server(pythonpath: str | None, server_cmd: str | None) -> Iterator[ServerProcess]:
    """A server on a free port, warmed up by one short request; always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TTSD_API_KEYS"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    argv = server_argv(port, server_cmd)
    with running_process("server under test", argv, port, http_ok("/"), env=env) as server:
        ws_case(server, [request_frame("Hello there.", "warm-up", final=True)], 60, 0)
        time.sleep(0.5)
        yield server


#: The voice every request asks for (`--voice`); "benchmark" is no voice of ttsd's, so the
#: server's default voice speaks.
VOICE = {"mode": "id", "id": "benchmark"}


def request_frame(text: str, context_id: str, *, final: bool) -> dict[str, Any]:
    """A WebSocket generation request (raw PCM at the voice's rate, no timestamps)."""
    return {
        "model_id": "sonic-3",
        "transcript": text,
        "voice": VOICE,
        "context_id": context_id,
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": VOICE_RATE},
        "continue": not final,
    }


def ws_case(
    server: ServerProcess, frames: Sequence[dict[str, Any]], cutoff_s: float, tail_s: float
) -> tuple[float | None, bool, str]:
    """Send `frames` on one connection; wait for first audio + `tail_s` (or `done`, or
    `cutoff_s`), then cancel and close. Returns (TTFA, cut off, note)."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    url = f"ws://{server.host}:{server.port}/tts/websocket"
    context_id = str(frames[0]["context_id"])
    first: float | None = None
    note = ""
    with connect(url, max_size=None, open_timeout=30) as connection:
        start = time.perf_counter()
        deadline = start + cutoff_s
        try:
            for frame in frames:
                connection.send(json.dumps(frame))
            while (left := deadline - time.perf_counter()) > 0:
                try:
                    reply: dict[str, Any] = json.loads(connection.recv(timeout=left))
                except TimeoutError:
                    break
                kind = reply.get("type")
                if kind == "chunk" and first is None:
                    first = time.perf_counter()
                    base64.b64decode(reply["data"])
                    deadline = min(deadline, first + tail_s)
                elif kind == "done":
                    break
                elif kind == "error":
                    note = f"error {reply.get('status_code')}: {str(reply.get('error'))[:60]}"
                    break
            with suppress(Exception):
                connection.send(json.dumps({"context_id": context_id, "cancel": True}))
        except ConnectionClosed as exc:
            note = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
    cut_off = first is None and not note and time.perf_counter() >= deadline
    return (None if first is None else first - start), cut_off, note


def rest_case(
    server: ServerProcess, text: str, cutoff_s: float, tail_s: float
) -> tuple[float | None, bool, str]:
    """`POST /tts/bytes`; read until first audio + `tail_s` or `cutoff_s`, then hang up."""
    body = json.dumps(
        {
            "model_id": "sonic-3",
            "transcript": text,
            "voice": VOICE,
            "output_format": {
                "container": "raw",
                "encoding": "pcm_s16le",
                "sample_rate": VOICE_RATE,
            },
        }
    ).encode()
    connection = http.client.HTTPConnection(server.host, server.port, timeout=cutoff_s)
    first: float | None = None
    note = ""
    start = time.perf_counter()
    try:
        connection.request("POST", "/tts/bytes", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            note = f"status {response.status}: {response.read()[:60]!r}"
        else:
            deadline = start + cutoff_s
            while time.perf_counter() < deadline:
                data = response.read1(65536)
                if not data:
                    break
                if first is None:
                    first = time.perf_counter()
                    deadline = first + tail_s
                    if connection.sock is not None:
                        connection.sock.settimeout(max(0.1, tail_s))
    except TimeoutError:
        pass
    except (OSError, http.client.HTTPException) as exc:
        note = f"{type(exc).__name__}"
    finally:
        connection.close()
    cut_off = first is None and not note
    return (None if first is None else first - start), cut_off, note


# --- the cases ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    pythonpath: str | None
    server_cmd: str | None
    cutoff_s: float
    tail_s: float
    rss_cap: int


def measured(
    case: str,
    transport: str,
    options: Options,
    run: Callable[[ServerProcess], tuple[float | None, bool, str]],
    *,
    poll: bool = False,
) -> Result:
    """Run one case on a fresh server, watching its RSS (and `GET /` when `poll`)."""
    with fresh_server(options.pythonpath, options.server_cmd) as server:
        watch = RssWatch(server.pid, options.rss_cap)
        poller = Poller(server, options.cutoff_s) if poll else None
        try:
            ttfa, cut_off, note = run(server)
        except Exception as exc:
            ttfa, cut_off, note = None, False, f"{type(exc).__name__}: {exc}"[:80]
        worst = poller.stop() if poller is not None else None
        growth = watch.stop()
        if watch.killed:
            note = f"killed past {options.rss_cap / GIB:g} GiB after {watch.killed_after_s:.0f} s"
        result = Result(case, transport, ttfa, growth, watch.killed, cut_off, worst, note)
    print(f"  {describe(result, options)}", file=sys.stderr)
    return result


def stream_frames(context_id: str) -> list[dict[str, Any]]:
    """100,000 characters of words, 1,000 a message, then an empty final message."""
    text = (_WORDS * (STREAM_CHARS // len(_WORDS) + 1))[:STREAM_CHARS]
    frames = [
        request_frame(text[i : i + STREAM_PIECE], context_id, final=False)
        for i in range(0, len(text), STREAM_PIECE)
    ]
    return [*frames, request_frame("", context_id, final=True)]


def cases(options: Options) -> dict[str, Callable[[], list[Result]]]:
    """Every case by name, each a list of results (one per transport)."""
    cutoff, tail = options.cutoff_s, options.tail_s

    def ws(text: str) -> Callable[[ServerProcess], tuple[float | None, bool, str]]:
        return lambda s: ws_case(s, [request_frame(text, new_id(), final=True)], cutoff, tail)

    def rest(text: str) -> Callable[[ServerProcess], tuple[float | None, bool, str]]:
        return lambda s: rest_case(s, text, cutoff, tail)

    def both(name: str, text: str, repeat: int = 1) -> Callable[[], list[Result]]:
        return lambda: [
            measured(name, "websocket", options, median_of(repeat, ws(text))),
            measured(name, "POST /tts/bytes", options, median_of(repeat, rest(text))),
        ]

    def stream(server: ServerProcess) -> tuple[float | None, bool, str]:
        return ws_case(server, stream_frames(new_id()), cutoff, tail)

    return {
        # The baseline is quick and noisy: the median of 5 on one server.
        "baseline": both("baseline paragraph", BASELINE, repeat=5),
        "run-on": both("run-on words 20,000", RUN_ON),
        "long-word": both('"x" * 20000', LONG_WORD),
        "parens": lambda: [
            measured('stall: "(" + ", " * 9999', "websocket", options, ws(PARENS), poll=True)
        ],
        "stream": lambda: [
            measured("stall: 100,000 fed 1,000", "websocket", options, stream, poll=True)
        ],
    }


def median_of(
    repeat: int, run: Callable[[ServerProcess], tuple[float | None, bool, str]]
) -> Callable[[ServerProcess], tuple[float | None, bool, str]]:
    """`run` `repeat` times; the median TTFA (the first failure, if any, as is)."""

    def runs(server: ServerProcess) -> tuple[float | None, bool, str]:
        ttfas: list[float] = []
        for _ in range(repeat):
            ttfa, cut_off, note = run(server)
            if ttfa is None:
                return ttfa, cut_off, note
            ttfas.append(ttfa)
        return median(ttfas), False, ""

    return runs


def new_id() -> str:
    return f"hostile-{uuid.uuid4().hex[:12]}"


# --- the report --------------------------------------------------------------------------


def seconds(value: float | None, cut_off: bool, options: Options) -> str:
    if value is None:
        return f">{options.cutoff_s:g} s" if cut_off else "-"
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def growth(result: Result, options: Options) -> str:
    if result.killed:
        return f">{options.rss_cap / GIB:g} GiB"
    return f"{result.rss_growth / MIB:+.0f} MiB"


def describe(result: Result, options: Options) -> str:
    worst = "" if result.worst_get_s is None else f", worst GET / {result.worst_get_s:.3f} s"
    return (
        f"{result.case} / {result.transport}: TTFA "
        f"{seconds(result.ttfa_s, result.cut_off, options)}, RSS {growth(result, options)}"
        f"{worst}{' (' + result.note + ')' if result.note else ''}"
    )


def render_table(results: list[Result], options: Options) -> str:
    """One row per case and transport; TTFA also as a ratio to the baseline's."""
    baseline = {r.transport: r.ttfa_s for r in results if r.case.startswith("baseline")}
    rows: list[list[str]] = []
    notes: list[str] = []
    for r in results:
        base = baseline.get(r.transport)
        ratio = f"{r.ttfa_s / base:.1f}" if r.ttfa_s is not None and base else "-"
        if r.ttfa_s is None and r.cut_off and base:
            ratio = f">{options.cutoff_s / base:.0f}"
        worst = "-" if r.worst_get_s is None else f"{r.worst_get_s * 1000:.0f}"
        rows.append(
            [
                r.case,
                r.transport,
                seconds(r.ttfa_s, r.cut_off, options),
                ratio,
                growth(r, options),
                worst,
            ]
        )
        if r.note:
            notes.append(f"{r.case} / {r.transport}: {r.note}")
    header = ["case", "transport", "TTFA", "TTFA/base", "peak RSS", "worst GET / ms"]
    return "\n".join([format_table(header, rows, left=2), "", *notes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--cases",
        default="baseline,run-on,long-word,parens,stream",
        help="comma-separated: baseline, run-on, long-word, parens, stream [all]",
    )
    parser.add_argument("--pythonpath", help="run `python -m ttsd serve` with this PYTHONPATH")
    parser.add_argument("--server-cmd", help="serve with this shell command; {port} is filled in")
    parser.add_argument("--label", default="", help="what is measured, for the report")
    parser.add_argument("--cutoff", type=float, default=60.0, help="seconds a case may take [60]")
    parser.add_argument("--tail", type=float, default=1.0, help="seconds after first audio [1]")
    parser.add_argument(
        "--rss-cap", type=float, default=8.0, help="kill the server past this growth, GiB [8]"
    )
    parser.add_argument(
        "--voice", help="the voice id every request asks for (af_heart: Kokoro) [the default]"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.voice:
        VOICE["id"] = args.voice
    stop_on_sigterm()
    options = Options(
        args.pythonpath, args.server_cmd, args.cutoff, args.tail, int(args.rss_cap * GIB)
    )
    available = cases(options)
    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    if unknown := [c for c in chosen if c not in available]:
        parser.error(f"unknown cases {unknown}; known: {sorted(available)}")
    info = machine()
    label = (
        args.label
        or args.server_cmd
        or (f"PYTHONPATH={args.pythonpath}" if args.pythonpath else "this checkout")
    )
    print(f"server under test: {label}", file=sys.stderr)
    results: list[Result] = []
    try:
        for name in chosen:
            results += available[name]()
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    info["loadavg_end"] = list(os.getloadavg())
    print("\n".join(machine_lines(info)))
    print(f"server under test: {label}")
    print(
        f"each case on a fresh server after one warm-up; cut off at {args.cutoff:g} s, at first "
        f"audio + {args.tail:g} s, or when RSS grew past {args.rss_cap:g} GiB\n"
    )
    print(render_table(results, options))
    if args.json is not None:
        document = {"machine": info, "label": label, "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
