"""Piper through `piper-tts`: ONNX sessions per voice, alignments from the model.

Synthesis goes sentence by sentence (the unit Piper's model runs on). By default each
voice is cut into an encoder and a decoder (src/ttsd/engines/piper/split.py): a sentence's
encoder runs once, then its decoder window by window, so the first chunk is ready after
the encoder and a short first window rather than the whole sentence (chunked.py; each
window's size follows how much audio the stream's listener still holds, `step_lead()`).
A voice whose graph cannot be cut runs whole sentences. Each ONNX model is patched in memory to also
output its per-phoneme sample counts (piper's `patch_voice_with_alignment`), which
give word and phoneme timings from the model itself.

One inference costs memory that grows faster than its audio (measured here: 240
phonemes, 11 s of audio, +178 MiB peak; 600 phonemes, 28 s, +594 MiB), and ONNX Runtime
keeps the peak in its arena, so no step may be long whatever the text (issue 8): the
text is cut into pieces of at most `max_step_chars` (src/ttsd/text/steps.py), each piece
is phonemized and aligned only when its turn comes, and an espeak sentence whose
phonemes would still make too much audio (espeak expands "1234567" into 7 words) is cut
again at a word separator. Each `next()` is thus bounded in time and memory.

A voice has one session per thread count the server asks for (all cores for a step
that runs alone, one core for steps that run side by side); the sessions share the
model's weights, so a second one costs ~15 MiB instead of ~190 MiB.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig, SynthesisConfig
from piper.const import BOS, EOS, PAD

from ttsd.engines.alignment import (
    SILENT_PHONEMES,
    WORD_SEPARATOR,
    WordSpan,
    align_words,
)
from ttsd.engines.base import (
    AudioChunk,
    Engine,
    EngineError,
    SynthesisOptions,
    Timing,
    VoiceInfo,
    VoiceNotFound,
    step_threads,
)
from ttsd.engines.onnx_sessions import (
    cpu_session,
    for_threads,
    session_thread_counts,
    shared_weights,
    weights_of,
)
from ttsd.engines.piper.chunked import CALIBRATION_TEXT, SplitSessions
from ttsd.engines.piper.split import split_model
from ttsd.engines.piper.voices import PiperVoiceFile
from ttsd.text.steps import step_end
from ttsd.text.words import WORD_PATTERN, split_words

_LOGGER = logging.getLogger(__name__)

#: Words whose isolated phonemes are remembered (for word timestamps), all voices together.
WORD_CACHE_SIZE = 50_000

#: Stress marks belong to the phoneme after them in `phoneme_timestamps`, length marks
#: to the one before.
_STRESS_MARKS = frozenset("ˈˌ")
_LENGTH_MARKS = frozenset("ːˑ")

#: Default longest text of one step, in characters (the server passes its
#: `Limits.max_step_chars`, src/ttsd/protocol/limits.py, which has the same default).
MAX_STEP_CHARS = 200

#: Default most phonemes of one inference at speed 1 (spaces and stress marks count).
#: espeak makes ~21 phonemes a second of speech (17.6 for "xxx...", 23.6 for digits), so
#: 260 are ~12-15 s of audio and ~+200 MiB peak; prose makes 1.05-1.2 phonemes a
#: character, so a 200-character piece of prose is rarely cut again.
MAX_STEP_PHONEMES = 260

#: Default most phonemes of a stream's first inference (`SynthesisOptions.first_audio`):
#: a first piece of prose (at most `Limits.first_step_chars`, 100) has ~110-120 and is not
#: cut again, while one that espeak expands ("x" * 100 is 156 phonemes, 9 s of audio) is.
FIRST_STEP_PHONEMES = 140

#: Fewest phonemes of one inference however slow the speed, so that parts stay words long.
_MIN_STEP_PHONEMES = 40


@dataclass(frozen=True)
class _LoadedVoice:
    """A voice's sessions by intra-op thread count, over one copy of its weights."""

    #: thread count -> the voice on a session with that many threads; the first is the default.
    #: With `split`, the session is the encoder's and serves phonemization only.
    by_threads: dict[int, PiperVoice]
    #: the weights the sessions read (ONNX Runtime does not own them: keep them alive)
    weights: tuple[Any, ...]
    #: the encoder and chunked decoder (issue 10); None: whole-sentence inferences
    split: SplitSessions | None = None
    #: a split voice's fixed gain (chunked.py, "Loudness")
    gain: float = 1.0

    def for_step(self, threads: int | None) -> PiperVoice:
        """The session for a step that may use `threads` cores."""
        return for_threads(self.by_threads, threads)


