"""Run the seed flushing examples with whatever `cartesia` SDK this interpreter has.

    python tests/e2e/sdk_scenarios.py 127.0.0.1:8420 OUT_DIR

Meant for an interpreter other than the project's (the newest SDK, 4.x, cannot share the
venv, which pins 3.2.0), so it needs only `cartesia` and the standard library: not ttsd,
not pytest. It runs `tts_websocket_flushing` and `tts_websocket_flushing_async` from
seed_examples.py unchanged, inside OUT_DIR (they write their `.pcm` files into the current
directory), and prints one JSON object:

    {"cartesia_version": "4.2.0",
     "runs": {"sync":  {"files": ["tts_flush_1_....pcm", ...], "output": "...", "error": null},
              "async": {...}}}

`output` is what the example printed; `error` is the exception it raised, if any.
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


def main(base: str, out_dir: str) -> dict[str, Any]:
    """Run both examples against `ws://{base}`; files go to `out_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    os.chdir(out_dir)
    http, ws = f"http://{base}", f"ws://{base}"

    def sync_example() -> None:
        client = cartesia.Cartesia(api_key="test", base_url=http, websocket_base_url=ws)
        try:
            tts_websocket_flushing(client)
        finally:
            client.close()

    async def async_example() -> None:
        client = cartesia.AsyncCartesia(api_key="test", base_url=http, websocket_base_url=ws)
        try:
            await tts_websocket_flushing_async(client)
        finally:
            await client.close()

    return {
        "cartesia_version": cartesia.__version__,
        "runs": {
            "sync": _run(sync_example),
            "async": _run(lambda: asyncio.run(async_example())),
        },
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} HOST:PORT OUT_DIR")
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
