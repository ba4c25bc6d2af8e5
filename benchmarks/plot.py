"""Plot time to first audio against concurrency for ttsd and its peers.

Each level is that many connections opened first, then a request (the three-sentence
paragraph) sent on each at once; p50 (solid) and p95 (dashed) of the time to first
audio over all requests at that level. The raw engine's single-stream time to its first
chunk is the dotted floor. With the `breaking` scenario's results, ttsd's curve goes on
through its probes up to the breaking point (the most simultaneous streams none of which
runs dry; a dash-dot line) and beyond it, where red crosses mark the probes in which a
stream ran dry.

Run: `.venv/bin/python benchmarks/plot.py` (measures the sweep: `load.py --scenarios
sweep`; with `--breaking` also the breaking-point search), or `--from results.json` to
plot what `load.py --json` or `run_all.py --json` wrote. Writes
`benchmarks/ttfa_vs_concurrency.png` unless `--out` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchlib import stop_on_sigterm
from load import run
from load_scenarios.common import SYSTEMS, Options

DEFAULT_OUT = Path(__file__).resolve().parent / "ttfa_vs_concurrency.png"
COLORS = {"ttsd": "tab:blue", "wyoming-piper": "tab:orange", "piper-http": "tab:green"}


def plot(load_results: dict[str, Any], out: Path, note: str = "") -> Path:
    """Draw the sweep in `load_results` (load.py's results) to `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = load_results.get("sweep")
    if not sweep:
        raise ValueError("no sweep in these results (run load.py with --scenarios sweep)")
    levels: list[int] = sweep["levels"]
    breaking = load_results.get("breaking")
    figure, axes = plt.subplots(figsize=(8, 5))
    for system in SYSTEMS:
        if system not in sweep:
            continue
        color = COLORS.get(system)
        measured = {level: sweep[system][str(level)] for level in levels}
        if system == "ttsd":
            measured = ttsd_levels(load_results)
        for key, style, marker in (("p50", "-", "o"), ("p95", "--", "s")):
            points = [
                (x, r["ttfa_s"][key] * 1000)
                for x, r in sorted(measured.items())
                if r["ttfa_s"][key] is not None
            ]
            axes.plot(
                [x for x, _ in points],
                [y for _, y in points],
                linestyle=style,
                marker=marker,
                color=color,
                label=f"{system} {key}",
            )
    raw = load_results.get("concurrent", {}).get("raw_ttfa_s")
    if raw:
        axes.axhline(raw * 1000, color="grey", linestyle=":", label="raw engine, 1 stream")
    # the sweep's levels, every power of two up to the largest count measured (the
    # probes beyond the sweep), and the breaking point
    largest = max([*levels, *ttsd_levels(load_results)])
    ticks = set(levels) | {2**k for k in range(largest.bit_length()) if 2**k <= largest}
    if breaking and breaking["breaking_point"]:
        point = breaking["breaking_point"]
        ticks.add(point)
        axes.axvline(
            point,
            color=COLORS["ttsd"],
            linestyle="-.",
            alpha=0.6,
            label=f"ttsd breaking point: {point} streams (none runs dry)",
        )
    if breaking:
        # where a probe underran: ttsd's p95 there, as a red cross
        failed = [
            (p["count"], p["ttfa_s"]["p95"] * 1000)
            for p in breaking["probes"]
            if not p["kept"] and p["ttfa_s"]["p95"] is not None
        ]
        if failed:
            axes.scatter(
                [x for x, _ in failed],
                [y for _, y in failed],
                marker="x",
                color="tab:red",
                zorder=3,
                label="ttsd p95 where a stream ran dry",
            )
    axes.set_xscale("log", base=2)
    axes.set_xticks(sorted(ticks))
    axes.set_xticklabels([str(level) for level in sorted(ticks)])
    axes.minorticks_off()
    axes.set_yscale("log")
    axes.set_xlabel("concurrent connections (each a three-sentence paragraph)")
    axes.set_ylabel("time to first audio (ms)")
    title = "Time to first audio against concurrency (same voice, same machine)"
    axes.set_title(title + (f"\n{note}" if note else ""), fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, ncols=2)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out


def ttsd_levels(load_results: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """ttsd's results per number of simultaneous connections: the sweep's levels, then
    the breaking-point search's probes at other counts (the same measurement: that many
    connections opened, a paragraph sent on each at once), so the curve reaches the
    breaking point and the first count beyond it."""
    sweep = load_results.get("sweep") or {}
    out: dict[int, dict[str, Any]] = {
        int(level): result for level, result in sweep.get("ttsd", {}).items()
    }
    for probe in (load_results.get("breaking") or {}).get("probes", []):
        out.setdefault(int(probe["count"]), probe)
    return out


def note_for(info: dict[str, Any]) -> str:
    """A subtitle naming the machine and its load."""
    load = info.get("loadavg_start", [0.0])[0]
    return f"{info.get('cpu', '?')}, {info.get('cpus', '?')} CPUs, load average at start {load:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--from", dest="source", type=Path, help="a load.py/run_all.py JSON")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the PNG to write")
    parser.add_argument("--sweep", default="1,2,4,8,16", help="levels to measure [1,2,4,8,16]")
    parser.add_argument("--no-peers", action="store_true", help="ttsd only")
    parser.add_argument(
        "--breaking",
        action="store_true",
        help="also run load.py's breaking-point search (its defaults), to extend ttsd's curve",
    )
    args = parser.parse_args(argv)
    stop_on_sigterm()
    if args.source is not None:
        document = json.loads(args.source.read_text(encoding="utf-8"))
        info, results = document.get("machine", {}), document["load"]
    else:
        levels = tuple(int(x) for x in args.sweep.split(",") if x.strip())
        try:
            wanted = ["sweep", "breaking"] if args.breaking else ["sweep"]
            info, results = run(Options(sweep=levels, peers=not args.no_peers), wanted)
        except Exception as exc:
            print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print(plot(results, args.out, note_for(info)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
