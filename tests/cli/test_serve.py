"""`ttsd serve`: how flags, the config file and the environment become settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ttsd.cli import main
from ttsd.server.http_protocol import LimitedHttpToolsProtocol
from ttsd.server.serving import server_config
from ttsd.server.settings import Settings


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run `ttsd serve` without serving: record the settings and uvicorn's arguments."""
    record: dict[str, Any] = {}

    def create_app(settings: Settings) -> str:
        record["settings"] = settings
        return "app"

    def run_server(app: Any, settings: Settings, **kwargs: Any) -> None:
        # The uvicorn configuration `ttsd serve` would run, as uvicorn.Config took it.
        config = server_config(app, settings, **kwargs)
        names = ("host", "port", "ssl_certfile", "ssl_keyfile", "ws_per_message_deflate")
        record["uvicorn"] = {name: getattr(config, name) for name in names} | {
            "log_config": config.log_config,
            "http": config.http,
            "access_log": config.access_log,
        }

    monkeypatch.setattr("ttsd.server.app.create_app", create_app)
    # Record, not install: a root handler set up here would outlive the test.
    monkeypatch.setattr(
        "ttsd.server.logs.configure_logging",
        lambda level, keys: record.update(logging=(level, tuple(keys))),
    )
    monkeypatch.setattr("ttsd.server.serving.run_server", run_server)
    monkeypatch.delenv("TTSD_API_KEYS", raising=False)
    return record


def serve(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["serve", *args], env=env)
    return result.exit_code, result.output


def test_defaults(started: dict[str, Any]) -> None:
    code, output = serve()
    assert code == 0, output
    settings: Settings = started["settings"]
    assert (started["uvicorn"]["host"], started["uvicorn"]["port"]) == ("127.0.0.1", 8420)
    assert settings.api_keys == () and started["uvicorn"]["ssl_certfile"] is None
    assert started["uvicorn"]["ws_per_message_deflate"] is False
    # One handler of ttsd's for every logger: uvicorn must not install its own.
    assert started["logging"] == ("info", ()) and started["uvicorn"]["log_config"] is None


def test_websocket_compression_is_offered_on_request(started: dict[str, Any]) -> None:
    code, output = serve("--ws-compression")
    assert code == 0, output
    assert started["settings"].ws_compression is True
    assert started["uvicorn"]["ws_per_message_deflate"] is True


def test_flags_set_every_limit(started: dict[str, Any]) -> None:
    code, output = serve(
        "--port", "9001", "--max-contexts", "3", "--max-transcript-chars", "100",
        "--max-message-bytes", "5000", "--max-pending-chars", "700",
        "--context-idle-timeout", "2.5", "--connection-idle-timeout", "60",
        "--flush-id-base", "0", "--workers", "2", "--engine-threads", "1", "--strict-voices",
        "--first-segment-delay", "250",
    )  # fmt: skip
    assert code == 0, output
    settings: Settings = started["settings"]
    limits = settings.limits
    assert (limits.max_contexts, limits.max_transcript_chars, limits.max_message_bytes) == (
        3,
        100,
        5000,
    )
    assert (limits.max_pending_chars, limits.context_idle_timeout_s) == (700, 2.5)
    assert limits.flush_id_base == 0 and settings.strict_voices
    assert limits.first_segment_delay_ms == 250
    assert (settings.connection_idle_timeout_s, settings.workers, settings.engine_threads) == (
        60,
        2,
        1,
    )
    assert started["uvicorn"]["port"] == 9001


def test_flags_override_the_config_file(started: dict[str, Any], tmp_path: Path) -> None:
    config = tmp_path / "ttsd.toml"
    config.write_text(
        '[server]\nport = 9100\napi_keys = ["from-file"]\n[limits]\nmax_contexts = 7\n'
        '[aliases]\n"foreign" = "en_US-joe-medium"\n'
    )
    code, output = serve("--config", str(config), "--port", "9200")
    assert code == 0, output
    settings: Settings = started["settings"]
    assert started["uvicorn"]["port"] == 9200
    assert settings.limits.max_contexts == 7
    assert settings.api_keys == ("from-file",)
    assert settings.aliases == {"foreign": "en_US-joe-medium"}


