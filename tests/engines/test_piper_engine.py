"""The Piper engine with the real default voice, speaking whole sentences (`chunked=False`;
the encoder and chunked decoder, the default, are tested in test_piper_chunked.py and end to
end through the server)."""

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ttsd.engines.base import AudioChunk, SynthesisOptions, VoiceNotFound, running_with_threads
from ttsd.engines.piper import PiperEngine, default_voice_file
from ttsd.engines.piper.engine import MAX_STEP_CHARS, _first_and_rest, _parts
from ttsd.engines.piper.voices import PiperVoiceFile
from ttsd.text.words import split_words

VOICE = "en_US-joe-medium"
TEXT = "Good morning, everyone. It was 3.5 degrees in the U.S. today!"


@pytest.fixture(scope="module")
def engine() -> Iterator[PiperEngine]:
    engine = PiperEngine([default_voice_file()], chunked=False)
    engine.load()
    yield engine


def test_it_lists_the_default_voice_first(engine: PiperEngine) -> None:
    voices = engine.voices()
    assert voices[0].id == VOICE == engine.default_voice_id
    assert voices[0].engine == "piper" and voices[0].sample_rate == 22050


def test_it_speaks_one_chunk_per_sentence(engine: PiperEngine) -> None:
    chunks = list(engine.synthesize(TEXT, VOICE, SynthesisOptions()))
    assert len(chunks) >= 2
    for chunk in chunks:
        assert chunk.sample_rate == 22050
        assert chunk.samples.dtype == np.float32
        assert float(np.max(np.abs(chunk.samples))) <= 1.0
        assert float(np.sqrt(np.mean(chunk.samples**2))) > 0.03  # speech, not silence
    total = sum(c.duration for c in chunks)
    assert 0.15 * len(split_words(TEXT)) < total < 0.9 * len(split_words(TEXT)) + 2


def test_timings_name_every_transcript_word_in_order(engine: PiperEngine) -> None:
    chunks = list(engine.synthesize(TEXT, VOICE, SynthesisOptions(timings=True)))
    words = [w.text for c in chunks for w in c.words]
    assert words == split_words(TEXT)
    for chunk in chunks:
        starts = [w.start for w in chunk.words]
        assert starts == sorted(starts)
        assert all(0 <= w.start <= w.end <= chunk.duration + 1e-6 for w in chunk.words)
        assert chunk.phonemes and all(p.end <= chunk.duration + 1e-6 for p in chunk.phonemes)
        assert not any(p.text.strip() == "" for p in chunk.phonemes)


def test_words_are_spoken_where_their_timings_say(engine: PiperEngine) -> None:
    (chunk,) = engine.synthesize("Listen carefully now", VOICE, SynthesisOptions(timings=True))
    rate = chunk.sample_rate
    inside = np.concatenate(
        [chunk.samples[int(w.start * rate) : int(w.end * rate)] for w in chunk.words]
    )
    lead = chunk.samples[: int(chunk.words[0].start * rate)]
    assert len(lead) > 0
    assert float(np.sqrt(np.mean(inside**2))) > 3 * float(np.sqrt(np.mean(lead**2)) + 1e-4)


def test_speed_and_volume_change_the_audio(engine: PiperEngine) -> None:
    def render(options: SynthesisOptions) -> np.ndarray:
        return np.concatenate([c.samples for c in engine.synthesize(TEXT, VOICE, options)])

    normal, fast = render(SynthesisOptions()), render(SynthesisOptions(speed=1.5))
    assert 0.5 < len(fast) / len(normal) < 0.8
    quiet = render(SynthesisOptions(volume=0.5))
    assert float(np.max(np.abs(quiet))) == pytest.approx(0.5, abs=0.01)


def test_blank_text_yields_nothing(engine: PiperEngine) -> None:
    assert list(engine.synthesize("   ", VOICE, SynthesisOptions())) == []


def test_an_unknown_voice_raises(engine: PiperEngine) -> None:
    with pytest.raises(VoiceNotFound):
        next(iter(engine.synthesize("Hi", "nobody", SynthesisOptions())))


