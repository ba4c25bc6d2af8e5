"""`ttsd serve`'s settings from its flags, `TTSD_*` environment variables and a TOML file.

One precedence: flag > environment > file > default (issue 9). Every setting of `Settings`
and of its `Limits` has one canonical name, which is

- its key in the TOML file (`[server]`, or `[limits]` for a limit; `[voices] dir` and
  `strict` are `voices_dir` and `strict_voices`; `[aliases]` is the `aliases` table);
- `TTSD_` + the name in capitals in the environment (`TTSD_MAX_CONTEXTS`, `TTSD_PORT`);
- the name of the `ttsd serve` flag's parameter (`--max-contexts`, `--context-idle-timeout`
  for `context_idle_timeout_s`).

pydantic-settings reads the environment (`EnvSettingsSource`) and gives the sources their
order (`ServeSettings.settings_customise_sources`); pydantic checks every value against
the types and bounds declared on `Settings` and `Limits`, so nothing here repeats them.
Whatever is wrong is reported at once, each problem naming the key, the value and where it
came from: `[limits] max_contexts = 'five' in ttsd.toml: not an integer`.

Environment values are text, parsed as pydantic parses strings (`TTSD_PORT=9000`,
`TTSD_WS_COMPRESSION=true`); `TTSD_API_KEYS` is comma-separated, `TTSD_ALIASES` a JSON
object. An empty variable counts as unset, so `TTSD_API_KEYS=` in a compose file cannot
turn off the keys of the config file. Other `TTSD_*` variables are not settings (the test
suite has its own); one that is a near miss of a setting's name gets a warning.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import ValidationError, create_model, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    ForceDecode,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from ttsd.protocol.limits import Limits
from ttsd.server.settings import SettingError, Settings

__all__ = [
    "DEPRECATED_NAMES",
    "ENV_PREFIX",
    "FILE_SECTIONS",
    "LIMIT_NAMES",
    "SERVER_NAMES",
    "SETTING_NAMES",
    "ConfigFileSource",
    "LoadedSettings",
    "Origin",
    "ServeSettings",
    "SettingsLoadError",
    "env_name",
    "load_settings",
]

ENV_PREFIX = "TTSD_"
_ENVIRONMENT = "in the environment"

#: Settings of `Settings` itself and of its `limits`, by canonical name.
SERVER_NAMES = tuple(f.name for f in dataclasses.fields(Settings) if f.name != "limits")
LIMIT_NAMES = tuple(f.name for f in dataclasses.fields(Limits))
SETTING_NAMES = SERVER_NAMES + LIMIT_NAMES
#: The config file itself (`--config`, `TTSD_CONFIG`): read first, not a setting.
CONFIG = "config"

#: Old names still read, with a warning: old name → canonical name. `workers` meant
#: synthesis steps side by side, but uvicorn's and gunicorn's `--workers` are processes.
DEPRECATED_NAMES = {"workers": "parallel_steps"}

#: TOML sections → {key in the section: canonical name}. `[aliases]` is one table.
FILE_SECTIONS: dict[str, dict[str, str]] = {
    "server": {name: name for name in SERVER_NAMES} | DEPRECATED_NAMES,
    "limits": {name: name for name in LIMIT_NAMES},
    "voices": {"dir": "voices_dir", "strict": "strict_voices"},
}
_TABLES = {"aliases": "aliases"}


def env_name(name: str) -> str:
    """The environment variable of a setting: `max_contexts` → `TTSD_MAX_CONTEXTS`."""
    return f"{ENV_PREFIX}{name.upper()}"


@dataclass(frozen=True)
class Origin:
    """Where a value came from, and the value as it came (text, for the environment)."""

    #: the name it was given under: `--max-contexts`, `TTSD_MAX_CONTEXTS`, `[limits] max_contexts`
    label: str
    #: `on the command line`, `in the environment`, `in ttsd.toml`
    where: str
    value: Any

    def __str__(self) -> str:
        """`[limits] max_contexts = 'five' in ttsd.toml`."""
        value = str(self.value) if isinstance(self.value, Path) else self.value
        return f"{self.label} = {value!r} {self.where}"


def _flat_fields() -> dict[str, Any]:
    """Every setting as a field of one flat model, with the type and bounds declared on
    `Settings` and `Limits`. No defaults: only what a source gave is validated, and
    `Settings` fills in the rest."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    hints.update(typing.get_type_hints(Limits, include_extras=True))
    fields: dict[str, Any] = {name: (hints[name], None) for name in SETTING_NAMES}
    # A list in the environment is comma-separated (TTSD_API_KEYS predates JSON here, and
    # TTSD_CORS_ORIGINS does the same); a table is JSON, decoded by pydantic-settings.
    keys, aliases, origins = hints["api_keys"], hints["aliases"], hints["cors_origins"]
    fields["api_keys"] = (Annotated[keys, NoDecode], None)
    fields["cors_origins"] = (Annotated[origins, NoDecode], None)
    fields["aliases"] = (Annotated[aliases, ForceDecode], None)
    fields[CONFIG] = (Path | None, None)
    return fields


