"""`concurrent` (issue 4's targets 3 and 4): 8 requests (`--concurrency`) at once on
separate connections, each the paragraph, `--rounds` (3) times: p50/p95 TTFA, aggregate
throughput (audio seconds per wall second, first send to last end) against raw's
single-stream throughput, and playback lead: a player that starts at the first chunk has,
at chunk i, `audio before i - (arrival i - arrival 0)` seconds in hand; the worst
(smallest) lead over all chunks of all streams is reported (negative: the player
starves).

Checks `3a`, `3b` and `4` (benchmarks/README.md, "Issue 4's targets").
"""

from __future__ import annotations

import asyncio
from typing import Any

from benchlib import Check, format_table, median, ms
from load_scenarios.common import (
    SYSTEMS,
    TEXTS,
    Bench,
    Stream,
    concurrent_rounds,
    ratio_check,
)

#: Goals (issue 4's, tightened by issue 10): 3a p95 first audio of 8 connections against
#: wyoming-piper's p95; 3b their throughput against raw's single stream.
P95_VS_WYOMING_GOAL = 0.12
THROUGHPUT_GOAL = 1.1


async def measure(bench: Bench) -> dict[str, Any]:
    """(3, 4) `concurrency` connections at once, each the paragraph."""
    options = bench.options
    text = TEXTS["paragraph"]
    raw: list[Stream] = []
    for _ in range(options.runs):
        await asyncio.sleep(options.pause)
        raw.append(bench.raw.speak(text))
    out: dict[str, Any] = {
        "raw_throughput": median([s.audio_s / s.total for s in raw]),
        "raw_ttfa_s": median([s.ttfa for s in raw]),
    }
    for client in [bench.clients["ttsd"], *bench.peers("wyoming-piper", "piper-http")]:
        await client.speak(text)  # warm-up
        out[client.name] = await concurrent_rounds(
            bench, client, options.concurrency, options.rounds, text
        )
    return out


def checks(concurrent: dict[str, Any]) -> list[Check]:
    """3a (p95 TTFA against wyoming-piper's), 3b (throughput against raw's single
    stream) and 4 (worst playback lead)."""
    out: list[Check] = []
    ttsd = concurrent["ttsd"]
    n = ttsd["count"]
    wyoming = concurrent.get("wyoming-piper")
    out.append(
        ratio_check(
            "3a",
            f"p95 TTFA, {n} connections",
            ttsd["ttfa_s"]["p95"],
            wyoming["ttfa_s"]["p95"] if wyoming else None,
            "wyoming p95",
            P95_VS_WYOMING_GOAL,
            upper=True,
        )
    )
    value, reference = ttsd["throughput"], concurrent["raw_throughput"]
    out.append(
        Check(
            "3b",
            f"throughput (audio s / wall s), {n} connections",
            f"{value:.1f}x" if value else "-",
            f"raw 1 stream {reference:.1f}x",
            value / reference if value else None,
            f">= {THROUGHPUT_GOAL:.2f}",
            bool(value) and value / reference >= THROUGHPUT_GOAL,
        )
    )
    lead = ttsd["worst_lead_s"]
    out.append(
        Check(
            "4",
            f"worst playback lead, {n} streams ({ttsd['starved_streams']} starved)",
            f"{ms(lead)} ms",
            "-",
            None,
            ">= 0 ms",
            lead is not None and lead >= 0,
        )
    )
    return out


def table(concurrent: dict[str, Any]) -> str:
    """raw's single stream, then every system's percentiles, throughput and lead."""
    rows: list[list[str]] = []
    rows.append(
        [
            "raw (1 stream)",
            ms(concurrent["raw_ttfa_s"]),
            "",
            f"{concurrent['raw_throughput']:.1f}x",
            "",
            "",
            "",
        ]
    )
    for system in SYSTEMS:
        r = concurrent.get(system)
        if not r:
            continue
        stats = r["ttfa_s"]
        rows.append(
            [
                system,
                ms(stats["p50"]),
                ms(stats["p95"]),
                f"{r['throughput']:.1f}x" if r["throughput"] else "-",
                f"{ms(r['worst_lead_s'])}" if r["worst_lead_s"] is not None else "-",
                f"{r['completed']}/{r['count'] * r['rounds']}",
                ms(r["first_step_ms_median"] / 1000) if r["first_step_ms_median"] else "",
            ]
        )
    n = concurrent["ttsd"]["count"]
    return (
        f"(3, 4) {n} connections at once, paragraph, {concurrent['ttsd']['rounds']} rounds\n"
        + format_table(
            [
                "system",
                "TTFA p50",
                "p95 ms",
                "throughput",
                "worst lead ms",
                "done",
                "engine 1st ms",
            ],
            rows,
        )
    )
