"""Run one test body against both SDK twins.

`Blocking` drives an `AsyncClient` (and everything it returns) from synchronous test code:
every call runs as a coroutine on an event loop in a background thread, awaitables are
awaited, async iterators become iterators and async context managers become context
managers. So a scenario written once with `with` / `for` runs through the real async
code paths; tests of the async API's own shape (``async with``, ``async for``, un-awaited
`ws.context()`) are written natively in test_async_api.py.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (its exception propagates)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def _is_sdk_object(value: Any) -> bool:
    return type(value).__module__.startswith("ttsd.client._async")


class Blocking:
    """A synchronous view of an async SDK object (see the module docstring)."""

    def __init__(self, target: Any, runner: LoopThread) -> None:
        self._target = target
        self._runner = runner

    def _wrap(self, value: Any) -> Any:
        if hasattr(value, "__anext__") and not _is_sdk_object(value):
            return _BlockingIterator(value, self._runner)
        if _is_sdk_object(value):
            return Blocking(value, self._runner)
        return value

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return self._wrap(attr)

        def call(*args: Any, **kwargs: Any) -> Any:
            async def invoke() -> Any:
                result = attr(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return result

            return self._wrap(self._runner.run(invoke()))

        return call

    def __iter__(self) -> Iterator[Any]:
        return _BlockingIterator(self._target.__aiter__(), self._runner)

    def __enter__(self) -> Blocking:
        entered = self._runner.run(self._target.__aenter__())
        return self if entered is self._target else self._wrap(entered)

    def __exit__(self, *exc: Any) -> None:
        self._runner.run(self._target.__aexit__(*exc))

    def close(self) -> None:
        """`close()` / `aclose()`, awaited."""
        closer = getattr(self._target, "aclose", None) or self._target.close
        self._runner.run(closer())


class _BlockingIterator:
    def __init__(self, iterator: Any, runner: LoopThread) -> None:
        self._iterator = iterator
        self._runner = runner

    def __iter__(self) -> _BlockingIterator:
        return self

    def __next__(self) -> Any:
        async def step() -> Any:
            try:
                return True, await self._iterator.__anext__()
            except StopAsyncIteration:
                return False, None

        more, value = self._runner.run(step())
        if not more:
            raise StopIteration
        return Blocking(value, self._runner)._wrap(value)
