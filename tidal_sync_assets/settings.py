"""The product's configuration, read from the environment (``.env`` honoured).

One frozen ``Settings`` record with the SPEC's variables and defaults. The
CLI reads it directly; the Dagster resources read the same variables through
``EnvVar`` so the launchpad can override them per run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dotenv import load_dotenv

LinkMode = Literal["symlink", "hardlink", "copy"]
Quality = Literal["LOW", "HIGH", "LOSSLESS", "HI_RES_LOSSLESS"]

LINK_MODES: tuple[LinkMode, ...] = ("symlink", "hardlink", "copy")
QUALITIES: tuple[Quality, ...] = ("LOW", "HIGH", "LOSSLESS", "HI_RES_LOSSLESS")


class ConfigurationError(ValueError):
    """A setting has a value the product cannot use; the message names it."""


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or "./dagster_home").expanduser().absolute()


def default_database_url() -> str:
    return f"sqlite:///{dagster_home() / 'tidal_sync.db'}"


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigurationError(f"{name}={value!r} must be a whole number of at least 1")
    return number


def _seconds(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigurationError(f"{name}={value!r} must be a whole number of seconds, 0 or more")
    return number


@dataclass(frozen=True)
class Settings:
    database_url: str
    library_root: Path
    session_file: Path
    api_base: str | None
    link_mode: LinkMode
    quality: Quality
    download_workers: int
    patience: int  # seconds one TIDAL request keeps being retried (429, 5xx, timeouts)

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment, after loading ``.env`` without overriding it."""
        load_dotenv(override=False)
        env = os.environ
        return cls(
            database_url=env.get("TIDAL_SYNC_DATABASE_URL") or default_database_url(),
            library_root=Path(env.get("TIDAL_SYNC_LIBRARY_ROOT") or "./library")
            .expanduser()
            .absolute(),
            session_file=Path(
                env.get("TIDAL_SYNC_SESSION_FILE") or "~/.config/tidal-sync/session.json"
            ).expanduser(),
            api_base=(env.get("TIDAL_SYNC_API_BASE") or None),
            link_mode=_choice(  # type: ignore[arg-type]
                "TIDAL_SYNC_LINK_MODE", env.get("TIDAL_SYNC_LINK_MODE") or "symlink", LINK_MODES
            ),
            quality=_choice(  # type: ignore[arg-type]
                "TIDAL_SYNC_QUALITY", env.get("TIDAL_SYNC_QUALITY") or "LOSSLESS", QUALITIES
            ),
            download_workers=_positive_int(
                "TIDAL_SYNC_DOWNLOAD_WORKERS", env.get("TIDAL_SYNC_DOWNLOAD_WORKERS") or "4"
            ),
            patience=_seconds("TIDAL_SYNC_PATIENCE", env.get("TIDAL_SYNC_PATIENCE") or "300"),
        )
