"""Kokoro-82M: the quality engine (issue 11), beside Piper, the default.

Kokoro speaks with noticeably better voices than Piper's medium ones (the offline
recognizer hears more of its words) and in several languages, at 7-9× Piper's compute: a
choice for whoever has the cores, selected by `model_id: "kokoro"` or by one of its voice
ids. It runs under the same scheduler, limits, formats and timestamps as Piper:

- Text is cut into pieces of at most `max_step_chars` (src/ttsd/text/steps.py), each
  phonemized only when its turn comes (english.py, espeak_g2p.py), then into inferences of
  at most `max_step_tokens` phonemes, cut after a clause or between words (`_parts`):
  each `next()` is one bounded inference. A stream's first inference is shorter still
  (`first_step_tokens`), so its first audio comes after a clause's worth of work.
- Later inferences follow the listener (`step_lead()`, as Piper's decoder windows do): each
  is at most `LEAD_AUDIO_RATIO` times the audio the listener still holds, so a stream
  close to running dry gets a short inference soon, one with plenty in hand a long one.
- Every inference starts with the model's predicted lead-in silence (0.32–0.41 s); all
  but `KEPT_LEAD_IN_S` of it is cut, so a stream's first audio is speech.
- Word and phoneme timestamps come from the model's own per-token frame counts (model.py).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ttsd.engines.alignment import WordSpan
from ttsd.engines.base import (
    AudioChunk,
    Engine,
    SynthesisOptions,
    Timing,
    VoiceInfo,
    VoiceNotFound,
    step_lead,
    step_threads,
)
from ttsd.engines.kokoro.english import EnglishG2P
from ttsd.engines.kokoro.espeak_g2p import EspeakG2P
from ttsd.engines.kokoro.model import (
    MAX_TOKENS,
    MODEL_PACKAGES,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    KokoroModel,
    model_bytes,
)
from ttsd.engines.kokoro.sentences import SILENT, Sentence
from ttsd.engines.kokoro.voices import LICENSE, SOURCE, KokoroVoice, vendored_voices, vocabulary
from ttsd.engines.onnx_sessions import session_thread_counts
from ttsd.text.steps import step_end

_LOGGER = logging.getLogger(__name__)

#: Default longest text phonemized at once (the server passes its `Limits.max_step_chars`).
MAX_STEP_CHARS = 200
#: Default most phonemes (tokens) of one inference: ~9-11 s of speech, ~3 s of compute on
#: 2 cores; the model itself takes at most `MAX_TOKENS - 2`.
MAX_STEP_TOKENS = 150
#: Default most tokens of a stream's first inference: a clause (~2-3 s of speech).
FIRST_STEP_TOKENS = 40
#: Fewest tokens of an inference however slow the speed, so that parts stay words long.
_MIN_STEP_TOKENS = 20
#: Seconds of speech in an inference per second of audio the listener still holds. One
#: second of speech costs ~0.3 s of compute on 2 cores and ~0.55 s on one (a step side by
#: side with another stream's), so an inference of 1.5× the lead is ready before the
#: listener runs out, with room for the other streams' steps (measured with
#: benchmarks/load.py --voice af_heart, "breaking"; README.md, "Voices and languages").
LEAD_AUDIO_RATIO = 1.5
#: Phonemes Kokoro speaks per second at speed 1 (measured: 150 tokens, 8.5 s of prose).
TOKENS_PER_SECOND = 17.0
#: Seconds of the predicted lead-in silence kept before an inference's first phoneme:
#: speech starts slightly before the first token's predicted frame.
KEPT_LEAD_IN_S = 0.08

_STRESS = frozenset("ˈˌ")
#: Punctuation after which a speaker pauses mid-sentence (a good place to cut a sentence).
_PAUSES = ",;:—"
_LENGTH = frozenset("ːˑ")
#: espeak-ng's name for each non-English language Kokoro's voices speak.
_ESPEAK_VOICES = {"es": "es", "fr": "fr", "it": "it", "pt": "pt-br", "hi": "hi"}


@dataclass(frozen=True, slots=True)
class _Part:
    """One inference: its phonemes and the words that start in it (spans into them)."""

    phonemes: str
    words: list[WordSpan]


class KokoroEngine(Engine):
    """Kokoro-82M with its vendored voices; `af_heart` is the default."""

    name = "kokoro"

    def __init__(
        self,
        voices: Sequence[KokoroVoice] | None = None,
        *,
        model_path: Path | None = None,
        intra_op_threads: int = 0,
        shared_threads: int | None = None,
        max_step_chars: int = MAX_STEP_CHARS,
        max_step_tokens: int = MAX_STEP_TOKENS,
        first_step_tokens: int = FIRST_STEP_TOKENS,
    ) -> None:
        """`model_path`: a Kokoro v1.0 ONNX file to use instead of the packaged int8 model.
        The thread counts and step budgets mean what they mean for `PiperEngine`; the token
        budgets are capped at what the model can take (`MAX_TOKENS` - 2)."""
        self._voices = {voice.id: voice for voice in (voices or vendored_voices())}
        if not self._voices:
            raise ValueError("KokoroEngine needs at least one voice")
        if min(max_step_chars, max_step_tokens, first_step_tokens) < 1:
            raise ValueError("the step budgets of a Kokoro engine must be at least 1")
        self._default_id = next(iter(self._voices))
        self._model_path = model_path
        self._thread_counts = session_thread_counts(intra_op_threads, shared_threads)
        self._max_step_chars = max_step_chars
        self._cap = min(max_step_tokens, MAX_TOKENS - 2)
        self._first_cap = min(first_step_tokens, self._cap)
        self._model: KokoroModel | None = None
        self._styles: dict[str, npt.NDArray[np.float32]] = {}
        self._g2ps: dict[str, Callable[[str], list[Sentence]]] = {}
        self._lock = threading.Lock()
        self._vocab = vocabulary()

    @property
    def default_voice_id(self) -> str:
        """Id of the voice used when a request names none of ours."""
        return self._default_id

    @staticmethod
    def missing_packages(model_path: Path | None = None) -> list[str]:
        """The packages of the `kokoro` extra that are not installed: the model's parts,
        unless `model_path` replaces them (num2words, the other one, is imported here)."""
        needed = MODEL_PACKAGES if model_path is None else ()
        return [p.replace("_", "-") for p in needed if importlib.util.find_spec(p) is None]

    def load(self) -> None:
        """Load the model and the default voice now."""
        self._voice(self._default_id)

    def preload(self) -> None:
        """Load the model and every voice (its style vectors and its language's G2P) now."""
        for voice_id in self._voices:
            self._voice(voice_id)

    def voices(self) -> list[VoiceInfo]:
        """All voices, default first."""
        return [
            VoiceInfo(
                id=voice.id,
                name=voice.name,
                engine=self.name,
                language=voice.language,
                sample_rate=SAMPLE_RATE,
                description=f"Kokoro-82M voice {voice.id} ({voice.locale})",
                gender=voice.gender,
                country=voice.country,
                license=LICENSE,
                source=SOURCE,
            )
            for voice in self._voices.values()
        ]

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """Speak `text` one bounded inference at a time (see the module)."""
        model, style, g2p = self._voice(voice_id)
        # A slower speed stretches each token: the caps are on audio, so they shrink with it.
        cap = max(_MIN_STEP_TOKENS, min(self._cap, round(self._cap * options.speed)))
        first_cap = max(_MIN_STEP_TOKENS, min(cap, round(self._first_cap * options.speed)))
        first = options.first_audio

        def budget() -> int:
            """Phonemes of the next inference (read when it starts, on its step's thread)."""
            if first:
                return first_cap
            lead = step_lead()
            if lead is None:  # outside the server: nobody is listening yet
                return cap
            wanted = round(lead * LEAD_AUDIO_RATIO * TOKENS_PER_SECOND * options.speed)
            return max(first_cap, min(cap, wanted))

        unspoken: list[str] = []  # words of sentences with nothing to speak: on the next chunk
        start = 0
        while start < len(text):
            end = step_end(text, start, self._max_step_chars)
            for sentence in g2p(text[start:end]):
                for part in _parts(sentence, budget):
                    tokens = [self._vocab[c] for c in part.phonemes]
                    if not any(c not in SILENT for c in part.phonemes):
                        unspoken += [word.word for word in part.words]
                        continue
                    first = False
                    samples, frames = model.run(
                        tokens, style[min(len(tokens), len(style)) - 1], options.speed,
                        step_threads(),
                    )  # fmt: skip
                    chunk = _chunk(samples, frames, options.volume)
                    if options.timings:
                        starts = _token_starts(frames, chunk.trimmed_s)
                        chunk.audio.words = [Timing(w, 0.0, 0.0) for w in unspoken]
                        chunk.audio.words += _word_timings(part, starts)
                        chunk.audio.phonemes = _phoneme_timings(part.phonemes, starts)
                    unspoken = []
                    yield chunk.audio
            start = end

    def _voice(
        self, voice_id: str
    ) -> tuple[KokoroModel, npt.NDArray[np.float32], Callable[[str], list[Sentence]]]:
        """The model, the voice's styles and its language's G2P, loading what is missing."""
        voice = self._voices.get(voice_id)
        if voice is None:
            raise VoiceNotFound(voice_id)
        with self._lock:
            if self._model is None:
                self._model = KokoroModel(model_bytes(self._model_path), self._thread_counts)
                _LOGGER.info(
                    "loaded Kokoro-82M (%s, sessions with %s threads)",
                    self._model_path or "packaged int8 model",
                    "/".join(str(t or "default") for t in self._thread_counts),
                )
            if voice_id not in self._styles:
                self._styles[voice_id] = voice.styles()
            if voice.locale not in self._g2ps:
                self._g2ps[voice.locale] = _g2p_for(voice)
            return self._model, self._styles[voice_id], self._g2ps[voice.locale]


def _g2p_for(voice: KokoroVoice) -> Callable[[str], list[Sentence]]:
    if voice.language == "en":
        return EnglishG2P(british=voice.country == "GB")
    return EspeakG2P(_ESPEAK_VOICES[voice.language])


@dataclass(slots=True)
class _Trimmed:
    audio: AudioChunk
    #: seconds of lead-in silence cut from the front
    trimmed_s: float


def _chunk(
    samples: npt.NDArray[np.float32], frames: npt.NDArray[np.int64], volume: float
) -> _Trimmed:
    """The inference's audio without most of its lead-in silence (the first pad's frames)."""
    lead_in = int(frames[0]) * SAMPLES_PER_FRAME if len(frames) else 0
    cut = max(0, min(len(samples), lead_in - round(KEPT_LEAD_IN_S * SAMPLE_RATE)))
    audio = np.clip(samples[cut:] * volume, -1.0, 1.0).astype(np.float32)
    return _Trimmed(AudioChunk(samples=audio, sample_rate=SAMPLE_RATE), cut / SAMPLE_RATE)


def _token_starts(frames: npt.NDArray[np.int64], trimmed_s: float) -> list[float]:
    """Start of each token (pads included) and the end, in seconds from the chunk's start."""
    edges = np.concatenate(([0], np.cumsum(frames))) * SAMPLES_PER_FRAME / SAMPLE_RATE
    return [max(0.0, float(t) - trimmed_s) for t in edges]


def _word_timings(part: _Part, starts: list[float]) -> list[Timing]:
    # Phoneme i is token i + 1 (token 0 is the leading pad).
    timings: list[Timing] = []
    last_end = starts[1]
    for word in part.words:
        sounds = [i for i in range(word.start, word.end) if part.phonemes[i] not in SILENT]
        if sounds:
            begin, finish = starts[sounds[0] + 1], starts[sounds[-1] + 2]
        else:
            begin = finish = last_end
        timings.append(Timing(word.word, begin, finish))
        last_end = finish
    return timings


def _phoneme_timings(phonemes: str, starts: list[float]) -> list[Timing]:
    """One timing per sound: stress marks join the sound after them, length marks the one
    before, pauses and punctuation are left out."""
    timings: list[Timing] = []
    stress = ""
    for i, phoneme in enumerate(phonemes):
        if phoneme in _STRESS:
            stress += phoneme
        elif phoneme in _LENGTH and timings:
            previous = timings[-1]
            timings[-1] = Timing(previous.text + phoneme, previous.start, starts[i + 2])
        elif phoneme not in SILENT:
            begin = starts[i + 1 - len(stress)]
            timings.append(Timing(stress + phoneme, begin, starts[i + 2]))
            stress = ""
    return timings


def _parts(sentence: Sentence, budget: Callable[[], int]) -> Iterator[_Part]:
    """`sentence` in inferences of at most `budget()` phonemes each (asked anew for each).

    Each inference is spoken as a whole utterance (its own lead-in and final contour), so a
    cut is best where a speaker pauses anyway: after a clause's punctuation in the last two
    thirds of the budget, else after a word, else (one huge word) hard."""
    phonemes = sentence.phonemes
    start = 0
    while True:
        end = len(phonemes)
        most = max(1, budget())
        if end - start > most:
            limit = start + most
            floor = max(start + 1, limit - most * 2 // 3)
            end = _cut(phonemes, floor, limit)
        words = [
            _clamped(WordSpan(w.word, w.start - start, w.end - start), end - start)
            for w in sentence.words
            if start <= w.start < end or (end == len(phonemes) and w.start >= end)
        ]
        yield _Part(phonemes[start:end], words)
        if end >= len(phonemes):
            return
        start = end


def _cut(phonemes: str, floor: int, limit: int) -> int:
    """Where to end a part that must end in `(floor, limit]`: see `_parts`."""
    pause = max(phonemes.rfind(mark + " ", floor, limit) for mark in _PAUSES)
    if pause >= floor:
        return pause + 2  # after the mark and its space
    space = phonemes.rfind(" ", floor, limit)
    return space + 1 if space >= floor else limit


def _clamped(word: WordSpan, length: int) -> WordSpan:
    start = min(word.start, length)
    return WordSpan(word.word, start, max(start, min(word.end, length)))