def test_steps_run_on_the_session_with_the_cores_they_were_given() -> None:
    """A two-thread engine that also keeps one-thread sessions speaks alike on both, and
    a step's `running_with_threads` picks the session."""
    engine = PiperEngine([default_voice_file()], intra_op_threads=2, shared_threads=1)
    engine.load()
    text = "The quick brown fox jumps over the lazy dog."
    durations = {}
    for threads in (2, 1, None):
        with running_with_threads(threads):
            chunks = list(engine.synthesize(text, VOICE, SynthesisOptions(timings=True)))
        assert [w.text for c in chunks for w in c.words] == split_words(text)
        assert float(np.sqrt(np.mean(chunks[0].samples ** 2))) > 0.03
        durations[threads] = sum(c.duration for c in chunks)
    # VITS samples its durations, so lengths differ a little from run to run.
    assert max(durations.values()) < 1.25 * min(durations.values())
    sessions = engine._loaded[VOICE].by_threads
    assert set(sessions) == {2, 1}
    for threads, voice in sessions.items():
        options = voice.session.get_session_options()
        assert options.intra_op_num_threads == threads


def test_without_shared_threads_there_is_one_session() -> None:
    engine = PiperEngine([default_voice_file()], intra_op_threads=1, shared_threads=1)
    engine.load()
    assert list(engine._loaded[VOICE].by_threads) == [1]


def test_preload_loads_every_voice_and_load_only_the_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    joe = default_voice_file()
    for suffix in ("", ".json"):
        shutil.copy(f"{joe.model_path}{suffix}", tmp_path / f"en_US-copy-medium.onnx{suffix}")
    copy = PiperVoiceFile.from_model_path(tmp_path / "en_US-copy-medium.onnx")
    with caplog.at_level(logging.INFO, logger="ttsd.engines.piper.engine"):
        lazy = PiperEngine([joe, copy], chunked=False)
        lazy.load()
        loaded_lazily = sum("loaded Piper voice" in r.getMessage() for r in caplog.records)
        caplog.clear()
        eager = PiperEngine([joe, copy], chunked=False)
        eager.preload()
        loaded_eagerly = sum("loaded Piper voice" in r.getMessage() for r in caplog.records)
        caplog.clear()
        list(eager.synthesize("Hi.", "en_US-copy-medium", SynthesisOptions()))
        assert not [r for r in caplog.records if "loaded Piper voice" in r.getMessage()]
    assert (loaded_lazily, loaded_eagerly) == (1, 2)


def test_the_default_voice_states_its_licence_and_lessac_ancestry(engine: PiperEngine) -> None:
    (voice,) = engine.voices()
    assert voice.license.startswith("CC0") and "lessac" in voice.license
    assert "NabuCasa" in voice.source and "lessac" in voice.source


# --- bounded steps (issue 8) ---------------------------------------------------------------

#: ~400 characters of prose without a sentence or clause end: one espeak sentence of ~20 s.
RUN_ON = " ".join(
    [
        "we walked along the river past the old mill and the bakery on the corner",
        "then over the bridge where the fishermen sat with their lines in the water",
        "and on through the market square where people sold apples and bread and cheese",
        "until we reached the station just as the last train of the evening left",
        "so we sat down on a bench and waited for the morning to come around again",
    ]
)
#: Longest chunk at speed 1 with the default budgets (~12 s measured; VITS varies a little).
MAX_CHUNK_S = 15.0


def _rms(chunk: AudioChunk) -> float:
    return float(np.sqrt(np.mean(chunk.samples**2)))


def test_a_long_sentence_without_punctuation_is_spoken_in_bounded_steps(
    engine: PiperEngine,
) -> None:
    chunks = list(engine.synthesize(RUN_ON, VOICE, SynthesisOptions()))
    assert len(chunks) >= 2
    assert all(c.duration <= MAX_CHUNK_S for c in chunks)
    assert all(_rms(c) > 0.03 for c in chunks)  # every step speaks
    words = len(split_words(RUN_ON))
    assert 0.15 * words < sum(c.duration for c in chunks) < 0.9 * words + 2


@pytest.mark.parametrize("text", ["1234567 " * 6, "x" * 400], ids=["number", "one-long-word"])
def test_text_that_espeak_expands_is_spoken_in_bounded_steps(
    engine: PiperEngine, text: str
) -> None:
    """48 characters of numbers are ~440 phonemes (~21 s in one step before); 400 x's are
    one word longer than a step. Words stay whole in the timings."""
    chunks = list(engine.synthesize(text, VOICE, SynthesisOptions(timings=True)))
    assert len(chunks) >= 2
    assert all(c.duration <= MAX_CHUNK_S and _rms(c) > 0.03 for c in chunks)
    assert [w.text for c in chunks for w in c.words] == text.split()


