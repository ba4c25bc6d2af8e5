"""English G2P for Kokoro from misaki's lexicons, with espeak-ng for words they lack.

Kokoro was trained on misaki's phoneme alphabet (diphthongs as single letters: "A" is
/eɪ/, "I" /aɪ/, "O" /oʊ/, ...). misaki's own English G2P loads a spaCy model from the
internet at first use, which ttsd must never do (nothing downloads at run time), and the
misaki package will not install on Python 3.13; so this module reads misaki 0.9.4's four
English lexicons, vendored gzipped in `data/lexicons/` (data/NOTICE), and follows its
rules for the common cases: gold then silver dictionary, the "-s", "-ed" and "-ing"
endings of known stems, letters of short all-caps words, weak forms of "a", "the", "to"
(after misaki's `Lexicon`, Apache-2.0). Without a part-of-speech tagger a word with
several readings ("read", "live") takes the lexicon's default one. Other words go to
espeak-ng, and its IPA is mapped onto misaki's alphabet as misaki's `EspeakFallback` does.
Numbers, money and abbreviations are spelled out first (normalize.py).
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import re
from functools import cache, lru_cache
from typing import Any

from ttsd.engines import espeak
from ttsd.engines.alignment import WordSpan
from ttsd.engines.kokoro.normalize import (
    DOTTED_LETTERS,
    is_abbreviation,
    month_name,
    spoken_words,
)
from ttsd.engines.kokoro.sentences import PUNCTUATION, SENTENCE_ENDS, Sentence
from ttsd.engines.kokoro.voices import vocabulary
from ttsd.text.words import split_words

#: Words whose phonemes are remembered, per dialect.
WORD_CACHE_SIZE = 50_000
#: Longest word looked up or sent to espeak-ng; a longer run of letters is cut into
#: pieces this long (hostile input: one 10,000-letter "word").
MAX_WORD_CHARS = 40

_VOWELS = frozenset("AIOQWYaiuæɑɒɔəɛɜɪʊʌᵻ")
_PRIMARY, _SECONDARY = "ˈ", "ˌ"
#: espeak IPA -> misaki, longest first (misaki's EspeakFallback.E2M, without tie marks:
#: piper's espeak-ng bridge does not emit them).
_E2M = sorted(
    {
        "ʔˌn̩": "ʔn", "ʔn̩": "ʔn", "aɪ": "I", "aʊ": "W", "dʒ": "ʤ", "eɪ": "A", "e": "A",
        "tʃ": "ʧ", "ɔɪ": "Y", "əl": "ᵊl", "ʲo": "jo", "ʲə": "jə", "ʲ": "", "ɚ": "əɹ",
        "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l", "̃": "",
    }.items(),
    key=lambda item: -len(item[0]),
)  # fmt: skip
#: Punctuation peeled off a token's ends before its words are read ("$" and "%" stay:
#: they are read as words).
_OPENERS = "\"'“‘«([{¿¡"
_CLOSERS = "\"'”’»)]}.,;:!?…—-"
#: A word of letters (apostrophes inside: "don't"), looked up as it is.
_PLAIN_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


class EnglishG2P:
    """American (`british=False`) or British English, as Kokoro's `a*` and `b*` voices speak."""

    def __init__(self, *, british: bool) -> None:
        self._british = british
        self._gold, self._silver = _lexicons(british)
        self._vocab = vocabulary()

    def __call__(self, text: str) -> list[Sentence]:
        """`text` as sentences of phonemes, each transcript word with its span."""
        sentences: list[Sentence] = []
        current = Sentence()
        tokens = split_words(text)
        said = []
        for index, token in enumerate(tokens):
            previous = tokens[index - 1].strip(_OPENERS + _CLOSERS) if index else ""
            said.append(self._token(token, after_month=month_name(previous) is not None))
        # The phonemes of the next token that has any, for each token (one pass from the end).
        following = [""] * len(said)
        for index in range(len(said) - 2, -1, -1):
            following[index] = said[index + 1][1] or following[index + 1]
        for index, (token, (lead, core, trail)) in enumerate(zip(tokens, said, strict=True)):
            core = self._weak_form(core, following[index])
            if current.phonemes:
                current.phonemes += " "
            start = len(current.phonemes) + len(lead)
            current.phonemes += lead + core + trail
            current.words.append(WordSpan(token, start, start + len(core)))
            if token.rstrip("\"')]}”’")[-1:] in SENTENCE_ENDS and not _is_abbreviation(token):
                sentences.append(current)
                current = Sentence()
        if current.words:
            sentences.append(current)
        return sentences

    def _token(self, token: str, *, after_month: bool = False) -> tuple[str, str, str]:
        """A transcript token's leading punctuation, phonemes, and trailing punctuation."""
        core = token.lstrip(_OPENERS)
        lead = token[: len(token) - len(core)]
        if _is_abbreviation(core):
            trail = ""  # its dot is part of the word, not a pause
        else:
            stripped = core.rstrip(_CLOSERS)
            core, trail = stripped, core[len(stripped) :]
        lead, trail = _kept(lead), _kept(trail)
        if not core:
            return "", "", trail or lead
        if _PLAIN_WORD.fullmatch(core):
            return lead, self.word(core), trail
        # A lexicon entry for the whole token first ("Wi-Fi", "e-mail"), then its words.
        whole = self._lookup(core)
        if whole is not None:
            return lead, "".join(c for c in whole if c in self._vocab), trail
        words = spoken_words(core, british=self._british, after_month=after_month)
        return lead, " ".join(p for p in (self.word(w) for w in words) if p), trail

    def _weak_form(self, phonemes: str, following: str) -> str:
        # "the"/"to" before a vowel (misaki: ði / tʊ), else the weak form.
        before_vowel = next((c for c in following if c not in "ˈˌ"), "") in _VOWELS
        if phonemes == "ði" or phonemes == "ðə":
            return "ði" if before_vowel else "ðə"
        if phonemes == "tu" or phonemes == "tə":
            return "tʊ" if before_vowel else "tə"
        return phonemes

    @lru_cache(maxsize=WORD_CACHE_SIZE)  # noqa: B019 (engines live as long as the server)
    def word(self, word: str) -> str:
        """One word's phonemes (characters of Kokoro's vocabulary only)."""
        if "’" in word:  # the lexicons spell "don't" with a straight apostrophe
            return self.word(word.replace("’", "'"))
        if len(word) > MAX_WORD_CHARS:
            pieces = [word[i : i + MAX_WORD_CHARS] for i in range(0, len(word), MAX_WORD_CHARS)]
            return " ".join(self.word(piece) for piece in pieces)
        if DOTTED_LETTERS.fullmatch(word):  # "U.S.", "a.m."
            return self._letters(word.replace(".", "").upper()) or ""
        found = self._special(word) or self._lookup(word) or self._stemmed(word)
        if found is None:
            found = self._espeak(word)
        return "".join(c for c in found if c in self._vocab)

    def _special(self, word: str) -> str | None:
        if word in ("a", "A"):
            return "ɐ"
        if word.lower() == "an":
            return "ɐn"
        if word == "I":
            return _SECONDARY + "I"
        if word.lower() == "the":
            return "ðə"
        if word.lower() == "to":
            return "tə"
        return None

    def _lookup(self, word: str) -> str | None:
        for form in (word, word.lower(), word.capitalize()):
            for table in (self._gold, self._silver):
                entry = table.get(form)
                if isinstance(entry, dict):
                    entry = entry.get("DEFAULT")
                if isinstance(entry, str):
                    return entry
        if word.isupper() and word.isalpha() and len(word) <= 5:
            return self._letters(word)
        return None

    def _letters(self, word: str) -> str | None:
        # An acronym read letter by letter ("NHS"), stressed on its last letter.
        letters = [self._gold.get(c.upper()) for c in word]
        if any(not isinstance(p, str) for p in letters):
            return None
        said = "".join(str(p).replace(_PRIMARY, "").replace(_SECONDARY, "") for p in letters)
        last = str(letters[-1]).replace(_SECONDARY, "")
        return said[: len(said) - len(last.replace(_PRIMARY, ""))] + last

    def _stemmed(self, word: str) -> str | None:
        lower = word.lower()
        for suffix, stems, ending in (
            ("'s", (lower[:-2],), self._s),
            ("ies", (lower[:-3] + "y",), self._s),
            ("es", (lower[:-2],), self._s),
            ("s", (lower[:-1],), self._s),
            ("ed", (lower[:-2], lower[:-1]), self._ed),
            ("ing", (lower[:-3], lower[:-3] + "e", lower[:-4]), self._ing),
        ):
            if not lower.endswith(suffix) or len(lower) < len(suffix) + 2:
                continue
            for stem in stems:
                found = self._lookup(stem) if len(stem) > 1 else None
                if found:
                    return ending(found)
        return None

    def _s(self, stem: str) -> str:
        if stem[-1] in "ptkfθ":
            return stem + "s"
        if stem[-1] in "szʃʒʧʤ":
            return stem + ("ɪ" if self._british else "ᵻ") + "z"
        return stem + "z"

    def _ed(self, stem: str) -> str:
        if stem[-1] in "pkfθʃsʧ":
            return stem + "t"
        if stem[-1] in "dt":
            return stem + ("ɪ" if self._british else "ᵻ") + "d"
        return stem + "d"

    def _ing(self, stem: str) -> str:
        return stem + "ɪŋ"

    def _espeak(self, word: str) -> str:
        try:
            sentences = espeak.phonemize("en" if self._british else "en-us", word)
        except RuntimeError:
            return ""
        said = "".join("".join(s) for s in sentences).strip()
        said = "".join(c for c in said if c not in PUNCTUATION)
        for old, new in _E2M:
            said = said.replace(old, new)
        if self._british:
            said = said.replace("əʊ", "Q")
        else:
            said = said.replace("oʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ")
            said = said.replace("ɪə", "iə").replace("ː", "")
        return said.replace("o", "ɔ").replace("ɾ", "T").replace("ʔ", "t")


def _kept(punctuation: str) -> str:
    """The punctuation of a token that Kokoro's vocabulary has (it shapes the prosody)."""
    return "".join("—" if c == "-" else c for c in punctuation if c in PUNCTUATION or c == "-")


def _is_abbreviation(token: str) -> bool:
    """Whether the token's final dot belongs to its word (normalize.is_abbreviation)."""
    return is_abbreviation(token.strip(_OPENERS + _CLOSERS.replace(".", "")))


@cache
def _lexicons(british: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """misaki's gold and silver lexicons for the dialect (read once per process)."""
    data = importlib.resources.files("ttsd.engines.kokoro") / "data" / "lexicons"
    prefix = "gb" if british else "us"
    gold, silver = (
        json.loads(gzip.decompress((data / f"{prefix}_{kind}.json.gz").read_bytes()))
        for kind in ("gold", "silver")
    )
    return gold, silver
