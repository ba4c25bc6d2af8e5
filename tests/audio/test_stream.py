"""AudioEncoderStream: engine audio to the client's encoding and rate, chunk by chunk."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from ttsd.audio.encoders import decode, encode
from ttsd.audio.stream import AudioEncoderStream
from ttsd.protocol.formats import BYTES_PER_SAMPLE, SAMPLE_RATES, Encoding

ENGINE_RATE = 22050
FREQ, AMPLITUDE = 440.0, 0.5


def sine(rate: int, n: int) -> npt.NDArray[np.float32]:
    return (AMPLITUDE * np.sin(2 * np.pi * FREQ * np.arange(n) / rate)).astype(np.float32)


def push_in_chunks(
    stream: AudioEncoderStream, x: npt.NDArray[np.float32], count: int, seed: int
) -> tuple[bytes, int]:
    """Push x in `count` random chunks, finish; returns the bytes and the pushes that emitted."""
    cuts = np.sort(np.random.default_rng(seed).integers(0, x.size, count - 1))
    outputs = [stream.push(chunk) for chunk in np.split(x, cuts)]
    outputs.append(stream.finish())
    return b"".join(outputs), sum(1 for o in outputs if o)


@pytest.mark.parametrize(
    ("encoding", "out_rate"), list(itertools.product(list(Encoding), SAMPLE_RATES))
)
def test_one_second_sine_comes_out_whole(encoding: Encoding, out_rate: int) -> None:
    stream = AudioEncoderStream(ENGINE_RATE, encoding, out_rate)
    data, _ = push_in_chunks(stream, sine(ENGINE_RATE, ENGINE_RATE), 20, seed=out_rate)

    assert stream.sample_width == BYTES_PER_SAMPLE[encoding]
    assert len(data) == stream.samples_out * stream.sample_width
    assert abs(stream.samples_out - out_rate) <= 2

    y = decode(data, encoding).astype(np.float64)
    reference = sine(out_rate, y.size).astype(np.float64)
    assert np.corrcoef(y, reference)[0, 1] > 0.99

    # No gaps: every full 10 ms window carries at least half the mean energy.
    window = out_rate // 100
    energy = np.mean(y[: y.size // window * window].reshape(-1, window) ** 2, axis=1)
    assert energy.min() >= 0.5 * energy.mean()


@pytest.mark.parametrize("encoding", list(Encoding))
def test_reuse_after_finish_repeats_output_and_keeps_clock(encoding: Encoding) -> None:
    stream = AudioEncoderStream(ENGINE_RATE, encoding, 16000)
    x = sine(ENGINE_RATE, 5000)
    first, _ = push_in_chunks(stream, x, 7, seed=1)
    after_first = stream.samples_out
    second, _ = push_in_chunks(stream, x, 5, seed=2)
    assert second == first
    assert stream.samples_out == 2 * after_first == 2 * len(first) // stream.sample_width


@pytest.mark.parametrize("encoding", list(Encoding))
def test_equal_rates_match_plain_encode(encoding: Encoding) -> None:
    stream = AudioEncoderStream(ENGINE_RATE, encoding, ENGINE_RATE)
    x = sine(ENGINE_RATE, 3000)
    head = stream.push(x[:1234])
    assert head == encode(x[:1234], encoding)  # nothing held back without resampling
    data = head + stream.push(x[1234:]) + stream.finish()
    assert data == encode(x, encoding)
    assert stream.samples_out == x.size


def test_push_of_nothing_emits_nothing() -> None:
    stream = AudioEncoderStream(ENGINE_RATE, Encoding.PCM_S16LE, 8000)
    assert stream.push(np.zeros(0, dtype=np.float32)) == b""
    assert stream.finish() == b""
    assert stream.samples_out == 0


def test_audio_starts_before_finish() -> None:
    # Streaming, not buffering: 20 ms chunks produce audio long before the segment ends.
    stream = AudioEncoderStream(ENGINE_RATE, Encoding.PCM_S16LE, 24000)
    x = sine(ENGINE_RATE, ENGINE_RATE // 2)
    chunk = ENGINE_RATE // 50
    emitted_at = [i for i in range(0, x.size, chunk) if stream.push(x[i : i + chunk])]
    assert emitted_at
    assert emitted_at[0] <= 3 * chunk


def test_properties() -> None:
    stream = AudioEncoderStream(24000, Encoding.PCM_MULAW, 8000)
    assert (stream.in_rate, stream.out_rate, stream.encoding) == (24000, 8000, Encoding.PCM_MULAW)
    assert stream.sample_width == 1
