"""`ttsd serve` over TLS with a self-signed certificate, for clients that only dial wss://.

The official JS SDK always turns its base URL into `wss://` (docs/protocol.md §10.5), and the
Python SDK does the same unless given `websocket_base_url`. Here both reach ttsd with
nothing but an `https://` base URL; they trust the certificate the way a user would
(`NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`), not by turning verification off.

The Python SDK is the seed's 3.2.0, run by tests/e2e/sdk_scenarios.py in the venv named by
TTSD_SDK3_PYTHON (tests/e2e/side_venv.py). The JS SDK runs when `TTSD_JS_SDK_DIRS` lists npm
prefixes holding `@cartesia/cartesia-js` and `ws` (scripts/test.sh installs 3.2.0 and the
newest); otherwise those tests skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.e2e.side_venv import run_sdk_scenarios
from tests.support.asr import assert_speech_like, recognize
from tests.support.live_server import live_server
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

pytestmark = pytest.mark.e2e

JS_SDK_DIRS_ENV = "TTSD_JS_SDK_DIRS"
FLUSHING_JS = Path(__file__).with_name("js") / "flushing.js"
SDK_SCENARIOS = Path(__file__).with_name("sdk_scenarios.py")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def tls_server(certificate: tuple[Path, Path]) -> Iterator[str]:
    """A real ttsd (default voice) serving HTTPS and WSS on one port."""
    cert, key = certificate
    with live_server(create_app(Settings()), ssl_certfile=str(cert), ssl_keyfile=str(key)) as base:
        yield base


def _check_flush_files(files: dict[int, Path], encoding: Encoding) -> None:
    """Flush 1 holds "Stay hungry, ", flush 2 "stay foolish." (see test_cartesia_sdk.py)."""
    assert sorted(files) == [1, 2]
    hungry = decode(files[1].read_bytes(), encoding)
    foolish = decode(files[2].read_bytes(), encoding)
    assert_speech_like(hungry, 44100, "Stay hungry, ")
    assert_speech_like(foolish, 44100, "stay foolish.")
    assert "hungry" in recognize(hungry, 44100)
    assert "hungry" not in recognize(foolish, 44100)


def test_python_sdk_reaches_ttsd_over_wss_with_only_an_https_base_url(
    tls_server: str, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    env = {**os.environ, "SSL_CERT_FILE": str(certificate[0])}  # trust the test certificate
    # Only `Cartesia(base_url="https://…")`: the SDK derives wss:// (sdk_scenarios.py).
    results = run_sdk_scenarios(
        3, SDK_SCENARIOS, f"https://{tls_server}", tmp_path, timeout=120, args=["sync"], env=env
    )
    run = results["runs"]["sync"]
    assert run["error"] is None, run["error"]
    assert "Flush done received for flush_id: 1" in run["output"]
    names = [name for name in run["files"] if fnmatch(name, "tts_flush_*.pcm")]
    files = {int(name.split("_")[2]): tmp_path / name for name in names}
    _check_flush_files(files, Encoding.PCM_S16LE)


def _js_sdk_dirs() -> list[str]:
    return [d for d in os.environ.get(JS_SDK_DIRS_ENV, "").split(os.pathsep) if d]


@pytest.mark.parametrize("prefix", _js_sdk_dirs() or ["(none)"])
def test_js_sdk_runs_the_seed_flushing_example_over_wss(
    tls_server: str, certificate: tuple[Path, Path], tmp_path: Path, prefix: str
) -> None:
    node = shutil.which("node")
    if prefix == "(none)" or node is None:
        pytest.skip(
            f"set {JS_SDK_DIRS_ENV} to npm prefixes with @cartesia/cartesia-js and ws "
            "(scripts/test.sh does), and have node on PATH"
        )
    env = {
        **os.environ,
        "NODE_PATH": str(Path(prefix) / "node_modules"),
        "NODE_EXTRA_CA_CERTS": str(certificate[0]),
    }
    done = subprocess.run(
        [node, str(FLUSHING_JS), f"https://{tls_server}", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["errors"] == []
    types = [e["type"] for e in result["events"]]
    assert types[-1] == "done"
    assert {"type": "flush_done", "flush_id": 1} in result["events"]
    files = {int(k): Path(v) for k, v in result["files"].items()}
    _check_flush_files(files, Encoding.PCM_F32LE)
