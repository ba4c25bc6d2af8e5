"""Where streamed text may be cut for synthesis.

Text arrives in pieces ("Hel", "lo", " world", ".", " How", ...) and is concatenated into
a buffer. `find_release_point` says how much of that buffer can be synthesized now: up to
the last sentence end (or, for the first segment of a context, the last clause end once the
clause has a few words). A released prefix carries its punctuation, the closing quotes or
brackets after it and the whitespace after those, so what remains starts at the next word.
`first_phrase_end` is the fallback for a context's first text that has waited a while for
either: a cut before an English function word ("Thanks for calling | our support ...").

A false boundary (cutting "Dr. Smith" or "3.5") is worse than waiting for one more token,
so every doubtful case waits: the server's `max_buffer_delay_ms` bounds the wait anyway.

Candidates are found with regular expressions; whether a candidate is a boundary is
decided by small functions below, one rule each.
"""

from __future__ import annotations

import bisect
import itertools
import re

from ttsd.text.words import WORD_PATTERN

__all__ = [
    "CLAUSE_END",
    "CLOSERS",
    "PHRASE_OPENERS",
    "find_release_point",
    "first_clause_end",
    "first_phrase_end",
    "last_sentence_end",
    "split_sentences",
]

# Closing quotes/brackets that belong to the sentence they close: `He said "Stop." Then`.
CLOSERS = "\"'”’»)]}」』）》"
# Opening quotes/brackets that may stand before a word: `("Dr.` is the word "Dr".
_OPENERS = "\"'“‘«([{「『（《"
# Closing quotes, for the dialogue-tag rule (`"Stop!" she said` is one sentence).
_CLOSING_QUOTES = "\"'”’»」』"
# Bracket pairs whose opening half, still unclosed, means a closer may be the next token.
# Single quotes are left out: "’" and "'" are apostrophes far more often than quotes.
_BRACKETS = tuple(zip("([{“«「『（《", ")]}”»」』）》", strict=True))
#: Each bracket character: (its pair's opener, +1 for an opener or -1 for a closer).
_BRACKET_OF = {o: (o, 1) for o, _ in _BRACKETS} | {c: (o, -1) for o, c in _BRACKETS}
_BRACKET_CHAR = re.compile("[" + re.escape('"' + "".join(_BRACKET_OF)) + "]")
_WORD = WORD_PATTERN
_VISIBLE = re.compile(r"\S")
# CJK sentence ends: CJK text has no spaces, so these end a sentence with nothing after.
_CJK_TERMINATORS = "。！？"

# A candidate sentence end: a run of terminal punctuation ("?!" and "..." are one run),
# the closing quotes/brackets after it, and the whitespace after those. `\s*`, not `\s+`:
# CJK terminators need no space, and the buffer may end right after the punctuation
# (the next token has not arrived). `_ends_sentence` decides which candidates count.
_SENTENCE_END = re.compile(
    rf"(?P<term>[.!?…{_CJK_TERMINATORS}]+)(?P<close>[{re.escape(CLOSERS)}]*)(?P<space>\s*)"
)
# A blank line (paragraph break) ends whatever precedes it, punctuated or not.
_PARAGRAPH = re.compile(r"\n[^\S\n]*\n\s*")
# A candidate clause end, for an early first segment: `,` `;` `:` followed by whitespace
# (so "1,000" and "3:30" are never candidates), or a spaced dash (" — ", " – ", " -- ";
# "well-known" and "1990–2000" are not candidates).
CLAUSE_END = re.compile(rf"[,;:][{re.escape(CLOSERS)}]*\s+|\s(?:—|–|--)\s+")

# English function words that open a phrase: a speaker may pause before them ("Thanks for
# calling | our support line"), so a first segment cut there still sounds natural.
# Prepositions, conjunctions, relative words, articles and possessive/demonstrative
# determiners; lowercase.
# fmt: off
PHRASE_OPENERS = frozenset({
    "for", "to", "in", "on", "at", "of", "with", "from", "by", "about", "after", "before",
    "during", "through", "without", "into",
    "and", "but", "or", "so", "because", "although", "though", "while", "when", "where",
    "if", "unless", "until", "since", "than",
    "that", "which", "who", "whom", "whose",
    "a", "an", "the", "my", "your", "our", "their", "his", "her", "its", "this", "these",
    "those",
})
# fmt: on

