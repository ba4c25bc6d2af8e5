#!/usr/bin/env python3
"""Running several ttsd behind nginx, and restarting them one by one under load.

Starts N `ttsd serve` backends on loopback ports and nginx in front of them with
`deploy/nginx/ttsd.conf` (its upstream and listen ports rewritten), measures the time to
first audio through nginx against a direct connection to a backend, then drives
streaming WebSocket contexts through nginx (text pushed in pieces with `continue: true`,
manual flushes, word timestamps; several contexts at once on each of a few pooled
connections, new ones opened as old ones finish) and a trickle of `POST /tts/bytes`,
while it restarts the backends one after another the way a rolling deploy does:

    for each backend: SIGTERM; wait until it has drained and exited; start it again;
    wait until GET /readyz is 200; wait nginx's fail_timeout; send a few short requests
    through nginx (they let nginx take the backend back); next backend.

The clients reopen a connection closed with 1012 and send again only the contexts that
got nothing back on it (streaming_load.py). It prints contexts started / completed /
retried / lost, the checks of every context's frames, each backend's drain time, the
first-audio numbers, and what nginx did (its access log), and exits 1 if a context was
lost or failed a check.

    .venv/bin/python deploy/nginx/rolling_restart.py            # 3 backends, 6 x 4 contexts
    .venv/bin/python deploy/nginx/rolling_restart.py --help     # every knob

tests/deployment/test_scale_out.py runs it (`run`) as a deployment test. Needs nginx
(Debian: `apt-get install nginx`; it runs as the current user with a prefix of its own)
and a `ttsd` console script (default: the one next to this Python).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from cluster import (
    SITE_CONFIG,
    Backend,
    ClusterError,
    parallel_steps_flag,
    read_access_log,
    running_cluster,
)
from streaming_load import (
    SENTENCES,
    ConnectionStats,
    ContextRun,
    Load,
    LoadError,
    LoadShape,
    RestStats,
    first_audio_once,
    percentile,
    rest_trickle,
)


@dataclass(frozen=True, slots=True)
class Options:
    """Every knob of a run (the command line sets them)."""

    #: `ttsd serve` processes behind nginx
    backends: int = 3
    #: pooled WebSocket connections through nginx
    connections: int = 6
    #: what each connection does (contexts at once, pacing, retries)
    shape: LoadShape = field(default_factory=LoadShape)
    #: seconds of load (after its first audio) before the first SIGTERM
    settle_s: float = 3.0
    #: send each SIGTERM 0.1 s after a connection to that backend began a round of
    #: contexts, so the round's later contexts are opened on a connection already draining
    #: (pooled sockets keep sending; the drain must serve them). Waits at most 60 s.
    sigterm_mid_round: bool = True
    #: seconds after a restarted backend is ready before the next one is stopped: at
    #: least ttsd.conf's fail_timeout, after which nginx tries a backend it marked down
    pause_s: float = 5.0
    #: short requests (GET /) through nginx after the pause: nginx takes a backend it had
    #: marked down back only once a request to it has *completed*, and a WebSocket
    #: completes when it closes (README: "Running several ttsd behind nginx")
    readmit_requests: int = 3
    #: first-audio probes each way (through nginx, direct) before the load
    probes: int = 10
    #: seconds between POST /tts/bytes requests through nginx during the restart (0: none)
    rest_interval_s: float = 1.0
    #: new connections through nginx after the restart, one context each
    after_connections: int = 3
    #: seconds a backend may take to load its voice and answer /readyz 200
    start_timeout_s: float = 120.0
    #: `ttsd serve` flags: ONNX threads of a step, steps side by side, the drain deadline
    engine_threads: int = 1
    parallel_steps: int = 1
    drain_timeout_s: float = 60.0
    #: programs and the config
    ttsd: str = str(Path(sys.executable).with_name("ttsd"))
    nginx: str = "nginx"
    site_config: Path = SITE_CONFIG
    #: keep nginx's prefix and the backends' logs here (default: a temporary directory)
    workdir: Path | None = None


@dataclass(frozen=True, slots=True)
class Restart:
    """One backend's turn in the rolling restart."""

    backend: str
    old_pid: int
    new_pid: int
    #: contexts in flight on connections to it when SIGTERM was sent
    live_contexts_at_sigterm: int
    #: GET /readyz 0.2 s after SIGTERM (503 while draining; an exception's name if refused)
    readyz_while_draining: str
    #: SIGTERM to exit
    drain_s: float
    exit_code: int
    #: start to /readyz 200
    start_s: float


