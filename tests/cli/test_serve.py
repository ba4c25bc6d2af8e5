"""`ttsd serve`: how flags, the config file and the environment become settings.

One precedence (flag > environment > file > default), every setting from each of the
three, and every bad value refused before anything starts, naming the key, the value and
its source (issue 9).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ttsd.cli import main
from ttsd.cli.serve import serve as serve_command
from ttsd.protocol.limits import Limits
from ttsd.server.http_protocol import LimitedHttpToolsProtocol
from ttsd.server.serving import server_config
from ttsd.server.settings import Settings
from ttsd.server.settings_loader import LIMIT_NAMES, SETTING_NAMES, env_name

EXAMPLE = Path(__file__).parents[2] / "examples" / "ttsd.toml"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run `ttsd serve` without serving: record the settings and uvicorn's arguments."""
    record: dict[str, Any] = {}

    class Registry:
        def load(self, *, preload: bool = False) -> None:
            record["preload"] = preload

    def build_registry(settings: Settings) -> Registry:
        return Registry()

    def create_app(settings: Settings, registry: Any = None) -> str:
        assert isinstance(registry, Registry) and "preload" in record  # loaded before serving
        record["settings"] = settings
        return "app"

    def run_server(app: Any, settings: Settings) -> None:
        # The uvicorn configuration `ttsd serve` would run, as uvicorn.Config took it.
        config = server_config(app, settings)
        names = ("host", "port", "ssl_certfile", "ssl_keyfile", "ws_per_message_deflate")
        record["uvicorn"] = {name: getattr(config, name) for name in names} | {
            "log_config": config.log_config,
            "http": config.http,
            "access_log": config.access_log,
        }

    monkeypatch.setattr("ttsd.server.app.create_app", create_app)
    monkeypatch.setattr("ttsd.server.app.build_registry", build_registry)
    # Record, not install: a root handler set up here would outlive the test.
    monkeypatch.setattr(
        "ttsd.server.logs.configure_logging",
        lambda level, keys, fmt, access_log: record.update(
            logging=(level, tuple(keys), fmt), access_log=access_log
        ),
    )
    monkeypatch.setattr("ttsd.server.serving.run_server", run_server)
    # The address is checked before the engines load; here nothing listens (test_serve_port).
    monkeypatch.setattr(
        "ttsd.server.serving.check_can_listen",
        lambda settings: record.update(checked=(settings.host, settings.port)),
    )
    # uvicorn.Config sets its loggers' levels, and with access_log=False cuts uvicorn.access
    # off: put them back after the test, for the tests that log through them.
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        for attribute in ("level", "propagate", "handlers", "filters"):
            monkeypatch.setattr(logger, attribute, getattr(logger, attribute))
    monkeypatch.delenv("TTSD_API_KEYS", raising=False)
    return record


