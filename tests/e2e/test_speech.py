"""End to end with the real default voice (Piper en_US-joe-medium) over a real socket.

What comes back must be speech of the text: plausible length and energy, and words that an
independent recognizer (PocketSphinx) hears. Piper samples its durations (noise), so the
same text is a few percent longer or shorter from one request to the next; comparisons
between requests allow for that.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.e2e.speech import (
    CALL,
    CARTESIA_VOICE,
    COFFEE,
    COUNT,
    FOX,
    JOE,
    JOE_VOICE,
    MIN_RECALL,
    NATIVE_RATE,
    THANKS,
    Speech,
    output_format,
    served_voice_ids,
    speak,
    speech_of,
)
from tests.support.asr import (
    assert_recognized,
    assert_speech_like,
    normalize_words,
    recognize,
    rms,
    word_recall,
)
from tests.support.wsclient import Client, audio, of, request
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

ENCODINGS = ("pcm_s16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")
RATES = (8000, 16000, 22050, 24000, 44100, 48000)
#: One (encoding, rate) per encoding whose audio is also run through the recognizer.
RECOGNIZED_FORMATS = {
    ("pcm_mulaw", 8000),
    ("pcm_alaw", 16000),
    ("pcm_f32le", 24000),
    ("pcm_s16le", 48000),
}
#: Piper's decoder emits whole frames of this many samples at the voice's 22050 Hz, so
#: the length of every reply, whatever its format, is a whole number of these frames.
PIPER_HOP = 256
#: Two requests for the same text differ in length by up to ~10% (Piper samples its
#: durations); gross errors (a wrong sample width, 8 vs 16 kHz) are far beyond this, and
#: the whole-frame check below catches the small ones.
SAME_TEXT_TOLERANCE = 0.2


def _tell(words: list[str]) -> str:
    return " ".join(words) or "(nothing)"


# --- a sentence comes back as speech --------------------------------------------------


@pytest.mark.parametrize(
    "voice",
    [CARTESIA_VOICE, JOE_VOICE, "en_US-joe-medium"],
    ids=["unknown-id-falls-back", "local-id", "bare-string-id"],
)
def test_a_sentence_comes_back_as_speech_of_its_text(client: Client, voice: Any) -> None:
    speech = speak(client, COFFEE, voice=voice)

    kinds = [f["type"] for f in speech.frames]
    assert kinds.count("done") == 1 and kinds[-1] == "done"
    assert "error" not in kinds
    assert {f["flush_id"] for f in of(speech.frames, "c1", "chunk")} == {1}
    assert_speech_like(speech.pcm, speech.sample_rate, COFFEE)
    assert_recognized(speech.pcm, speech.sample_rate, COFFEE, min_recall=MIN_RECALL)


# --- every output format --------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(piper_server: str) -> Speech:
    """The test sentence at the voice's own rate in 16-bit PCM (no resampling, no companding)."""
    with Client(piper_server) as connection:
        return speak(connection, COFFEE, context_id="reference")


def _piper_frames(duration: float) -> float:
    return duration * NATIVE_RATE / PIPER_HOP


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_and_rate_gives_speech_of_the_right_length(
    client: Client, reference: Speech, encoding: str, rate: int
) -> None:
    speech = speak(client, COFFEE, encoding=encoding, sample_rate=rate)

    width = {"pcm_s16le": 2, "pcm_f32le": 4, "pcm_mulaw": 1, "pcm_alaw": 1}[encoding]
    assert len(speech.data) % width == 0, f"{len(speech.data)} bytes is not whole samples"
    # Same text, another request: equal length up to Piper's sampled durations...
    ratio = speech.duration / reference.duration
    assert abs(ratio - 1) <= SAME_TEXT_TOLERANCE, (
        f"{speech.duration:.3f} s in {encoding}@{rate} vs {reference.duration:.3f} s "
        f"in pcm_s16le@{NATIVE_RATE}"
    )
    # ...and exactly a whole number of Piper frames, to within two output samples of
    # resampling, which a wrong rate or sample width (even 22050 vs 24000) misses.
    frames = _piper_frames(speech.duration)
    tolerance = (2 * NATIVE_RATE / rate + 1) / PIPER_HOP
    assert abs(frames - round(frames)) <= tolerance, (
        f"{speech.duration:.5f} s = {frames:.3f} Piper frames: the bytes do not fit "
        f"{encoding} at {rate} Hz"
    )
    assert_speech_like(speech.pcm, rate, COFFEE)
    if (encoding, rate) in RECOGNIZED_FORMATS:
        assert_recognized(speech.pcm, rate, COFFEE, min_recall=MIN_RECALL)