@dataclass(slots=True)
class Report:
    """Everything a run measured."""

    options: Options
    contexts: list[ContextRun]
    connections: ConnectionStats
    restarts: list[Restart]
    backends: list[Backend]
    rest: RestStats
    probe_nginx_s: list[float]
    probe_direct_s: list[float]
    nginx_requests: list[dict[str, str]]
    total_s: float

    @property
    def started(self) -> list[ContextRun]:
        return [c for c in self.contexts if c.attempts]

    @property
    def completed(self) -> list[ContextRun]:
        return [c for c in self.contexts if c.outcome == "completed"]

    @property
    def retried(self) -> list[ContextRun]:
        """Contexts sent again (or first sent) on a new connection after a 1012."""
        return [c for c in self.contexts if c.retries]

    @property
    def lost(self) -> list[ContextRun]:
        return [c for c in self.contexts if c.outcome != "completed"]

    @property
    def failed_checks(self) -> dict[str, list[str]]:
        """Completed contexts whose frames are wrong, with what is wrong."""
        found = {c.context_id: c.problems() for c in self.completed}
        return {k: v for k, v in found.items() if v}

    def served(self) -> dict[tuple[int, int], int]:
        """Contexts completed by each (backend index, process id)."""
        out: Counter[tuple[int, int]] = Counter()
        for context in self.completed:
            attempt = context.attempts[-1]
            for backend in self.backends:
                if attempt.upstream != backend.address:
                    continue
                for generation in backend.generations:
                    if generation.alive_at(attempt.handshake_at):
                        out[(backend.index, generation.pid)] += 1
        return dict(out)

    def opened_while_draining(self) -> list[ContextRun]:
        """Contexts whose last attempt went on a connection opened before its backend's
        SIGTERM and was sent after it (served by a draining backend, or retried)."""
        out: list[ContextRun] = []
        for context in self.contexts:
            if not context.attempts:
                continue
            attempt = context.attempts[-1]
            for backend in self.backends:
                for generation in backend.generations:
                    if (
                        attempt.upstream == backend.address
                        and generation.alive_at(attempt.handshake_at)
                        and generation.sigterm_at is not None
                        and attempt.handshake_at < generation.sigterm_at < attempt.opened_at
                    ):
                        out.append(context)
        return out

    def first_audio(self, phase: str) -> list[float]:
        """First-audio seconds of the completed contexts of a phase ("load", "after")."""
        return [
            c.attempts[-1].first_audio_s
            for c in self.completed
            if c.phase == phase and c.attempts[-1].first_audio_s is not None
        ]

    def passed_on(self) -> Counter[str]:
        """Handshakes and REST requests nginx sent on to another backend, by the first
        backend's answer (nginx's access log: 503 draining, 502 refused)."""
        out: Counter[str] = Counter()
        for line in self.nginx_requests:
            statuses = [s.strip() for s in line["upstream_status"].split(",")]
            if len(statuses) > 1:
                kind = "handshake" if line["uri"] == "/tts/websocket" else line["uri"]
                out[f"{kind} after {statuses[0]}"] += 1
        return out

    def lines(self) -> list[str]:
        """The report as printed."""
        o = self.options
        connections = self.connections
        out = [
            f"{o.backends} x ttsd serve behind nginx, {o.connections} pooled connections x "
            f"{o.shape.contexts_per_connection} contexts at once; total {self.total_s:.1f} s",
            "",
            f"contexts: started {len(self.started)}, completed {len(self.completed)}, "
            f"retried {len(self.retried)}, lost {len(self.lost)}",
        ]
        out += [f"  lost {c.context_id}: {c.reason}" for c in self.lost[:20]]
        checks = self.failed_checks
        out.append(
            "checks (audio length and level, flush ids, flush_done, timestamps, done last): "
            f"{len(self.completed) - len(checks)} of {len(self.completed)} pass"
        )
        out += [f"  {cid}: {'; '.join(p)}" for cid, p in sorted(checks.items())[:10]]
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(connections.closed_codes.items()))
        refused = (
            f" {dict(connections.handshake_statuses)}" if connections.handshake_retries else ""
        )
        out.append(
            f"connections: {connections.opened} opened; closed with {codes}; handshakes "
            f"nginx refused (tried again by the client): {connections.handshake_retries}{refused}"
            f"; frames for no open context: {connections.stray_frames}"
        )
        passed = self.passed_on()
        if passed:
            out.append(
                "nginx sent on to another backend: "
                + ", ".join(f"{k}: {n}" for k, n in sorted(passed.items()))
            )
        draining = self.opened_while_draining()
        completed_there = sum(1 for c in draining if c.outcome == "completed")
        out.append(
            f"contexts opened on a connection whose backend was already draining: "
            f"{len(draining)}, completed there {completed_there}"
        )
        failures = f", failed {dict(self.rest.failures)}" if self.rest.failures else ""
        out.append(
            f"REST during the restart: {self.rest.requests} POST /tts/bytes, "
            f"{self.rest.ok} ok{failures}"
        )
        out += ["", "rolling restart:"]
        for r in self.restarts:
            out.append(
                f"  {r.backend}: pid {r.old_pid} -> {r.new_pid}; {r.live_contexts_at_sigterm} "
                f"contexts live at SIGTERM; /readyz while draining: {r.readyz_while_draining}; "
                f"drained and exited ({r.exit_code}) in {r.drain_s:.1f} s; "
                f"ready again in {r.start_s:.1f} s"
            )
        served = self.served()
        for backend in self.backends:
            counts = ", ".join(
                f"pid {g.pid}: {served.get((backend.index, g.pid), 0)}" for g in backend.generations
            )
            out.append(f"  {backend.name} completed contexts: {counts}")
        nginx_p95 = percentile(self.probe_nginx_s, 95)
        direct_p95 = percentile(self.probe_direct_s, 95)
        out += [
            "",
            f"first audio, {len(self.probe_nginx_s)} probes each way on idle backends: p95 "
            f"via nginx {nginx_p95 * 1000:.0f} ms, direct {direct_p95 * 1000:.0f} ms, "
            f"ratio {nginx_p95 / direct_p95:.2f} (p50 "
            f"{statistics.median(self.probe_nginx_s) * 1000:.0f} / "
            f"{statistics.median(self.probe_direct_s) * 1000:.0f} ms)",
        ]
        load = self.first_audio("load")
        if load:
            out.append(
                f"first audio under load via nginx, {len(load)} contexts: p50 "
                f"{statistics.median(load) * 1000:.0f} ms, p95 {percentile(load, 95) * 1000:.0f} ms"
            )
        return out


