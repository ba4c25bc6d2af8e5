"""The audio layer imports only what docs/architecture.md "Layers" allows (numpy, soxr,
lameenc for MP3, soundfile for FLAC and Opus, protocol, text)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import ttsd.audio

AUDIO_DIR = Path(ttsd.audio.__file__).parent
ALLOWED_THIRD_PARTY = {"numpy", "soxr", "lameenc", "soundfile"}
ALLOWED_TTSD = ("ttsd.audio", "ttsd.protocol", "ttsd.text")
FORBIDDEN_STDLIB = {"asyncio", "socket", "selectors", "threading", "concurrent", "ssl"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_audio_imports_respect_layering() -> None:
    sources = sorted(AUDIO_DIR.glob("*.py"))
    assert len(sources) >= 6
    for path in sources:
        for name in imported_modules(path):
            top = name.partition(".")[0]
            if top == "ttsd":
                assert name.startswith(ALLOWED_TTSD), f"{path.name} imports {name}"
            else:
                assert top not in FORBIDDEN_STDLIB, f"{path.name} imports {name}"
                assert top in ALLOWED_THIRD_PARTY or top in sys.stdlib_module_names, (
                    f"{path.name} imports third-party {name}"
                )


def test_public_names_are_exported() -> None:
    for name in ttsd.audio.__all__:
        assert hasattr(ttsd.audio, name), name
    assert {"AudioEncoderStream", "StreamResampler", "encode", "decode"} <= set(ttsd.audio.__all__)
    assert {"split_frames", "wav_header"} <= set(ttsd.audio.__all__)
