"""`ttsd serve --max-unread-bytes / --max-context-id-chars` reach the settings (issue 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli.test_serve import serve, started  # noqa: F401  (`started` is a fixture)
from ttsd.server.settings import Settings


def test_unread_bytes_and_context_id_limits_from_flags_and_the_config(
    started: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    assert serve()[0] == 0
    settings: Settings = started["settings"]
    assert (settings.max_unread_bytes, settings.limits.max_context_id_chars) == (8 << 20, 256)
    config = tmp_path / "ttsd.toml"
    config.write_text("[server]\nmax_unread_bytes = 300000\n[limits]\nmax_context_id_chars = 40\n")
    code, output = serve("--config", str(config))
    assert code == 0, output
    settings = started["settings"]
    assert (settings.max_unread_bytes, settings.limits.max_context_id_chars) == (300_000, 40)
    code, output = serve("--max-unread-bytes", "200000", "--max-context-id-chars", "64")
    assert code == 0, output
    settings = started["settings"]
    assert (settings.max_unread_bytes, settings.limits.max_context_id_chars) == (200_000, 64)
    assert serve("--max-context-id-chars", "0")[0] == 2