async def rolling_restart(
    backends: Sequence[Backend], load: Load, nginx_url: str, options: Options
) -> list[Restart]:
    """Each backend in turn: SIGTERM, wait for the exit, start again, wait for /readyz,
    pause, a few short requests through nginx."""
    restarts: list[Restart] = []
    async with httpx.AsyncClient(timeout=5.0) as client:
        for backend in backends:
            old = backend.generations[-1]
            if options.sigterm_mid_round:
                await load.next_round_on(backend.address, 60.0)
                await asyncio.sleep(0.1)
            live = load.live_on(backend.address)
            stopping = asyncio.create_task(backend.stop(options.drain_timeout_s + 30))
            await asyncio.sleep(0.2)
            try:
                response = await client.get(f"http://{backend.address}/readyz")
                readyz = str(response.status_code)
            except httpx.HTTPError as exc:
                readyz = type(exc).__name__
            code = await stopping
            new = await backend.start()
            await backend.wait_ready(options.start_timeout_s)
            assert old.sigterm_at is not None and old.exited_at is not None
            assert new.ready_at is not None
            restarts.append(
                Restart(
                    backend=backend.name,
                    old_pid=old.pid,
                    new_pid=new.pid,
                    live_contexts_at_sigterm=live,
                    readyz_while_draining=readyz,
                    drain_s=old.exited_at - old.sigterm_at,
                    exit_code=code,
                    start_s=new.ready_at - new.started_at,
                )
            )
            await asyncio.sleep(options.pause_s)
            for _ in range(options.readmit_requests):
                with contextlib.suppress(httpx.HTTPError):
                    await client.get(nginx_url + "/")
    return restarts


