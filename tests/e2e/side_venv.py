"""Scenario scripts run by another interpreter: a client whose pins conflict with the
project's (the official `cartesia` SDKs 3.2.0 and 4.x, pipecat, LiveKit Agents) lives in a
venv of its own that scripts/test.sh builds, and its script prints JSON that the tests here
check."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
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
    python: str,
    script: Path,
    base: str,
    out_dir: Path,
    *,
    timeout: float,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`python script base out_dir *args` (in `env`, default this process's environment): its
    JSON output (fails with its stderr if it fails)."""
    done = subprocess.run(
        [python, str(script), base, str(out_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else dict(env),
        check=False,
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr[-6000:]}"
    results: dict[str, Any] = json.loads(done.stdout)
    return results


#: The official Python SDK's side venvs (scripts/test.sh builds both): {major: (variable, pin)}.
#: The seed's 3.2.0 cannot share the project's venv: it needs websockets<16.
SDKS = {
    3: ("TTSD_SDK3_PYTHON", "cartesia[websockets]==3.2.0"),
    4: ("TTSD_SDK4_PYTHON", "cartesia[websockets]>=4,<5"),
}


def sdk_python(major: int) -> str:
    """The interpreter with the official SDK `major`.x (`.venv-sdk{major}`), as side_python."""
    env, pin = SDKS[major]
    venv = f".venv-sdk{major}"
    return side_python(env, f"{pin} (python3 -m venv {venv} && {venv}/bin/pip install '{pin}')")


def run_sdk_scenarios(
    major: int,
    script: Path,
    base: str,
    out_dir: Path,
    *,
    timeout: float,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """run_scenarios with the official SDK `major`.x (skip or fail as sdk_python); fails if
    the script reports another `cartesia_version`."""
    python = sdk_python(major)
    results = run_scenarios(python, script, base, out_dir, timeout=timeout, args=args, env=env)
    version = results["cartesia_version"]
    assert version.startswith(f"{major}."), (
        f"{SDKS[major][0]}={python} has cartesia {version}, not {major}.x"
    )
    return results


def pcm16(path: Path) -> npt.NDArray[np.float32]:
    """Float samples of a file of 16-bit little-endian mono PCM."""
    return np.frombuffer(path.read_bytes(), dtype="<i2").astype(np.float32) / 32768