class _ServeSettingsBase(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        # `TTSD_API_KEYS=` (empty) must not override the file's keys with none.
        env_ignore_empty=True,
        # Only fields marked ForceDecode are JSON in the environment.
        enable_decoding=False,
        extra="forbid",
        validate_default=False,
    )

    #: The config file source of the load under way (set by `load_settings`).
    file_source: ClassVar[ConfigFileSource | None] = None

    @field_validator("api_keys", "cors_origins", mode="before", check_fields=False)
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (the init arguments) > environment > the config file; no `.env` files or
        secrets directories, which ttsd does not document."""
        source = ConfigFileSource(settings_cls)
        # On the base: `cls` is the generated ServeSettings.
        _ServeSettingsBase.file_source = source
        return init_settings, env_settings, source


#: Every setting by its canonical name, validated, read from flags (the init arguments),
#: `TTSD_*` variables and the config file, in that precedence.
ServeSettings: type[BaseSettings] = create_model(
    "ServeSettings", __base__=_ServeSettingsBase, **_flat_fields()
)


class ConfigFileSource(PydanticBaseSettingsSource):
    """The TOML config file (see `examples/ttsd.toml`) as flat canonical names.

    Its path is the `config` the sources before it gave (`--config`, `TTSD_CONFIG`). It
    also keeps, for messages, the label of each key it read and what is wrong with the
    file's layout: unknown sections and keys are errors, so a typo does not silently do
    nothing.
    """

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.path: Path | None = None
        self.values: dict[str, Any] = {}
        self.labels: dict[str, str] = {}
        #: one line per problem: `[limits] max_context in ttsd.toml: unknown (did you ...)`
        self.problems: list[str] = []
        #: why the file could not be read at all (the loader names where its path came from)
        self.read_error: str | None = None
        self.warnings: list[str] = []

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` reads the whole file at once."""
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        """The file's settings by canonical name; nothing without a config file."""
        path = self.current_state.get(CONFIG)
        if path is None:
            return {}
        self.path = Path(path)
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.read_error = (
                f"cannot be read ({exc.strerror if isinstance(exc, OSError) else exc})"
            )
            return {}
        except tomllib.TOMLDecodeError as exc:
            self.read_error = f"not valid TOML ({exc})"
            return {}
        for section, content in data.items():
            if section in _TABLES:
                self._take(_TABLES[section], f"[{section}]", content)
            elif section not in FILE_SECTIONS:
                self._unknown(f"[{section}]", section, list(FILE_SECTIONS) + list(_TABLES))
            elif not isinstance(content, dict):
                self._problem(
                    f"{section} = {content!r} {self.where}", f"must be a section ([{section}])"
                )
            else:
                for key, value in content.items():
                    name = FILE_SECTIONS[section].get(key)
                    if name is None:
                        self._unknown(f"[{section}] {key}", key, list(FILE_SECTIONS[section]))
                    else:
                        self._take(name, f"[{section}] {key}", value, old=key)
        return dict(self.values)

    @property
    def where(self) -> str:
        """`in ttsd.toml`, as the file was named."""
        return f"in {self.path}"

    def _take(self, name: str, label: str, value: Any, old: str = "") -> None:
        if old in DEPRECATED_NAMES:
            self.warnings.append(
                f"{label} {self.where} is deprecated: it counts synthesis steps run side by "
                f"side, not processes; call it {DEPRECATED_NAMES[old]}"
            )
        if name in self.labels:
            self._problem(f"{label} {self.where}", f"{self.labels[name]} says the same: keep one")
            return
        self.values[name], self.labels[name] = value, label

    def _unknown(self, label: str, key: str, known: list[str]) -> None:
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            hint = f" (did you mean {close[0]}?)"
        else:  # a short list is worth showing; [server]'s two dozen keys are not
            hint = f" (known: {', '.join(known)})" if len(known) <= 5 else ""
        self._problem(f"{label} {self.where}", f"unknown{hint}")

    def _problem(self, what: str, problem: str) -> None:
        self.problems.append(f"{what}: {problem}")


@dataclass(frozen=True)
class LoadedSettings:
    """What `load_settings` found: the settings, where each given value came from, and
    warnings to log once logging is set up (deprecated names, near misses)."""

    settings: Settings
    origins: dict[str, Origin]
    warnings: list[str]


