"""Run the seed flushing examples with whatever `cartesia` SDK this interpreter has.

    python tests/e2e/sdk_scenarios.py BASE OUT_DIR [sync] [async]

Meant for an interpreter other than the project's: each official SDK (the seed's 3.2.0,
the newest 4.x) has a venv of its own (tests/e2e/side_venv.py), so this needs only
`cartesia` and the standard library: not ttsd, not pytest. It runs
`tts_websocket_flushing` ("sync") and `tts_websocket_flushing_async` ("async"; both when
none is named) from seed_examples.py unchanged, inside OUT_DIR (they write their `.pcm`
files into the current directory), and prints one JSON object:

    {"cartesia_version": "4.2.0",
     "runs": {"sync":  {"files": ["tts_flush_1_....pcm", ...], "output": "...", "error": null},
              "async": {...}}}

`output` is what the example printed; `error` is the exception it raised, if any.

BASE is `HOST:PORT`, given as `http://BASE` and `ws://BASE`, or an `https://` URL, given
alone as the base URL: the SDK then derives `wss://` itself (tests/e2e/test_tls.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cartesia
from seed_examples import (  # type: ignore[import-not-found]
    tts_websocket_flushing,
    tts_websocket_flushing_async,
)

#: the examples, by the names the command line takes
EXAMPLES = ("sync", "async")


def _run(example: Callable[[], Any]) -> dict[str, Any]:
    before = set(os.listdir("."))
    printed = io.StringIO()
    error = None
    with contextlib.redirect_stdout(printed):
        try:
            example()
        except Exception:
            error = traceback.format_exc()
    files = sorted(set(os.listdir(".")) - before)
    return {"files": files, "output": printed.getvalue(), "error": error}


def main(base: str, out_dir: str, examples: tuple[str, ...] = EXAMPLES) -> dict[str, Any]:
    """Run `examples` against `base` (see above); files go to `out_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    os.chdir(out_dir)
    if base.startswith("https://"):
        urls = {"base_url": base}
    else:
        urls = {"base_url": f"http://{base}", "websocket_base_url": f"ws://{base}"}

    def sync_example() -> None:
        client = cartesia.Cartesia(api_key="test", **urls)
        try:
            tts_websocket_flushing(client)
        finally:
            client.close()

    async def async_example() -> None:
        client = cartesia.AsyncCartesia(api_key="test", **urls)
        try:
            await tts_websocket_flushing_async(client)
        finally:
            await client.close()

    runs: dict[str, Callable[[], Any]] = {
        "sync": sync_example,
        "async": lambda: asyncio.run(async_example()),
    }
    return {
        "cartesia_version": cartesia.__version__,
        "runs": {name: _run(runs[name]) for name in examples},
    }


if __name__ == "__main__":
    if len(sys.argv) < 3 or not set(sys.argv[3:]) <= set(EXAMPLES):
        sys.exit(f"usage: {sys.argv[0]} HOST:PORT|https://HOST:PORT OUT_DIR [sync] [async]")
    print(json.dumps(main(sys.argv[1], sys.argv[2], tuple(sys.argv[3:]) or EXAMPLES)))
