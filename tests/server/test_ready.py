"""The ready line: the WebSocket URL, the voices, and the cores found (issue 9)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ttsd.server.cpus import CGROUP_V2, CoreCount
from ttsd.server.ready import log_ready, websocket_url
from ttsd.server.settings import Settings


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "ws://127.0.0.1:8420/tts/websocket"),
        ("0.0.0.0", "ws://0.0.0.0:8420/tts/websocket"),
        ("::1", "ws://[::1]:8420/tts/websocket"),
        ("tts.example", "ws://tts.example:8420/tts/websocket"),
    ],
)
def test_websocket_url(host: str, url: str) -> None:
    assert websocket_url(Settings(host=host)) == url


def test_websocket_url_with_tls(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("c")
    key.write_text("k")
    settings = Settings(port=8443, ssl_certfile=cert, ssl_keyfile=key)
    assert websocket_url(settings) == "wss://127.0.0.1:8443/tts/websocket"


def test_the_ready_line(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(parallel_steps=2, engine_threads=2)
    with caplog.at_level(logging.INFO):
        log_ready(logging.getLogger("ttsd.test"), settings, ["a", "b"], CoreCount(2, CGROUP_V2))
    (rec,) = caplog.records
    assert rec.getMessage().endswith(
        " ready at ws://127.0.0.1:8420/tts/websocket; voices: a, b; 2 cores (cgroup cpu.max): "
        "a lone step on 2 thread(s), up to 2 steps side by side"
    )
    assert (rec.cores, rec.cores_source, rec.voices) == (2, "cgroup cpu.max", ["a", "b"])  # type: ignore[attr-defined]


def test_a_long_list_of_voices_is_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    voices = [f"v{i}" for i in range(12)]
    with caplog.at_level(logging.INFO):
        log_ready(logging.getLogger("ttsd.test"), Settings(), voices, CoreCount(1, "CPU affinity"))
    assert "voices: v0, v1, v2, v3, v4 and 7 more; 1 core (CPU affinity)" in caplog.text
