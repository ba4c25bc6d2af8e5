"""`breaking` (issue 10's target 4, with `burst`): the breaking point, the most
simultaneous streams (as in `burst`) that this machine keeps without any underrun: every
stream completes and its worst playback lead is >= 0. ttsd only.

It starts at `--burst` streams (reusing the `burst` result), doubles while kept (up to
`--breaking-cap`, 64), halves while none is kept yet, then bisects; each probe is
`--breaking-rounds` (2) rounds on the warm server and fails at its first round with an
underrun; no probe starts that would end past `--breaking-budget` (300 s), estimated
from the previous probe. Prints every probe and the breaking point (exact, ">= cap", or
a bracket when the budget ran out).

Check `10.4b`, report only (benchmarks/README.md, "Issue 10's targets").
"""

from __future__ import annotations

import sys
import time
from typing import Any

from benchlib import Check, format_table, ms
from load_scenarios.common import SCENARIO_TIMEOUT_S, TEXTS, Bench, concurrent_rounds, kept

#: Most streams the breaking-point search may try, and its largest time budget (seconds).
BREAKING_CAP_LIMIT = 1024
BREAKING_BUDGET_LIMIT_S = 0.8 * SCENARIO_TIMEOUT_S


def next_probe(good: int, bad: int | None, cap: int) -> int | None:
    """The next number of streams to try, or None when the search is done.

    `good`: the most streams kept so far (0: none yet); `bad`: the fewest that underran
    (None: none yet). Doubling up from a kept count (to `cap`), halving down from an
    underrun while nothing was kept yet, then bisecting between the two."""
    if bad is None:
        return None if good >= cap else min(2 * good, cap)
    if bad - good <= 1:
        return None
    if good == 0:
        return bad // 2
    return (good + bad) // 2


async def measure(bench: Bench, reuse: dict[str, Any] | None) -> dict[str, Any]:
    """(issue 10, 4) The most simultaneous streams (a paragraph each, all started in the
    same instant) that this machine keeps without any underrun.

    The first probe is `burst` streams (`reuse`: the `burst` scenario's result, if it
    ran); then `next_probe` up to `breaking_cap`. A probe is `breaking_rounds` rounds on
    the warm server and passes if every stream of every round completes and never runs
    dry (worst playback lead >= 0); after a failed round the probe stops. The search
    stops when the largest kept and the smallest failing counts are neighbours, at the
    cap, or before a probe that would end past `breaking_budget_s` (estimated from the
    previous probe's seconds per stream).
    """
    options = bench.options
    client = bench.clients["ttsd"]
    text = TEXTS["paragraph"]
    await client.speak(text)  # warm-up
    started = time.monotonic()
    probes: list[dict[str, Any]] = []
    good, bad = 0, None
    count: int | None = min(options.burst, options.breaking_cap)
    seconds_per_stream = 0.0
    stopped_by_budget = False
    while count is not None:
        elapsed = time.monotonic() - started
        reused = reuse is not None and reuse["count"] == count
        if reuse is not None and reused:
            result, seconds = reuse, 0.0
        else:
            estimate = seconds_per_stream * count * options.breaking_rounds
            if probes and elapsed + estimate > options.breaking_budget_s:
                stopped_by_budget = True
                break
            clock = time.monotonic()
            result = await concurrent_rounds(
                bench, client, count, options.breaking_rounds, text, stop_on_underrun=True
            )
            seconds = time.monotonic() - clock
            seconds_per_stream = seconds / (count * result["rounds"])
        ok = kept(result)
        probe = {k: v for k, v in result.items() if k != "streams"}
        probes.append(probe | {"kept": ok, "seconds": round(seconds, 1), "reused": reused})
        stats = result["ttfa_s"]
        print(
            f"  breaking point: {count} streams {'kept' if ok else 'underran'} "
            f"(worst lead {ms(result['worst_lead_s'])} ms, {result['starved_streams']} "
            f"starved; TTFA p95 {ms(stats['p95'])} ms)",
            file=sys.stderr,
        )
        if ok:
            good = max(good, count)
        else:
            bad = count if bad is None else min(bad, count)
        count = next_probe(good, bad, options.breaking_cap)
    return {
        "breaking_point": good,
        "first_underrun": bad,
        "exact": bad is not None and bad - good <= 1,
        "capped": bad is None and good >= options.breaking_cap,
        "stopped_by_budget": stopped_by_budget,
        "cap": options.breaking_cap,
        "rounds": options.breaking_rounds,
        "budget_s": options.breaking_budget_s,
        "seconds": round(time.monotonic() - started, 1),
        "probes": probes,
    }


def breaking_value(breaking: dict[str, Any]) -> str:
    """The breaking point as printed: exact, at least the cap, or a bracket."""
    good, bad = breaking["breaking_point"], breaking["first_underrun"]
    if breaking["capped"]:
        return f">= {good} streams (the cap)"
    if breaking["exact"]:
        return f"{good} streams" if good else "none (1 stream underran)"
    upper = "?" if bad is None else str(bad - 1)
    return f"{good}-{upper} streams (time budget)"


def breaking_reference(breaking: dict[str, Any]) -> str:
    """The probe that underran first above the breaking point, if any."""
    bad = breaking["first_underrun"]
    for probe in breaking["probes"]:
        if probe["count"] == bad:
            stats = probe["ttfa_s"]
            return (
                f"{bad}: worst lead {ms(probe['worst_lead_s'])} ms, TTFA p95 {ms(stats['p95'])} ms"
            )
    return "-"


def checks(breaking: dict[str, Any]) -> list[Check]:
    """10.4b: the breaking point, reported."""
    return [
        Check(
            "10.4b",
            "most simultaneous streams kept without underrun",
            breaking_value(breaking),
            breaking_reference(breaking),
            None,
            "report",
            None,
        )
    ]


def table(breaking: dict[str, Any]) -> str:
    """Every probe in the order it ran, under the breaking point."""
    rows: list[list[str]] = []
    for probe in breaking["probes"]:
        stats = probe["ttfa_s"]
        rows.append(
            [
                str(probe["count"]),
                f"{probe['rounds']}" + (" (burst)" if probe["reused"] else ""),
                "kept" if probe["kept"] else "underran",
                f"{ms(probe['worst_lead_s'])} ({probe['starved_streams']})",
                ms(stats["p50"]),
                ms(stats["p95"]),
                f"{probe['throughput']:.1f}x" if probe["throughput"] else "-",
                f"{probe['completed']}/{probe['count'] * probe['rounds']}",
            ]
        )
    return (
        f"(issue 10, 4) breaking point: {breaking_value(breaking)} "
        f"(probes in order; cap {breaking['cap']}, {breaking['rounds']} rounds a probe, "
        f"{breaking['seconds']:.0f} s of {breaking['budget_s']:.0f})\n"
        + format_table(
            [
                "streams",
                "rounds",
                "result",
                "worst lead ms (starved)",
                "TTFA p50",
                "p95 ms",
                "throughput",
                "done",
            ],
            rows,
        )
    )