def test_word_timestamps_run_on_over_several_steps(engine: PiperEngine) -> None:
    chunks = list(engine.synthesize(RUN_ON, VOICE, SynthesisOptions(timings=True)))
    assert len(chunks) >= 2
    assert [w.text for c in chunks for w in c.words] == RUN_ON.split()
    starts, clock = [], 0.0
    for chunk in chunks:
        assert all(0 <= w.start <= w.end <= chunk.duration + 1e-6 for w in chunk.words)
        starts += [clock + w.start for w in chunk.words]
        clock += chunk.duration
    assert starts == sorted(starts)


def test_a_slower_speed_makes_smaller_steps(engine: PiperEngine) -> None:
    """The phoneme budget is one of audio: at speed 0.6 a phoneme lasts 1/0.6 as long, so a
    sentence of ~210 phonemes that is one step at speed 1 is two at 0.6."""
    text = RUN_ON[:175]
    normal = list(engine.synthesize(text, VOICE, SynthesisOptions()))
    slow = list(engine.synthesize(text, VOICE, SynthesisOptions(speed=0.6)))
    assert len(slow) > len(normal)
    assert max(c.duration for c in slow) <= MAX_CHUNK_S


def test_text_is_phonemized_one_step_at_a_time(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunk comes after phonemizing one piece, not the whole text."""
    voice = engine._loaded[VOICE].for_step(None)
    seen: list[int] = []
    phonemize = voice.phonemize

    def spy(text: str) -> list[list[str]]:
        seen.append(len(text))
        return phonemize(text)

    monkeypatch.setattr(voice, "phonemize", spy)
    chunks = engine.synthesize(RUN_ON, VOICE, SynthesisOptions())
    next(chunks)
    chunks.close()
    assert seen and max(seen) <= MAX_STEP_CHARS < len(RUN_ON)


def test_the_character_budget_is_the_engines_own() -> None:
    """Also: the words of a piece with nothing to speak are still reported, in order."""
    engine = PiperEngine([default_voice_file()], intra_op_threads=1, max_step_chars=60)
    engine.load()
    chunks = list(engine.synthesize(RUN_ON[:150], VOICE, SynthesisOptions(timings=True)))
    assert len(chunks) >= 3
    assert [w.text for c in chunks for w in c.words] == RUN_ON[:150].split()
    text = "Hello there my friend " + "( " * 60 + "and goodbye now"
    chunks = list(engine.synthesize(text, VOICE, SynthesisOptions(timings=True)))
    assert [w.text for c in chunks for w in c.words] == text.split()


def test_phoneme_parts_are_even_bounded_and_cut_between_words() -> None:
    phonemes = list("ab cd ef gh ij kl mn op qr st")  # 29, a word every 3
    parts = list(_parts(phonemes, 12))
    assert [p for part in parts for p in part] == phonemes
    assert len(parts) == 3 and all(len(part) <= 12 for part in parts)
    assert all(part[-1] == " " for part in parts[:-1])
    # No separator: a hard cut, not after a stress mark.
    word = list("ˈɛksˌɛksˌɛksˌɛks")
    parts = list(_parts(word, 5))
    assert [p for part in parts for p in part] == word
    assert all(len(part) <= 5 and part[-1] != "ˌ" for part in parts)
    assert list(_parts(phonemes, 100)) == [phonemes]


def test_a_streams_first_chunk_is_short_when_espeak_expands_its_text(
    engine: PiperEngine,
) -> None:
    """100 x's (a context's first step) are 156 phonemes, ~9 s of "ex ex ex": with
    `first_audio` the first inference takes about half, so first audio comes sooner."""
    text = "x" * 100
    plain = list(engine.synthesize(text, VOICE, SynthesisOptions()))
    first = list(engine.synthesize(text, VOICE, SynthesisOptions(first_audio=True)))
    assert len(plain) == 1 and len(first) == 2
    assert first[0].duration < 0.7 * plain[0].duration
    assert all(_rms(c) > 0.03 for c in first)


def test_a_first_chunk_of_prose_is_not_cut_again(engine: PiperEngine) -> None:
    text = RUN_ON[:100]  # a context's first step of ordinary words: ~110 phonemes
    assert len(list(engine.synthesize(text, VOICE, SynthesisOptions(first_audio=True)))) == 1


def test_first_and_rest_shortens_only_the_first_part() -> None:
    phonemes = list("ab cd ef gh ij kl mn op qr st uv wx yz")  # 38
    parts = list(_first_and_rest(phonemes, 10, 100))
    assert [p for part in parts for p in part] == phonemes
    assert len(parts[0]) <= 10 and len(parts) == 2
    assert list(_first_and_rest(phonemes, 100, 100)) == [phonemes]