class SettingsLoadError(Exception):
    """Settings that cannot be used; `problems` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(
    flags: Mapping[str, Any] | None = None,
    flag_labels: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """`Settings` from `flags` (canonical name → value; leave out what was not given),
    `TTSD_*` variables and the config file (`flags["config"]` or `TTSD_CONFIG`).

    `flag_labels` names each flag as typed (`max_contexts` → `--max-contexts`) for
    messages. Raises `SettingsLoadError` naming every bad key, value and source. For start-up
    only: the load keeps its file source on the class while it runs (not thread-safe).
    """
    flags = dict(flags or {})
    unknown = set(flags) - set(SETTING_NAMES) - {CONFIG}
    if unknown:  # a programming error of the caller, not the user's
        raise ValueError(f"not settings: {sorted(unknown)}")
    labels = {name: f"--{name.replace('_', '-')}" for name in flags} | dict(flag_labels or {})
    environ = {key.upper(): (key, value) for key, value in os.environ.items() if value}
    _ServeSettingsBase.file_source = None
    model = None
    problems: list[str] = []
    try:
        model = ServeSettings(**flags)
    except ValidationError as exc:
        origins = _origins(flags, labels, environ)
        problems = [_problem(error, origins) for error in exc.errors()]
    except SettingsError as exc:
        # Only TTSD_ALIASES is JSON: it did not parse.
        key, value = environ.get(env_name("aliases"), (env_name("aliases"), ""))
        origin = Origin(key, _ENVIRONMENT, value)
        problems = [f"{origin}: not a JSON object ({exc.__cause__ or exc})"]
    source = _ServeSettingsBase.file_source
    warnings = _near_misses(environ)
    if source is not None:
        problems = source.problems + problems
        warnings = source.warnings + warnings
        if source.read_error is not None:
            config = _origins(flags, labels, environ)[CONFIG]
            problems.insert(0, f"{config}: {source.read_error}")
    if model is None or problems:
        raise SettingsLoadError(problems or ["the settings could not be read"])
    origins = _origins(flags, labels, environ)
    given = model.model_dump(include=model.model_fields_set - {CONFIG})
    try:
        limits = Limits(**{k: v for k, v in given.items() if k in LIMIT_NAMES})
        settings = Settings(**{k: v for k, v in given.items() if k in SERVER_NAMES}, limits=limits)
    except ValidationError as exc:
        # Values each in range that do not fit together (Settings.__post_init__).
        raise SettingsLoadError([_problem(error, origins) for error in exc.errors()]) from None
    return LoadedSettings(settings, {k: v for k, v in origins.items() if k in given}, warnings)


def _origins(
    flags: Mapping[str, Any], labels: Mapping[str, str], environ: Mapping[str, tuple[str, str]]
) -> dict[str, Origin]:
    """Where each given value came from: the first source in precedence that has it."""
    found: dict[str, Origin] = {}
    source = _ServeSettingsBase.file_source
    if source is not None:
        for name, label in source.labels.items():
            found[name] = Origin(label, source.where, source.values[name])
    for name in [*SETTING_NAMES, CONFIG]:
        # Case-insensitive, as pydantic-settings matches (`ttsd_port` counts too).
        if env_name(name) in environ:
            key, value = environ[env_name(name)]
            found[name] = Origin(key, _ENVIRONMENT, value)
    for name, value in flags.items():
        found[name] = Origin(labels[name], "on the command line", value)
    return found


def _problem(error: Any, origins: Mapping[str, Origin]) -> str:
    """One line for one pydantic error: the key, the value, its source and what is wrong."""
    loc = tuple(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SettingError):
        # A value that does not fit with another: named by the check, maybe a default.
        name, problem = cause.key, cause.problem
    else:
        name, problem = (str(loc[0]) if loc else "?"), _plain(error)
        if len(loc) > 1:
            problem = f"{problem} (at {'.'.join(str(part) for part in loc[1:])})"
    origin = origins.get(name)
    if origin is None:
        return f"{name} (the default): {problem}"
    if origin.where == _ENVIRONMENT and str(origin.value).startswith("tcp://"):
        # The kubelet's service links: a Service named `ttsd` gives every pod of its
        # namespace TTSD_PORT=tcp://IP:PORT (deploy/kubernetes/base/deployment.yaml).
        problem += (
            "; Kubernetes sets this for a Service named ttsd: set enableServiceLinks: false "
            "in the pod spec"
        )
    return f"{origin}: {problem}"


#: pydantic's error types in a few words (its own message otherwise).
_PLAIN = {
    "int_parsing": "not an integer",
    "int_type": "not an integer",
    "int_from_float": "not an integer",
    "float_parsing": "not a number",
    "float_type": "not a number",
    "bool_parsing": "not a boolean (true or false)",
    "bool_type": "not a boolean (true or false)",
    "string_type": "not a string",
    "dict_type": "not a table of strings",
    "tuple_type": "not a list",
    "path_type": "not a path",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "extra_forbidden": "not a setting",
    "path_not_directory": "not an existing directory",
    "path_not_file": "not an existing file",
}


def _plain(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _PLAIN:
        return _PLAIN[kind]
    bounds = {
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be more than", "gt"),
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # "at least 0", not "0.0"
        return f"{words} {bound}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(error["msg"])


def _near_misses(environ: Mapping[str, tuple[str, str]]) -> list[str]:
    """Warnings for `TTSD_*` variables that look like a setting's name but are not one."""
    known = {env_name(name) for name in [*SETTING_NAMES, CONFIG]}
    warnings = []
    for upper, (key, _) in sorted(environ.items()):
        if not upper.startswith(ENV_PREFIX) or upper in known:
            continue
        old = upper.removeprefix(ENV_PREFIX).lower()
        if old in DEPRECATED_NAMES:
            close = [env_name(DEPRECATED_NAMES[old])]
        else:
            close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.85)
        if close:
            warnings.append(f"{key} is not a setting of ttsd serve and is ignored: {close[0]}?")
    return warnings
