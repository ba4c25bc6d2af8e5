"""`stream` (issue 4's target 2): word streaming. The texts of `paragraph` sent one word
every 40 ms (`continue: true` per word, then an empty `continue: false`; default
`max_buffer_delay_ms`), LLM-style tokens with the space in front (" as", " I", ...).
First audio is measured from the moment the message that completes the first sentence
was sent, against raw's time to synthesize that sentence alone. wyoming-piper runs in its
text-streaming mode for comparison.

Checks `2a` and `2b` (benchmarks/README.md, "Issue 4's targets").
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from benchlib import Check, format_table, median, ms
from load_scenarios.common import TEXTS, Bench, Stream, ttsd_vs_raw


def words(text: str) -> list[str]:
    """LLM-style tokens: each word with the space before it ("Well,", " as", " I", ...)."""
    return re.findall(r"\s*\S+", text)


def first_sentence(text: str) -> str:
    return text[: text.index(". ") + 1]


def completing_token(tokens: Sequence[str], prefix: str) -> int:
    """Index of the token whose arrival completes `prefix`."""
    length = 0
    for index, token in enumerate(tokens):
        length += len(token)
        if length >= len(prefix):
            return index
    raise ValueError("prefix longer than the tokens")


async def measure(bench: Bench) -> dict[str, Any]:
    """(2) Words every `interval`: first audio after the first sentence is complete."""
    options = bench.options
    systems: list[Any] = [bench.clients["ttsd"], *bench.peers("wyoming-piper")]
    out: dict[str, Any] = {}
    for name, text in TEXTS.items():
        tokens = words(text)
        sentence = first_sentence(text)
        mark = completing_token(tokens, sentence)
        series: dict[str, list[Stream]] = {"raw": [], **{c.name: [] for c in systems}}
        bench.raw.speak(sentence)  # warm-up
        for client in systems:
            await asyncio.sleep(options.pause)
            await client.stream_words(tokens, options.interval, mark)
        for _ in range(options.runs):
            await asyncio.sleep(options.pause)
            series["raw"].append(bench.raw.speak(sentence))
            for client in systems:
                await asyncio.sleep(options.pause)
                series[client.name].append(
                    await client.stream_words(tokens, options.interval, mark)
                )
        medians = {"raw": median([s.ttfa for s in series["raw"]])}
        for client in systems:
            good = [s.since_mark for s in series[client.name] if s.ok]
            if good:
                medians[client.name] = median(good)
        ttsd_ttfa = [s.ttfa for s in series["ttsd"] if s.ok]
        steps = [x for s in series["ttsd"] if s.ok and (x := s.first_step_ms) is not None]
        out[name] = {
            "first_sentence": sentence,
            "tokens": len(tokens),
            "mark_token": mark,
            "mark_after_s": mark * options.interval,
            "median_s": medians,
            "ttsd_median_ttfa_from_first_word_s": median(ttsd_ttfa) if ttsd_ttfa else None,
            "ttsd_first_step_ms": median(steps) if steps else None,
            "errors": {s: sum(1 for x in v if not x.ok) for s, v in series.items()},
            "streams": {s: [x.summary() for x in v] for s, v in series.items()},
        }
    return out


def checks(stream: dict[str, Any]) -> list[Check]:
    """2a and 2b: ttsd's median first audio after sentence 1 against raw synthesizing it."""
    return [
        ttsd_vs_raw(stream[key]["median_s"], label, what, "raw sentence 1", 0.8)
        for key, label, what in (
            ("paragraph", "2a", "word every 40 ms: audio after sentence 1 sent"),
            ("clause", "2b", "same, clause-first paragraph"),
        )
    ]


def table(stream: dict[str, Any]) -> str:
    """The medians of every system, per text."""
    rows: list[list[str]] = []
    for key in TEXTS:
        r = stream[key]
        raw = r["median_s"]["raw"]
        for system, value in r["median_s"].items():
            rows.append(
                [
                    key,
                    system,
                    ms(value),
                    f"{value / raw:.2f}",
                    f"{r['mark_after_s'] * 1000:.0f}",
                    ms(r["ttsd_first_step_ms"] / 1000)
                    if system == "ttsd" and r.get("ttsd_first_step_ms")
                    else "",
                    str(r["errors"].get(system, 0)),
                ]
            )
    return (
        "(2) words every 40 ms: first audio after the message completing sentence 1 "
        "(raw: synthesizing sentence 1 alone)\n"
        + format_table(
            ["text", "system", "ms", "/raw", "sent at ms", "engine 1st ms", "errors"],
            rows,
            left=2,
        )
    )