def test_the_reference_itself_is_whole_piper_frames(reference: Speech) -> None:
    # No resampling at the native rate: the sample count is an exact multiple.
    assert len(reference.pcm) % PIPER_HOP == 0


# --- timestamps -----------------------------------------------------------------------


def _timestamps(
    frames: list[dict[str, Any]], kind: str
) -> tuple[list[str], list[float], list[float]]:
    """Concatenate the word (`timestamps`) or `phoneme_timestamps` frames of a reply."""
    key, label = (
        ("word_timestamps", "words") if kind == "timestamps" else ("phoneme_timestamps", "phonemes")
    )
    texts: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    for frame in frames:
        if frame["type"] == kind:
            texts += frame[key][label]
            starts += frame[key]["start"]
            ends += frame[key]["end"]
    return texts, starts, ends


def _span_rms(
    pcm: npt.NDArray[np.float32], rate: int, spans: list[tuple[float, float]]
) -> tuple[float, float]:
    """RMS inside the union of `spans` and RMS of everything outside them."""
    inside = np.zeros(len(pcm), dtype=bool)
    for start, end in spans:
        inside[int(start * rate) : int(end * rate)] = True
    return rms(pcm[inside]), rms(pcm[~inside])


@pytest.fixture(scope="module")
def timed(piper_server: str) -> Speech:
    """A sentence with a comma pause, with word and phoneme timestamps."""
    with Client(piper_server) as connection:
        return speak(
            connection,
            JOE,
            context_id="timed",
            add_timestamps=True,
            add_phoneme_timestamps=True,
        )


def test_word_timestamps_name_the_transcripts_words_in_order(timed: Speech) -> None:
    words, _, _ = _timestamps(timed.frames, "timestamps")
    assert [normalize_words(w) for w in words] == [normalize_words(w) for w in JOE.split()]
    assert {f["flush_id"] for f in timed.frames if f["type"] == "timestamps"} == {1}
    assert_recognized(timed.pcm, timed.sample_rate, JOE, min_recall=MIN_RECALL)


def test_word_times_are_plausible_for_the_audio(timed: Speech) -> None:
    _, starts, ends = _timestamps(timed.frames, "timestamps")
    duration = timed.duration
    assert all(0 <= s <= e <= duration + 1e-3 for s, e in zip(starts, ends, strict=True))
    assert all(e <= s + 1e-3 for e, s in zip(ends, starts[1:], strict=False)), "words overlap"
    assert all(e - s > 0.02 for s, e in zip(starts, ends, strict=True)), "a word takes no time"
    # The words fill the audio apart from short silences at both ends.
    assert starts[0] < 0.3
    assert duration - 0.35 < ends[-1]
    assert ends[-1] - starts[0] > 0.7 * duration


def test_word_times_follow_the_sound(timed: Speech) -> None:
    """The audio is loud where the timestamps put words and quiet between them."""
    words, starts, ends = _timestamps(timed.frames, "timestamps")
    pcm, rate = timed.pcm, timed.sample_rate
    in_words, between = _span_rms(pcm, rate, list(zip(starts, ends, strict=True)))
    assert in_words > 1.5 * between, f"RMS {in_words:.3f} in words, {between:.3f} outside"
    # The comma after "morning," is a pause of its own: the longest gap between words,
    # and nearly silent.
    gaps = [s - e for e, s in zip(ends, starts[1:], strict=False)]
    longest = int(np.argmax(gaps))
    assert normalize_words(words[longest]) == normalize_words("morning"), (
        f"the longest gap is after {words[longest]!r}"
    )
    assert gaps[longest] > 0.08
    pause = pcm[int(ends[longest] * rate) : int(starts[longest + 1] * rate)]
    assert rms(pause) < 0.25 * in_words, f"RMS {rms(pause):.3f} in the comma pause"


