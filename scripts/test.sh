#!/usr/bin/env bash
# Set up everything the test suite needs (from PyPI only) and run it: lint, types, tests.
# Used as is by CI (.ci/run) and by the README.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'

# The newest official SDK (4.x) cannot share the venv with the pinned 3.2.0: give it its own.
if [ ! -x .venv-sdk4/bin/python ]; then
    "$PYTHON" -m venv .venv-sdk4
fi
.venv-sdk4/bin/pip install --quiet --disable-pip-version-check 'cartesia[websockets]>=4,<5'
export TTSD_SDK4_PYTHON="$PWD/.venv-sdk4/bin/python"

.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/pytest "$@"