def serve_args(options: Options) -> list[str]:
    """The flags every backend runs with."""
    return [
        "--engine-threads", str(options.engine_threads),
        parallel_steps_flag(options.ttsd), str(options.parallel_steps),
        "--drain-timeout", str(options.drain_timeout_s),
        "--log-level", "info",
        "--no-access-log",
    ]  # fmt: skip


async def run_async(options: Options, workdir: Path) -> Report:
    """Start everything, measure, restart, report (see the module docstring)."""
    started = time.monotonic()
    async with running_cluster(
        workdir,
        backends=options.backends,
        serve_args=serve_args(options),
        ttsd=options.ttsd,
        nginx=options.nginx,
        site_config=options.site_config,
        start_timeout_s=options.start_timeout_s,
    ) as (backends, nginx):
        ws_url = nginx.url.replace("http", "ws", 1) + "/tts/websocket"
        direct_urls = [f"ws://{b.address}/tts/websocket" for b in backends]
        # A first synthesis on each backend, so the probes compare warm ones.
        await asyncio.gather(*(first_audio_once(url, SENTENCES[0]) for url in direct_urls))
        probe_nginx: list[float] = []
        probe_direct: list[float] = []
        for i in range(options.probes):
            text = SENTENCES[i % len(SENTENCES)]
            probe_nginx.append(await first_audio_once(ws_url, text))
            probe_direct.append(await first_audio_once(direct_urls[i % len(direct_urls)], text))

        load = Load(ws_url, options.shape)
        rest = RestStats()
        rest_stop = asyncio.Event()
        tasks = [asyncio.create_task(load.pooled_connection()) for _ in range(options.connections)]
        if options.rest_interval_s > 0:
            trickle = rest_trickle(nginx.url, options.rest_interval_s, rest_stop, rest)
            tasks.append(asyncio.create_task(trickle))
        try:
            await asyncio.wait_for(load.first_audio.wait(), options.shape.context_timeout_s)
            await asyncio.sleep(options.settle_s)
            restarts = await rolling_restart(backends, load, nginx.url, options)
            load.stopping.set()
            rest_stop.set()
            await asyncio.gather(*tasks)
            # After the deploy: fresh connections reach the new processes.
            await asyncio.gather(*(load.single("after") for _ in range(options.after_connections)))
        except BaseException:
            load.close_all()
            for task in tasks:
                task.cancel()
            raise
    return Report(
        options=options,
        contexts=load.contexts,
        connections=load.connections,
        restarts=restarts,
        backends=backends,
        rest=rest,
        probe_nginx_s=probe_nginx,
        probe_direct_s=probe_direct,
        nginx_requests=read_access_log(nginx.access_log),
        total_s=time.monotonic() - started,
    )


