"""The official `cartesia` SDK's flushing examples (the seed page: tests/e2e/seed_examples.py),
unchanged, against ttsd.

The venv pins SDK 3.2.0, which runs in process. The newest SDK (4.x) cannot share the venv:
set TTSD_SDK4_PYTHON to a python that has it, e.g.

    python3 -m venv .venv-sdk4 && .venv-sdk4/bin/pip install "cartesia[websockets]>=4,<5"
    TTSD_SDK4_PYTHON=.venv-sdk4/bin/python pytest tests/e2e

and tests/e2e/sdk_scenarios.py runs the same examples with it in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cartesia
import pytest
from cartesia import AsyncCartesia, Cartesia

from tests.e2e import seed_examples
from tests.e2e.seed_checks import check_seed_run, pcm_files

pytestmark = pytest.mark.e2e

SDK4_ENV = "TTSD_SDK4_PYTHON"
SCENARIOS = Path(__file__).with_name("sdk_scenarios.py")


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
    check_seed_run(tmp_path, pcm_files(tmp_path), capsys.readouterr().out, asynchronous=False)


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
    check_seed_run(tmp_path, pcm_files(tmp_path), capsys.readouterr().out, asynchronous=True)


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
    check_seed_run(sdk4_results["dir"], run["files"], run["output"], asynchronous=mode == "async")
