"""The container (Dockerfile at the repository root), built and run with podman.

The image is built on a plain Debian bookworm base made here with debootstrap from the
Debian mirror of this machine's apt sources (Docker Hub may be out of reach), then run as
a Kubernetes pod would run it (read-only root filesystem, no capabilities, 2 CPUs, an API
key from the environment). The test gets speech through the WebSocket, stops the container
mid-paragraph with `podman stop` (the image's STOPSIGNAL, SIGTERM) and sees the drain: the
paragraph arrives whole with its `done`, the connection closes 1012, the container exits 0.

What podman needs on these machines: runc rather than crun, a containers.conf without the
default ulimits, cgroupfs (no systemd), the file events backend and the host network.
Podman's complaints that it cannot reach systemd to schedule the HEALTHCHECK are expected
here; `podman healthcheck run` checks the image's HEALTHCHECK directly.

The debootstrap base is kept in podman's image store (`localhost/debian-base:bookworm`)
and reused by later runs, and so are the build's layers. Timings go to the terminal.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.deployment.conftest import require_program
from tests.e2e.speech import CARTESIA_VOICE, MIN_RECALL, output_format, speech_of
from tests.support.asr import assert_recognized, assert_speech_like
from tests.support.checks import close_code, wait_for_status
from tests.support.live_server import free_port
from tests.support.wsclient import Client, request
from ttsd.server.settings import Settings

#: debootstrap, a build from an empty cache (~300 MB of wheels) and the run, with room.
pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/debian-base:bookworm"
IMAGE = "localhost/ttsd:deployment-test"
#: The Dockerfile's build stage (the virtual environment), tagged to keep its layers cached.
BUILD_STAGE = "localhost/ttsd-build:deployment-test"
#: Where debootstrap looks when no apt source names a bookworm mirror.
DEFAULT_MIRROR = "http://deb.debian.org/debian"
API_KEY = "container-test-key"
#: The drain deadline (the image's default, TTSD_DRAIN_TIMEOUT_S): the paragraph is done
#: long before it, and the container must exit well within it.
DRAIN_TIMEOUT_S = Settings().drain_timeout_s
PARAGRAPH = (
    "The meeting has moved to Thursday afternoon. Please bring the quarterly report "
    "and your notes from the last review. We will start with the budget, then the "
    "hiring plan, and finish by five."
)

#: Seconds each step took, shown at the end (the CI budget of the deployment tests).
TIMINGS: dict[str, float] = {}


@dataclass
class Podman:
    """Runs podman with the options that work on these machines."""

    runtime: str
    conf: Path
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        """The full command line for `podman ARGS...`."""
        return [
            "podman",
            "--runtime",
            self.runtime,
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
            *args,
        ]

    def run(
        self, *args: str, timeout: float = 120, check: bool = True, **options: object
    ) -> subprocess.CompletedProcess[str]:
        """`podman ARGS...`, its output captured as text; fails the test on error if `check`."""
        done = subprocess.run(
            self.argv(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            **options,  # type: ignore[call-overload]
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"podman {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        return done

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """`podman ARGS...` in the background, its output captured."""
        return subprocess.Popen(
            self.argv(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The first Debian mirror that this machine's apt sources use for bookworm."""
    one_line = re.compile(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)")
    sources_d = apt_dir / "sources.list.d"
    for path in [apt_dir / "sources.list", *sorted(sources_d.glob("*.list"))]:
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                match = one_line.match(line.strip())
                if match and match.group(2) == "bookworm":
                    return match.group(1)
    for path in sorted(sources_d.glob("*.sources")):
        # deb822 stanzas (man sources.list): "Key: value" lines, blank lines between.
        for stanza in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            fields: dict[str, list[str]] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.split()
            enabled = fields.get("enabled", ["yes"])[0].lower() != "no"
            if (
                enabled
                and "deb" in fields.get("types", [])
                and "bookworm" in fields.get("suites", [])
            ):
                return fields["uris"][0]
    return DEFAULT_MIRROR


def pip_build_secrets(workdir: Path) -> list[str]:
    """`podman build` options that hand this machine's pip settings to the build.

    The Dockerfile reads them as build secrets, so they reach no layer: `pip-ca`, the CA
    bundle pip trusts here (a TLS-intercepting proxy's CA, say), and `pip.conf` with the
    package indexes that the build can reach (http(s); a file:// index on this disk is not
    inside the build).
    """
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    settings: dict[str, str] = {}
    for line in listed.splitlines():  # "global.cert='/etc/ssl/...'", ":env:.cert='...'"
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        settings.setdefault(name, str(ast.literal_eval(value)))
    options: list[str] = []
    cert = settings.get("cert")
    if cert and Path(cert).is_file():
        options += ["--secret", f"id=pip-ca,src={cert}"]
    conf_lines = []
    for name in ("index-url", "extra-index-url"):
        urls = [
            url for url in settings.get(name, "").split() if url.startswith(("http:", "https:"))
        ]
        if urls:
            conf_lines.append(f"{name} = {' '.join(urls)}")
    if settings.get("trusted-host"):
        conf_lines.append(f"trusted-host = {settings['trusted-host']}")
    if conf_lines:
        conf = workdir / "pip.conf"
        conf.write_text("[global]\n" + "\n".join(conf_lines) + "\n")
        options += ["--secret", f"id=pip.conf,src={conf}"]
    return options