# Abbreviations that do not end a sentence in practice: titles before a name ("Dr. Smith"),
# "vs.", "e.g.", "i.e." and friends. Lowercase, without the final period.
_NEVER_FINAL = frozenset(
    {"mr", "mrs", "ms", "mx", "dr", "prof", "st", "mt", "rev", "fr", "gen", "col", "capt"}
    | {"lt", "sgt", "gov", "sen", "rep", "hon", "vs", "cf", "e.g", "i.e", "viz", "approx"}
    | {"fig", "figs", "eq", "ca"}
)
# Abbreviations that may end a sentence ("... and so on, etc. Then"), but do not when the
# next word starts lowercase ("etc. and", "3 p.m. today", "the U.S. economy").
_FINAL_UNLESS_LOWER = frozenset(
    {"etc", "a.m", "p.m", "u.s", "u.k", "u.s.a", "u.n", "e.u", "ph.d", "inc", "ltd", "co"}
    | {"corp", "jr", "sr", "al", "esq"}
)
# Abbreviations before a number ("No. 5", "Vol. 2", "pp. 10-12"); "No. I won't." still ends.
_BEFORE_NUMBER = frozenset({"no", "nos", "vol", "vols", "pp", "ch", "sec", "art"})
# Dotted acronyms not in the lists ("N.Y.", "D.C."): treated like "U.S.".
_DOTTED_ACRONYM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
# "1. " at the start of a line numbers a list item; it is not a sentence of its own.
_LIST_MARKER = re.compile(r"\d{1,3}")
# A word still being typed that may be an address: e-mail, URL, path or dotted domain
# ("joe@mail.", "https://a.b/c?", "mail.example."). At the end of the buffer it waits.
_ADDRESS = re.compile(r"@|/|\w\.\w")


def find_release_point(
    text: str,
    *,
    first_segment: bool,
    min_clause_words: int = 3,
    min_sentence_chars: int = 1,
) -> int:
    """Return the end of the longest prefix of `text` that may be synthesized now, or 0.

    The prefix ends at a sentence end or, with `first_segment`, at a clause end once the
    sentence it belongs to has `min_clause_words` words up to it. It includes the
    punctuation, the closing quotes/brackets and the whitespace that follow. A sentence
    end that would release fewer than `min_sentence_chars` non-space characters does not
    count.
    """
    end = _last_sentence_end(text)
    if not _has_visible_chars(text, end, min_sentence_chars):
        end = 0
    if first_segment:
        end = max(end, _last_clause_end(text, end, min_clause_words))
    return end


def first_clause_end(text: str, *, min_words: int = 3) -> int:
    """End of the first clause of `text`'s first sentence once it has `min_words` words, or 0.

    A context's first audio comes sooner from a short first segment: "Well, as I said
    before, the point is ..." can start with "Well, as I said before, " (docs/protocol.md
    §4.2). 0 when the first sentence ends before any such clause.
    """
    sentence_end = next(
        (m.end() for m in _sentence_candidates(text) if _ends_sentence(text, m, 0)), len(text)
    )
    brackets = _Brackets(text)
    after = _nth_word_start(text, 0, min_words)
    for m in CLAUSE_END.finditer(text, 0, sentence_end):
        if m.start() > after and not brackets.open_at(m.end()):
            return m.end()
    return 0


def first_phrase_end(text: str, *, min_words: int = 3) -> int:
    """End of the longest prefix of `text` that stops right before a phrase-opening word, or 0.

    For a context's first text that has waited too long for a sentence or clause end
    (docs/protocol.md §4.2): "Thanks for calling our support" gives "Thanks for
    calling " (the whitespace stays with the prefix; the rest starts at "our"). The
    phrase-opening word (a preposition, conjunction, relative word, article or possessive
    determiner, in any case) must be followed by whitespace, since a streamed "our" may
    still become "ours", and must not follow another such word; at least `min_words`
    words (and at least one) must precede it; and no bracket or double quote may be open
    at the cut.

    0 when there is no such boundary, and 0 as well when `text` already has a sentence end
    or a clause end of `min_words` words: `find_release_point` releases those, and a
    phrase cut is only the fallback for text that has neither, so it never competes with
    (or cuts past) a better boundary.
    """
    if any(_ends_sentence(text, m, 0) for m in _sentence_candidates(text)):
        return 0
    brackets = _Brackets(text)
    if _last_clause_end(text, 0, min_words, brackets):
        return 0
    cut = 0
    previous_opens = True  # the first word never has one before it: only `index` rules it out
    for index, m in enumerate(_WORD.finditer(text)):
        start, end = m.span()
        opens = m.group().lower() in PHRASE_OPENERS
        # Tokens are maximal runs of non-space: `end < len(text)` means whitespace follows.
        # A run of function words is one phrase opening: "went | to the store", never
        # "went to | the store".
        if (
            opens
            and not previous_opens
            and index >= max(1, min_words)
            and end < len(text)
            and not brackets.open_at(start)
        ):
            cut = start
        previous_opens = opens
    return cut


