"""`ttsd serve --help`: every setting shows its default, read from the code (issue 12)."""

from __future__ import annotations

import dataclasses

import click
from click.testing import CliRunner

from ttsd.cli import main
from ttsd.cli.serve import serve, setting_default
from ttsd.protocol.limits import Limits
from ttsd.server.settings import Settings
from ttsd.server.settings_loader import LIMIT_NAMES

#: Settings with no default to show: off unless given (a file, a key, a table).
NO_DEFAULT = {
    "voices_dir",
    "api_keys",
    "aliases",
    "kokoro_model",
    "ssl_certfile",
    "ssl_keyfile",
    "workers",
    "config",
}


def options() -> dict[str, click.Option]:
    return {p.name: p for p in serve.params if isinstance(p, click.Option) and p.name}


def test_every_limit_and_setting_flag_shows_a_default() -> None:
    missing = [
        name
        for name, option in options().items()
        if name not in NO_DEFAULT and name != "help" and "[default:" not in (option.help or "")
    ]
    assert missing == []


def test_every_limit_has_a_flag_showing_its_own_default() -> None:
    shown = options()
    for name in LIMIT_NAMES:
        default = getattr(Limits(), name)
        assert f"[default: {setting_default(name)}]" in (shown[name].help or ""), name
        # e.g. 256 KiB for 262144: the words must mean the number
        text = setting_default(name)
        assert text is not None
        number, _, unit = text.partition(" ")
        scale = {"": 1, "KiB": 1024, "MiB": 1024 * 1024}[unit]
        assert float(number) * scale == default, name


def test_shown_defaults_are_the_settings_defaults() -> None:
    settings = Settings()
    for name, option in options().items():
        text = setting_default(name)
        if text is None:
            continue
        assert option.help is not None and option.help.endswith(f"[default: {text}]"), name
        value = getattr(settings.limits if name in LIMIT_NAMES else settings, name)
        if isinstance(value, bool):
            assert text == ("on" if value else "off"), name
        elif not text.endswith("iB"):
            assert text == (f"{value:g}" if isinstance(value, float) else str(value)), name


def test_computed_defaults_are_named_not_numbered() -> None:
    # The cores found at start are not a number the help may print.
    for name in ("parallel_steps", "engine_threads"):
        assert setting_default(name) is None
        assert "[default: cores]" in (options()[name].help or "")
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert {"parallel_steps", "engine_threads"} <= fields


def test_help_shows_no_printf_escapes() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "%%" not in result.output
    assert "~28 % for CPU time" in result.output
    assert "--max-contexts INTEGER" in result.output and "[default: 64]" in result.output
