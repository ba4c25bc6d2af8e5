"""Where text too long for one engine step is cut.

An engine step synthesizes one piece of text at once, and its memory grows with the audio
of that piece (Piper: ~18 MiB per second of audio, and ONNX Runtime keeps the peak in its
arena; benchmarks/README.md "Hostile input"), so no piece may be longer than a budget,
whatever the text looks like: a 20,000-character sentence without a period, a single
"word" of 20,000 letters, a number of 500 digits.

A piece longer than the budget is cut at the best boundary inside it, in this order:

0. a sentence end (where a text of several sentences is cut into steps);
1. a clause end: `,` `;` `:` followed by a space, a spaced dash, or a CJK clause mark;
2. before a phrase-opening word ("... waited for hours | in the rain"), not right after
   another one ("went | to the store", never "went to | the store");
3. between two words, but never between two groups of digits ("1 000 000");
4. anywhere (a single word longer than the budget), but never inside a run of digits
   or between a letter and its combining marks.

Any of them in the last two thirds of the window comes first (so pieces are not cut
needlessly short), and only then one nearer its start. Every function here is linear in
the text.
"""

from __future__ import annotations

import re
import unicodedata

from ttsd.text.segmenter import CLAUSE_END, PHRASE_OPENERS, last_sentence_end, split_sentences
from ttsd.text.words import WORD_PATTERN

__all__ = ["speech_pieces", "split_steps", "step_end"]

# Clause ends as the segmenter finds them, plus CJK clause marks, which need no space.
_CLAUSE = re.compile(rf"{CLAUSE_END.pattern}|[，、；：]+")
_WORD = WORD_PATTERN
# Characters that make up a number, for the rule "never cut inside a number".
_NUMBER_CHAR = re.compile(r"[\d.,]")


def speech_pieces(text: str, max_chars: int, *, first_chars: int | None = None) -> list[str]:
    """A complete text (a REST transcript, a file) as the pieces to synthesize one by one:
    its sentences, each cut by `split_steps` when longer than `max_chars`, the first piece
    at most `first_chars` (its first audio comes sooner). Their concatenation is `text`."""
    pieces: list[str] = []
    spoken = False  # whether a piece with words came already
    for sentence in split_sentences(text):
        pieces += split_steps(sentence, max_chars, first_chars=None if spoken else first_chars)
        spoken = spoken or bool(sentence.strip())
    return pieces


def split_steps(text: str, max_chars: int, *, first_chars: int | None = None) -> list[str]:
    """Cut `text` into pieces of at most `max_chars` characters (the first piece at most
    `first_chars`, when given), at the best boundaries; their concatenation is `text`."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    pieces: list[str] = []
    start = 0
    budget = min(first_chars or max_chars, max_chars)
    while start < len(text):
        end = step_end(text, start, budget)
        pieces.append(text[start:end])
        start = end
        budget = max_chars
    return pieces


def step_end(text: str, start: int, max_chars: int) -> int:
    """End of the piece of `text` that starts at `start` and has at most `max_chars`
    characters: `len(text)` when the rest fits, else the best cut (see the module).

    Costs O(max_chars): only the window `text[start : start + max_chars]` is read.
    """
    limit = start + max(1, max_chars)
    if len(text) <= limit:
        return len(text)
    floor = start + max_chars // 3  # the "last two thirds" of the window
    early = 0
    for finder in (last_sentence_end, _last_clause_end, _last_phrase_start, _last_word_start):
        cut = finder(text, start, limit)
        if cut > floor:
            return cut
        if cut > start and not early:
            early = cut
    return early or _hard_cut(text, start, limit)


def _last_clause_end(text: str, start: int, limit: int) -> int:
    """End of the last clause mark (with the spaces after it) inside the window, or 0."""
    cut = 0
    for m in _CLAUSE.finditer(text, start, limit):
        cut = m.end()
    return cut


def _last_phrase_start(text: str, start: int, limit: int) -> int:
    """Start of the last phrase-opening word in the window that follows a content word."""
    cut = 0
    previous_opens = True
    for m in _WORD.finditer(text, start, limit):
        opens = m.group().lower() in PHRASE_OPENERS
        if opens and not previous_opens:
            cut = m.start()
        previous_opens = opens
    return cut


def _last_word_start(text: str, start: int, limit: int) -> int:
    """Start of the last word in the window, not inside a number ("1 000 000").

    The cut falls before the word, so a word that starts at `limit` itself counts: the
    piece ends right before it.
    """
    cut = 0
    previous_end = -1
    for m in _WORD.finditer(text, start, limit + 1):
        begin = m.start()
        # A token that starts the window may be the tail of a word cut before it.
        digits_apart = previous_end > 0 and text[previous_end - 1].isdigit()
        if begin > start and not (digits_apart and text[begin].isdigit()):
            cut = begin
        previous_end = m.end()
    return cut


def _hard_cut(text: str, start: int, limit: int) -> int:
    """A cut inside a word longer than the window: before a run of digits that would be
    cut, and never between a character and its combining marks."""
    cut = limit
    while cut > start and _NUMBER_CHAR.match(text, cut) and _NUMBER_CHAR.match(text, cut - 1):
        cut -= 1
    if cut == start:
        cut = limit  # a number longer than the window: it has to be cut somewhere
    while cut > start + 1 and unicodedata.combining(text[cut]):
        cut -= 1
    return cut