def split_sentences(text: str) -> list[str]:
    """Split a complete text into sentences; their concatenation is `text`, exactly.

    Each sentence keeps the whitespace after it; the last one may lack a terminator.
    """
    sentences: list[str] = []
    start = 0
    for m in _sentence_candidates(text):
        end = m.end()
        if end > start and _VISIBLE.search(text, start, end) and _ends_sentence(text, m, start):
            sentences.append(text[start:end])
            start = end
    if start < len(text):
        sentences.append(text[start:])
    return sentences


def _sentence_candidates(text: str) -> list[re.Match[str]]:
    """All candidate sentence ends (punctuation and paragraph breaks), by end offset."""
    matches = [*_SENTENCE_END.finditer(text), *_PARAGRAPH.finditer(text)]
    return sorted(matches, key=lambda m: m.end())


def last_sentence_end(text: str, start: int, limit: int) -> int:
    """End of the last sentence end inside `text[start:limit]` (with its closing quotes and
    the spaces after it, up to `limit`), or 0; `start` counts as a line start.

    For cutting a long text into bounded steps (src/ttsd/text/steps.py): a sentence end
    is the best place. Costs O(limit - start), whatever the text around it.
    """
    candidates = [
        *_SENTENCE_END.finditer(text, start, limit),
        *_PARAGRAPH.finditer(text, start, limit),
    ]
    for m in sorted(candidates, key=lambda m: m.end(), reverse=True):
        if m.end() > start and _ends_sentence(text, m, start):
            return m.end()
    return 0


def _last_sentence_end(text: str) -> int:
    for m in reversed(_sentence_candidates(text)):
        if _ends_sentence(text, m, 0):
            return m.end()
    return 0


def _last_clause_end(
    text: str, start: int, min_words: int, brackets: _Brackets | None = None
) -> int:
    """End of the last clause after `start` whose words since `start` reach `min_words`.

    Words are counted from `start` (the sentence the clause belongs to), so "Hi there.
    Well, " does not release a one-word clause "Well, " after a sentence. One pass over the
    candidates, last first, each checked in O(log n): a long run of commas inside an open
    bracket costs no more than reading it (issue 8).
    """
    after = _nth_word_start(text, start, min_words)
    brackets = brackets or _Brackets(text)
    for m in reversed(list(CLAUSE_END.finditer(text, start))):
        if m.start() <= after:
            return 0  # fewer words before this candidate, and before every earlier one
        # No cut inside parentheses or quotes: "(for example, this)" stays whole.
        if not brackets.open_at(m.end()):
            return m.end()
    return 0


def _nth_word_start(text: str, start: int, n: int) -> int:
    """Where the `n`-th word after `start` begins (`start - 1` for n < 1, `len(text)` if
    there are fewer): a clause that ends after it has at least `n` words."""
    if n < 1:
        return start - 1
    for count, m in enumerate(_WORD.finditer(text, start), start=1):
        if count == n:
            return m.start()
    return len(text)


class _Brackets:
    """Answers "is a bracket or a straight double quote open before position p?" in O(log n).

    Built in one pass over the bracket characters of `text` (found by one regular
    expression), so many questions about one text cost no rescans (issue 8: the old
    per-candidate recount made a run of commas quadratic). Counts, not a stack, as before:
    a pair is open where more of its openers than closers came before.
    """

    __slots__ = ("_open_after", "_positions")

    def __init__(self, text: str) -> None:
        positions: list[int] = []
        open_after: list[bool] = []
        depth = dict.fromkeys(_BRACKET_OF, 0)
        quotes = 0
        unbalanced = 0  # pairs with more openers than closers so far
        for m in _BRACKET_CHAR.finditer(text):
            char = m.group()
            if char == '"':
                quotes += 1
            else:
                pair, step = _BRACKET_OF[char]
                before = depth[pair] > 0
                depth[pair] += step
                unbalanced += (depth[pair] > 0) - before
            positions.append(m.start())
            open_after.append(quotes % 2 == 1 or unbalanced > 0)
        self._positions = positions
        self._open_after = open_after

    def open_at(self, end: int) -> bool:
        """Whether `text[:end]` leaves a bracket or a straight double quote open."""
        index = bisect.bisect_left(self._positions, end) - 1
        return index >= 0 and self._open_after[index]


