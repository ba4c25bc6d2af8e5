"""`sweep`: the concurrency sweep. TTFA p50/p95 at 1, 2, 4, 8 and 16 (`--sweep`)
concurrent connections, each level at least `--sweep-samples` (8) requests, for ttsd and
both peers: the data of `plot.py`. A level equal to `concurrent`'s count reuses that
scenario's result. No check: it is the plot's data.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from benchlib import format_table, ms
from load_scenarios.common import SYSTEMS, TEXTS, Bench, concurrent_rounds


async def measure(bench: Bench, reuse: dict[str, Any] | None) -> dict[str, Any]:
    """TTFA against concurrency, for the plot."""
    options = bench.options
    text = TEXTS["paragraph"]
    out: dict[str, Any] = {"levels": list(options.sweep)}
    for client in [bench.clients["ttsd"], *bench.peers("wyoming-piper", "piper-http")]:
        await client.speak(text)  # warm-up
        levels: dict[str, Any] = {}
        for count in options.sweep:
            if reuse and client.name in reuse and reuse[client.name]["count"] == count:
                result = reuse[client.name]
            else:
                rounds = max(1, math.ceil(options.sweep_samples / count))
                result = await concurrent_rounds(bench, client, count, rounds, text)
            levels[str(count)] = {k: v for k, v in result.items() if k != "streams"}
            stats = result["ttfa_s"]
            print(
                f"  sweep {client.name} x{count}: p50 {ms(stats['p50'])} ms, "
                f"p95 {ms(stats['p95'])} ms",
                file=sys.stderr,
            )
        out[client.name] = levels
    return out


def table(sweep: dict[str, Any]) -> str:
    """p50/p95 per system and level, then the worst playback lead of the streaming ones."""
    header = ["system"] + [f"x{c} p50/p95" for c in sweep["levels"]]
    rows: list[list[str]] = []
    for system in SYSTEMS:
        if system not in sweep:
            continue
        cells = [system]
        for count in sweep["levels"]:
            stats = sweep[system][str(count)]["ttfa_s"]
            cells.append(f"{ms(stats['p50'])}/{ms(stats['p95'])}")
        rows.append(cells)
    for system in SYSTEMS:
        if system not in sweep or system == "piper-http":
            continue
        cells = [f"{system} lead"]
        for count in sweep["levels"]:
            r = sweep[system][str(count)]
            cells.append(f"{ms(r['worst_lead_s'])} ({r['starved_streams']})")
        rows.append(cells)
    return (
        "TTFA (ms) against concurrent connections; 'lead': worst playback lead in ms "
        "(streams that starved)\n" + format_table(header, rows)
    )
