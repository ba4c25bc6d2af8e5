"""Deployment tests: the container, nginx in front of several servers, Prometheus.

They start real programs from Debian's packages (installed by
`scripts/deployment-tests.sh`) and take minutes, so the main suite leaves them out
(`collect_ignore` in `tests/conftest.py`); `scripts/deployment-tests.sh` runs them after it.
A test whose tool cannot run on the machine skips and says why.
"""

from __future__ import annotations

import shutil

import pytest


def require_program(name: str) -> str:
    """The path of `name`, or skip the test with a message naming it."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/deployment-tests.sh installs it)")
    return path
