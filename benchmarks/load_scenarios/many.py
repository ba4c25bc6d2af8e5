"""`many` (issue 4's target 5): many contexts. ttsd only: 32 contexts (`--contexts`) on
one connection, and 100 connections (`--connections`) with one context each, all sent at
once, each the paragraph: completed, error frames (per context and unrouted), p50/p95/max
TTFA, throughput, playback lead.

Checks `5a` and `5b` (benchmarks/README.md, "Issue 4's targets").
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchlib import Check, format_table, ms
from load_scenarios.clients import TtsdClient, TtsdConnection, open_many
from load_scenarios.common import TEXTS, Bench, Stream, stats


async def measure(bench: Bench) -> dict[str, Any]:
    """(5) Many contexts on one connection; many connections with one context each."""
    options = bench.options
    ttsd: TtsdClient = bench.clients["ttsd"]
    text = TEXTS["paragraph"]
    out: dict[str, Any] = {}

    conn = await ttsd.connection()
    try:
        ids = [conn.begin()[0] for _ in range(options.contexts)]
        start = time.perf_counter()
        for context_id in ids:
            conn.streams[context_id].sent = await conn.send(context_id, text, more=False)
        streams = [await conn.wait(context_id) for context_id in ids]
        wall = time.perf_counter() - start
        out["one_connection"] = _result(streams, wall, stray=len(conn.stray))
    finally:
        await conn.close()

    await asyncio.sleep(options.pause * 2)
    conns: list[TtsdConnection] = []
    try:
        conns = await open_many(ttsd.url, options.connections)
        pairs = [(c, c.begin()[0]) for c in conns]
        start = time.perf_counter()
        for c, context_id in pairs:
            c.streams[context_id].sent = await c.send(context_id, text, more=False)
        streams = list(await asyncio.gather(*(c.wait(cid) for c, cid in pairs)))
        wall = time.perf_counter() - start
        out["connections"] = _result(streams, wall, stray=sum(len(c.stray) for c in conns))
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    return out


def _result(streams: list[Stream], wall: float, *, stray: int) -> dict[str, Any]:
    good = [s for s in streams if s.ok]
    leads = [lead for s in good if (lead := s.worst_lead) is not None]
    return {
        "requested": len(streams),
        "completed": len(good),
        "error_frames": sum(1 for s in streams if s.error_frame) + stray,
        "errors": [s.error for s in streams if not s.ok][:10],
        "ttfa_s": stats([s.ttfa for s in good]),
        "wall_s": wall,
        "throughput": sum(s.audio_s for s in good) / wall if wall > 0 else None,
        "worst_lead_s": min(leads) if leads else None,
        "starved_streams": sum(1 for x in leads if x < 0),
    }


def checks(many: dict[str, Any]) -> list[Check]:
    """5a (contexts on one connection) and 5b (connections): all done, no error frame."""
    out: list[Check] = []
    for key, label in (("one_connection", "5a"), ("connections", "5b")):
        r = many[key]
        what = (
            f"{r['requested']} contexts on one connection"
            if key == "one_connection"
            else f"{r['requested']} connections, 1 context each"
        )
        out.append(
            Check(
                label,
                what,
                f"{r['completed']}/{r['requested']} done, {r['error_frames']} errors",
                f"p50 {ms(r['ttfa_s']['p50'])} / p95 {ms(r['ttfa_s']['p95'])} ms TTFA",
                None,
                "all done, 0 errors",
                r["completed"] == r["requested"] and r["error_frames"] == 0,
            )
        )
    return out


def table(many: dict[str, Any]) -> str:
    """A row for the contexts on one connection, one for the connections."""
    rows: list[list[str]] = []
    for key, label in (
        ("one_connection", "contexts, one connection"),
        ("connections", "connections"),
    ):
        r = many.get(key)
        if not r:
            continue
        ttfa = r["ttfa_s"]
        rows.append(
            [
                f"{r['requested']} {label}",
                f"{r['completed']}/{r['requested']}",
                str(r["error_frames"]),
                ms(ttfa["p50"]),
                ms(ttfa["p95"]),
                ms(ttfa["max"]),
                f"{r['wall_s']:.1f}",
                f"{r['throughput']:.1f}x" if r["throughput"] else "-",
                f"{ms(r['worst_lead_s'])} ({r['starved_streams']})",
            ]
        )
    return "(5) ttsd, all at once, each the paragraph\n" + format_table(
        [
            "load",
            "done",
            "errors",
            "TTFA p50",
            "p95",
            "max ms",
            "wall s",
            "throughput",
            "worst lead ms (starved)",
        ],
        rows,
    )