def serve(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["serve", *args], env=env)
    return result.exit_code, result.output


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def test_defaults(started: dict[str, Any]) -> None:
    code, output = serve()
    assert code == 0, output
    settings: Settings = started["settings"]
    assert (started["uvicorn"]["host"], started["uvicorn"]["port"]) == ("127.0.0.1", 8420)
    assert settings.api_keys == () and started["uvicorn"]["ssl_certfile"] is None
    assert started["uvicorn"]["ws_per_message_deflate"] is False
    # One handler of ttsd's for every logger: uvicorn must not install its own.
    assert started["logging"] == ("info", (), "text")
    assert started["uvicorn"]["log_config"] is None
    assert started["preload"] is True  # every voice loaded before uvicorn starts


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
        "--flush-id-base", "0", "--parallel-steps", "2", "--engine-threads", "1",
        "--strict-voices",
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
    assert (
        settings.connection_idle_timeout_s,
        settings.parallel_steps,
        settings.engine_threads,
    ) == (
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
    assert started["logging"] == ("info", ("x", "y"), "text")  # the log redacts them


def test_a_public_host_without_keys_warns(
    started: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    code, output = serve("--host", "0.0.0.0")
    assert code == 0, output
    # A log line, so that a JSON log stays JSON.
    assert "serving on 0.0.0.0 with no API key" in caplog.text


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
    assert error_lines(output) == [
        "error: --max-unread-bytes = 10 on the command line: must be at least "
        "4 × max_audio_frame_bytes (131072)"
    ]
    assert "Traceback" not in output


#: A value other than the default for every setting, as Python would hold it. Paths are
#: made per test (`sample`).
SAMPLES: dict[str, Any] = {
    "host": "0.0.0.0",
    "port": 9123,
    "api_keys": ("k1", "k2"),
    "voices_dir": "VOICES",
    "aliases": {"foreign": "en_US-joe-medium"},
    "strict_voices": True,
    "parallel_steps": 3,
    "engine_threads": 5,
    "max_audio_frame_bytes": 4096,
    "send_queue_frames": 8,
    "max_unread_bytes": 1_000_000,
    "connection_idle_timeout_s": 12.5,
    "ws_compression": True,
    "transport_max_message_bytes": 2_000_000,
    "max_header_bytes": 8192,
    "header_timeout_s": 2.5,
    "ssl_certfile": "CERT",
    "ssl_keyfile": "KEY",
    "log_level": "debug",
    "log_format": "json",
    "access_log": False,
    "drain_timeout_s": 7.5,
    "metrics_require_key": True,
    "chunked_decoder": False,
    "language_fallback": True,
    "kokoro": "off",
    "kokoro_model": "MODEL",
    "preload": False,
    "cors_origins": ("https://a.example", "https://b.example"),
    "ws_check_origin": True,
    "max_message_bytes": 5000,
    "max_transcript_chars": 100,
    "max_context_id_chars": 40,
    "max_contexts": 3,
    "max_pending_chars": 700,
    "context_idle_timeout_s": 2.5,
    "default_max_buffer_delay_ms": 1200,
    "flush_id_base": 0,
    "min_clause_words": 2,
    "first_segment_delay_ms": 90,
    "max_step_chars": 150,
    "first_step_chars": 60,
}
#: Settings given together: TLS takes a certificate and its key.
TOGETHER = {"ssl_certfile": "ssl_keyfile", "ssl_keyfile": "ssl_certfile"}
#: TOML keys outside `[server]` / `[limits]`.
FILE_KEYS = {"voices_dir": ("voices", "dir"), "strict_voices": ("voices", "strict")}


def sample(name: str, tmp_path: Path) -> Any:
    value = SAMPLES[name]
    if value == "VOICES":
        (tmp_path / "voices").mkdir(exist_ok=True)
        return tmp_path / "voices"
    if value in ("CERT", "KEY"):
        path = tmp_path / f"{value.lower()}.pem"
        path.write_text(value)
        return path
    if value == "MODEL":
        path = tmp_path / "kokoro.onnx"
        path.write_bytes(b"onnx")
        return path
    return value


def flag_args(name: str, value: Any) -> list[str]:
    option = next(p for p in serve_command.params if p.name == name)
    if isinstance(value, bool):
        return [option.opts[0] if value else option.secondary_opts[0]]
    if isinstance(value, tuple):
        return [arg for item in value for arg in (option.opts[0], item)]
    if isinstance(value, dict):
        return [arg for k, v in value.items() for arg in (option.opts[0], f"{k}={v}")]
    return [option.opts[0], str(value)]


def env_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def toml_text(names: list[str], values: dict[str, Any]) -> str:
    sections: dict[str, list[str]] = {}
    for name in names:
        value = values[name]
        if name == "aliases":
            sections["aliases"] = [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items()]
            continue
        section, key = FILE_KEYS.get(name, ("limits" if name in LIMIT_NAMES else "server", name))
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Path):
            value = str(value)
        sections.setdefault(section, []).append(f"{key} = {json.dumps(value)}")
    return "".join(
        f"[{s}]\n" + "".join(f"{line}\n" for line in lines) for s, lines in sections.items()
    )


def setting(settings: Settings, name: str) -> Any:
    return getattr(settings.limits if name in LIMIT_NAMES else settings, name)


def expected(value: Any) -> Any:
    return Path(value) if isinstance(value, Path) else value


def test_every_setting_has_a_sample_and_a_flag() -> None:
    assert sorted(SAMPLES) == sorted(SETTING_NAMES)
    params = {param.name for param in serve_command.params}
    assert set(SETTING_NAMES) <= params
    defaults = Settings()
    for name in SETTING_NAMES:  # a sample that equals its default would prove nothing
        if name not in ("voices_dir", "ssl_certfile", "ssl_keyfile"):
            assert SAMPLES[name] != setting(defaults, name), name


@pytest.mark.parametrize("source", ["flag", "environment", "file"])
@pytest.mark.parametrize("name", SETTING_NAMES)
def test_every_setting_from_every_source(
    started: dict[str, Any], tmp_path: Path, name: str, source: str
) -> None:
    names = [name] + ([TOGETHER[name]] if name in TOGETHER else [])
    values = {n: sample(n, tmp_path) for n in names}
    args: list[str] = []
    env: dict[str, str] = {}
    if source == "flag":
        args = [arg for n in names for arg in flag_args(n, values[n])]
    elif source == "environment":
        env = {env_name(n): env_text(values[n]) for n in names}
    else:
        config = tmp_path / "ttsd.toml"
        config.write_text(toml_text(names, values))
        args = ["--config", str(config)]
    code, output = serve(*args, env=env)
    assert code == 0, output
    for n in names:
        assert setting(started["settings"], n) == expected(values[n]), n


def test_the_precedence_is_flag_then_environment_then_file(
    started: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "ttsd.toml"
    config.write_text("[server]\nport = 9001\n[limits]\nmax_contexts = 7\nmax_step_chars = 70\n")
    env = {"TTSD_PORT": "9002", "TTSD_MAX_CONTEXTS": "8"}
    code, output = serve("--config", str(config), "--port", "9003", env=env)
    assert code == 0, output
    settings: Settings = started["settings"]
    assert settings.port == 9003  # flag over environment and file
    assert settings.limits.max_contexts == 8  # environment over file
    assert settings.limits.max_step_chars == 70  # file over default
    assert settings.limits.first_step_chars == Limits().first_step_chars  # the default
    assert started["uvicorn"]["port"] == 9003


def test_the_config_file_from_the_environment(started: dict[str, Any], tmp_path: Path) -> None:
    config = tmp_path / "ttsd.toml"
    config.write_text("[limits]\nmax_contexts = 5\n")
    code, output = serve(env={"TTSD_CONFIG": str(config)})
    assert code == 0, output
    assert started["settings"].limits.max_contexts == 5


def test_the_example_config_starts(started: dict[str, Any]) -> None:
    code, output = serve("--config", str(EXAMPLE))
    assert code == 0, output
    settings: Settings = started["settings"]
    assert settings.aliases == {"6ccbfb76-1fc6-48f7-b71d-91ac6298247b": "en_US-joe-medium"}
    assert settings.limits == Limits()  # it spells out the defaults


def test_api_keys_comma_separated_and_an_empty_variable_is_unset(
    started: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "ttsd.toml"
    config.write_text('[server]\napi_keys = ["from-file"]\n')
    assert serve("--config", str(config), env={"TTSD_API_KEYS": " k1, k2 ,,"})[0] == 0
    assert started["settings"].api_keys == ("k1", "k2")
    # `TTSD_API_KEYS=` in a compose file must not turn the file's keys off.
    assert serve("--config", str(config), env={"TTSD_API_KEYS": ""})[0] == 0
    assert started["settings"].api_keys == ("from-file",)


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        ('[limits]\nmax_contexts = "five"\n',
         "[limits] max_contexts = 'five' in ttsd.toml: not an integer"),
        ("[limits]\nmax_contexts = 0\n",
         "[limits] max_contexts = 0 in ttsd.toml: must be at least 1"),
        ("[limits]\nflush_id_base = 2\n",
         "[limits] flush_id_base = 2 in ttsd.toml: must be at most 1"),
        ("[limits]\nmax_context = 1\n",
         "[limits] max_context in ttsd.toml: unknown (did you mean max_contexts?)"),
        ("[server]\nprot = 1\n", "[server] prot in ttsd.toml: unknown (did you mean port?)"),
        ("[voicez]\n", "[voicez] in ttsd.toml: unknown (did you mean voices?)"),
        ("[voices]\nd = 1\n", "[voices] d in ttsd.toml: unknown (known: dir, strict)"),
        ('[server]\nport = 99999\n', "[server] port = 99999 in ttsd.toml: must be at most 65535"),
        ('[server]\nws_compression = "maybe"\n',
         "[server] ws_compression = 'maybe' in ttsd.toml: not a boolean (true or false)"),
        ('[server]\nlog_format = "yaml"\n',
         "[server] log_format = 'yaml' in ttsd.toml: must be one of 'text' or 'json'"),
        ('[server]\nvoices_dir = "/no/such/dir"\n',
         "[server] voices_dir = '/no/such/dir' in ttsd.toml: not an existing directory"),
        ("[aliases]\nx = 1\n", "[aliases] = {'x': 1} in ttsd.toml: not a string (at x)"),
        ("server = 1\n", "server = 1 in ttsd.toml: must be a section ([server])"),
        ("[server]\nport = 1\n[voices]\n[server2]\n",
         "[server2] in ttsd.toml: unknown (did you mean server?)"),
        ("[server]\nport = [\n", "--config = 'ttsd.toml' on the command line: not valid TOML "
         "(Invalid value (at end of document))"),
    ],
)  # fmt: skip
def test_a_bad_config_file_exits_naming_key_value_and_file(
    started: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("ttsd.toml").write_text(toml)
    code, output = serve("--config", "ttsd.toml")
    assert code == 2, output
    assert error_lines(output) == [f"error: {line}"]
    assert "settings" not in started  # nothing started


def test_every_problem_is_reported_at_once(started: dict[str, Any], tmp_path: Path) -> None:
    config = tmp_path / "ttsd.toml"
    config.write_text('[limits]\nmax_contexts = "five"\nmax_context = 1\n')
    code, output = serve(
        "--config", str(config), "--engine-threads", "0", env={"TTSD_PORT": "http"}
    )
    assert code == 2
    assert sorted(error_lines(output)) == sorted(
        [
            f"error: [limits] max_context in {config}: unknown (did you mean max_contexts?)",
            f"error: [limits] max_contexts = 'five' in {config}: not an integer",
            "error: TTSD_PORT = 'http' in the environment: not an integer",
            "error: --engine-threads = 0 on the command line: must be at least 1",
        ]
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"TTSD_MAX_CONTEXTS": "five"},
         "TTSD_MAX_CONTEXTS = 'five' in the environment: not an integer"),
        ({"TTSD_HEADER_TIMEOUT_S": "0"},
         "TTSD_HEADER_TIMEOUT_S = '0' in the environment: must be more than 0"),
        ({"TTSD_ALIASES": "x=y"}, "TTSD_ALIASES = 'x=y' in the environment: not a JSON object "
         "(Expecting value: line 1 column 1 (char 0))"),
        ({"TTSD_PORT": "tcp://10.0.0.7:8420"}, "TTSD_PORT = 'tcp://10.0.0.7:8420' in the "
         "environment: not an integer; Kubernetes sets this for a Service named ttsd: set "
         "enableServiceLinks: false in the pod spec"),
        ({"TTSD_CONFIG": "/no/such.toml"}, "TTSD_CONFIG = '/no/such.toml' in the environment: "
         "cannot be read (No such file or directory)"),
        ({"TTSD_SSL_CERTFILE": "/etc/hostname"}, "TTSD_SSL_CERTFILE = '/etc/hostname' in the "
         "environment: needs ssl_keyfile too (--ssl-keyfile): TLS takes a certificate and its key"),
    ],
)  # fmt: skip
def test_a_bad_environment_variable_exits_naming_it(
    started: dict[str, Any], env: dict[str, str], line: str
) -> None:
    code, output = serve(env=env)
    assert code == 2, output
    assert error_lines(output) == [f"error: {line}"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--max-contexts", "0"], "--max-contexts = 0 on the command line: must be at least 1"),
        (["--drain-timeout", "-1"],
         "--drain-timeout = -1.0 on the command line: must be at least 0"),
        (["--default-max-buffer-delay", "5001"],
         "--default-max-buffer-delay = 5001 on the command line: must be at most 5000"),
        (["--max-audio-frame-bytes", str(1024 * 1024)],
         "--max-audio-frame-bytes = 1048576 on the command line: must be at most 524288"),
        (["--api-key", ""], "--api-key = ('',) on the command line: must not be empty (at 0)"),
    ],
)  # fmt: skip
def test_an_out_of_range_flag_exits_naming_it(
    started: dict[str, Any], args: list[str], line: str
) -> None:
    code, output = serve(*args)
    assert code == 2, output
    assert error_lines(output) == [f"error: {line}"]