def test_phoneme_timestamps_cover_the_words(timed: Speech) -> None:
    phonemes, starts, ends = _timestamps(timed.frames, "phoneme_timestamps")
    assert len(phonemes) >= len(JOE.split()) * 2
    assert all(p.strip() for p in phonemes)
    assert all(0 <= s <= e <= timed.duration + 1e-3 for s, e in zip(starts, ends, strict=True))
    assert starts == sorted(starts)
    # Every word's time holds at least one phoneme.
    _, word_starts, word_ends = _timestamps(timed.frames, "timestamps")
    for ws, we in zip(word_starts, word_ends, strict=True):
        assert any(ws - 1e-3 <= s and e <= we + 1e-3 for s, e in zip(starts, ends, strict=True))


# --- flushes, streaming, cancel -------------------------------------------------------


@pytest.mark.parametrize(
    "voice", [CARTESIA_VOICE, {"mode": "id", "id": "af_heart"}], ids=["piper", "kokoro"]
)
def test_each_flush_is_its_own_utterance(client: Client, voice: dict[str, Any]) -> None:
    if voice["id"] == "af_heart" and "af_heart" not in served_voice_ids():
        pytest.skip("ttsd[kokoro] is not installed")
    texts = [THANKS, COFFEE, JOE]
    fmt = output_format("pcm_s16le", 16000)
    for i, text in enumerate(texts):
        client.send(request("f", text, voice=voice, output_format=fmt, continue_=True))
        if i < len(texts) - 1:
            flush = request("f", "", voice=voice, output_format=fmt, continue_=True)
            client.send({**flush, "flush": True})
    client.send(request("f", "", voice=voice, output_format=fmt, continue_=False))
    frames = client.until_done("f", timeout=60)

    order = [(f["type"], f.get("flush_id")) for f in frames if f["type"] != "chunk"]
    assert order == [("flush_done", 1), ("flush_done", 2), ("done", None)]
    # Every chunk of flush k comes before flush_done k.
    position = {f["flush_id"]: i for i, f in enumerate(frames) if f["type"] == "flush_done"}
    for i, frame in enumerate(frames):
        if frame["type"] == "chunk" and frame["flush_id"] in position:
            assert i < position[frame["flush_id"]]
    for flush_id, text in enumerate(texts, start=1):
        pcm = decode(audio(frames, "f", flush_id), Encoding.PCM_S16LE)
        assert_speech_like(pcm, 16000, text)
        heard = recognize(pcm, 16000)
        own = word_recall(text, heard)
        assert own >= MIN_RECALL, f"flush {flush_id}: heard {_tell(heard)!r} for {text!r}"
        for other in texts:
            if other != text:
                assert word_recall(other, heard) < own, f"flush {flush_id} also says {other!r}"


def test_text_streamed_word_by_word_is_spoken_as_one_sentence(
    client: Client, reference_fox: Speech
) -> None:
    fmt = output_format("pcm_s16le", 16000)
    words = FOX.split()
    for i, word in enumerate(words):
        token = word if i == len(words) - 1 else word + " "
        client.send(request("s", token, voice=CARTESIA_VOICE, output_format=fmt, continue_=True))
    client.send(request("s", "", voice=CARTESIA_VOICE, output_format=fmt, continue_=False))
    frames = client.until_done("s", timeout=60)
    speech = speech_of(frames, "s", fmt)

    assert [f["type"] for f in frames].count("done") == 1
    assert_speech_like(speech.pcm, 16000, FOX)
    assert_recognized(speech.pcm, 16000, FOX, min_recall=MIN_RECALL)
    # Synthesized as one sentence, not word by word (which adds a pause per word).
    ratio = speech.duration / reference_fox.duration
    assert abs(ratio - 1) <= SAME_TEXT_TOLERANCE, f"{ratio:.2f} x the one-message length"


@pytest.fixture(scope="module")
def reference_fox(piper_server: str) -> Speech:
    """FOX sent in one message."""
    with Client(piper_server) as connection:
        return speak(connection, FOX, context_id="fox", sample_rate=16000)


PARAGRAPH = " ".join(
    [
        "Please call me tomorrow morning.",
        "I would like a cup of coffee.",
        "The quick brown fox jumps over the lazy dog.",
        "Thank you very much for all of your help today.",
        "We are going to the store to buy some bread and milk.",
        "The weather is nice, so we will walk to the park after lunch.",
        "My brother lives in a small house near the river.",
        "She reads a book every night before she goes to sleep.",
        "The train leaves the station at seven in the evening.",
        "Good morning, my name is Joe, and I am happy to meet you.",
        "Please remember to close the window when it starts to rain.",
        "One two three four five six seven eight nine ten.",
    ]
)


