"""Settings: defaults and checks in code, and the loader's sources (issue 9).

`ttsd serve`'s end of the loader (flags, messages, exit codes) is tests/cli/test_serve.py.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import MAX_BUFFER_DELAY_RANGE_MS
from ttsd.server.cpus import available_cores
from ttsd.server.settings import DEFAULT_HOST, DEFAULT_PORT, Settings
from ttsd.server.settings_loader import (
    FILE_SECTIONS,
    LIMIT_NAMES,
    SERVER_NAMES,
    SettingsLoadError,
    env_name,
    load_settings,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "ttsd.toml"


@pytest.fixture(autouse=True)
def no_ttsd_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader reads TTSD_* variables: none of the caller's may leak in."""
    for name in [*SERVER_NAMES, *LIMIT_NAMES, "config"]:
        monkeypatch.delenv(env_name(name), raising=False)


def config(tmp_path: Path, text: str) -> dict[str, Path]:
    path = tmp_path / "ttsd.toml"
    path.write_text(text)
    return {"config": path}


def test_defaults_bind_loopback_without_keys() -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.api_keys) == (DEFAULT_HOST, DEFAULT_PORT, ())
    assert settings.limits.flush_id_base == 1
    assert settings.limits.default_max_buffer_delay_ms == 3000


def test_settings_in_code_read_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only `ttsd serve`'s loader reads TTSD_* variables: tests and embedders build their own.
    monkeypatch.setenv("TTSD_PORT", "9999")
    monkeypatch.setenv("TTSD_API_KEYS", "k")
    settings = Settings()
    assert (settings.port, settings.api_keys) == (DEFAULT_PORT, ())


def test_core_counts_size_the_engine_by_default() -> None:
    cores = available_cores().cores
    assert (Settings().parallel_steps, Settings().engine_threads) == (cores, cores)


def test_settings_in_code_are_checked() -> None:
    with pytest.raises(ValidationError, match="port"):
        Settings(port="http")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Settings(parallel_steps=0)
    with pytest.raises(ValidationError, match="log_format"):
        Settings(log_format="yaml")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Unexpected keyword argument"):
        Settings(workers=2)  # type: ignore[call-arg]


def test_the_example_config_loads() -> None:
    settings = load_settings({"config": EXAMPLE}).settings
    assert settings.aliases["6ccbfb76-1fc6-48f7-b71d-91ac6298247b"] == "en_US-joe-medium"
    assert settings.limits.max_contexts == 64


def test_the_example_config_comments_out_real_keys_only() -> None:
    section, keys = "", []
    for line in EXAMPLE.read_text().splitlines():
        if match := re.fullmatch(r"\[(\w+)\]", line):
            section = match.group(1)
        elif match := re.match(r"# (\w+) = ", line):
            keys.append((section, match.group(1)))
    assert len(keys) > 15
    for section, key in keys:
        assert key in FILE_SECTIONS[section], (section, key)
        assert key != "workers"  # the deprecated name is not advertised


def test_config_sections_map_to_settings(tmp_path: Path) -> None:
    voices = tmp_path / "v"
    voices.mkdir()
    loaded = load_settings(
        config(
            tmp_path,
            '[server]\nport = 9000\napi_keys = ["a", "b"]\n'
            f'[voices]\ndir = "{voices}"\nstrict = true\n'
            '[limits]\nmax_contexts = 3\n[aliases]\nx = "y"\n',
        )
    )
    settings = loaded.settings
    assert settings.port == 9000 and settings.api_keys == ("a", "b")
    assert settings.voices_dir == voices and settings.strict_voices
    assert settings.limits.max_contexts == 3 and settings.aliases == {"x": "y"}
    assert str(loaded.origins["voices_dir"]) == f"[voices] dir = '{voices}' in {tmp_path}/ttsd.toml"
    assert loaded.warnings == []


def test_a_value_no_source_gave_keeps_its_default(tmp_path: Path) -> None:
    loaded = load_settings(config(tmp_path, "[limits]\nmax_contexts = 3\n"))
    assert loaded.settings.limits == Limits(max_contexts=3)
    assert set(loaded.origins) == {"max_contexts"}


def test_environment_over_file_and_flag_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = config(tmp_path, "[limits]\nmax_contexts = 3\nmax_pending_chars = 500\n")
    monkeypatch.setenv("TTSD_MAX_CONTEXTS", "4")
    monkeypatch.setenv("TTSD_MAX_PENDING_CHARS", "600")
    loaded = load_settings({**flags, "max_pending_chars": 700})
    assert (loaded.settings.limits.max_contexts, loaded.settings.limits.max_pending_chars) == (
        4,
        700,
    )
    assert str(loaded.origins["max_contexts"]) == "TTSD_MAX_CONTEXTS = '4' in the environment"
    assert str(loaded.origins["max_pending_chars"]) == (
        "--max-pending-chars = 700 on the command line"
    )


