"""`paragraph` (issue 4's target 1): one request with a three-sentence paragraph
(`continue: false`), and a paragraph whose first sentence opens with a clause ("Well, as
I said before, ..."). TTFA against raw's time to its first chunk of the same text.

Checks `1a` and `1b` (benchmarks/README.md, "Issue 4's targets").
"""

from __future__ import annotations

import asyncio
from typing import Any

from benchlib import Check, format_table, median, ms
from load_scenarios.common import TEXTS, Bench, Stream, ttsd_vs_raw

#: Goal (issue 4's, tightened by issue 10): 1a first audio of the paragraph in one message
#: against raw's first chunk.
PARAGRAPH_GOAL = 0.7


async def measure(bench: Bench) -> dict[str, Any]:
    """(1) One request, whole paragraph: TTFA vs raw's first chunk, per text."""
    options = bench.options
    systems: list[Any] = [bench.clients["ttsd"], *bench.peers("wyoming-piper", "piper-http")]
    out: dict[str, Any] = {}
    for name, text in TEXTS.items():
        series: dict[str, list[Stream]] = {"raw": [], **{c.name: [] for c in systems}}
        for _ in range(1):  # warm-up
            bench.raw.speak(text)
            for client in systems:
                await asyncio.sleep(options.pause)
                await client.speak(text)
        for _ in range(options.runs):
            await asyncio.sleep(options.pause)
            series["raw"].append(bench.raw.speak(text))
            for client in systems:
                await asyncio.sleep(options.pause)
                series[client.name].append(await client.speak(text))
        out[name] = {system: [s.summary() for s in streams] for system, streams in series.items()}
        out[name]["median_ttfa_s"] = {
            system: median([s.ttfa for s in streams if s.ok])
            for system, streams in series.items()
            if any(s.ok for s in streams)
        }
        out[name]["median_total_s"] = {
            system: median([s.total for s in streams if s.ok])
            for system, streams in series.items()
            if any(s.ok for s in streams)
        }
        ttsd_steps = [s.first_step_ms for s in series["ttsd"] if s.first_step_ms is not None]
        out[name]["ttsd_first_step_ms"] = median(ttsd_steps) if ttsd_steps else None
        out[name]["errors"] = {
            system: sum(1 for s in streams if not s.ok) for system, streams in series.items()
        }
    return out


def checks(paragraph: dict[str, Any]) -> list[Check]:
    """1a and 1b: ttsd's median TTFA against raw's first chunk, per text."""
    return [
        ttsd_vs_raw(paragraph[key]["median_ttfa_s"], label, what, "raw 1st chunk", limit)
        for key, label, limit, what in (
            ("paragraph", "1a", PARAGRAPH_GOAL, "TTFA, paragraph in one message"),
            ("clause", "1b", 0.7, "TTFA, clause-first paragraph in one message"),
        )
    ]


def table(paragraph: dict[str, Any]) -> str:
    """The medians of every system, per text."""
    rows: list[list[str]] = []
    for key in TEXTS:
        r = paragraph[key]
        raw = r["median_ttfa_s"]["raw"]
        if rows:
            rows.append([])
        for system, value in r["median_ttfa_s"].items():
            rows.append(
                [
                    key,
                    system,
                    ms(value),
                    f"{value / raw:.2f}",
                    ms(r["median_total_s"][system]),
                    ms(r["ttsd_first_step_ms"] / 1000) if system == "ttsd" else "",
                    str(r["errors"].get(system, 0)),
                ]
            )
    return "(1) one request, whole text: medians\n" + format_table(
        ["text", "system", "TTFA ms", "/raw", "total ms", "engine 1st ms", "errors"],
        rows,
        left=2,
    )