def test_api_keys_from_flags_or_the_environment(started: dict[str, Any]) -> None:
    assert serve("--api-key", "a", "--api-key", "b")[0] == 0
    assert started["settings"].api_keys == ("a", "b")
    assert serve(env={"TTSD_API_KEYS": "x,y"})[0] == 0
    assert started["settings"].api_keys == ("x", "y")
    assert started["logging"] == ("info", ("x", "y"))  # the log redacts them


def test_a_public_host_without_keys_warns(started: dict[str, Any]) -> None:
    code, output = serve("--host", "0.0.0.0")
    assert code == 0
    assert "no API key" in output


def test_tls_files_reach_uvicorn(started: dict[str, Any], tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("c")
    key.write_text("k")
    code, output = serve("--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    assert code == 0, output
    assert started["uvicorn"]["ssl_certfile"] == str(cert)
    assert started["uvicorn"]["ssl_keyfile"] == str(key)


def test_a_config_file_with_a_typo_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "ttsd.toml"
    config.write_text("[limits]\nmax_context = 1\n")
    code, output = serve("--config", str(config))
    assert code == 2
    assert "max_context" in output


def test_first_segment_delay_from_the_config_file_and_the_flag(
    started: dict[str, Any], tmp_path: Path
) -> None:
    assert serve()[0] == 0
    assert started["settings"].limits.first_segment_delay_ms == 150
    config = tmp_path / "ttsd.toml"
    config.write_text("[limits]\nfirst_segment_delay_ms = 0\n")
    code, output = serve("--config", str(config))
    assert code == 0, output
    assert started["settings"].limits.first_segment_delay_ms == 0
    code, output = serve("--config", str(config), "--first-segment-delay", "90")
    assert code == 0, output
    assert started["settings"].limits.first_segment_delay_ms == 90


def test_a_negative_first_segment_delay_is_a_usage_error(started: dict[str, Any]) -> None:
    code, output = serve("--first-segment-delay", "-1")
    assert code == 2
    assert "--first-segment-delay" in output


def test_request_head_limits_reach_uvicorn(started: dict[str, Any]) -> None:
    code, output = serve()
    assert code == 0, output
    protocol = started["uvicorn"]["http"]
    assert issubclass(protocol, LimitedHttpToolsProtocol)
    assert (protocol.max_header_bytes, protocol.header_timeout_s) == (64 * 1024, 10.0)
    code, output = serve("--max-header-bytes", "8192", "--header-timeout", "2.5")
    assert code == 0, output
    settings: Settings = started["settings"]
    assert (settings.max_header_bytes, settings.header_timeout_s) == (8192, 2.5)
    protocol = started["uvicorn"]["http"]
    assert (protocol.max_header_bytes, protocol.header_timeout_s) == (8192, 2.5)


@pytest.mark.parametrize("flag", ["--max-header-bytes", "--header-timeout"])
def test_request_head_limits_must_be_positive(started: dict[str, Any], flag: str) -> None:
    code, output = serve(flag, "0")
    assert code == 2
    assert flag in output


def test_step_budgets_from_the_flags_and_the_config_file(
    started: dict[str, Any], tmp_path: Path
) -> None:
    assert serve()[0] == 0
    limits = started["settings"].limits
    assert (limits.max_step_chars, limits.first_step_chars) == (200, 100)
    config = tmp_path / "ttsd.toml"
    config.write_text("[limits]\nmax_step_chars = 300\nfirst_step_chars = 60\n")
    code, output = serve("--config", str(config))
    assert code == 0, output
    limits = started["settings"].limits
    assert (limits.max_step_chars, limits.first_step_chars) == (300, 60)
    code, output = serve("--max-step-chars", "150", "--first-step-chars", "1")
    assert code == 0, output
    limits = started["settings"].limits
    assert (limits.max_step_chars, limits.first_step_chars) == (150, 1)


@pytest.mark.parametrize("flag", ["--max-step-chars", "--first-step-chars"])
def test_a_step_budget_below_one_is_a_usage_error(started: dict[str, Any], flag: str) -> None:
    code, output = serve(flag, "0")
    assert code == 2
    assert flag in output


def test_a_step_budget_below_one_in_the_config_file_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "ttsd.toml"
    config.write_text("[limits]\nmax_step_chars = 0\n")
    code, output = serve("--config", str(config))
    assert code == 2
    assert "max_step_chars" in output


def test_flags_that_clash_are_a_usage_error_not_a_traceback(started: dict[str, Any]) -> None:
    code, output = serve("--max-unread-bytes", "10")
    assert code == 2
    assert "max_unread_bytes" in output and "Traceback" not in output
