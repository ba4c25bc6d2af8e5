"""Scenario scripts run by another interpreter: a framework whose pins conflict with the
project's (pipecat, LiveKit Agents) lives in a venv of its own that scripts/test.sh builds,
and its script prints JSON that the tests here check."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest


def side_python(env: str, setup: str) -> str:
    """The interpreter `$env` names; skip when it is unset, fail when it is unset under CI
    (`$CI` set: CI must not pass by skipping) or names no executable."""
    python = os.environ.get(env)
    if not python:
        reason = f"{env} is not set: point it at a python with {setup} (scripts/test.sh does)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}", pytrace=False)
        pytest.skip(reason)
    if not (Path(python).is_file() and os.access(python, os.X_OK)):
        pytest.fail(f"{env}={python} is not an executable python", pytrace=False)
    return python


def run_scenarios(
    python: str, script: Path, base: str, out_dir: Path, *, timeout: float
) -> dict[str, Any]:
    """`python script base out_dir`: its JSON output (fails with its stderr if it fails)."""
    done = subprocess.run(
        [python, str(script), base, str(out_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr[-6000:]}"
    results: dict[str, Any] = json.loads(done.stdout)
    return results


def pcm16(path: Path) -> npt.NDArray[np.float32]:
    """Float samples of a file of 16-bit little-endian mono PCM."""
    return np.frombuffer(path.read_bytes(), dtype="<i2").astype(np.float32) / 32768
