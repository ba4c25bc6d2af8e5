"""Kokoro's voice packs vendored in this package (src/ttsd/engines/kokoro/data/NOTICE).

A voice pack is float32 [510, 1, 256]: one 256-value style vector per length of the
token sequence it speaks (the model was trained that way). Each file's sha256 is in
`data/voices.json`, checked when the voice loads, so a damaged install fails loudly
instead of speaking with a garbled voice.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from ttsd.engines.base import EngineUnavailable

#: The licence of Kokoro-82M's weights and voice packs, as stated in voice listings.
LICENSE = "Apache-2.0"
#: Where the voices come from, as stated in voice listings.
SOURCE = "Kokoro-82M v1.0 by hexgrad (huggingface.co/hexgrad/Kokoro-82M), via kokoro-js 1.2.1"
#: Style vectors per pack: one per token count, 1 to 510.
STYLES = 510
#: Length of one style vector.
STYLE_SIZE = 256

_DATA = importlib.resources.files("ttsd.engines.kokoro") / "data"


class VoicePackCorrupt(EngineUnavailable):
    """A vendored voice pack does not match its recorded hash."""


@dataclass(frozen=True, slots=True)
class KokoroVoice:
    """A vendored voice and the language its G2P speaks."""

    id: str
    name: str
    #: primary language subtag ("en", "es", "pt", ...)
    language: str
    #: region subtag when the G2P depends on it ("US", "GB", "BR"), else None
    country: str | None
    gender: str
    sha256: str

    @property
    def locale(self) -> str:
        """The language with its region, as in listings ("en-US", "es")."""
        return f"{self.language}-{self.country}" if self.country else self.language

    def styles(self) -> npt.NDArray[np.float32]:
        """The pack, [510, 256], its hash checked."""
        data = (_DATA / "voices" / f"{self.id}.bin").read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.sha256:
            raise VoicePackCorrupt(
                f"Kokoro voice pack {self.id}.bin is corrupt (sha256 {digest}, expected "
                f"{self.sha256}); reinstall ttsd"
            )
        return np.frombuffer(data, dtype=np.float32).reshape(STYLES, STYLE_SIZE).copy()


@cache
def vendored_voices() -> tuple[KokoroVoice, ...]:
    """Every vendored voice, in `voices.json` order (the first is the engine's default)."""
    entries = json.loads((_DATA / "voices.json").read_text(encoding="utf-8"))
    return tuple(KokoroVoice(**entry) for entry in entries)


@cache
def vocabulary() -> dict[str, int]:
    """Kokoro's phoneme → token id table (its config's `vocab`)."""
    table: dict[str, int] = json.loads((_DATA / "vocab.json").read_text(encoding="utf-8"))
    return table
