#!/usr/bin/env bash
# Deployment tests (issue 9): the container (podman), nginx in front of three servers
# during a rolling restart, and a real Prometheus scraping /metrics. Installs the Debian
# packages they need (when run as root with apt), then runs tests/deployment. Each test
# skips with a message where its tool cannot run here. Called by .ci/run after the main
# suite; needs the venv that scripts/test.sh builds.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(nginx prometheus podman runc debootstrap)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "deployment tests: installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

export TTSD_DEPLOYMENT_TESTS=1
exec .venv/bin/pytest tests/deployment -p no:cacheprovider -rs "$@"
