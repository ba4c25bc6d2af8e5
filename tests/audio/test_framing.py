"""Splitting encoded audio into frames of whole samples."""

from __future__ import annotations

import pytest

from ttsd.audio.framing import split_frames


@pytest.mark.parametrize("sample_width", [1, 2, 4])
@pytest.mark.parametrize("max_bytes", [4, 7, 8, 1000, 4096])
@pytest.mark.parametrize("num_samples", [1, 3, 999, 1024, 5000])
def test_pieces_are_bounded_whole_samples(
    sample_width: int, max_bytes: int, num_samples: int
) -> None:
    data = bytes(i % 251 for i in range(num_samples * sample_width))
    pieces = split_frames(data, max_bytes, sample_width)
    step = max_bytes // sample_width * sample_width
    assert b"".join(pieces) == data
    assert all(0 < len(p) <= step and len(p) % sample_width == 0 for p in pieces)
    # Greedy: every piece but the last is full, so there are as few pieces as possible.
    assert all(len(p) == step for p in pieces[:-1])
    assert len(pieces) == -(-len(data) // step)


def test_max_bytes_rounds_down_to_whole_samples() -> None:
    assert split_frames(bytes(range(10)), 5, 2) == [
        bytes([0, 1, 2, 3]),
        bytes([4, 5, 6, 7]),
        bytes([8, 9]),
    ]


@pytest.mark.parametrize("sample_width", [1, 2, 4])
def test_empty_input_gives_no_pieces(sample_width: int) -> None:
    assert split_frames(b"", 1024, sample_width) == []


def test_small_input_is_one_piece() -> None:
    data = b"\x01\x02\x03\x04"
    pieces = split_frames(data, 4, 2)
    assert pieces == [data]


@pytest.mark.parametrize(("max_bytes", "sample_width"), [(3, 4), (1, 2), (0, 1), (-8, 2)])
def test_rejects_max_bytes_below_one_sample(max_bytes: int, sample_width: int) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        split_frames(b"\x00" * 8, max_bytes, sample_width)


@pytest.mark.parametrize("sample_width", [0, -2])
def test_rejects_non_positive_sample_width(sample_width: int) -> None:
    with pytest.raises(ValueError, match="sample_width"):
        split_frames(b"\x00" * 8, 8, sample_width)


def test_rejects_partial_sample() -> None:
    with pytest.raises(ValueError, match="whole number"):
        split_frames(b"\x00" * 7, 4, 2)