def test_environment_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ttsd_max_contexts", "5")
    assert load_settings().settings.limits.max_contexts == 5


def test_a_source_replaces_a_table_it_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = config(tmp_path, '[aliases]\na = "x"\nb = "y"\n')
    assert load_settings(flags).settings.aliases == {"a": "x", "b": "y"}
    # pydantic-settings merges tables key by key: a higher source's alias wins, the others stay.
    monkeypatch.setenv("TTSD_ALIASES", '{"a": "z"}')
    assert load_settings(flags).settings.aliases == {"a": "z", "b": "y"}


@pytest.mark.parametrize("key", ["parallel_steps", "engine_threads"])
def test_steps_need_a_slot_and_a_thread(tmp_path: Path, key: str) -> None:
    with pytest.raises(SettingsLoadError) as error:
        load_settings(config(tmp_path, f"[server]\n{key} = 0\n"))
    assert error.value.problems == [
        f"[server] {key} = 0 in {tmp_path}/ttsd.toml: must be at least 1"
    ]
    assert getattr(load_settings(config(tmp_path, f"[server]\n{key} = 1\n")).settings, key) == 1


def test_unread_bytes_and_context_id_limits_from_the_config(tmp_path: Path) -> None:
    assert Settings().max_unread_bytes == 8 * 1024 * 1024
    text = "[server]\nmax_unread_bytes = 200000\n[limits]\nmax_context_id_chars = 64\n"
    settings = load_settings(config(tmp_path, text)).settings
    assert settings.max_unread_bytes == 200_000 and settings.limits.max_context_id_chars == 64


def test_the_unread_budget_holds_an_audio_frame_in_its_audio_half(tmp_path: Path) -> None:
    assert Settings(max_unread_bytes=4 * 32 * 1024).max_unread_bytes == 128 * 1024
    with pytest.raises(ValueError, match="max_unread_bytes must be at least 4 × max_audio"):
        Settings(max_unread_bytes=4 * 32 * 1024 - 1)
    assert Settings(max_unread_bytes=4096, max_audio_frame_bytes=1024).max_unread_bytes == 4096
    # From the loader: named with where it came from.
    with pytest.raises(SettingsLoadError) as error:
        load_settings(config(tmp_path, "[server]\nmax_audio_frame_bytes = 4194304\n"))
    assert error.value.problems == [
        f"[server] max_audio_frame_bytes = 4194304 in {tmp_path}/ttsd.toml: must be at most 524288"
    ]
    with pytest.raises(SettingsLoadError) as error:
        load_settings(config(tmp_path, "[server]\nmax_unread_bytes = 100000\n"))
    assert error.value.problems == [
        f"[server] max_unread_bytes = 100000 in {tmp_path}/ttsd.toml: must be at least "
        "4 × max_audio_frame_bytes (131072)"
    ]


def test_request_head_limits_from_the_config(tmp_path: Path) -> None:
    assert (Settings().max_header_bytes, Settings().header_timeout_s) == (64 * 1024, 10.0)
    text = "[server]\nmax_header_bytes = 8192\nheader_timeout_s = 2.5\n"
    settings = load_settings(config(tmp_path, text)).settings
    assert (settings.max_header_bytes, settings.header_timeout_s) == (8192, 2.5)


@pytest.mark.parametrize(
    ("key", "bound"), [("max_header_bytes", "at least 1"), ("header_timeout_s", "more than 0")]
)
def test_request_head_limits_must_be_positive(tmp_path: Path, key: str, bound: str) -> None:
    with pytest.raises(SettingsLoadError) as error:
        load_settings(config(tmp_path, f"[server]\n{key} = 0\n"))
    assert error.value.problems == [f"[server] {key} = 0 in {tmp_path}/ttsd.toml: must be {bound}"]


def test_every_limit_has_a_bound_the_loader_checks() -> None:
    # A limit without a bound would take 0 or -1 from a config and fail later, at a client.
    for field in dataclasses.fields(Limits):
        with pytest.raises(SettingsLoadError):
            load_settings({field.name: -1})


def test_the_buffer_delay_default_is_within_what_a_request_may_ask() -> None:
    low, high = MAX_BUFFER_DELAY_RANGE_MS
    assert load_settings({"default_max_buffer_delay_ms": high}).settings.limits == Limits(
        default_max_buffer_delay_ms=high
    )
    for value in (low - 1, high + 1):
        with pytest.raises(SettingsLoadError):
            load_settings({"default_max_buffer_delay_ms": value})


def test_the_loader_refuses_names_that_are_not_settings() -> None:
    with pytest.raises(ValueError, match="not settings: \\['workers'\\]"):
        load_settings({"workers": 2})