def test_cancel_stops_a_long_paragraph_early(client: Client) -> None:
    fmt = output_format("pcm_s16le", 16000)
    client.send(request("long", PARAGRAPH, voice=CARTESIA_VOICE, output_format=fmt, continue_=True))
    client.until(lambda f: f.get("context_id") == "long" and f["type"] == "chunk", timeout=60)
    client.send({"context_id": "long", "cancel": True})
    client.until_done("long", timeout=30)
    # Nothing more for the context after its done.
    with pytest.raises(TimeoutError):
        client.recv(timeout=1.0)
    frames = of(client.frames, "long")

    assert [f["type"] for f in frames].count("done") == 1
    assert frames[-1]["type"] == "done"
    assert "error" not in [f["type"] for f in frames]
    # The whole paragraph is at least 0.2 s a word (this voice speaks ~0.3 s a word).
    full_at_least = 0.2 * len(PARAGRAPH.split())
    got = len(audio(frames, "long")) / 2 / 16000
    assert got < 0.4 * full_at_least, f"{got:.1f} s of audio after cancel ({full_at_least:.0f} s+)"
    # The connection still works.
    after = speak(client, THANKS, context_id="after", sample_rate=16000)
    assert_speech_like(after.pcm, 16000, THANKS)


#: One sentence of 40 words with no clause break (issue 10's first target).
ONE_LONG_SENTENCE = (
    "The committee reviewed the proposal for the new community library on the east side "
    "of town and decided after a long discussion that the building should open next spring "
    "with longer hours for students and working families who need a quiet place to read."
)


def test_cancel_stops_inside_a_sentence(client: Client) -> None:
    """Each decoder window is a step (the chunked decoder, on by default): a cancel right
    after the first audio of one long sentence stops it part of the way through, where whole
    sentences would speak at least the first ~100 characters (~5 s) first."""
    fmt = output_format("pcm_s16le", 16000)
    client.send(request("mid", ONE_LONG_SENTENCE, voice=CARTESIA_VOICE, output_format=fmt))
    client.until(lambda f: f.get("context_id") == "mid" and f["type"] == "chunk", timeout=60)
    client.send({"context_id": "mid", "cancel": True})
    client.until_done("mid", timeout=30)
    frames = of(client.frames, "mid")
    assert [f["type"] for f in frames].count("done") == 1
    got = len(audio(frames, "mid")) / 2 / 16000
    assert 0.3 < got < 3.5, f"{got:.1f} s of audio after cancel (the sentence is ~10 s)"


# --- generation_config ----------------------------------------------------------------


def test_speed_changes_the_length(client: Client) -> None:
    normal = speak(client, COUNT, context_id="normal", sample_rate=16000)
    fast = speak(
        client, COUNT, context_id="fast", sample_rate=16000, generation_config={"speed": 1.5}
    )

    # Piper rounds every phoneme up to whole 256-sample frames, which keeps the ratio a
    # little above 1/1.5 (measured 0.72-0.77); sampled durations add a few percent.
    ratio = fast.duration / normal.duration
    assert 0.55 <= ratio <= 0.85, f"speed 1.5 took {ratio:.2f} x as long as speed 1.0"
    assert_speech_like(fast.pcm, 16000, COUNT)
    assert_recognized(fast.pcm, 16000, COUNT, min_recall=0.5)


def test_volume_changes_the_level(client: Client) -> None:
    loud = speak(client, CALL, context_id="loud", sample_rate=16000)
    quiet = speak(
        client, CALL, context_id="quiet", sample_rate=16000, generation_config={"volume": 0.5}
    )

    ratio = rms(quiet.pcm) / rms(loud.pcm)
    assert 0.3 <= ratio <= 0.75, f"volume 0.5 has {ratio:.2f} x the RMS of volume 1.0"
    assert_speech_like(quiet.pcm, 16000, CALL, min_rms=0.01)
    assert_recognized(quiet.pcm, 16000, CALL, min_recall=MIN_RECALL)
