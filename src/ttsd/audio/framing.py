"""Cutting encoded audio into bounded frames that never split a sample."""

from __future__ import annotations

__all__ = ["split_frames"]


def split_frames(data: bytes, max_bytes: int, sample_width: int) -> list[bytes]:
    """Split ``data`` into pieces of at most ``max_bytes``, each a whole number of samples.

    ``max_bytes`` is rounded down to a multiple of ``sample_width``; only the last piece may
    be shorter. Empty input gives no pieces.

    Raises:
        ValueError: ``sample_width`` is not positive, ``max_bytes`` holds less than one
            sample, or ``data`` is not a whole number of samples.
    """
    if sample_width <= 0:
        raise ValueError(f"sample_width must be positive, got {sample_width}")
    step = max_bytes - max_bytes % sample_width if max_bytes > 0 else 0
    if step < sample_width:
        raise ValueError(f"max_bytes={max_bytes} holds no whole {sample_width}-byte sample")
    if len(data) % sample_width:
        # A partial sample would shift every later sample of the stream by some bytes.
        raise ValueError(f"{len(data)} bytes is not a whole number of {sample_width}-byte samples")
    if len(data) <= step:
        return [data] if data else []
    return [data[start : start + step] for start in range(0, len(data), step)]
