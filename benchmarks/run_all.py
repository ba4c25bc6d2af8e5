"""Every benchmark in one command: latency.py, then load.py's scenarios, then the plot.

Prints latency.py's table, load.py's per-scenario tables, and one table of the targets
(issue 4's, with the goals issue 10 tightened, and issue 10's new ones, numbered 10.x;
benchmarks/README.md defines each, "Issue 4's targets" and "Issue 10's targets") with
ttsd's number, the reference measured in the same run, their ratio, the target and PASS/FAIL
(`-` where there is nothing to pass: reports only). Writes
`benchmarks/ttfa_vs_concurrency.png` from the sweep (and the breaking-point search).

Run: `.venv/bin/python benchmarks/run_all.py [--json all.json]` (about 20 minutes on
two cores); every flag of load.py works here too (`--scenarios`, `--runs`, ...), plus
`--latency-runs N`, `--skip-latency` and latency.py's `--baseline-pythonpath DIR`
(issue 10's target 6: this build against another one). Exits 1 if a measurement
failed, 0 otherwise (a missed target is a FAIL in the table, not an error); `--strict`
also exits 2 on a FAIL.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import latency
import load
from benchlib import Check, render_checks, stop_on_sigterm
from plot import DEFAULT_OUT, note_for, plot


def latency_checks(results: list[latency.Series], baseline_label: str = "baseline") -> list[Check]:
    """latency.py's socket rows as report-only lines (no target in issue 4), then issue
    10's targets that latency.py measures (`latency.goals`: the long sentence, and the
    baseline build's total time and RTF when one was measured)."""
    by = {(s.system, s.text): s for s in results}
    out: list[Check] = []
    for text in latency.TEXTS:
        raw, socket = by.get((latency.RAW, text)), by.get(("ttsd socket 22050", text))
        if raw is None or socket is None:
            continue
        ttfa = socket.median(lambda s: s.ttfa_s)
        raw_ttfa = raw.median(lambda s: s.ttfa_s)
        out.append(
            Check(
                f"L-{text}",
                f"latency.py: TTFA, {text}, one request (22050 Hz)",
                f"{ttfa * 1000:.0f} ms",
                f"raw 1st chunk {raw_ttfa * 1000:.0f} ms",
                ttfa / raw_ttfa,
                "report",
                None,
            )
        )
    out += latency.goals(results, baseline_label)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    load.add_arguments(parser)
    parser.add_argument("--latency-runs", type=int, default=5, help="latency.py --runs [5]")
    parser.add_argument("--skip-latency", action="store_true", help="load.py only")
    latency.add_baseline_arguments(parser)
    parser.add_argument("--plot", type=Path, default=DEFAULT_OUT, help="the PNG to write")
    parser.add_argument("--json", type=Path, help="also write everything measured")
    parser.add_argument("--strict", action="store_true", help="exit 2 if a target is missed")
    args = parser.parse_args(argv)
    options, wanted = load.options_from(args)
    stop_on_sigterm()
    document: dict[str, Any] = {}
    sections: list[str] = []
    extra: list[Check] = []
    try:
        if not args.skip_latency:
            print("== latency.py ==", file=sys.stderr)
            baseline = latency.baseline_from(args)
            info, series = latency.run(args.latency_runs, 0.25, baseline)
            sections.append(
                "== latency.py: one request at a time ==\n"
                + latency.report(info, series, args.latency_runs, 0.25)
            )
            document["latency"] = latency.document(info, series, args.latency_runs, 0.25)
            extra = latency_checks(series, baseline.label if baseline else "baseline")
        print("== load.py ==", file=sys.stderr)
        info, results = load.run(options, wanted)
    except Exception as exc:
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    sections.append(
        "== load.py: latency under load ==\n" + load.report(info, results, with_checks=False)
    )
    if "sweep" in results:
        path = plot(results, args.plot, note_for(info))
        sections.append(f"plot: {path}")
    items = load.checks(results) + extra
    passed = sum(1 for c in items if c.ok is True)
    failed = [c.id for c in items if c.ok is False]
    sections.append(
        "== targets: issue 4's, with issue 10's goals, and issue 10's new ones (10.x) "
        "(ratios of medians/percentiles measured in this run) ==\n"
        + render_checks(items)
        + f"\n{passed} passed, {len(failed)} failed"
        + (f": {', '.join(failed)}" if failed else "")
    )
    print("\n\n".join(sections))
    if args.json is not None:
        document["machine"] = info
        document["load"] = results
        document["checks"] = [asdict(c) | {"verdict": c.verdict} for c in items]
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 2 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
