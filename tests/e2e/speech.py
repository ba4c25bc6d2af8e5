"""Helpers for e2e tests: ask the real server for speech and decode what comes back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tests.support.wsclient import Client, audio, of, request
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import BYTES_PER_SAMPLE, Encoding

#: The voice id the official SDK examples use: not ours, so it falls back to the default voice.
CARTESIA_VOICE = {"mode": "id", "id": "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"}
#: The default voice's own id.
JOE_VOICE = {"mode": "id", "id": "en_US-joe-medium"}


def served_voice_ids() -> list[str]:
    """The voices the shared e2e server lists, in order: the default voice, then Kokoro's
    where `ttsd[kokoro]` is installed (as the test command installs it)."""
    from ttsd.engines.kokoro import KokoroEngine
    from ttsd.engines.kokoro.voices import vendored_voices

    kokoro = [v.id for v in vendored_voices()] if not KokoroEngine.missing_packages() else []
    return ["en_US-joe-medium", *kokoro]


#: The rate Piper's default voice produces (no resampling).
NATIVE_RATE = 22050

#: Sentences PocketSphinx recognizes reliably in this voice (measured: recall 1.0 in
#: nearly every run at 16 kHz and above). Their content words do not overlap.
COFFEE = "I would like a cup of coffee."
THANKS = "Thank you very much."
JOE = "Good morning, my name is Joe."
CALL = "Please call me tomorrow morning."
FOX = "The quick brown fox jumps over the lazy dog."
COUNT = "One two three four five six seven."

#: Content-word recall a recognized utterance must reach (the ones above usually reach 1.0).
MIN_RECALL = 0.6


@dataclass
class Speech:
    """One context's reply: all frames, and its audio decoded to float samples."""

    frames: list[dict[str, Any]]
    data: bytes
    pcm: npt.NDArray[np.float32]
    sample_rate: int
    encoding: Encoding

    @property
    def duration(self) -> float:
        """Seconds of audio, from the byte count and the requested format."""
        return len(self.data) / BYTES_PER_SAMPLE[self.encoding] / self.sample_rate


def output_format(encoding: str = "pcm_s16le", sample_rate: int = NATIVE_RATE) -> dict[str, Any]:
    """A raw output format."""
    return {"container": "raw", "encoding": encoding, "sample_rate": sample_rate}


def speech_of(frames: list[dict[str, Any]], context_id: str, fmt: dict[str, Any]) -> Speech:
    """Decode the audio of `context_id` in `frames` (sent in `fmt`)."""
    encoding = Encoding(fmt["encoding"])
    data = audio(frames, context_id)
    return Speech(
        frames=of(frames, context_id),
        data=data,
        pcm=decode(data, encoding),
        sample_rate=fmt["sample_rate"],
        encoding=encoding,
    )


def speak(
    client: Client,
    text: str,
    *,
    context_id: str = "c1",
    voice: dict[str, Any] | str | None = None,
    encoding: str = "pcm_s16le",
    sample_rate: int = NATIVE_RATE,
    timeout: float = 60,
    **fields: Any,
) -> Speech:
    """Send one complete request (`continue: false`) and collect its reply up to `done`."""
    fmt = output_format(encoding, sample_rate)
    client.send(
        request(
            context_id,
            text,
            voice=voice if voice is not None else CARTESIA_VOICE,
            output_format=fmt,
            continue_=False,
            **fields,
        )
    )
    frames = client.until_done(context_id, timeout=timeout)
    assert frames[-1]["type"] == "done", frames[-1]
    return speech_of(frames, context_id, fmt)