def _ends_sentence(text: str, m: re.Match[str], seg_start: int) -> bool:
    """Whether candidate `m` is a sentence end, given what the buffer holds so far.

    `seg_start` is where the current segment starts; it counts as a line start.
    """
    if m.re is _PARAGRAPH:
        return True
    term, close, space = m.group("term", "close", "space")
    end = m.end()
    if any(c in _CJK_TERMINATORS for c in term):
        # At the very end of the buffer, wait for the closing bracket of "「你好。".
        return end < len(text) or not _has_open_bracket(text, end)
    if not space and end < len(text):
        return False  # glued to the next character: "3.5", "example.com", "e.g", "?d=1"
    word_start = _word_start(text, m.start())
    word = text[word_start : m.start()].lstrip(_OPENERS)
    growing = not space and not close  # the buffer ends on the punctuation: the word may go on
    if growing and _ADDRESS.search(word):
        return False  # "joe@mail." -> "joe@mail.example.org", "https://a.b/c?" -> "?d=1"
    if not space and _has_open_bracket(text, end):
        return False  # `He said "Stop!` -> the closing quote is probably the next token
    nxt = _next_word_char(text, end)
    if any(c in _CLOSING_QUOTES for c in close) and (nxt is None or nxt.islower()):
        return False  # `"Stop!" she said` is one sentence: wait to see the next word
    if "!" in term or "?" in term:
        return True
    if len(term) > 1 or "…" in term:
        return nxt is not None and not nxt.islower()  # "wait... what" is one sentence
    at_line_start = _at_line_start(text, word_start, seg_start)
    return _period_ends_sentence(word, nxt, growing=growing, at_line_start=at_line_start)


def _period_ends_sentence(
    word: str, nxt: str | None, *, growing: bool, at_line_start: bool
) -> bool:
    """Whether a single "." after `word` ends a sentence; `nxt` starts the next word.

    `nxt` is None when the next word has not arrived yet.
    """
    lower = word.lower()
    if growing and word[-1:].isdigit():
        return False  # "3." may become "3.5", "$1,000." may become "$1,000.50"
    if (len(word) == 1 and word.isalpha()) or lower in _NEVER_FINAL:
        return False  # initials ("J. R. R. Tolkien"), "e." of "e.g.", "Dr. Smith"
    if at_line_start and _LIST_MARKER.fullmatch(word):
        return False  # "1. Open the box." numbers a list item
    if lower in _BEFORE_NUMBER:
        return nxt is not None and not nxt.isdigit()  # "No. 5" vs "No. I won't."
    if lower in _FINAL_UNLESS_LOWER or _DOTTED_ACRONYM.fullmatch(word):
        return nxt is not None and not (nxt.islower() or nxt.isdigit())
    return True


def _word_start(text: str, pos: int) -> int:
    """Start of the whitespace-delimited token that ends at `pos`."""
    while pos > 0 and not text[pos - 1].isspace():
        pos -= 1
    return pos


def _next_word_char(text: str, pos: int) -> str | None:
    """First character of the word at `pos`, past any opening quotes; None if not arrived."""
    while pos < len(text) and text[pos] in _OPENERS:
        pos += 1
    return text[pos] if pos < len(text) else None


def _at_line_start(text: str, pos: int, seg_start: int) -> bool:
    """Whether only spaces stand between `pos` and the start of its line (or `seg_start`).

    Walks back over that whitespace only, never to the start of the text: called once per
    candidate, a search back to the last newline would make a long line quadratic.
    """
    while pos > seg_start:
        char = text[pos - 1]
        if char == "\n":
            return True
        if not char.isspace():
            return False
        pos -= 1
    return True


def _has_open_bracket(text: str, end: int) -> bool:
    """Whether `text[:end]` leaves a bracket or a straight double quote open."""
    if text.count('"', 0, end) % 2:
        return True
    return any(text.count(o, 0, end) > text.count(c, 0, end) for o, c in _BRACKETS)


def _has_visible_chars(text: str, end: int, count: int) -> bool:
    """Whether `text[:end]` has at least `count` non-whitespace characters (stops there)."""
    if count <= 0:
        return True
    seen = itertools.islice(_VISIBLE.finditer(text, 0, end), count - 1, None)
    return next(seen, None) is not None
