"""An engine that breaks in an unexpected way fails one context, not the connection."""

from __future__ import annotations

import pytest

from tests.support.checks import assert_error_frame, assert_fails_alone, next_error
from tests.support.tone_engine import FaultyToneEngine, ToneEngine
from tests.support.wsclient import Client, request


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
