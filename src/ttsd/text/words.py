"""Words of a transcript, as a client sees them in word timestamps.

A word is a run of non-whitespace characters of the original text, punctuation kept
attached ("Hello," stays "Hello,"): the words reported with timestamps must be the words
of the transcript the client sent, so nothing is normalized, split or dropped here.
Text without spaces (Chinese, Japanese) is one token per whitespace-free run.
"""

from __future__ import annotations

import re

__all__ = ["WORD_PATTERN", "count_words", "split_words", "word_spans"]

# `\S` and `str.split()` agree on what whitespace is (both use str.isspace), so these
# tokens are exactly those of `text.split()`.
WORD_PATTERN = re.compile(r"\S+")
_WORD = WORD_PATTERN


def word_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) character offsets of each whitespace-separated token."""
    return [m.span() for m in _WORD.finditer(text)]


def split_words(text: str) -> list[str]:
    """Return the whitespace-separated tokens of `text`, punctuation kept attached."""
    return [text[start:end] for start, end in word_spans(text)]


def count_words(text: str, start: int = 0, end: int | None = None) -> int:
    """Count the tokens of `text[start:end]` without copying it."""
    return len(_WORD.findall(text, start, len(text) if end is None else end))
