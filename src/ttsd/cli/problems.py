"""Errors `ttsd say` reports the same way in-process and through `--url`."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ttsd.protocol.shown import first_of

#: Voice ids named in an "unknown voice" error; the rest are counted.
MAX_VOICES_NAMED = 20


def unknown_voice(
    voice: str, available: Sequence[str], *, url: str | None = None
) -> click.UsageError:
    """The usage error for `--voice` naming no voice of the engines (or of the server)."""
    named = first_of(available, MAX_VOICES_NAMED)
    listing = f"ttsd voices --url {url}" if url else "ttsd voices"
    where = f" on the server at {url}" if url else ""
    return click.UsageError(
        f"no voice {voice!r}{where}; available: {named or 'none'} (see `{listing}`)"
    )
