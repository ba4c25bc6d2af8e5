#!/usr/bin/env python3
"""Generate the SDK's synchronous twin, src/ttsd/client/_sync.py, from the asyncio one.

    .venv/bin/python scripts/gen_sync_client.py           # rewrite _sync.py
    .venv/bin/python scripts/gen_sync_client.py --check   # exit 1 if _sync.py is stale

The SDK's logic is written once, in `_async.py`; like httpcore's own unasync script, this
script makes the sync twin with a list of text substitutions, applied to code, comments and
docstrings alike: ``async``/``await`` go, ``AsyncClient`` becomes ``Client``, ``aclose``
``close``, ``websockets.asyncio.client`` ``websockets.sync.client``, and `_async_io` (asyncio's
lock, queue, task and timeout) becomes `_sync_io` (the thread equivalents, under the same
names). Then ruff sorts the imports and `__all__`, turns ``for ... yield`` into ``yield from`` and
formats the result. Besides, in `_async.py`:

- a line ending in ``# async only`` is left out, with the ``#:`` comment lines just above it;
- `PROSE` rewrites the few phrases of the docstrings that name the flavour; each must match,
  so a reworded docstring fails here instead of leaving asyncio words in the sync twin.

tests/client/test_sync_generated.py fails while `_sync.py` differs from what this writes.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "src/ttsd/client/_async.py"
TARGET = REPO / "src/ttsd/client/_sync.py"

HEADER = (
    "# Generated from src/ttsd/client/_async.py by scripts/gen_sync_client.py: do not edit.\n"
    "# Edit _async.py and run `.venv/bin/python scripts/gen_sync_client.py`.\n"
)

#: Exact phrases of docstrings that name the flavour: (asyncio twin, sync twin).
PROSE = [
    ("The asyncio twin:", "The synchronous twin:"),
    ("One reader task per connection", "One background thread per connection"),
    ("from different tasks.", "from different threads."),
    ("server, with asyncio.", "server, synchronously."),
    ("an `AsyncWebSocket`", "a `WebSocket`"),
    (" (this is not a coroutine)", ""),
    (" (``async for``)", ""),
]

#: Regular expressions and their replacements, applied in this order to every line.
SUBSTITUTIONS = [
    (r"\[(\w+) async for \1 in ([\w.]+)\]", r"\2"),  # [x async for x in y]: y
    (r"\basync (def|with|for)\b", r"\1"),
    (r"\bawait ", ""),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\b(_?)Async(?=[A-Z])", r"\1"),  # AsyncClient, _AsyncResponseBody, AsyncIterator...
    (r"\b__a(enter|exit|iter|next)__\b", r"__\1__"),
    (r"\ba(close|read|iter_bytes|iter_lines)\b", r"\1"),  # httpx's and our own methods
    (r"\banext\b", "next"),
    (r"\bwebsockets\.asyncio\.client\b", "websockets.sync.client"),
    (r"\bttsd\.client\._async_io\b", "ttsd.client._sync_io"),
]

ASYNC_ONLY = "# async only"


def unasync(source: str) -> str:
    """`source` (the asyncio twin) turned synchronous, before ruff."""
    for old, new in PROSE:
        if old not in source:
            raise ValueError(f"{SOURCE.name}: the phrase {old!r} is gone; update PROSE")
        source = source.replace(old, new)
    lines: list[str] = []
    for line in source.splitlines(keepends=True):
        if line.rstrip().endswith(ASYNC_ONLY):
            while lines and lines[-1].lstrip().startswith("#:"):
                lines.pop()
            continue
        for pattern, replacement in SUBSTITUTIONS:
            line = re.sub(pattern, replacement, line)
        lines.append(line)
    return HEADER + "".join(lines)


def ruff(args: list[str], code: str) -> str:
    """`code` through ``ruff <args>`` (the project's configuration, as if it were _sync.py)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(TARGET), "-"],
        input=code,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ruff {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def generate(source: str) -> str:
    """The text of _sync.py for this text of _async.py."""
    code = unasync(source)
    # Import order, `__all__` order (``TTS`` was ``AsyncTTS``), and `yield from` where the
    # async twin must loop (an unsafe fix in general, not over a list).
    code = ruff(["check", "--fix-only", "--unsafe-fixes", "--select", "I,RUF022,UP028"], code)
    return ruff(["format"], code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="only say whether _sync.py is up to date"
    )
    args = parser.parse_args(argv)
    expected = generate(SOURCE.read_text(encoding="utf-8"))
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if current == expected:
        print(f"{TARGET.relative_to(REPO)} is up to date")
        return 0
    if args.check:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            f"{TARGET.relative_to(REPO)} (as it is)",
            f"{TARGET.relative_to(REPO)} (as generated)",
        )
        sys.stdout.writelines(diff)
        print(f"{TARGET.relative_to(REPO)} is stale: run {Path(__file__).relative_to(REPO)}")
        return 1
    TARGET.write_text(expected, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
