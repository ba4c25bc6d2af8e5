"""Client-controlled strings as they may appear in error messages and log lines.

Ids, voices and text come from clients and can be anything: 64 KB long, full of newlines
or terminal escapes. Echoing them whole lets one client flood the log or the replies of
a connection that does not read (issue 8), so every echo goes through `shown`: quoted,
control characters escaped, and cut to a few hundred characters with the true length.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SHOWN_CHARS", "first_of", "shown"]

#: Characters of a client-controlled string kept in an error message or a log line.
SHOWN_CHARS = 200


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)` for strings (quotes, escaped control characters), cut to `limit`.

    A cut string ends with `…` and says how long it was: `'xxxx…' (65536 chars)`.
    Non-strings are shown with `repr` under the same limit.
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value)} chars)"
    text = repr(value)
    if len(text) > limit + 2:
        return f"{text[:limit]}… ({len(text)} chars)"
    return text


def first_of(items: Sequence[str], most: int) -> str:
    """The first `most` of `items`, comma-separated, then how many more: `a, b and 3 more`
    (a server's voices in a log line or an error message, however many it has)."""
    named = ", ".join(items[:most])
    if len(items) > most:
        named += f" and {len(items) - most} more"
    return named
