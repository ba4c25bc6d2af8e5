"""Streaming resampler: lengths, chunk-edge invariance, frequency, amplitude, reset."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from ttsd.audio.resample import StreamResampler
from ttsd.protocol.formats import SAMPLE_RATES

ENGINE_RATES = (22050, 24000, 16000)
RATE_PAIRS = list(itertools.product(ENGINE_RATES, SAMPLE_RATES))


def sine(freq: float, rate: int, amplitude: float, n: int) -> npt.NDArray[np.float32]:
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.float32)


def resample_all(
    resampler: StreamResampler, chunks: list[npt.NDArray[np.float32]]
) -> npt.NDArray[np.float32]:
    parts = [resampler.process(chunk) for chunk in chunks]
    return np.concatenate([*parts, resampler.flush()])


def random_chunks(
    x: npt.NDArray[np.float32], rng: np.random.Generator, count: int
) -> list[npt.NDArray[np.float32]]:
    """Split at random points; repeated cuts (k, k, k + 1) add empty and one-sample chunks."""
    k = int(rng.integers(1, x.size - 1))
    cuts = np.sort(np.concatenate([rng.integers(0, x.size, count), [0, k, k, k + 1, x.size]]))
    return list(np.split(x, cuts))


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
@pytest.mark.parametrize("n", [1, 100, 4410, 22050])
def test_total_length_matches_rate_ratio(in_rate: int, out_rate: int, n: int) -> None:
    x = sine(300, in_rate, 0.5, n)
    y = resample_all(StreamResampler(in_rate, out_rate), [x])
    assert abs(y.size - round(n * out_rate / in_rate)) <= 2


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_chunking_does_not_change_output(in_rate: int, out_rate: int) -> None:
    rng = np.random.default_rng(in_rate + out_rate)
    x = sine(440, in_rate, 0.8, in_rate // 2)
    whole = resample_all(StreamResampler(in_rate, out_rate), [x])
    chunks = random_chunks(x, rng, 40)
    assert any(c.size == 0 for c in chunks)
    assert any(c.size == 1 for c in chunks)
    assert sum(c.size for c in chunks) == x.size
    chunked = resample_all(StreamResampler(in_rate, out_rate), chunks)
    assert chunked.shape == whole.shape
    assert np.max(np.abs(chunked - whole)) < 1e-4


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_sine_keeps_frequency_amplitude_and_timing(in_rate: int, out_rate: int) -> None:
    freq, amplitude = 1000.0, 0.5  # below the lowest Nyquist (4 kHz)
    y = resample_all(StreamResampler(in_rate, out_rate), [sine(freq, in_rate, amplitude, in_rate)])
    # One second of signal: FFT bins are 1 Hz wide.
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * out_rate / y.size
    assert peak_hz == pytest.approx(freq, abs=1.0)
    edge = out_rate // 20  # skip the filter's start and end transients
    interior = y[edge:-edge].astype(np.float64)
    assert np.sqrt(np.mean(interior**2)) == pytest.approx(amplitude / np.sqrt(2), rel=0.01)
    # The resampler's delay is compensated: output sample k is input time k / out_rate.
    expected = sine(freq, out_rate, amplitude, y.size)[edge:-edge]
    assert np.max(np.abs(interior - expected)) < 1e-3


@pytest.mark.parametrize("out_rate", [8000, 48000])
def test_tiny_input_is_held_back_until_flush(out_rate: int) -> None:
    resampler = StreamResampler(22050, out_rate)
    held = resampler.process(np.full(10, 0.5, dtype=np.float32))
    tail = resampler.flush()
    assert held.size < round(10 * out_rate / 22050)
    assert held.size + tail.size == pytest.approx(10 * out_rate / 22050, abs=2)
    assert tail.dtype == np.float32


@pytest.mark.parametrize(("in_rate", "out_rate"), [(22050, 8000), (22050, 48000), (24000, 16000)])
def test_flush_starts_a_fresh_stream(in_rate: int, out_rate: int) -> None:
    x = sine(440, in_rate, 0.5, 5000)
    resampler = StreamResampler(in_rate, out_rate)
    first = resample_all(resampler, [x])
    second = resample_all(resampler, [x])
    # No state leaks from the first stream into the second.
    np.testing.assert_array_equal(second, first)
    assert resampler.flush().size == 0  # flushing an empty stream yields nothing


def test_equal_rates_pass_through_without_copy() -> None:
    resampler = StreamResampler(22050, 22050)
    x = sine(440, 22050, 0.5, 1000)
    out = resampler.process(x)
    assert out.dtype == np.float32
    assert np.shares_memory(out, x)
    np.testing.assert_array_equal(out, x)
    assert resampler.flush().size == 0


def test_equal_rates_convert_float64() -> None:
    x = np.linspace(-1, 1, 11)
    out = StreamResampler(16000, 16000).process(x)  # type: ignore[arg-type]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x, atol=1e-7)


@pytest.mark.parametrize("out_rate", [8000, 22050])
def test_output_is_float32_and_accepts_non_contiguous(out_rate: int) -> None:
    x = sine(440, 22050, 0.5, 4000)
    strided = np.repeat(x, 2)[::2]  # same values, not contiguous
    assert not strided.flags.c_contiguous
    a = resample_all(StreamResampler(22050, out_rate), [x])
    b = resample_all(StreamResampler(22050, out_rate), [strided])
    assert a.dtype == b.dtype == np.float32
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("in_rate", "out_rate"), [(0, 8000), (22050, 0), (-1, 16000)])
def test_rejects_bad_rates(in_rate: int, out_rate: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        StreamResampler(in_rate, out_rate)


def test_rejects_multichannel() -> None:
    with pytest.raises(ValueError, match="mono"):
        StreamResampler(22050, 8000).process(np.zeros((10, 2), dtype=np.float32))


@pytest.mark.parametrize(("in_rate", "out_rate"), [(22050, 8000), (24000, 16000), (48000, 22050)])
def test_downsampling_rejects_tones_above_the_new_nyquist(in_rate: int, out_rate: int) -> None:
    # A tone between the output's Nyquist and the input's would alias back into the audible
    # band; the anti-aliasing filter must remove it (here: by more than 60 dB).
    freq = 0.5 * (out_rate / 2 + in_rate / 2)
    y = resample_all(StreamResampler(in_rate, out_rate), [sine(freq, in_rate, 0.5, in_rate)])
    edge = out_rate // 20
    assert np.sqrt(np.mean(y[edge:-edge].astype(np.float64) ** 2)) < 0.5 / np.sqrt(2) * 1e-3