def test_a_bad_alias_flag_is_a_usage_error(started: dict[str, Any]) -> None:
    code, output = serve("--alias", "no-equals-sign")
    assert code == 2
    assert "'no-equals-sign' is not FOREIGN_ID=LOCAL_VOICE_ID" in output


def test_workers_is_a_deprecated_alias_of_parallel_steps(
    started: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code, output = serve("--workers", "3")
    assert code == 0, output
    assert started["settings"].parallel_steps == 3
    assert "--workers is deprecated" in caplog.text and "--parallel-steps" in caplog.text
    caplog.clear()
    config = tmp_path / "ttsd.toml"
    config.write_text("[server]\nworkers = 2\n")
    code, output = serve("--config", str(config))
    assert code == 0, output
    assert started["settings"].parallel_steps == 2
    assert f"[server] workers in {config} is deprecated" in caplog.text
    assert all(r.levelno == logging.WARNING for r in caplog.records if "deprecated" in r.message)
    # The old name is still a checked setting, named as given.
    code, output = serve("--workers", "0")
    assert error_lines(output) == ["error: --workers = 0 on the command line: must be at least 1"]


def test_workers_and_parallel_steps_together_are_a_usage_error(started: dict[str, Any]) -> None:
    code, output = serve("--workers", "2", "--parallel-steps", "2")
    assert code == 2
    assert "--workers is the old name of --parallel-steps: give one" in output


def test_a_setting_in_two_places_of_the_file_is_an_error(
    started: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "ttsd.toml"
    config.write_text("[server]\nworkers = 2\nparallel_steps = 3\n")
    code, output = serve("--config", str(config))
    assert code == 2
    assert error_lines(output) == [
        f"error: [server] parallel_steps in {config}: [server] workers says the same: keep one"
    ]


def test_a_near_miss_of_a_variable_name_warns(
    started: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    env = {"TTSD_MAX_CONTEXT": "3", "TTSD_WORKERS": "2", "TTSD_DEPLOYMENT_TESTS": "1"}
    code, output = serve(env=env)
    assert code == 0, output
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "TTSD_MAX_CONTEXT is not a setting of ttsd serve and is ignored: TTSD_MAX_CONTEXTS?",
        "TTSD_WORKERS is not a setting of ttsd serve and is ignored: TTSD_PARALLEL_STEPS?",
    ]
    # Other TTSD_* variables (the test suite's own) are none of ttsd serve's business.
    assert started["settings"].limits.max_contexts == Limits().max_contexts


def test_log_format_and_access_log_reach_logging_and_uvicorn(started: dict[str, Any]) -> None:
    code, output = serve("--log-format", "json", "--no-access-log", "--log-level", "warning")
    assert code == 0, output
    assert started["logging"] == ("warning", (), "json")
    assert started["uvicorn"]["access_log"] is False and started["access_log"] is False
