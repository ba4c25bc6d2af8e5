"""The official `cartesia` SDK's flushing examples (the seed), unchanged, against ttsd.

The venv pins SDK 3.2.0, which runs in process. The newest SDK (4.x) cannot share the venv:
set TTSD_SDK4_PYTHON to a python that has it, e.g.

    python3 -m venv .venv-sdk4 && .venv-sdk4/bin/pip install "cartesia[websockets]>=4,<5"
    TTSD_SDK4_PYTHON=.venv-sdk4/bin/python pytest tests/e2e

and tests/e2e/sdk_scenarios.py runs the same examples with it in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import cartesia
import pytest
from cartesia import AsyncCartesia, Cartesia

from tests.e2e import seed_examples
from tests.support.asr import assert_speech_like, recognize, word_recall
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

SDK4_ENV = "TTSD_SDK4_PYTHON"
SCENARIOS = Path(__file__).with_name("sdk_scenarios.py")
#: What the examples ask for: raw pcm_s16le at 44.1 kHz.
RATE = 44100

#: transcripts and file-name prefix of each example (as in seed_examples.py)
SYNC = (("Stay hungry, ", "stay foolish."), "tts_flush_")
ASYNC = (("First transcript.", "Second transcript."), "tts_flush_async_")


def _flush_files(names: list[str], prefix: str) -> dict[int, list[str]]:
    """`{flush_id: [file names]}` for the example's `{prefix}{flush_id}_{timestamp}.pcm` files."""
    by_id: dict[int, list[str]] = {}
    for name in names:
        match = re.fullmatch(rf"{re.escape(prefix)}(\d+)_\d{{8}}_\d{{6}}\.pcm", name)
        assert match, f"unexpected file {name!r}"
        by_id.setdefault(int(match.group(1)), []).append(name)
    return by_id


def _check_output(output: str) -> None:
    """What the example printed: audio of flush 1, its flush_done, then flush 2; no error."""
    assert "error:" not in output, output
    assert "Finished." in output, output
    lines = output.splitlines()
    created_1 = next(i for i, line in enumerate(lines) if "file for flush_id 1:" in line)
    done_1 = lines.index("Flush done received for flush_id: 1")
    created_2 = next(i for i, line in enumerate(lines) if "file for flush_id 2:" in line)
    assert created_1 < done_1 < created_2, output
    assert "Flush done received for flush_id: 2" not in output, "the last segment was not flushed"


def _check_sync_audio(files: dict[int, Path]) -> None:
    """ "Stay hungry, " / "stay foolish.": PocketSphinx mishears this voice's "stay" and
    "foolish" ("say hungry state polish"), but it hears "hungry" every time."""
    (first, second), _ = SYNC
    hungry = decode(files[1].read_bytes(), Encoding.PCM_S16LE)
    foolish = decode(files[2].read_bytes(), Encoding.PCM_S16LE)
    assert_speech_like(hungry, RATE, first)
    assert_speech_like(foolish, RATE, second)
    heard_1, heard_2 = recognize(hungry, RATE), recognize(foolish, RATE)
    assert "hungry" in heard_1, f"flush 1 ({first!r}) heard as {heard_1}"
    assert "hungry" not in heard_2, f"flush 2 ({second!r}) heard as {heard_2}"


def _check_async_audio(files: dict[int, Path]) -> None:
    """ "First transcript." / "Second transcript.": each file says its own text, not the other."""
    transcripts, _ = ASYNC
    for flush_id, text in enumerate(transcripts, start=1):
        pcm = decode(files[flush_id].read_bytes(), Encoding.PCM_S16LE)
        assert_speech_like(pcm, RATE, text)
        heard = recognize(pcm, RATE)
        own = word_recall(text, heard)
        other = word_recall(transcripts[2 - flush_id], heard)
        assert own >= 0.5, f"flush {flush_id} ({text!r}) heard as {heard}"
        assert own > other, f"flush {flush_id} ({text!r}) heard as {heard}"


def _check_run(directory: Path, names: list[str], output: str, *, asynchronous: bool) -> None:
    _, prefix = ASYNC if asynchronous else SYNC
    by_id = _flush_files(names, prefix)
    assert sorted(by_id) == [1, 2], f"files per flush id: {by_id}"
    assert all(len(group) == 1 for group in by_id.values()), f"files per flush id: {by_id}"
    files = {flush_id: directory / group[0] for flush_id, group in by_id.items()}
    _check_output(output)
    (_check_async_audio if asynchronous else _check_sync_audio)(files)


def _pcm_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".pcm")


# --- SDK 3.x, in process --------------------------------------------------------------


def test_venv_sdk_is_3x() -> None:
    assert cartesia.__version__.startswith("3."), cartesia.__version__


def test_sdk_sync_flushing_example(
    piper_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    client = Cartesia(
        api_key="test",
        base_url=f"http://{piper_server}",
        websocket_base_url=f"ws://{piper_server}",
    )
    try:
        seed_examples.tts_websocket_flushing(client)
    finally:
        client.close()
    _check_run(tmp_path, _pcm_files(tmp_path), capsys.readouterr().out, asynchronous=False)


async def test_sdk_async_flushing_example(
    piper_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    client = AsyncCartesia(
        api_key="test",
        base_url=f"http://{piper_server}",
        websocket_base_url=f"ws://{piper_server}",
    )
    try:
        await seed_examples.tts_websocket_flushing_async(client)
    finally:
        await client.close()
    _check_run(tmp_path, _pcm_files(tmp_path), capsys.readouterr().out, asynchronous=True)


# --- SDK 4.x, in a side interpreter ---------------------------------------------------


@pytest.fixture(scope="module")
def sdk4_results(piper_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both examples run by `$TTSD_SDK4_PYTHON tests/e2e/sdk_scenarios.py` (skip if unset)."""
    python = os.environ.get(SDK4_ENV)
    if not python:
        pytest.skip(
            f"{SDK4_ENV} is not set: point it at a python with cartesia 4.x (python3 -m venv "
            '.venv-sdk4 && .venv-sdk4/bin/pip install "cartesia[websockets]>=4,<5")'
        )
    out_dir = tmp_path_factory.mktemp("sdk4")
    done = subprocess.run(
        [python, str(SCENARIOS), piper_server, str(out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{SCENARIOS.name} failed:\n{done.stderr}"
    results: dict[str, Any] = json.loads(done.stdout)
    results["dir"] = out_dir
    assert results["cartesia_version"].startswith("4."), (
        f"{SDK4_ENV}={python} has cartesia {results['cartesia_version']}, not 4.x"
    )
    sys.stderr.write(f"cartesia {results['cartesia_version']} from {python}\n")
    return results


@pytest.mark.sdk4
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_sdk4_flushing_example(sdk4_results: dict[str, Any], mode: str) -> None:
    run = sdk4_results["runs"][mode]
    assert run["error"] is None, run["error"]
    _check_run(sdk4_results["dir"], run["files"], run["output"], asynchronous=mode == "async")
