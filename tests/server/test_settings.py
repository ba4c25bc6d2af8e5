"""Settings from defaults, the TOML config file and the environment."""

from pathlib import Path

import pytest

from ttsd.server.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Settings,
    api_keys_from_env,
    load_config,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "ttsd.toml"


def test_defaults_bind_loopback_without_keys() -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.api_keys) == (DEFAULT_HOST, DEFAULT_PORT, ())
    assert settings.limits.flush_id_base == 1
    assert settings.limits.default_max_buffer_delay_ms == 3000


def test_the_example_config_loads() -> None:
    settings = load_config(EXAMPLE)
    assert settings.aliases["6ccbfb76-1fc6-48f7-b71d-91ac6298247b"] == "en_US-joe-medium"
    assert settings.limits.max_contexts == 64


def test_config_sections_map_to_settings(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[server]\nport = 9000\napi_keys = ["a", "b"]\n'
        '[voices]\ndir = "/v"\nstrict = true\n'
        '[limits]\nmax_contexts = 3\n[aliases]\nx = "y"\n'
    )
    settings = load_config(path)
    assert settings.port == 9000 and settings.api_keys == ("a", "b")
    assert settings.voices_dir == Path("/v") and settings.strict_voices
    assert settings.limits.max_contexts == 3 and settings.aliases == {"x": "y"}


@pytest.mark.parametrize(
    "text",
    ["[server]\nprot = 1\n", "[limits]\nmax_context = 1\n", "[voicez]\n", "[voices]\nd = 1\n"],
)
def test_typos_in_the_config_are_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match="unknown"):
        load_config(path)


def test_api_keys_from_the_environment() -> None:
    assert api_keys_from_env({"TTSD_API_KEYS": " k1, k2 ,,"}) == ("k1", "k2")
    assert api_keys_from_env({}) == ()


def test_overrides_skip_none() -> None:
    settings = Settings().with_overrides(port=1, host=None)
    assert settings.port == 1 and settings.host == DEFAULT_HOST


@pytest.mark.parametrize("key", ["workers", "engine_threads"])
def test_steps_need_a_worker_and_a_thread(tmp_path: Path, key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[server]\n{key} = 0\n")
    with pytest.raises(ValueError, match=f"{key} must be at least 1, not 0"):
        load_config(path)
    path.write_text(f"[server]\n{key} = 1\n")
    assert getattr(load_config(path), key) == 1


def test_unread_bytes_and_context_id_limits_from_the_config(tmp_path: Path) -> None:
    assert Settings().max_unread_bytes == 8 * 1024 * 1024
    path = tmp_path / "c.toml"
    path.write_text("[server]\nmax_unread_bytes = 200000\n[limits]\nmax_context_id_chars = 64\n")
    settings = load_config(path)
    assert settings.max_unread_bytes == 200_000 and settings.limits.max_context_id_chars == 64


def test_the_unread_budget_holds_an_audio_frame_in_its_audio_half() -> None:
    assert Settings(max_unread_bytes=4 * 32 * 1024).max_unread_bytes == 128 * 1024
    with pytest.raises(ValueError, match="max_unread_bytes must be at least 4 × max_audio"):
        Settings(max_unread_bytes=4 * 32 * 1024 - 1)
    assert Settings(max_unread_bytes=4096, max_audio_frame_bytes=1024).max_unread_bytes == 4096


def test_request_head_limits_from_the_config(tmp_path: Path) -> None:
    assert (Settings().max_header_bytes, Settings().header_timeout_s) == (64 * 1024, 10.0)
    path = tmp_path / "c.toml"
    path.write_text("[server]\nmax_header_bytes = 8192\nheader_timeout_s = 2.5\n")
    settings = load_config(path)
    assert (settings.max_header_bytes, settings.header_timeout_s) == (8192, 2.5)


@pytest.mark.parametrize("key", ["max_header_bytes", "header_timeout_s"])
def test_request_head_limits_must_be_positive(tmp_path: Path, key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[server]\n{key} = 0\n")
    with pytest.raises(ValueError, match=f"{key} must be positive, not 0"):
        load_config(path)
