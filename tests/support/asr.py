"""Speech checks for end-to-end tests: offline recognition (pocketsphinx) and "is this speech?".

`recognize` runs CMU PocketSphinx's default US English model (it ships inside the
`pocketsphinx` wheel; nothing is downloaded) on float audio at any rate. Recognition of
synthetic speech is imperfect, so tests compare with `word_recall` against a threshold
rather than expecting the exact text.
"""

from __future__ import annotations

import functools
import re
import threading

import numpy as np
import numpy.typing as npt
import soxr
from pocketsphinx import Decoder

ASR_RATE = 16000

# fmt: off
#: Words too short or too common to show that the speech says the text.
STOP_WORDS = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "and", "or", "but", "is", "are", "was",
    "were", "be", "am", "it", "its", "i", "you", "he", "she", "we", "they", "me", "my", "your",
    "our", "his", "her", "them", "this", "that",
})
# fmt: on

#: Contractions the recognizer writes either way ("we're" / "we are").
_CONTRACTIONS = (
    ("n't", " not"),
    ("'re", " are"),
    ("'ll", " will"),
    ("'ve", " have"),
    ("'m", " am"),
    ("'d", " would"),
    ("'s", " is"),
)

_lock = threading.Lock()


@functools.cache
def _decoder() -> Decoder:
    # `cmn="batch"`: cepstral mean over the whole utterance, so a result does not depend on
    # what the decoder heard before (the default "live" estimate carries over).
    return Decoder(samprate=ASR_RATE, cmn="batch", loglevel="FATAL")


def recognize(pcm: npt.NDArray[np.float32], sample_rate: int) -> list[str]:
    """The words PocketSphinx hears in mono float audio (lowercase, fillers removed)."""
    samples = np.asarray(pcm, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {samples.shape}")
    if sample_rate != ASR_RATE:
        samples = soxr.resample(samples, sample_rate, ASR_RATE)
    s16 = np.rint(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    with _lock:
        decoder = _decoder()
        decoder.start_utt()
        decoder.process_raw(s16, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
    text = hyp.hypstr if hyp is not None else ""
    # Fillers look like <sil>, [noise]; alternate pronunciations like word(2).
    return [re.sub(r"\(\d+\)$", "", w) for w in text.lower().split() if w[0] not in "<["]


def normalize_words(text: str | list[str]) -> list[str]:
    """Lowercase words, punctuation stripped, contractions expanded, crude suffixes cut.

    Both sides of a comparison go through this, so "jumps" matches "jumped" and
    "we're" matches "we are".
    """
    joined = text if isinstance(text, str) else " ".join(text)
    joined = joined.lower().replace("’", "'")
    for short, long in _CONTRACTIONS:
        joined = re.sub(rf"(?<=[a-z]){short}\b", long, joined)
    words = re.findall(r"[a-z0-9]+", joined)
    return [_stem(w) for w in words]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str | list[str]) -> list[str]:
    """The normalized words of `text` that carry meaning (all of them if every one is common)."""
    words = normalize_words(text)
    content = [w for w in words if w not in STOP_WORDS]
    return content or words


def word_recall(expected_text: str, recognized: list[str]) -> float:
    """Fraction of the expected content words (with repeats) found among the recognized ones."""
    expected = content_words(expected_text)
    if not expected:
        raise ValueError(f"no words in {expected_text!r}")
    heard = set(normalize_words(recognized))
    return sum(w in heard for w in expected) / len(expected)


def rms(pcm: npt.NDArray[np.float32]) -> float:
    """Root mean square of the samples (0 for none)."""
    samples = np.asarray(pcm, dtype=np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


#: Seconds per word a plausible utterance takes (slow and fast speech included)...
SECONDS_PER_WORD = (0.12, 0.8)
#: ...plus up to this much silence and breath around it (Piper sometimes starts 0.5 s in).
EDGE_SECONDS = 0.5
#: RMS of speech at Piper's normal level is ~0.1; silence and hiss are far below this.
MIN_SPEECH_RMS = 0.02


def speech_problems(
    pcm: npt.NDArray[np.float32],
    sample_rate: int,
    text: str,
    *,
    min_rms: float = MIN_SPEECH_RMS,
) -> list[str]:
    """Why `pcm` does not look like someone saying `text` (empty when it does).

    Checks: finite samples in [-1, 1]; a duration plausible for the number of words;
    RMS well above silence; and an energy envelope that comes and goes, as speech does
    (a steady tone or noise has an almost flat one).
    """
    samples = np.asarray(pcm, dtype=np.float32)
    problems: list[str] = []
    if not samples.size:
        return ["no audio"]
    if not np.all(np.isfinite(samples)) or float(np.max(np.abs(samples))) > 1.0:
        problems.append("samples are not finite floats in [-1, 1]")
    n_words = max(1, len(normalize_words(text)))
    duration = samples.size / sample_rate
    low, high = SECONDS_PER_WORD[0] * n_words, SECONDS_PER_WORD[1] * n_words + EDGE_SECONDS
    if not low <= duration <= high:
        problems.append(f"{duration:.2f} s for {n_words} words (expected {low:.2f}–{high:.2f} s)")
    level = rms(samples)
    if level < min_rms:
        problems.append(f"RMS {level:.4f} is below {min_rms}")
    frame = max(1, sample_rate // 50)  # 20 ms
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    if len(frames) >= 5:
        envelope = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
        variation = float(np.std(envelope) / (np.mean(envelope) + 1e-12))
        if variation < 0.3:
            problems.append(f"energy envelope is flat (variation {variation:.2f}), not speech")
    return problems


def assert_speech_like(
    pcm: npt.NDArray[np.float32], sample_rate: int, text: str, *, min_rms: float = MIN_SPEECH_RMS
) -> None:
    """Fail with the reasons when `pcm` does not look like speech of `text`."""
    problems = speech_problems(pcm, sample_rate, text, min_rms=min_rms)
    assert not problems, f"not speech-like for {text!r}: " + "; ".join(problems)


def assert_recognized(
    pcm: npt.NDArray[np.float32], sample_rate: int, text: str, *, min_recall: float
) -> list[str]:
    """Recognize `pcm` and require `min_recall` of the content words of `text`; return the words."""
    words = recognize(pcm, sample_rate)
    recall = word_recall(text, words)
    assert recall >= min_recall, (
        f"heard {' '.join(words)!r} for {text!r}: recall {recall:.2f} < {min_recall}"
    )
    return words
