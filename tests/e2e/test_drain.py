"""SIGTERM to a real `ttsd serve` with the default voice while a paragraph is being
spoken: the paragraph reaches the client whole, then 1012, and the process exits 0
(issue 9)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.speech import CARTESIA_VOICE, MIN_RECALL, output_format, speech_of
from tests.support.asr import assert_recognized, assert_speech_like
from tests.support.checks import close_code, wait_for_status
from tests.support.serve_process import serve_process
from tests.support.wsclient import Client, request

pytestmark = pytest.mark.e2e

PARAGRAPH = (
    "The meeting has moved to Thursday afternoon. Please bring the quarterly report "
    "and your notes from the last review. We will start with the budget, then the "
    "hiring plan, and finish by five."
)


def test_sigterm_mid_paragraph_delivers_it_whole_then_1012_and_exit_0(tmp_path: Path) -> None:
    fmt = output_format()
    with serve_process(["--drain-timeout", "30"], log_dir=tmp_path) as server:
        with Client(server.base) as client:
            client.send(request("c1", PARAGRAPH, voice=CARTESIA_VOICE, output_format=fmt))
            client.until(lambda f: f["type"] == "chunk", timeout=30)
            signalled = time.monotonic()
            server.signal(signal.SIGTERM)
            # Not ready any more, at once; alive all the same.
            base = f"http://{server.base}"
            not_ready = wait_for_status(f"{base}/readyz", 503)
            assert not_ready.status_code == 503, "readiness still 200 5 s after SIGTERM"
            assert httpx.get(f"{base}/healthz").status_code == 200
            frames = client.until_done("c1", timeout=60)
            assert frames[-1]["type"] == "done", frames[-1]
            speech = speech_of(client.frames, "c1", fmt)
            assert_speech_like(speech.pcm, speech.sample_rate, PARAGRAPH)
            assert_recognized(speech.pcm, speech.sample_rate, PARAGRAPH, min_recall=MIN_RECALL)
            assert close_code(client) == 1012
        assert server.wait(10) == 0, server.log()[-3000:]
        drained_s = time.monotonic() - signalled
    log = server.log()
    assert "draining" in log and "drained in" in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    # Whole paragraph, then out: well within the deadline.
    assert drained_s < 30
