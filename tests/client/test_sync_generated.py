"""`_sync.py` is generated from `_async.py` (scripts/gen_sync_client.py): the file in the
tree must be what the script writes now, so an edit of the async twin that was not
regenerated, or a hand edit of the sync one, fails here."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).parents[2]
SCRIPT = REPO / "scripts" / "gen_sync_client.py"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_sync_client", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sync_twin_is_generated_from_the_async_one() -> None:
    generator = load_generator()
    expected = generator.generate(generator.SOURCE.read_text(encoding="utf-8"))
    current = generator.TARGET.read_text(encoding="utf-8")
    if current != expected:
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                "_sync.py (in the tree)",
                "_sync.py (generated from _async.py)",
            )
        )
        pytest.fail(
            "src/ttsd/client/_sync.py is stale or was edited by hand: edit _async.py and run "
            f"`.venv/bin/python scripts/gen_sync_client.py`\n{diff}"
        )


def test_the_substitutions_on_a_sample() -> None:
    unasync = load_generator().unasync
    source = (
        '"""The asyncio twin: One reader task per connection ... from different tasks.\n\n'
        "server, with asyncio. an `AsyncWebSocket` (this is not a coroutine) (``async for``)"
        '"""\n'
        "class AsyncThing(_AsyncBase):\n"
        "    #: The official SDK's name for `aclose()`.\n"
        "    close = aclose  # async only\n\n"
        "    async def __aenter__(self) -> AsyncIterator[bytes]:\n"
        "        async with self._lock:\n"
        "            data = b''.join([chunk async for chunk in self._body])\n"
        "            await self._http.aclose()\n"
        "        return await anext(self._it)\n"
    )
    out = unasync(source)
    assert "class Thing(_Base):" in out
    assert "close = " not in out and "official SDK" not in out
    assert "    def __enter__(self) -> Iterator[bytes]:" in out
    assert "        with self._lock:" in out
    assert "data = b''.join(self._body)" in out
    assert "            self._http.close()" in out
    assert "        return next(self._it)" in out
    assert "The synchronous twin: One background thread" in out
    assert "from different threads" in out
    assert 'server, synchronously. a `WebSocket`"""' in out
    assert "async" not in out.replace("_async.py", "").replace("ttsd.client._async", "")


def test_a_reworded_flavour_phrase_fails_loudly() -> None:
    generator = load_generator()
    source = generator.SOURCE.read_text(encoding="utf-8").replace("server, with asyncio.", "x")
    with pytest.raises(ValueError, match="PROSE"):
        generator.unasync(source)