class PiperEngine(Engine):
    """Piper voices: the first one is the default and is loaded by `load()`; others on first use."""

    name = "piper"

    def __init__(
        self,
        voice_files: Sequence[PiperVoiceFile],
        *,
        intra_op_threads: int = 0,
        shared_threads: int | None = None,
        max_step_chars: int = MAX_STEP_CHARS,
        max_step_phonemes: int = MAX_STEP_PHONEMES,
        first_step_phonemes: int = FIRST_STEP_PHONEMES,
        chunked: bool = True,
    ):
        """`intra_op_threads`: ONNX Runtime threads of a step (0: ONNX Runtime's default).
        `shared_threads`: also keep sessions with this many threads, used by steps for which
        `step_threads()` says so (the server's steps that run side by side).
        `max_step_chars`: longest piece of text phonemized at once; `max_step_phonemes`:
        most phonemes of one inference at speed 1 (scaled by the speed: the cap is on audio);
        `first_step_phonemes`: the same for a stream's first inference (`first_audio`).
        `chunked`: cut each voice into an encoder and a decoder run window by window
        (src/ttsd/engines/piper/chunked.py), where its graph allows; False: whole inferences.
        """
        if not voice_files:
            raise ValueError("PiperEngine needs at least one voice")
        if min(max_step_chars, max_step_phonemes, first_step_phonemes) < 1:
            raise ValueError("the step budgets of a Piper engine must be at least 1")
        self._first_step_phonemes = first_step_phonemes
        self._chunked = chunked
        self._max_step_chars = max_step_chars
        self._max_step_phonemes = max_step_phonemes
        self._files = {voice.id: voice for voice in voice_files}
        self._default_id = voice_files[0].id
        self._thread_counts = session_thread_counts(intra_op_threads, shared_threads)
        self._loaded: dict[str, _LoadedVoice] = {}
        self._load_lock = threading.Lock()

    @property
    def default_voice_id(self) -> str:
        """Id of the voice used when a request names none of ours."""
        return self._default_id

    def load(self) -> None:
        """Load the default voice now; the others load on first use."""
        self._voice(self._default_id)

    def preload(self) -> None:
        """Load every voice now (~1.5 s and ~200 MiB each), so no request waits for one."""
        for voice_id in self._files:
            self._voice(voice_id)

    def voices(self) -> list[VoiceInfo]:
        """All voices, default first."""
        return [
            VoiceInfo(
                id=voice.id,
                name=voice.name,
                engine=self.name,
                language=voice.language,
                sample_rate=voice.sample_rate,
                description=f"Piper voice {voice.id}",
                country=voice.country,
                license=voice.license,
                source=voice.source,
            )
            for voice in self._files.values()
        ]

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """Speak `text` one sentence at a time, in steps of bounded length (see the module)."""
        loaded = self._voice(voice_id)
        voice = loaded.for_step(None)
        rate = voice.config.sample_rate
        config = SynthesisConfig(
            length_scale=voice.config.length_scale / options.speed, volume=options.volume
        )
        # A slower speed stretches each phoneme: the cap is on audio, so it shrinks with it.
        cap = max(_MIN_STEP_PHONEMES, round(self._max_step_phonemes * options.speed))
        first_cap = max(_MIN_STEP_PHONEMES, round(self._first_step_phonemes * options.speed))
        first = options.first_audio  # the next inference is the stream's first
        start = 0
        # The transcript word a piece ends inside of (a word longer than a piece is cut
        # hard): reported once, whole, where it starts; its tail in the next piece is not.
        carried = False
        # Words of pieces with nothing to speak ("( ( ( ..."): at the start of the next chunk.
        unspoken: list[str] = []
        while start < len(text):
            end = step_end(text, start, self._max_step_chars)
            piece = text[start:end]
            continues = end < len(text) and not text[end - 1].isspace() and not text[end].isspace()
            try:
                sentences = [s for s in voice.phonemize(piece) if s]
            except Exception as exc:  # espeak-ng raises bare RuntimeErrors
                raise EngineError(f"could not phonemize the text: {exc}") from exc
            spans: list[WordSpan] = []
            if options.timings:
                spans = self._word_spans(voice_id, piece, sentences)
                if carried and spans:
                    spans = spans[1:]
                if continues and spans:
                    last = spans[-1]
                    spans[-1] = WordSpan(_word_at(text, end - len(last.word)), last.start, last.end)
                if not sentences:
                    unspoken += [span.word for span in spans]
            offset = 0
            for phonemes in sentences:
                for part in (
                    _first_and_rest(phonemes, first_cap, cap) if first else _parts(phonemes, cap)
                ):
                    words: list[Timing] = []
                    phones: list[Timing] = []
                    for spoken in self._speak(loaded, part, config, first=first):
                        first = False
                        chunk = AudioChunk(samples=spoken.samples, sample_rate=rate)
                        if options.timings:
                            if spoken.at == 0.0:  # the inference's first chunk
                                starts = _phoneme_starts(spoken.per_phoneme, rate)
                                phones = _phoneme_timings(part, starts)
                                words = _word_timings(spans, offset, part, starts)
                                words[:0] = [Timing(word, 0.0, 0.0) for word in unspoken]
                                unspoken = []
                            until = math.inf if spoken.last else spoken.at + chunk.duration
                            chunk.words, words = _split_timings(words, spoken.at, until)
                            chunk.phonemes, phones = _split_timings(phones, spoken.at, until)
                        yield chunk
                    offset += len(part)
            carried = continues
            start = end

    def _voice(self, voice_id: str) -> _LoadedVoice:
        voice = self._loaded.get(voice_id)
        if voice is not None:
            return voice
        if voice_id not in self._files:
            raise VoiceNotFound(voice_id)
        with self._load_lock:
            if voice_id not in self._loaded:
                self._loaded[voice_id] = self._load_voice(self._files[voice_id])
        return self._loaded[voice_id]

    def _load_voice(self, file: PiperVoiceFile) -> _LoadedVoice:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output

        model = onnx.load(str(file.model_path))
        try:
            add_alignment_output(model)
        except ValueError as exc:
            # Already patched on disk, or an unusual graph: timings fall back to even spacing.
            _LOGGER.info("voice %s: alignment output not added (%s)", file.id, exc)
        shared = shared_weights(model)
        halves = split_model(model) if self._chunked else None
        if halves is None and self._chunked:
            _LOGGER.info(
                "voice %s: its graph cannot be cut before the decoder; whole sentences", file.id
            )
        models = [model] if halves is None else [halves.encoder, halves.decoder]
        blobs = [(m.SerializeToString(), weights_of(m, shared)) for m in models]
        del model, models, halves
        config = PiperConfig.from_dict(json.loads(file.config_path.read_text(encoding="utf-8")))
        # Building a session (graph optimization) takes ~1.4 s and releases the GIL: the
        # sessions are built side by side, so a second one costs little start-up time.
        jobs = [(blob, t, weights) for blob, weights in blobs for t in self._thread_counts]
        spin = len(blobs) == 1  # see `cpu_session`
        with ThreadPoolExecutor(len(jobs)) as pool:
            built = list(pool.map(lambda job: cpu_session(*job, spin=spin), jobs))
        count = len(self._thread_counts)
        first = dict(zip(self._thread_counts, built[:count], strict=True))
        by_threads = {t: PiperVoice(session=session, config=config) for t, session in first.items()}
        split = None
        if len(blobs) == 2:
            split = SplitSessions(
                encoders=first,
                decoders=dict(zip(self._thread_counts, built[count:], strict=True)),
                latent=_latent_name(built[count]),
                hop=config.hop_length,
            )
        loaded = _LoadedVoice(by_threads=by_threads, weights=tuple(shared.values()), split=split)
        if split is not None:
            loaded = replace(loaded, gain=split.calibrated_gain(self._calibration(loaded)))
        _LOGGER.info(
            "loaded Piper voice %s (%d Hz, sessions with %s threads%s)",
            file.id,
            config.sample_rate,
            "/".join(str(t or "default") for t in by_threads),
            "; encoder and chunked decoder" if split is not None else "",
        )
        return loaded

    def _calibration(self, loaded: _LoadedVoice) -> list[dict[str, npt.NDArray[np.generic]]]:
        voice = loaded.for_step(None)
        config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        return [
            _feeds(voice, voice.phonemes_to_ids(phonemes), config)
            for phonemes in voice.phonemize(CALIBRATION_TEXT)
            if phonemes
        ]

    def _speak(
        self, loaded: _LoadedVoice, phonemes: list[str], config: SynthesisConfig, *, first: bool
    ) -> Iterator[_Spoken]:
        """The audio of one inference of `phonemes`: one chunk (whole-sentence voices), or
        the encoder's work and then window after window of the decoder (split voices),
        each `next()` one step on the cores the scheduler gives it (`step_threads()`).
        `first`: the stream's first inference, whose first window is short."""
        split = loaded.split
        if split is None:
            samples, per_phoneme = self._run(loaded.for_step(step_threads()), phonemes, config)
            yield _Spoken(samples, 0.0, per_phoneme, last=True)
            return
        voice = loaded.for_step(None)
        rate = voice.config.sample_rate
        feeds = _feeds(voice, voice.phonemes_to_ids(phonemes), config)
        try:
            latent, durations = split.encode(step_threads(), feeds)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"the voice model failed: {exc}") from exc
        frames = latent.shape[2]
        id_samples = None if durations is None else np.asarray(durations).reshape(-1) * split.hop
        per_phoneme = _samples_per_phoneme(voice.config, phonemes, id_samples, frames * split.hop)
        gain = loaded.gain * (config.volume if config.volume is not None else 1.0)
        for window in split.windows(latent, rate, first=first):
            try:
                audio = split.decode(step_threads(), latent, window)
            except Exception as exc:
                raise EngineError(f"the voice model failed: {exc}") from exc
            samples = np.clip(audio * gain, -1.0, 1.0).astype(np.float32)
            at = window.start * split.hop / rate
            yield _Spoken(samples, at, per_phoneme, last=window.end == frames)

    def _run(
        self, voice: PiperVoice, phonemes: list[str], config: SynthesisConfig
    ) -> tuple[npt.NDArray[np.float32], list[int]]:
        ids = voice.phonemes_to_ids(phonemes)
        try:
            result = voice.phoneme_ids_to_audio(ids, config, include_alignments=True)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"the voice model failed: {exc}") from exc
        audio, id_samples = result if isinstance(result, tuple) else (result, None)
        samples = _normalize(np.asarray(audio, dtype=np.float32), config.volume)
        return samples, _samples_per_phoneme(voice.config, phonemes, id_samples, len(samples))

    def _word_spans(self, voice_id: str, text: str, sentences: list[list[str]]) -> list[WordSpan]:
        words = split_words(text)
        isolated = [self._word_phonemes(voice_id, word) for word in words]
        return align_words(words, isolated, [p for s in sentences for p in s])

    @functools.lru_cache(maxsize=WORD_CACHE_SIZE)  # noqa: B019 (engines live as long as the server)
    def _word_phonemes(self, voice_id: str, word: str) -> tuple[str, ...]:
        # espeak costs ~0.14 ms a word, which added up before a paragraph's first audio;
        # speech reuses its words, so most lookups are free after a while.
        voice = self._voice(voice_id).for_step(None)
        return tuple(p for s in voice.phonemize(word) for p in s)


