"""The segmenter's cost grows linearly with the text, whatever the text (issue 8).

A cost ratio, not a speed: each finder runs on an adversarial text and on one 8 times
longer, best of several runs; linear work grows ~8x, the old per-candidate rescans grew
~64x (a 20,000-character "(, , , …" took 9 s). The bound of 25x leaves room for noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ttsd.text.segmenter import (
    find_release_point,
    first_clause_end,
    first_phrase_end,
    split_sentences,
)

SMALL = 1_500
GROWTH = 8
MAX_RATIO = 25

TEXTS: dict[str, Callable[[int], str]] = {
    "open bracket then commas": lambda n: "(" + ", " * (n // 2),
    "open quote then clauses": lambda n: '"' + "a, " * (n // 3),
    "abbreviations": lambda n: "Dr. " * (n // 4),
    "unpunctuated words": lambda n: "word " * (n // 5),
    "one long line of sentences": lambda n: "Hi. " * (n // 4),
}
FINDERS: dict[str, Callable[[str], object]] = {
    "find_release_point": lambda text: find_release_point(text, first_segment=True),
    "first_clause_end": first_clause_end,
    "first_phrase_end": first_phrase_end,
    "split_sentences": split_sentences,
}


def best_time(finder: Callable[[str], object], text: str, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        begun = time.perf_counter()
        finder(text)
        best = min(best, time.perf_counter() - begun)
    return max(best, 1e-6)


@pytest.mark.parametrize("finder_name", sorted(FINDERS))
@pytest.mark.parametrize("text_name", sorted(TEXTS))
def test_cost_grows_linearly(finder_name: str, text_name: str) -> None:
    finder, make = FINDERS[finder_name], TEXTS[text_name]
    small = best_time(finder, make(SMALL))
    large = best_time(finder, make(SMALL * GROWTH))
    assert large / small < MAX_RATIO, f"{large * 1000:.1f} ms vs {small * 1000:.2f} ms"
