"""An engine that breaks in an unexpected way fails one context, not the connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.checks import assert_error_frame, assert_fails_alone, next_error
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, request
from ttsd.engines.base import AudioChunk, SynthesisOptions


class FaultyToneEngine(ToneEngine):
    """A tone engine with a bug: the word "crash" raises a plain RuntimeError."""

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        if "crash" in text.split():
            raise RuntimeError("engine bug")
        yield from super().synthesize(text, voice_id, options)


@pytest.fixture
def tone_engine() -> ToneEngine:
    """Override: the faulty engine serves these tests."""
    return FaultyToneEngine()


def test_unexpected_engine_exception_fails_only_its_context(server: str) -> None:
    with Client(server) as client:
        client.send(request("bad", "Please crash now."))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=500,
            error_code="synthesis_failed",
            mentions="internal error",
            context_id="bad",
        )
        assert_fails_alone(client, error, "bad")
