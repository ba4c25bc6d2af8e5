"""What a Kokoro G2P gives the engine: phonemes per sentence, and where each word lies."""

from __future__ import annotations

from dataclasses import dataclass, field

from ttsd.engines.alignment import WordSpan

#: Characters of Kokoro's vocabulary that are pauses or marks, not sounds.
SILENT = frozenset(' ;:,.!?—…"()“”ˈˌ')
#: Punctuation Kokoro's vocabulary has and the G2P keeps (it shapes the prosody).
PUNCTUATION = frozenset(';:,.!?—…"()“”')
#: Transcript characters that end a sentence when they end a word.
SENTENCE_ENDS = frozenset(".!?…")


@dataclass(slots=True)
class Sentence:
    """One sentence's phonemes (characters of Kokoro's vocabulary only) and its transcript
    words, each with the `[start, end)` range of `phonemes` it is spoken in."""

    phonemes: str = ""
    words: list[WordSpan] = field(default_factory=list)
