"""The client-only install (`pip install ttsd`, issue 12 part 5): the SDK and `ttsd say
--url` in a fresh virtual environment with none of the server's packages, against a live
server with the real voice; the server's commands there say how to install it."""

from __future__ import annotations

import json
import subprocess
import venv
import wave
from pathlib import Path

import pytest

from tests.support.asr import recognize, word_recall
from ttsd.audio.encoders import decode
from ttsd.cli.extras import SERVER_INSTALL, SERVER_MODULES
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
TEXT = "I would like a cup of coffee."
#: The client install's packages, without pip and setuptools; the server's add ~380 MB.
MAX_CLIENT_MB = 60


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with `pip install REPO` (no extras): its bin/ folder."""
    root = tmp_path_factory.mktemp("client-venv")
    venv.create(root, with_pip=True)
    done = subprocess.run(
        [str(root / "bin" / "python"), "-m", "pip", "install", "-q", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "bin"


def run(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
    )


def test_none_of_the_server_packages_are_installed(client_venv: Path) -> None:
    probe = (
        "import importlib.util, json, sys;"
        "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m)]))"
    )
    done = run(client_venv, "python", "-c", probe, *sorted(SERVER_MODULES))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_client_install_is_small(client_venv: Path) -> None:
    (site,) = client_venv.parent.glob("lib/python3*/site-packages")
    tools = {"pip", "setuptools", "_distutils_hack"}
    size = sum(
        f.stat().st_size
        for top in site.iterdir()
        if top.name.split("-")[0] not in tools
        for f in ([top] if top.is_file() else top.rglob("*"))
        if f.is_file()
    )
    print(f"client install: {size / 2**20:.1f} MiB")
    assert size < MAX_CLIENT_MB * 2**20


def test_say_through_the_server_from_the_client_install(
    client_venv: Path, piper_server: str, tmp_path: Path
) -> None:
    out = tmp_path / "client.wav"
    done = run(client_venv, "ttsd", "say", TEXT, "-o", str(out), "--url", f"http://{piper_server}")
    assert done.returncode == 0, done.stderr
    with wave.open(str(out)) as wav:
        rate = wav.getframerate()
        samples = decode(wav.readframes(wav.getnframes()), Encoding.PCM_S16LE)
    assert 1.0 < len(samples) / rate < 5.0
    assert word_recall(TEXT, recognize(samples, rate)) >= 0.6


def test_the_sdk_from_the_client_install(
    client_venv: Path, piper_server: str, tmp_path: Path
) -> None:
    out = tmp_path / "sdk.raw"
    script = f"""
import sys
from ttsd import Client
with Client(base_url="http://{piper_server}") as client, client.tts.websocket_connect() as ws:
    ctx = ws.context(
        voice={{"mode": "id", "id": "en_US-joe-medium"}},
        output_format={{"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}},
    )
    ctx.push({TEXT!r})
    ctx.no_more_inputs()
    audio = b"".join(r.audio for r in ctx.receive() if r.type == "chunk" and r.audio)
open(sys.argv[1], "wb").write(audio)
"""
    done = run(client_venv, "python", "-c", script, str(out))
    assert done.returncode == 0, done.stderr
    samples = decode(out.read_bytes(), Encoding.PCM_S16LE)
    assert word_recall(TEXT, recognize(samples, 16000)) >= 0.6


@pytest.mark.parametrize(
    "args",
    [
        ("serve",),
        ("serve", "--port", "9"),
        ("say", "Hi", "-o", "x.wav"),
        ("voices",),
        ("voices", "download", "en_US-lessac-medium"),
    ],
)
def test_server_commands_say_how_to_install_the_server(
    client_venv: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    args = tuple(str(tmp_path / a) if a == "x.wav" else a for a in args)
    done = run(client_venv, "ttsd", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert SERVER_INSTALL in done.stderr
    assert "Traceback" not in done.stderr
    if args[0] == "say":
        assert "--url" in done.stderr
        assert list(tmp_path.iterdir()) == []