def run(options: Options) -> Report:
    """The whole recipe in a fresh event loop. Logs and nginx's prefix stay in
    `options.workdir` if given, else in a temporary directory removed afterwards."""
    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run_async(options, options.workdir))
    with tempfile.TemporaryDirectory(prefix="ttsd-scale-out-") as tmp:
        return asyncio.run(run_async(options, Path(tmp)))


def _at_least(low: float, kind: type[int] | type[float]) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` no smaller than `low` (the error names it)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a{'n integer' if kind is int else ' number'}: {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text} is below {low:g}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """`Options` from the command line."""
    d = Options()
    parser = argparse.ArgumentParser(
        description="Run several ttsd behind nginx and restart them one by one under "
        "streaming load; print contexts started/completed/retried/lost and first audio.",
    )
    add = parser.add_argument
    # The numbers: flag, lowest value, type, default, what it sets.
    # fmt: off
    numbers: list[tuple[str, int, type[int] | type[float], object, str]] = [
        ("--backends", 1, int, d.backends, "ttsd serve processes"),
        ("--connections", 1, int, d.connections, "pooled WebSocket connections"),
        ("--contexts", 1, int, d.shape.contexts_per_connection, "contexts a connection has open at once"),  # noqa: E501
        ("--stagger", 0, float, d.shape.stagger_s, "seconds between the openings of a connection's contexts"),  # noqa: E501
        ("--settle", 0, float, d.settle_s, "seconds of load before the first SIGTERM"),
        ("--pause", 0, float, d.pause_s, "seconds from a backend's /readyz 200 to the next SIGTERM"),  # noqa: E501
        ("--readmit-requests", 0, int, d.readmit_requests, "GET / through nginx after each pause"),
        ("--probes", 1, int, d.probes, "first-audio probes each way"),
        ("--rest-interval", 0, float, d.rest_interval_s, "seconds between POST /tts/bytes requests, 0: none"),  # noqa: E501
        ("--engine-threads", 1, int, d.engine_threads, "ttsd serve --engine-threads"),
        ("--parallel-steps", 1, int, d.parallel_steps, "ttsd serve --parallel-steps"),
        ("--drain-timeout", 0, float, d.drain_timeout_s, "ttsd serve --drain-timeout"),
    ]
    # fmt: on
    for flag, low, kind, default, what in numbers:
        add(flag, type=_at_least(low, kind), default=default, help=f"{what} (%(default)s)")

    add(
        "--sigterm-anytime",
        action="store_true",
        help="send each SIGTERM at once, not just after a connection to that backend began a "
        "round of contexts",
    )
    add("--ttsd", default=d.ttsd, help="the ttsd console script (%(default)s)")
    add("--nginx", default=d.nginx, help="the nginx binary (%(default)s)")
    add("--config", type=Path, default=d.site_config, help="the nginx config (%(default)s)")
    add("--workdir", type=Path, default=None, help="keep nginx's prefix and the logs here")
    add("--seed", type=int, default=d.shape.seed, help="texts and pauses (%(default)s)")
    args = parser.parse_args(argv)
    return replace(
        d,
        backends=args.backends,
        connections=args.connections,
        shape=replace(
            d.shape, contexts_per_connection=args.contexts, stagger_s=args.stagger, seed=args.seed
        ),
        settle_s=args.settle,
        sigterm_mid_round=not args.sigterm_anytime,
        pause_s=args.pause,
        readmit_requests=args.readmit_requests,
        probes=args.probes,
        rest_interval_s=args.rest_interval,
        engine_threads=args.engine_threads,
        parallel_steps=args.parallel_steps,
        drain_timeout_s=args.drain_timeout,
        ttsd=args.ttsd,
        nginx=args.nginx,
        site_config=args.config,
        workdir=args.workdir,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run and print the report: 0 when every context completed and passed its checks,
    1 otherwise, 2 when the run could not be made."""
    options = parse_args(argv)
    try:
        report = run(options)
    except (ClusterError, LoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 1 if report.lost or report.failed_checks else 0


if __name__ == "__main__":
    sys.exit(main())