def timed(name: str, started: float) -> None:
    """Record how long step `name` took since `started` (time.monotonic())."""
    TIMINGS[name] = time.monotonic() - started


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    """podman, configured for these machines; skips where it cannot run."""
    require_program("podman")
    runtime = require_program("runc")
    if os.geteuid() != 0:
        pytest.skip("the container test needs root (debootstrap, rootful podman)")
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    # The default ulimits (nofile, nproc) are refused here.
    conf.write_text("[containers]\ndefault_ulimits = []\n")
    tool = Podman(runtime, conf, os.environ | {"CONTAINERS_CONF": str(conf)})
    info = tool.run("info", check=False)
    if info.returncode != 0:
        pytest.skip(f"podman cannot run here: {info.stderr.strip()[-500:]}")
    return tool


@pytest.fixture(scope="module")
def base_image(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A plain Debian bookworm image made with debootstrap, kept for later runs."""
    if podman.run("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        debootstrap = require_program("debootstrap")
        rootfs = tmp_path_factory.mktemp("debian") / "rootfs"
        mirror = debian_mirror()
        started = time.monotonic()
        made = subprocess.run(
            [debootstrap, "--variant=minbase", "bookworm", str(rootfs), mirror],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if made.returncode != 0:
            pytest.fail(f"debootstrap from {mirror} failed:\n{made.stdout[-2000:]}{made.stderr}")
        timed("debootstrap", started)
        # Package files and lists are not needed in an image (apt-get update fetches lists).
        for leftover in [
            *(rootfs / "var/cache/apt/archives").glob("*.deb"),
            *(rootfs / "var/lib/apt/lists").glob("*_*"),
        ]:
            leftover.unlink()
        started = time.monotonic()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        podman.run("import", "-", BASE_IMAGE, stdin=tar.stdout, timeout=300)
        tar.wait()
        shutil.rmtree(rootfs, ignore_errors=True)
        timed("base image import", started)
    tried = podman.run(
        "run", "--rm", "--network", "host", BASE_IMAGE, "true", check=False, timeout=60
    )
    if tried.returncode != 0:
        pytest.skip(f"podman cannot run a container here: {tried.stderr.strip()[-500:]}")
    return BASE_IMAGE


def dangling_images(podman: Podman) -> set[str]:
    """Ids of the images with no tag and no child."""
    shown = podman.run("images", "--quiet", "--no-trunc", "--filter", "dangling=true")
    return set(shown.stdout.split())


@pytest.fixture(scope="module")
def image(
    podman: Podman, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The image built from the Dockerfile on the debootstrap base.

    The build stage is tagged too (BUILD_STAGE), so that its layers (the dependencies'
    above all) stay cached for the next run while what this build replaced is removed.
    """
    dangling_before = dangling_images(podman)
    workdir = tmp_path_factory.mktemp("build")
    log = workdir / "build.log"
    build = [
        "build",
        # The OCI format has no HEALTHCHECK: podman would drop it.
        "--format",
        "docker",
        "--network",
        "host",
        "--build-arg",
        f"BASE_IMAGE={base_image}",
        *pip_build_secrets(workdir),
        "--file",
        str(REPO / "Dockerfile"),
    ]
    started = time.monotonic()
    with log.open("w") as out:
        for target in (["--target", "build", "--tag", BUILD_STAGE], ["--tag", IMAGE]):
            built = subprocess.run(
                podman.argv(*build, *target, str(REPO)),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=podman.env,
                timeout=720,
            )
            if built.returncode != 0:
                pytest.fail(f"podman build failed:\n{log.read_text(errors='replace')[-5000:]}")
    timed("image build", started)
    # The images of an earlier run that this one replaced (and their untagged layers).
    for replaced in dangling_images(podman) - dangling_before:
        podman.run("rmi", replaced, check=False)
    yield IMAGE


@dataclass
class Container:
    """A running container of the image, serving on `port` of the host network."""

    podman: Podman
    name: str
    port: int

    @property
    def base(self) -> str:
        """host:port of the server."""
        return f"127.0.0.1:{self.port}"

    def logs(self) -> str:
        """Everything the server wrote (stdout and stderr)."""
        done = self.podman.run("logs", self.name, check=False)
        return done.stdout + done.stderr

    def state(self) -> dict[str, object]:
        """podman's view of the container (Status, Running, ExitCode...)."""
        shown = self.podman.run("inspect", "--format", "{{json .State}}", self.name)
        state: dict[str, object] = json.loads(shown.stdout)
        return state


def start(podman: Podman, image: str, options: Sequence[str] = ()) -> Container:
    """Run `image` in the background on a free port; wait until /readyz answers 200."""
    port = free_port()
    name = f"ttsd-test-{port}"
    started = time.monotonic()
    podman.run(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        # As deploy/kubernetes/base/deployment.yaml runs it.
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--cpus",
        "2",
        "--memory",
        "2g",
        "--env",
        f"TTSD_PORT={port}",
        *options,
        image,
    )
    container = Container(podman, name, port)
    deadline = time.monotonic() + 120
    while True:  # start-up loads the voice
        try:
            if httpx.get(f"http://{container.base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if not container.state().get("Running") or time.monotonic() > deadline:
            logs = container.logs()
            podman.run("rm", "--force", name, check=False)
            pytest.fail(f"the container did not become ready:\n{logs[-3000:]}")
        time.sleep(0.2)
    timed("container start to ready", started)
    return container


@pytest.fixture
def container(podman: Podman, image: str) -> Iterator[Container]:
    """The image running with an API key; removed after the test."""
    running = start(podman, image, ["--env", f"TTSD_API_KEYS={API_KEY}"])
    try:
        yield running
    finally:
        podman.run("rm", "--force", running.name, check=False)


def test_image_runs_as_a_non_root_user_with_a_healthcheck_and_sigterm(
    podman: Podman, image: str
) -> None:
    [inspected] = json.loads(podman.run("image", "inspect", image).stdout)
    config = inspected["Config"]
    assert config["User"] == "10001:10001", config
    assert config["StopSignal"] == "SIGTERM", config
    assert "8420/tcp" in config["ExposedPorts"], config
    assert "TTSD_HOST=0.0.0.0" in config["Env"], config
    # podman shows a docker-format image's HEALTHCHECK beside its config.
    assert "/healthz" in " ".join(inspected["Healthcheck"]["Test"]), inspected["Healthcheck"]


def test_container_speaks_and_drains_on_sigterm(
    podman: Podman, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    base = f"http://{container.base}"
    # Inside the container ttsd listens on every interface, and the key is what guards it.
    assert f"0.0.0.0:{container.port}" in container.logs()
    assert httpx.get(f"{base}/voices").status_code == 401
    assert httpx.get(f"{base}/voices", headers={"X-API-Key": API_KEY}).status_code == 200
    assert httpx.get(f"{base}/healthz").status_code == 200  # probes need no key
    health = podman.run("healthcheck", "run", container.name, check=False)
    assert health.returncode == 0, health.stdout + health.stderr
    uid = podman.run("exec", container.name, "id", "-u").stdout.strip()
    assert uid == "10001"

    fmt = output_format()
    headers = {"X-API-Key": API_KEY}
    with (
        Client(container.base, headers=headers) as idle,
        Client(container.base, headers=headers) as client,
    ):
        client.send(request("c1", PARAGRAPH, voice=CARTESIA_VOICE, output_format=fmt))
        client.until(lambda f: f["type"] == "chunk", timeout=60)
        stopped = time.monotonic()
        # `podman stop` sends the image's STOPSIGNAL and waits up to --time for the exit.
        stop = podman.popen("stop", "--time", "60", container.name)
        not_ready = wait_for_status(f"{base}/readyz", 503)
        assert not_ready.status_code == 503, "still ready 5 s after SIGTERM"
        # A connection with no stream in flight is closed at once, so its client reconnects.
        assert close_code(idle) == 1012
        # The stream in flight finishes, whole.
        frames = client.until_done("c1", timeout=60)
        assert frames[-1]["type"] == "done", frames[-1]
        speech = speech_of(client.frames, "c1", fmt)
        assert_speech_like(speech.pcm, speech.sample_rate, PARAGRAPH)
        assert_recognized(speech.pcm, speech.sample_rate, PARAGRAPH, min_recall=MIN_RECALL)
        assert close_code(client) == 1012
    output, _ = stop.communicate(timeout=90)
    exited_s = time.monotonic() - stopped
    TIMINGS["SIGTERM to container exit"] = exited_s
    assert stop.returncode == 0, output
    state = container.state()
    assert state["Status"] == "exited" and state["ExitCode"] == 0, state
    # It drained and exited by itself, not when podman's 60 s ran out (SIGKILL, 137).
    assert exited_s < DRAIN_TIMEOUT_S, exited_s
    logs = container.logs()
    assert "drained in" in logs, logs[-3000:]
    assert "Traceback" not in logs, logs[-3000:]
    with capsys.disabled():
        shown = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in TIMINGS.items())
        print(f"\ncontainer test timings: {shown}")


def test_debian_mirror_is_read_from_deb822_and_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    assert debian_mirror(tmp_path) == DEFAULT_MIRROR
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "\n"
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64 signed-by=/k.gpg] http://other.example/debian bookworm main\n"
    )
    assert debian_mirror(tmp_path) == "http://other.example/debian"
