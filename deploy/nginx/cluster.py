"""The processes of deploy/nginx/rolling_restart.py: N `ttsd serve` on loopback ports
and nginx in front of them, running `deploy/nginx/ttsd.conf` with its ports rewritten.

nginx runs as the current user in the foreground, with a prefix (config, logs, temporary
files, pid) in the run's directory, so it needs no root and leaves the system's nginx
alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from streaming_load import UPSTREAM_HEADER

#: the nginx config a user copies; rendered with the real ports
SITE_CONFIG = Path(__file__).resolve().with_name("ttsd.conf")
LOOPBACK = "127.0.0.1"


class ClusterError(RuntimeError):
    """A process did not start or the config does not fit."""


# --- the nginx config ------------------------------------------------------------------

_UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)\S+:\d+(.*)$")
_LISTEN = re.compile(r"^(\s*listen\s+)[^;]+;", re.MULTILINE)


def render_site_config(text: str, backend_ports: Sequence[int], listen_port: int) -> str:
    """`ttsd.conf` with nginx on `listen_port` of the loopback interface and one upstream
    `server` line per port of `backend_ports`, each with the parameters of the file's
    first `server` line (`max_fails`, `fail_timeout`): what runs is what a user copies."""
    lines = text.splitlines(keepends=True)
    servers = [i for i, line in enumerate(lines) if _UPSTREAM_SERVER.match(line)]
    if not servers:
        raise ClusterError("no `server HOST:PORT ...;` line in the nginx config's upstream")
    first = _UPSTREAM_SERVER.match(lines[servers[0]])
    assert first is not None
    head, parameters = first[1], first[2]
    lines[servers[0]] = "".join(f"{head}{LOOPBACK}:{p}{parameters}\n" for p in backend_ports)
    for index in servers[1:]:
        lines[index] = ""
    out, listens = _LISTEN.subn(lambda m: f"{m[1]}{LOOPBACK}:{listen_port};", "".join(lines))
    if listens != 1:
        raise ClusterError(f"{listens} `listen` lines in the nginx config, want 1")
    return out


#: nginx's access log of a run, one request a line (read back by `read_access_log`)
ACCESS_FIELDS = ("msec", "status", "method", "uri", "upstream_addr", "upstream_status", "time")
_ACCESS_FORMAT = "|".join(
    f"${name}"
    for name in (
        "msec",
        "status",
        "request_method",
        "uri",
        "upstream_addr",
        "upstream_status",
        "request_time",
    )
)


def main_config(prefix: Path, site: Path) -> str:
    """The top-level nginx.conf of a run: temporary files under `prefix` (so any user can
    run it), an access log naming the backend(s) each request went to, and the response
    header `UPSTREAM_HEADER` (the client learns which backend serves its connection).
    `pid` and `error_log` come from the command line (`nginx_command`)."""
    temp = "\n".join(
        f"    {name}_temp_path {prefix / 'temp' / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""worker_processes 1;
events {{
    worker_connections 1024;
}}
http {{
{temp}
    log_format ttsd_upstreams '{_ACCESS_FORMAT}';
    access_log {prefix / "logs" / "access.log"} ttsd_upstreams;
    # for the run's bookkeeping only: don't show clients your backends' addresses
    add_header {UPSTREAM_HEADER} $upstream_addr always;
    include {site};
}}
"""


