"""Settings files: defaults < ``stylecast.toml`` < ``STYLECAST_*`` environment < flags.

Only the OBS settings live here so far (``[obs]`` and ``[obs.scene_styles]``); see
docs/obs.md for the file. The OBS password is kept out of every ``repr`` and message: it
is best given as ``STYLECAST_OBS_PASSWORD`` rather than written into the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stylecast.errors import ConfigError

DEFAULT_FILE = "stylecast.toml"
OBS_MODES = ("shm", "stream")
_ENV = {"host": "STYLECAST_OBS_HOST", "port": "STYLECAST_OBS_PORT",
        "password": "STYLECAST_OBS_PASSWORD"}


@dataclass(frozen=True)
class ObsConfig:
    """How stylecast reaches OBS and what it does there.

    Attributes:
        host: obs-websocket host.
        port: obs-websocket port (OBS's default is 4455).
        password: obs-websocket password; never shown in ``repr`` or messages.
        scene: the scene that gets the stylecast source; None = the current program scene.
        source_name: the name of the input stylecast creates or updates in OBS.
        mode: "shm" (the Lua source, ~1 frame of latency) or "stream" (a media source on
            stylecast's TCP NUT stream, ~130 ms).
        shm_name: the shared-memory segment name (``/dev/shm/stylecast-<name>``).
        stream_url: the stylecast stream the media source plays (mode "stream").
        transition_ms: crossfade used for scene-driven style changes.
        scene_styles: OBS scene name -> style name; switching to the scene sets the style.
    """

    host: str = "localhost"
    port: int = 4455
    password: str | None = field(default=None, repr=False)
    scene: str | None = None
    source_name: str = "stylecast"
    mode: str = "shm"
    shm_name: str = "stylecast"
    stream_url: str | None = None
    transition_ms: float = 0.0
    scene_styles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Config:
    """Everything read from ``stylecast.toml`` and the environment."""

    obs: ObsConfig = field(default_factory=ObsConfig)


def _expect(value: Any, kind: type | tuple[type, ...], key: str, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"[obs] {key} must be {what}, got a {type(value).__name__}; fix "
                          "stylecast.toml")
    return value


def _obs_from_table(table: Mapping[str, Any]) -> dict[str, Any]:
    known = {f for f in ObsConfig.__dataclass_fields__}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"[obs] has unknown key(s) {', '.join(unknown)}; the known ones are "
                          f"{', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "port":
            values[key] = _expect(value, int, key, "an integer")
        elif key == "transition_ms":
            values[key] = float(_expect(value, (int, float), key, "a number of milliseconds"))
        elif key == "scene_styles":
            styles = _expect(value, dict, key, "a table of \"Scene name\" = \"style-name\"")
            for scene, style in styles.items():
                _expect(style, str, f"scene_styles.{scene!r}", "a style name")
            values[key] = MappingProxyType(dict(styles))
        else:
            values[key] = _expect(value, str, key, "a string")
    return values


def _obs_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, var in _ENV.items():
        if var in env and env[var] != "":
            values[key] = env[var]
    if "port" in values:
        try:
            values["port"] = int(values["port"])
        except ValueError:
            raise ConfigError("STYLECAST_OBS_PORT must be a port number such as 4455") from None
    return values


def check_obs(config: ObsConfig) -> ObsConfig:
    """Validate ``config``; raises ConfigError (never quoting the password)."""
    if not 1 <= config.port <= 65535:
        raise ConfigError(f"the OBS websocket port must be 1-65535, got {config.port}")
    if config.mode not in OBS_MODES:
        raise ConfigError(f"OBS mode must be one of {', '.join(OBS_MODES)}, got {config.mode!r}")
    if not 0 <= config.transition_ms <= 60000:
        raise ConfigError(f"[obs] transition_ms must be 0-60000, got {config.transition_ms}")
    if not config.source_name:
        raise ConfigError("[obs] source_name must not be empty")
    return config


def load_config(path: str | os.PathLike[str] | None = None, *,
                env: Mapping[str, str] | None = None) -> Config:
    """Read defaults < ``path`` (or ``./stylecast.toml`` if present) < environment.

    Args:
        path: a TOML file that must exist; None reads ``stylecast.toml`` in the current
            directory when there is one.
        env: the environment (default ``os.environ``); ``STYLECAST_OBS_HOST``,
            ``STYLECAST_OBS_PORT`` and ``STYLECAST_OBS_PASSWORD`` override the file.

    Raises:
        ConfigError: the file is missing (when named), not TOML, or has invalid values.
    """
    env = os.environ if env is None else env
    file = Path(path) if path is not None else Path(DEFAULT_FILE)
    data: dict[str, Any] = {}
    if path is not None or file.is_file():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {file} does not exist; check --config") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from exc
    table = data.get("obs", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: 'obs' must be a table ([obs])")
    obs = replace(ObsConfig(), **_obs_from_table(table))
    obs = replace(obs, **_obs_from_env(env))
    return Config(obs=check_obs(obs))
