"""Map the words of the original transcript onto the phonemes the model spoke.

espeak-ng phonemizes a sentence as a whole: it merges words ("in the" → "ɪnðə"), expands
numbers ("3.5" → "θɹiː pɔɪnt faɪv") and drops symbols, so the space-separated groups of
its output are not the transcript's words. Each word is phonemized on its own as well;
aligning the concatenation of those per-word phonemes to the sentence's phonemes (a
longest-matching-blocks diff) tells where each word starts in the spoken sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

#: Phonemes that are pauses or stress marks, not sounds of a word.
SILENT_PHONEMES = frozenset(" ,.;:!?¡¿—–-…\"'()ˈˌ")
WORD_SEPARATOR = " "


@dataclass(frozen=True, slots=True)
class WordSpan:
    """Where one transcript word lies in the spoken phonemes.

    `start`/`end` index the flattened phoneme sequence of the whole segment (all
    sentences, in order); `end` is exclusive. Equal for a word that was not spoken.
    """

    word: str
    start: int
    end: int


def align_words(
    words: Sequence[str], word_phonemes: Sequence[Sequence[str]], spoken: Sequence[str]
) -> list[WordSpan]:
    """Align `words` (with their isolated phonemes) to the `spoken` phoneme sequence."""
    isolated: list[str] = []
    word_starts: list[int] = []
    for phonemes in word_phonemes:
        word_starts.append(len(isolated))
        isolated.extend(p for p in phonemes if p != WORD_SEPARATOR)
    spoken_positions = [i for i, p in enumerate(spoken) if p != WORD_SEPARATOR]
    spoken_sounds = [spoken[i] for i in spoken_positions]

    # to_spoken[k]: index in `spoken_sounds` matched to (or just after) isolated[k]
    to_spoken = _project(isolated, spoken_sounds)
    spans: list[WordSpan] = []
    for index, word in enumerate(words):
        first = to_spoken[word_starts[index]]
        next_start = (
            to_spoken[word_starts[index + 1]] if index + 1 < len(words) else len(spoken_sounds)
        )
        last = max(first, next_start)
        # A word after the last spoken sound (e.g. a trailing "—") sits on the last phoneme.
        start = spoken_positions[first] if first < len(spoken_positions) else len(spoken) - 1
        end = spoken_positions[last - 1] + 1 if last > first else start
        spans.append(WordSpan(word, start, end))
    return _monotonic(spans)


def _project(isolated: Sequence[str], spoken: Sequence[str]) -> list[int]:
    """For each isolated position (plus one past the end), its position in `spoken`."""
    mapping = [0] * (len(isolated) + 1)
    matcher = SequenceMatcher(None, isolated, spoken, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(i1, i2):
            if tag == "equal":
                mapping[k] = j1 + (k - i1)
            else:
                # Replaced or deleted phonemes: spread them proportionally over the
                # spoken span that replaced them (empty for a deletion).
                mapping[k] = j1 + ((k - i1) * (j2 - j1)) // max(1, i2 - i1)
    mapping[len(isolated)] = len(spoken)
    return mapping


def _monotonic(spans: list[WordSpan]) -> list[WordSpan]:
    # Diff artefacts must never make a word start before the previous one.
    result: list[WordSpan] = []
    floor = 0
    for span in spans:
        start = max(span.start, floor)
        end = max(span.end, start)
        result.append(WordSpan(span.word, start, end))
        floor = start
    return result