def nginx_command(nginx: str, prefix: Path) -> list[str]:
    """nginx in the foreground with its own prefix, pid file and error log."""
    directives = (
        f"daemon off; pid {prefix / 'nginx.pid'}; error_log {prefix / 'logs' / 'error.log'} warn;"
    )
    return [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", directives]


def read_access_log(path: Path) -> list[dict[str, str]]:
    """The lines of a run's access log as dicts keyed by `ACCESS_FIELDS`."""
    out: list[dict[str, str]] = []
    with contextlib.suppress(OSError):
        for line in path.read_text("utf-8", "replace").splitlines():
            parts = line.split("|")
            if len(parts) == len(ACCESS_FIELDS):
                out.append(dict(zip(ACCESS_FIELDS, parts, strict=True)))
    return out


# --- processes -------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def find_nginx(name: str) -> str:
    """The path of the nginx binary (Debian puts it in /usr/sbin, often not on PATH)."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise ClusterError(f"{name} not found (Debian: apt-get install nginx)")
    return path


def parallel_steps_flag(ttsd: str) -> str:
    """`--parallel-steps`, or `--workers` on builds from before it was renamed."""
    help_text = subprocess.run(
        [ttsd, "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    return "--parallel-steps" if "--parallel-steps" in help_text else "--workers"


@dataclass(slots=True)
class Generation:
    """One process of a backend: when it started, was ready, was told to stop, exited."""

    pid: int
    started_at: float
    ready_at: float | None = None
    sigterm_at: float | None = None
    exited_at: float | None = None
    exit_code: int | None = None

    def alive_at(self, moment: float) -> bool:
        """Whether this process ran at `moment` (time.monotonic())."""
        return self.started_at <= moment and (self.exited_at is None or moment <= self.exited_at)


@dataclass(slots=True)
class Backend:
    """One `ttsd serve` on a loopback port, across its restarts."""

    index: int
    port: int
    argv: list[str]
    logdir: Path
    process: asyncio.subprocess.Process | None = None
    generations: list[Generation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"backend {self.index + 1} (:{self.port})"

    @property
    def address(self) -> str:
        """`host:port`, as nginx's `$upstream_addr` names it."""
        return f"{LOOPBACK}:{self.port}"

    def log_path(self, generation: int) -> Path:
        return self.logdir / f"backend{self.index + 1}.{generation}.log"

    async def start(self) -> Generation:
        """Start a new process; its output goes to a log file of its own."""
        # flags only: a TTSD_* variable of the caller's shell (an API key) would change it
        env = {k: v for k, v in os.environ.items() if not k.startswith("TTSD_")}
        with self.log_path(len(self.generations) + 1).open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env
            )
        generation = Generation(pid=self.process.pid, started_at=time.monotonic())
        self.generations.append(generation)
        return generation

    async def wait_ready(self, timeout_s: float) -> None:
        """Poll `GET /readyz` until 200 (`GET /` on builds without /readyz)."""
        assert self.process is not None
        path = "/readyz"
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise ClusterError(f"{self.name} exited with {self.process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"http://{self.address}{path}")
                    if response.status_code == 404 and path == "/readyz":
                        path = "/"
                        continue
                    if response.status_code == 200:
                        self.generations[-1].ready_at = time.monotonic()
                        return
                await asyncio.sleep(0.1)
        raise ClusterError(f"{self.name} not ready within {timeout_s:.0f} s")

    async def stop(self, timeout_s: float) -> int:
        """SIGTERM and wait for the exit; SIGKILL past `timeout_s`. Returns the status."""
        assert self.process is not None
        generation = self.generations[-1]
        if self.process.returncode is None:
            generation.sigterm_at = time.monotonic()
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        generation.exited_at = time.monotonic()
        generation.exit_code = code
        return code

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path(len(self.generations)).read_text("utf-8", "replace")[-chars:]
        return ""


@dataclass(slots=True)
class Nginx:
    """nginx in the foreground with a prefix in the run's directory."""

    prefix: Path
    port: int
    command: list[str]
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"

    async def start(self, timeout_s: float = 20.0) -> None:
        """`nginx -t`, then nginx; ready when `GET /` through it answers 200."""
        check = subprocess.run([*self.command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise ClusterError(f"nginx -t failed:\n{check.stderr.strip()}")
        with (self.prefix / "logs" / "stderr.log").open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise ClusterError(f"nginx exited with {self.process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.url + "/")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise ClusterError(f"nginx did not answer within {timeout_s:.0f} s")

    async def stop(self) -> None:
        """SIGQUIT (graceful, so the access log is complete); SIGKILL after 10 s."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            await asyncio.wait_for(self.process.wait(), 10.0)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def running_cluster(
    workdir: Path,
    *,
    backends: int,
    serve_args: Sequence[str],
    ttsd: str,
    nginx: str,
    site_config: Path = SITE_CONFIG,
    start_timeout_s: float = 120.0,
) -> AsyncIterator[tuple[list[Backend], Nginx]]:
    """`backends` x `ttsd serve SERVE_ARGS` on free loopback ports and nginx in front
    (`site_config` rendered), all ready; everything stopped on the way out, and the
    backends' logs printed to stderr if something failed."""
    nginx_path = find_nginx(nginx)
    servers: list[Backend] = []
    for index in range(backends):
        port = free_port()
        argv = [ttsd, "serve", "--host", LOOPBACK, "--port", str(port), *serve_args]
        servers.append(Backend(index, port, argv, workdir))
    prefix = workdir / "nginx"
    for sub in ("logs", "temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    # nginx started as root runs its workers as another user: they must reach temp/
    for folder in (workdir, prefix):
        folder.chmod(0o755)
    site = prefix / "ttsd.conf"
    listen = free_port()
    template = site_config.read_text("utf-8")
    site.write_text(render_site_config(template, [b.port for b in servers], listen), "utf-8")
    (prefix / "nginx.conf").write_text(main_config(prefix, site), "utf-8")
    proxy = Nginx(prefix, listen, nginx_command(nginx_path, prefix))
    try:
        for server in servers:
            await server.start()
        await asyncio.gather(*(s.wait_ready(start_timeout_s) for s in servers))
        await proxy.start()
        yield servers, proxy
    except BaseException:
        for server in servers:
            tail = server.log_tail()
            if tail.strip():
                print(f"--- {server.name} log ---\n{tail}", file=sys.stderr)
        raise
    finally:
        await proxy.stop()
        for server in servers:
            if server.process is not None and server.process.returncode is None:
                await server.stop(10.0)
