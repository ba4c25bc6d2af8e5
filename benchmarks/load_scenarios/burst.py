"""`burst` (issue 10's target 4, with `breaking`): playback lead when many streams start
at once. ttsd only: 16 streams (`--burst`) started in the same instant (connections
opened first, then a paragraph request sent on each at once), `--burst-rounds` (3) times:
first-audio p50/p95/max, throughput, and the worst playback lead with the number of
streams that ran dry (goal: >= 0, none runs dry).

Check `10.4a` (benchmarks/README.md, "Issue 10's targets").
"""

from __future__ import annotations

from typing import Any

from benchlib import Check, format_table, ms
from load_scenarios.common import TEXTS, Bench, concurrent_rounds, kept


async def measure(bench: Bench) -> dict[str, Any]:
    """(issue 10, 4) `burst` (16) streams started in the same instant, `burst_rounds`
    times: first-audio percentiles, worst playback lead, streams that ran dry."""
    options = bench.options
    client = bench.clients["ttsd"]
    text = TEXTS["paragraph"]
    await client.speak(text)  # warm-up
    return await concurrent_rounds(bench, client, options.burst, options.burst_rounds, text)


def checks(burst: dict[str, Any]) -> list[Check]:
    """10.4a: the worst playback lead (and no stream lost)."""
    lead, stats = burst["worst_lead_s"], burst["ttfa_s"]
    total = burst["count"] * burst["rounds"]
    return [
        Check(
            "10.4a",
            f"worst playback lead, {burst['count']} streams started at once "
            f"({burst['starved_streams']} of {total} starved)",
            f"{ms(lead)} ms",
            f"TTFA p50 {ms(stats['p50'])} / p95 {ms(stats['p95'])} ms",
            None,
            ">= 0 ms",
            lead is not None and kept(burst),
        )
    ]


def table(burst: dict[str, Any]) -> str:
    """One row: the percentiles, throughput and lead over every round."""
    stats = burst["ttfa_s"]
    return (
        f"(issue 10, 4) ttsd, {burst['count']} streams started in the same instant, "
        f"paragraph, {burst['rounds']} rounds\n"
        + format_table(
            ["TTFA p50", "p95", "max ms", "throughput", "worst lead ms (starved)", "done"],
            [
                [
                    ms(stats["p50"]),
                    ms(stats["p95"]),
                    ms(stats["max"]),
                    f"{burst['throughput']:.1f}x" if burst["throughput"] else "-",
                    f"{ms(burst['worst_lead_s'])} ({burst['starved_streams']})",
                    f"{burst['completed']}/{burst['count'] * burst['rounds']}",
                ]
            ],
            left=0,
        )
    )
