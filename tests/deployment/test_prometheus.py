"""A real Prometheus (Debian's `prometheus` package) scrapes a real `ttsd serve` (the
default voice) on loopback, and answers PromQL about the requests made (issue 9).

Prometheus scrapes every second into a throw-away data directory; the test sends real
speech requests over the WebSocket and REST, waits for a scrape that has seen them all,
and asks Prometheus' HTTP API for the count of first-audio observations and the p95 first
audio the README recommends (`histogram_quantile` over the buckets' `rate`). Runs in
well under a minute.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deployment.conftest import require_program
from tests.e2e.speech import CALL, COFFEE, COUNT, FOX, JOE, JOE_VOICE, THANKS
from tests.support.live_server import free_port
from tests.support.serve_process import ServeProcess, serve_process
from tests.support.wsclient import Client, request
from ttsd.server.metrics import FIRST_AUDIO_BUCKETS

pytestmark = pytest.mark.timeout(180)

FORMAT = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 22050}
WEBSOCKET_TEXTS = [JOE, COFFEE, THANKS, FOX]
REST_TEXTS = [CALL, COUNT]
#: The PromQL of the README for p95 time to first audio.
P95_FIRST_AUDIO = (
    "histogram_quantile(0.95, sum by (le) (rate(ttsd_time_to_first_audio_seconds_bucket[1m])))"
)
SCRAPE_INTERVAL_S = 1


@pytest.fixture
def ttsd(tmp_path: Path) -> Iterator[ServeProcess]:
    with serve_process(["--log-format", "json"], log_dir=tmp_path) as served:
        yield served


@pytest.fixture
def prometheus(tmp_path: Path, ttsd: ServeProcess) -> Iterator[str]:
    """A Prometheus scraping `ttsd` every second; yields its `http://host:port`."""
    binary = require_program("prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        f"  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
        f"  scrape_timeout: {SCRAPE_INTERVAL_S}s\n"
        "scrape_configs:\n"
        "  - job_name: ttsd\n"
        "    metrics_path: /metrics\n"
        "    static_configs:\n"
        f"      - targets: ['{ttsd.base}']\n"
    )
    address = f"127.0.0.1:{free_port()}"
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address={address}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{address}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                text = (tmp_path / "prometheus.log").read_text(errors="replace")
                pytest.fail(f"prometheus did not start:\n{text[-3000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    """The instant vector Prometheus answers for `promql` now."""
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def scalar(prometheus: str, promql: str) -> float | None:
    """The one value of `promql` now (None while it has no series)."""
    result = query(prometheus, promql)
    assert len(result) <= 1, result
    return float(result[0]["value"][1]) if result else None


def wait_for_value(prometheus: str, promql: str, expected: float, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (value := scalar(prometheus, promql)) != expected:
        assert time.monotonic() < deadline, f"{promql} is {value}, not {expected}"
        time.sleep(0.25)


def is_json(line: str) -> bool:
    """Whether a log line is one of ttsd's JSON objects (a library may print plain text)."""
    return line.startswith("{")


def bucket_above(seconds: float) -> float:
    """The smallest first-audio bucket bound that holds `seconds`."""
    return next((b for b in FIRST_AUDIO_BUCKETS if seconds <= b), math.inf)


def test_prometheus_answers_promql_about_first_audio(ttsd: ServeProcess, prometheus: str) -> None:
    wait_for_value(prometheus, 'up{job="ttsd"}', 1)
    # Time to first audio as the clients see it (an upper bound of the server's own).
    seen: list[float] = []
    with Client(ttsd.base) as client:
        for i, text in enumerate(WEBSOCKET_TEXTS):
            begun = time.monotonic()
            client.send(request(f"c{i}", text, voice=JOE_VOICE, output_format=FORMAT))
            client.until(lambda f: f["type"] == "chunk")
            seen.append(time.monotonic() - begun)
            assert client.until_done(f"c{i}")[-1]["type"] == "done"
    for text in REST_TEXTS:
        body = {"model_id": "sonic-3", "transcript": text, "voice": JOE_VOICE}
        begun = time.monotonic()
        with httpx.stream(
            "POST",
            f"http://{ttsd.base}/tts/bytes",
            json={**body, "output_format": FORMAT},
            timeout=60,
        ) as response:
            assert response.status_code == 200
            chunks = response.iter_raw()
            next(chunks)
            seen.append(time.monotonic() - begun)
            for _ in chunks:
                pass

    count = "ttsd_time_to_first_audio_seconds_count"
    wait_for_value(prometheus, f'{count}{{endpoint="websocket"}}', len(WEBSOCKET_TEXTS))
    wait_for_value(prometheus, f'{count}{{endpoint="bytes"}}', len(REST_TEXTS))
    assert scalar(prometheus, f"sum({count})") == len(seen)
    assert scalar(prometheus, 'ttsd_contexts_finished_total{outcome="done"}') == len(seen)
    # Two scrapes with the requests in them, so that rate() has an increase to divide.
    time.sleep(2 * SCRAPE_INTERVAL_S)
    p95 = scalar(prometheus, P95_FIRST_AUDIO)
    assert p95 is not None and math.isfinite(p95), p95
    # The quantile is interpolated inside a bucket: it lies at or below the bound of the
    # bucket that holds the slowest first audio the clients saw, and above zero.
    assert 0 < p95 <= bucket_above(max(seen)), (p95, seen)
    characters = scalar(prometheus, "sum(ttsd_characters_total)")
    assert characters == sum(len(t) for t in WEBSOCKET_TEXTS + REST_TEXTS)
    assert (scalar(prometheus, "ttsd_load_ratio") or 0) > 0
    # One summary line per request in ttsd's JSON log, its numbers as keys.
    summaries = [
        line
        for line in map(json.loads, filter(is_json, ttsd.log().splitlines()))
        if line.get("logger") == "ttsd.requests"
    ]
    assert len(summaries) == len(seen), summaries
    for line in summaries:
        assert line["outcome"] == "done", line
        assert line["characters"] > 0 and line["audio_s"] > 0, line
        assert 0 < line["first_audio_s"] <= max(seen), line
        assert 0 < line["real_time_factor"] < 5, line
    endpoints = sorted(line["endpoint"] for line in summaries)
    assert endpoints == ["bytes"] * len(REST_TEXTS) + ["websocket"] * len(WEBSOCKET_TEXTS)
    print(f"p95 first audio (Prometheus): {p95:.3f} s; clients saw {sorted(seen)}")
