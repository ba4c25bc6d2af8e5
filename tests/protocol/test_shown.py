"""`shown`: client strings in errors and logs are quoted, escaped and cut."""

from __future__ import annotations

from ttsd.protocol.shown import SHOWN_CHARS, shown


def test_a_short_string_is_its_repr() -> None:
    assert shown("en_US-joe-medium") == "'en_US-joe-medium'"


def test_control_characters_are_escaped() -> None:
    text = shown("a\nb\x00c\x1b[31m\ud800")
    assert "\n" not in text and "\x00" not in text and "\x1b" not in text
    assert "\\n" in text and "\\x00" in text and "\\x1b" in text and "\\ud800" in text


def test_a_long_string_is_cut_and_says_how_long_it_was() -> None:
    text = shown("x" * 65536)
    assert len(text) < SHOWN_CHARS + 40
    assert text.endswith("… (65536 chars)")
    assert text.startswith("'xxx")


def test_the_limit_is_exact_at_its_edge() -> None:
    assert shown("y" * SHOWN_CHARS) == repr("y" * SHOWN_CHARS)
    assert shown("y" * (SHOWN_CHARS + 1)).endswith(f"({SHOWN_CHARS + 1} chars)")


def test_non_strings_are_cut_too() -> None:
    assert shown(42) == "42"
    assert shown(list(range(1000))).endswith(" chars)")
