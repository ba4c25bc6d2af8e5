"""The official `cartesia` SDK's flushing examples (the seed page: tests/e2e/seed_examples.py),
unchanged, against ttsd.

Neither SDK can share the project's venv (the seed's 3.2.0 needs websockets<16; 4.x
conflicts with 3.2.0): each runs tests/e2e/sdk_scenarios.py in a venv of its own, named by
TTSD_SDK3_PYTHON and TTSD_SDK4_PYTHON, which scripts/test.sh builds, e.g.

    python3 -m venv .venv-sdk4 && .venv-sdk4/bin/pip install "cartesia[websockets]>=4,<5"
    TTSD_SDK4_PYTHON=.venv-sdk4/bin/python pytest tests/e2e

Unset, its tests skip (and fail when $CI is set: tests/e2e/side_venv.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.seed_checks import check_seed_run
from tests.e2e.side_venv import SDKS, run_sdk_scenarios

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).with_name("sdk_scenarios.py")


def _sdk_results(major: int, base: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both examples run by `$TTSD_SDK{major}_PYTHON tests/e2e/sdk_scenarios.py`."""
    out_dir = tmp_path_factory.mktemp(f"sdk{major}")
    results = run_sdk_scenarios(major, SCENARIOS, base, out_dir, timeout=120)
    results["dir"] = out_dir
    sys.stderr.write(f"cartesia {results['cartesia_version']} from {SDKS[major][0]}\n")
    return results


@pytest.fixture(scope="module")
def sdk3_results(piper_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _sdk_results(3, piper_server, tmp_path_factory)


@pytest.fixture(scope="module")
def sdk4_results(piper_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _sdk_results(4, piper_server, tmp_path_factory)


@pytest.fixture(params=["sdk3", pytest.param("sdk4", marks=pytest.mark.sdk4)])
def sdk_results(request: pytest.FixtureRequest) -> dict[str, Any]:
    found: dict[str, Any] = request.getfixturevalue(f"{request.param}_results")
    return found


def test_sdk3_venv_is_3x(sdk3_results: dict[str, Any]) -> None:
    assert sdk3_results["cartesia_version"].startswith("3."), sdk3_results["cartesia_version"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_sdk_flushing_example(sdk_results: dict[str, Any], mode: str) -> None:
    run = sdk_results["runs"][mode]
    assert run["error"] is None, run["error"]
    check_seed_run(sdk_results["dir"], run["files"], run["output"], asynchronous=mode == "async")
