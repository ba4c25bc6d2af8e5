"""`memory` (issue 4's target 6): idle connections and active contexts. A fresh ttsd
(`ulimit -n 4096`, more if `--idle` needs it): RSS after a warm-up, with 1000 (`--idle`)
idle WebSocket connections open, and the peak while 32 (`--active`) contexts stream on
top of them ((peak - idle) / 32 per active context).

Check `6`, report only (benchmarks/README.md, "Issue 4's targets"). No table: the check's
line says it all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from benchlib import Check, running_ttsd
from load_scenarios.clients import TtsdClient, TtsdConnection, open_many
from load_scenarios.common import TEXTS, Options, Stream, raise_fd_limit


async def measure(options: Options) -> dict[str, Any]:
    """(6) RSS of a fresh ttsd: warmed up, with idle connections, with active contexts.

    The active contexts run twice: the first burst also grows the allocator and ONNX
    Runtime's arena once (memory a server keeps after the burst), the second shows
    what being active costs on top of that.
    """
    import psutil  # type: ignore[import-untyped]

    raise_fd_limit(options.idle + 256)
    out: dict[str, Any] = {"bursts": []}
    with running_ttsd(*options.ttsd_args, nofile=max(4096, options.idle + 512)) as server:
        process = psutil.Process(server.pid)

        def rss() -> int:
            return int(process.memory_info().rss)

        out["rss_started"] = rss()
        client = TtsdClient(server.port)
        for text in TEXTS.values():  # load the model, grow ONNX Runtime's arena
            await client.speak(text)
        await asyncio.sleep(1.0)
        out["rss_warm"] = rss()
        conns: list[TtsdConnection] = []
        try:
            conns = await open_many(client.url, options.idle)
            await asyncio.sleep(2.0)
            out["idle_connections"] = sum(1 for c in conns if c.is_open)
            out["rss_idle"] = rss()
            for _ in range(2):
                out["bursts"].append(await _active_burst(client, options.active, rss))
                await asyncio.sleep(1.0)
            out["idle_still_open"] = sum(1 for c in conns if c.is_open)
        finally:
            await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        await asyncio.sleep(1.0)
        out["rss_after_close"] = rss()
    mib = 1024 * 1024
    first, second = out["bursts"]
    out["active_contexts"] = options.active
    out["active_completed"] = min(b["completed"] for b in out["bursts"])
    out["rss_active_peak"] = second["peak"]
    out["per_idle_connection_kib"] = (out["rss_idle"] - out["rss_warm"]) / options.idle / 1024
    out["first_burst_growth_mib"] = (first["peak"] - out["rss_idle"]) / mib
    out["per_active_context_mib"] = (second["peak"] - second["before"]) / options.active / mib
    return out


async def _active_burst(client: TtsdClient, count: int, rss: Callable[[], int]) -> dict[str, Any]:
    """`count` contexts at once on one more connection; RSS sampled every 20 ms."""
    text = TEXTS["paragraph"]
    conn = await client.connection()
    try:
        ids = [conn.begin()[0] for _ in range(count)]
        before = rss()
        peak = before
        for context_id in ids:
            conn.streams[context_id].sent = await conn.send(context_id, text, more=False)
        waiting = asyncio.gather(*(conn.wait(cid) for cid in ids))
        while not waiting.done():
            peak = max(peak, rss())
            await asyncio.wait({waiting}, timeout=0.02)
        streams: list[Stream] = waiting.result()
    finally:
        await conn.close()
    await asyncio.sleep(0.5)
    return {
        "before": before,
        "peak": peak,
        "after": rss(),
        "completed": sum(1 for s in streams if s.ok),
    }


def checks(memory: dict[str, Any]) -> list[Check]:
    """6: RSS warm, with the idle connections, and at the active peak; reported (it
    fails only if an active context did not complete)."""
    mib = 1024 * 1024
    return [
        Check(
            "6",
            f"RSS warm / +{memory['idle_connections']} idle conns / "
            f"+{memory['active_contexts']} active",
            f"{memory['rss_warm'] / mib:.0f} / {memory['rss_idle'] / mib:.0f} / "
            f"{memory['rss_active_peak'] / mib:.0f} MiB",
            f"{memory['per_idle_connection_kib']:.0f} KiB/idle conn, "
            f"{memory['per_active_context_mib']:.2f} MiB/context "
            f"(first burst +{memory['first_burst_growth_mib']:.0f} MiB)",
            None,
            "report",
            None if memory["active_completed"] == memory["active_contexts"] else False,
        )
    ]