@dataclass(frozen=True)
class _Spoken:
    """A chunk of one inference: its samples, where it starts in the inference (seconds),
    the inference's samples per BOS/phoneme/EOS, and whether it is the inference's last."""

    samples: npt.NDArray[np.float32]
    at: float
    per_phoneme: list[int]
    last: bool


def _split_timings(
    timings: list[Timing], start: float, end: float
) -> tuple[list[Timing], list[Timing]]:
    """The timings that start before `end`, moved onto a chunk that starts at `start`, and
    the rest (for the chunks after it), both in order."""
    cut = next((i for i, t in enumerate(timings) if t.start >= end), len(timings))
    here = [Timing(t.text, t.start - start, t.end - start) for t in timings[:cut]]
    return here, timings[cut:]


def _feeds(
    voice: PiperVoice, ids: list[int], config: SynthesisConfig
) -> dict[str, npt.NDArray[np.generic]]:
    """The model's inputs for one inference, as `PiperVoice.phoneme_ids_to_audio` builds them."""
    voice_config = voice.config
    scales = [
        voice_config.noise_scale if config.noise_scale is None else config.noise_scale,
        voice_config.length_scale if config.length_scale is None else config.length_scale,
        voice_config.noise_w_scale if config.noise_w_scale is None else config.noise_w_scale,
    ]
    feeds: dict[str, npt.NDArray[np.generic]] = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": np.array(scales, dtype=np.float32),
    }
    if voice_config.num_speakers > 1:
        speaker = config.speaker_id
        feeds["sid"] = np.array(
            [voice_config.default_speaker_id if speaker is None else speaker], dtype=np.int64
        )
    return feeds


