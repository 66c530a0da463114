"""One settings object, read from CORPUS_* environment variables; CLI flags override it.

Every CORPUS_* variable a run, a fetch or a server start is tuned by is read here and nowhere else,
except those read before any settings exist: CORPUS_HOME and CORPUS_CATALOG (warehouse/paths.py, which
resolves the home and where its catalog lives, for readers and writers alike),
CORPUS_LOG_LEVEL (the CLI's console logging, set up before a command runs) and CORPUS_NO_WATCHDOG and
CORPUS_RUN_TOKEN (flows/guard.py, in the watchdog process). CORPUS_SEARCH_AFTER_PID is no setting: the
`corpus` command names its own process in it (flows/cli.py main) for warehouse/search.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from transforms.errors import ConfigError
from warehouse.paths import HomeLayout, resolve_home


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def _env_bool(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name}={raw!r} is not 1/true/yes or 0/false/no")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class Settings:
    """Everything a run can be tuned by without touching code."""

    home: Path
    batch_size: int = 1000  # articles per task call; Prefect overhead is per batch, not per article
    max_file_bytes: int = 20 * 1024 * 1024  # larger inbox files are quarantined unread (but archived)
    lock_timeout: float = 600.0  # seconds a second writer waits for the first
    rules_path: Path | None = None  # extra cleaning rules (YAML), on top of the packaged ones
    gazetteer_path: Path | None = None  # replaces the packaged gazetteer
    # loaded on top of it: HOME/gazetteer/local.yaml, the entities accepted with `corpus entities accept`
    gazetteer_overlays: tuple[Path, ...] = ()
    min_clean_chars: int = 200
    max_clean_chars: int = 2_000_000
    fetch_timeout: float = 30.0
    compact_at: int = 200  # merge lake files at the end of a run once a table has more (0 = never)
    max_in_flight: int = 2  # batches being cleaned/linked ahead of the one being validated and landed
    dask_address: str | None = None  # `--dask` on this cluster; None = local worker processes
    fetch_allow_private: bool = False  # `corpus add URL` may fetch loopback and private addresses
    server_start_timeout: float = 60.0  # seconds `corpus serve` waits for its Prefect server's /api/health
    runner: str | None = None  # thread|process|dask|auto for `corpus ingest` with no --runner (None = auto)
    no_server: bool = False  # `corpus add --now` runs locally even when `corpus serve` serves the home
    serve_poll: float = 0.5  # seconds between `corpus serve`'s looks for due runs

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None, **overrides) -> Settings:
        rules = os.environ.get("CORPUS_RULES")
        gaz = os.environ.get("CORPUS_GAZETTEER")
        local = HomeLayout(resolve_home(home)).local_gazetteer
        base = cls(
            home=resolve_home(home),
            gazetteer_overlays=(local,) if local.is_file() else (),
            batch_size=_env_int("CORPUS_BATCH_SIZE", 1000),
            max_file_bytes=_env_int("CORPUS_MAX_FILE_MB", 20) * 1024 * 1024,
            lock_timeout=_env_float("CORPUS_LOCK_TIMEOUT", 600.0),
            rules_path=Path(rules) if rules else None,
            gazetteer_path=Path(gaz) if gaz else None,
            min_clean_chars=_env_int("CORPUS_MIN_CLEAN_CHARS", 200),
            max_clean_chars=_env_int("CORPUS_MAX_CLEAN_CHARS", 2_000_000),
            fetch_timeout=_env_float("CORPUS_FETCH_TIMEOUT", 30.0),
            max_in_flight=_env_int("CORPUS_MAX_IN_FLIGHT", 2),
            compact_at=_env_int("CORPUS_COMPACT_AT", 200),
            dask_address=os.environ.get("CORPUS_DASK_ADDRESS", "").strip() or None,
            fetch_allow_private=_env_bool("CORPUS_FETCH_ALLOW_PRIVATE"),
            server_start_timeout=_env_float("CORPUS_SERVER_START_TIMEOUT", 60.0),
            runner=os.environ.get("CORPUS_RUNNER", "").strip() or None,
            no_server=_env_bool("CORPUS_NO_SERVER"),
            serve_poll=max(0.05, _env_float("CORPUS_SERVE_POLL", 0.5)),
        )
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if base.batch_size < 1 or overrides.get("batch_size", 1) < 1:
            raise ConfigError("batch size must be at least 1")
        return replace(base, **overrides)
