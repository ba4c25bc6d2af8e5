#!/usr/bin/env bash
# Set up everything the test suite needs (from PyPI only) and run it: lint, types, tests.
# Used as is by CI (.ci/run) and by the README.
set -euo pipefail
cd "$(dirname "$0")/.."

# The playground's browser tests drive Debian's Chromium through its chromedriver; installed
# where this runs as root with apt (as CI does), else they skip (fail when $CI is set).
if ! { command -v chromium && command -v chromedriver; } >/dev/null \
    && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing chromium and chromium-driver for tests/e2e/test_playground.py"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null
fi

PYTHON=${PYTHON:-python3}

# venv DIR REQUIREMENT...: DIR as a venv (made if missing) with REQUIREMENTs installed.
venv() {
    local dir=$1
    shift
    if [ ! -x "$dir/bin/python" ]; then
        "$PYTHON" -m venv "$dir"
    fi
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}

venv .venv -e '.[server,kokoro,test]'

# The official Python SDK, each version in a venv of its own: the seed's 3.2.0 needs
# websockets<16 (the project's venv gets the newest websockets, as a plain install does),
# and the newest (4.x) cannot share a venv with 3.2.0.
venv .venv-sdk3 'cartesia[websockets]==3.2.0'
export TTSD_SDK3_PYTHON="$PWD/.venv-sdk3/bin/python"
venv .venv-sdk4 'cartesia[websockets]>=4,<5'
export TTSD_SDK4_PYTHON="$PWD/.venv-sdk4/bin/python"

# The voice-agent frameworks, pinned (the versions the README names; the tests check them),
# each in a venv of its own: their pins conflict with the project's and with each other's.
# tests/e2e/test_pipecat.py and test_livekit.py run them; cold, each takes about 30 s.
venv .venv-pipecat 'pipecat-ai[cartesia]==1.14.0'
export TTSD_PIPECAT_PYTHON="$PWD/.venv-pipecat/bin/python"
venv .venv-livekit 'livekit-agents==1.8.9' 'livekit-plugins-cartesia==1.8.9'
export TTSD_LIVEKIT_PYTHON="$PWD/.venv-livekit/bin/python"

# The official JS SDK (the seed's 3.2.0 and the newest), for the TLS tests; skipped without node.
if command -v node >/dev/null && command -v npm >/dev/null; then
    js_dirs=()
    for version in 3.2.0 4.2.0; do
        prefix="$PWD/.js-sdk-$version"
        if [ ! -d "$prefix/node_modules/@cartesia/cartesia-js" ]; then
            npm install --silent --no-audit --no-fund --prefix "$prefix" \
                "@cartesia/cartesia-js@$version" ws >/dev/null
        fi
        js_dirs+=("$prefix")
    done
    TTSD_JS_SDK_DIRS=$(IFS=:; echo "${js_dirs[*]}")
    export TTSD_JS_SDK_DIRS
fi

.venv/bin/ruff check src tests benchmarks deploy
.venv/bin/ruff format --check src tests benchmarks deploy
.venv/bin/mypy
.venv/bin/pytest "$@"