def _latent_name(decoder: onnxruntime.InferenceSession) -> str:
    return str(decoder.get_inputs()[0].name)


def _word_at(text: str, start: int) -> str:
    """The whitespace-free run of `text` that starts at `start` (a transcript word)."""
    match = WORD_PATTERN.match(text, start)
    return match.group() if match else ""


def _first_and_rest(phonemes: list[str], first_cap: int, cap: int) -> Iterator[list[str]]:
    """`_parts` of `phonemes` whose first part has at most `first_cap` phonemes."""
    head = next(_parts(phonemes, min(first_cap, cap)), [])
    yield head
    if len(head) < len(phonemes):
        yield from _parts(phonemes[len(head) :], cap)


def _parts(phonemes: list[str], cap: int) -> Iterator[list[str]]:
    """`phonemes` of one espeak sentence in parts of at most `cap`, of even length.

    A part ends after a word separator when one lies in the last two thirds of its
    window, else it is cut hard (one long "word": a number of 500 digits), but never
    right after a stress mark or right before a length mark, which belong to a vowel.
    """
    start = 0
    while len(phonemes) - start > cap:
        remaining = len(phonemes) - start
        # Even parts: 270 phonemes with a cap of 260 are two of 135, not 260 and 10.
        target = -(-remaining // -(-remaining // cap))
        cut = 0
        for limit in (start + target, start + cap):
            floor = limit - (limit - start) * 2 // 3
            for i in range(limit, floor, -1):
                if phonemes[i - 1] == WORD_SEPARATOR:
                    cut = i
                    break
            if cut:
                break
        if not cut:
            cut = start + target
            while cut > start + 1 and (
                phonemes[cut - 1] in _STRESS_MARKS or phonemes[cut] in _LENGTH_MARKS
            ):
                cut -= 1
        yield phonemes[start:cut]
        start = cut
    yield phonemes[start:]


def _normalize(audio: npt.NDArray[np.float32], volume: float) -> npt.NDArray[np.float32]:
    # Piper's own default: scale each sentence to full range, then apply the volume.
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < 1e-8:
        return np.zeros_like(audio)
    scaled: npt.NDArray[np.float32] = np.clip(audio * (volume / peak), -1.0, 1.0).astype(np.float32)
    return scaled


def _samples_per_phoneme(
    config: PiperConfig, phonemes: list[str], id_samples: Any, total: int
) -> list[int]:
    """Samples spoken for BOS, each phoneme, and EOS, from the model's per-id durations.

    Mirrors `piper.phoneme_ids.phonemes_to_ids`: BOS and every known phoneme are followed
    by a PAD id; unknown phonemes produce no ids (and so take no time).
    """
    id_map = config.phoneme_id_map
    pad = len(id_map.get(PAD, []))
    widths = [len(id_map.get(BOS, [])) + pad]
    widths += [len(id_map[p]) + pad if p in id_map else 0 for p in phonemes]
    widths.append(len(id_map.get(EOS, [])))
    if id_samples is None or len(id_samples) != sum(widths):
        # No alignment output: spread the audio evenly (BOS/EOS get no time).
        share = total / max(1, len(phonemes))
        return [0, *(round(share * (i + 1)) - round(share * i) for i in range(len(phonemes))), 0]
    counts, position = [], 0
    for width in widths:
        counts.append(int(np.sum(id_samples[position : position + width])))
        position += width
    return counts


def _phoneme_starts(samples_per_phoneme: list[int], rate: int) -> list[float]:
    """Start time of BOS, each phoneme and EOS, plus the end time, in seconds."""
    starts = np.concatenate(([0], np.cumsum(samples_per_phoneme))) / rate
    return [float(t) for t in starts]


def _phoneme_timings(phonemes: list[str], starts: list[float]) -> list[Timing]:
    # Index i+1 in `starts` is phoneme i (index 0 is BOS).
    timings: list[Timing] = []
    stress = ""
    for i, phoneme in enumerate(phonemes):
        if phoneme in _STRESS_MARKS:
            stress += phoneme
            continue
        if phoneme in _LENGTH_MARKS and timings:
            previous = timings[-1]
            timings[-1] = Timing(previous.text + phoneme, previous.start, starts[i + 2])
            continue
        if phoneme in SILENT_PHONEMES:
            continue
        begin = starts[i + 1] if not stress else starts[i + 1 - len(stress)]
        timings.append(Timing(stress + phoneme, begin, starts[i + 2]))
        stress = ""
    return timings


def _word_timings(
    spans: list[WordSpan], offset: int, phonemes: list[str], starts: list[float]
) -> list[Timing]:
    """Timings of the words that start in this sentence (flat indices from `offset`)."""
    end_index = offset + len(phonemes)
    timings: list[Timing] = []
    last_end = starts[1]
    for span in spans:
        if not offset <= span.start < end_index:
            continue
        local = [
            i - offset
            for i in range(span.start, min(span.end, end_index))
            if phonemes[i - offset] not in SILENT_PHONEMES
        ]
        if local:
            begin, finish = starts[local[0] + 1], starts[local[-1] + 2]
        else:
            begin = finish = last_end
        timings.append(Timing(span.word, begin, finish))
        last_end = finish
    return timings
