"""G2P for Kokoro's non-English voices: espeak-ng's IPA, as Kokoro v1.0 was trained on.

Kokoro's pipeline phonemizes these languages with espeak-ng and rewrites its multi-letter
phonemes as single letters (misaki's `EspeakG2P`, Apache-2.0: /aɪ/ -> "I", /ts/ -> "ʦ",
...). piper's espeak-ng bridge does not mark which letters form one phoneme, so the same
rewrite is applied to every such pair of letters; in these languages the pairs are nearly
always one phoneme anyway.

A sentence is phonemized whole, so words run together as a speaker would say them (French
liaison, for one); each transcript word is phonemized alone too, and the two are aligned
(src/ttsd/engines/alignment.py) to find where each word is spoken.
"""

from __future__ import annotations

from functools import lru_cache

from ttsd.engines import espeak
from ttsd.engines.alignment import WordSpan, align_words
from ttsd.engines.kokoro.sentences import Sentence
from ttsd.engines.kokoro.voices import vocabulary
from ttsd.text.words import split_words

#: Words whose isolated phonemes are remembered, per language.
WORD_CACHE_SIZE = 50_000

_E2M = sorted(
    {
        "aɪ": "I", "aʊ": "W", "dz": "ʣ", "dʒ": "ʤ", "eɪ": "A", "oʊ": "O", "əʊ": "Q",
        "ts": "ʦ", "tʃ": "ʧ", "ɔɪ": "Y",
    }.items(),
    key=lambda item: -len(item[0]),
)  # fmt: skip


class EspeakG2P:
    """One language through espeak-ng (`voice`: espeak's name for it, e.g. "es", "pt-br")."""

    def __init__(self, voice: str) -> None:
        self._voice = voice
        self._vocab = vocabulary()

    def __call__(self, text: str) -> list[Sentence]:
        """`text` as sentences of phonemes, each transcript word with its span."""
        spoken = [self._rewrite(s) for s in self._phonemize(text)]
        spoken = [s for s in spoken if s.strip()]
        words = split_words(text)
        if not spoken:  # nothing to say ("—"): the words, spoken in no time
            return [Sentence("", [WordSpan(w, 0, 0) for w in words])] if words else []
        flat = "".join(spoken)
        spans = align_words(words, [list(self.word(w)) for w in words], list(flat))
        sentences = []
        offset = 0
        for index, phonemes in enumerate(spoken):
            end = offset + len(phonemes)
            last = index == len(spoken) - 1
            mine = [s for s in spans if offset <= s.start < end or (last and s.start >= end)]
            words_here = [
                WordSpan(s.word, min(s.start, end) - offset, min(s.end, end) - offset) for s in mine
            ]
            sentences.append(Sentence(phonemes, words_here))
            offset = end
        return sentences

    @lru_cache(maxsize=WORD_CACHE_SIZE)  # noqa: B019 (engines live as long as the server)
    def word(self, word: str) -> str:
        """One word's phonemes on its own."""
        return "".join(self._rewrite(s) for s in self._phonemize(word)).strip()

    def _phonemize(self, text: str) -> list[str]:
        try:
            return ["".join(s) for s in espeak.phonemize(self._voice, text)]
        except RuntimeError:
            return []

    def _rewrite(self, phonemes: str) -> str:
        phonemes = phonemes.replace("-", "")
        for old, new in _E2M:
            phonemes = phonemes.replace(old, new)
        return "".join(c for c in phonemes if c in self._vocab)
