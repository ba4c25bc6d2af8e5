"""A real `ttsd serve` process on a free loopback port, and its log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.live_server import free_port

#: The `ttsd` command of the venv running the tests.
TTSD = Path(sys.executable).with_name("ttsd")


@dataclass
class ServeProcess:
    """A `ttsd serve` process and the file its stdout and stderr go to."""

    base: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """All it wrote so far."""
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        """Send it `sig` (SIGTERM: what a container runtime or kubelet sends)."""
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        """Its exit code, or None if it is still running after `timeout` seconds."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stop it if it still runs (SIGINT, then SIGKILL after 20 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            if self.wait(20) is None:
                self.process.kill()
                self.process.wait()


def start_serve(
    args: Sequence[str] = (),
    *,
    log_dir: Path,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
) -> ServeProcess:
    """`PREFIX ttsd serve --port FREE ARGS...` (PREFIX: e.g. `taskset -c 0`), returned once
    `/readyz` answers 200; the caller stops it. `TTSD_API_KEYS` of the tests' environment is
    left out, `env` added."""
    port = free_port()
    log_path = log_dir / f"serve-{port}.log"
    environ = {k: v for k, v in os.environ.items() if k != "TTSD_API_KEYS"} | (env or {})
    command = [*prefix, str(TTSD), "serve", "--port", str(port), *args]
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environ)
    served = ServeProcess(f"127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 120
    while True:  # start-up loads the voice
        if process.poll() is not None or time.monotonic() > deadline:
            served.stop()
            raise RuntimeError(f"ttsd serve did not start:\n{served.log()[-3000:]}")
        try:
            if httpx.get(f"http://{served.base}/readyz", timeout=1).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        time.sleep(0.1)


@contextmanager
def serve_process(
    args: Sequence[str] = (),
    *,
    log_dir: Path,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
) -> Iterator[ServeProcess]:
    """`start_serve(...)` as a context: stopped on the way out."""
    served = start_serve(args, log_dir=log_dir, env=env, prefix=prefix)
    try:
        yield served
    finally:
        served.stop()
