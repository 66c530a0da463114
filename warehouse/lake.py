"""DuckLake plumbing: the extensions from their wheels, the catalog a home uses, and attaching it.

The lake is a DuckLake: Parquet data files under `HOME/lake/` and a catalog of snapshots. The catalog
is a DuckDB file in the home (`HOME/corpus.duckdb`) unless `CORPUS_CATALOG` names another file or a
PostgreSQL database (`postgresql://user@host:port/dbname`). Data paths are always given relative to
the home at attach time (`DATA_PATH HOME/lake/`, `OVERRIDE_DATA_PATH`), and DuckLake stores file paths
relative to it: a moved or copied home works at once.

Extensions are loaded from the installed `duckdb-extension-*` wheels (never downloaded): DuckDB is
pinned to the version these wheels are built for (pyproject.toml).
"""

from __future__ import annotations

import glob
import importlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

LAKE = "lake"  # the name the catalog is attached under


class ExtensionMissing(RuntimeError):
    pass


def extension_path(name: str) -> str:
    """The `.duckdb_extension` file of an installed `duckdb-extension-<name>` wheel."""
    try:
        mod = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as exc:
        raise ExtensionMissing(
            f"the DuckDB extension {name!r} is not installed "
            f"(pip install duckdb-extension-{name}=={duckdb.__version__})"
        ) from exc
    base = Path(mod.__file__).parent / "extensions"
    exact = base / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if exact.is_file():
        return str(exact)
    found = sorted(glob.glob(str(base / "v*" / f"{name}.duckdb_extension")))
    if not found:
        raise ExtensionMissing(f"no {name}.duckdb_extension in {base}")
    return found[-1]


# the wheel's file name and the extension's own name differ: DuckDB finds the entry point by file name
_LOAD_AS = {"postgres": "postgres_scanner"}


def load(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        path = extension_path(name)
        own = _LOAD_AS.get(name)
        if own:
            cache = Path(tempfile.gettempdir()) / f"corpus-ext-{os.getuid()}-{duckdb.__version__}"
            link = cache / f"{own}.duckdb_extension"
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                tmp = link.with_name(f".{os.getpid()}-{link.name}")
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(path)
                os.replace(tmp, link)
            path = str(link)
        con.execute(f"LOAD {sql_str(path)}")


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Catalog:
    """Where a home's DuckLake catalog lives."""

    kind: str  # "duckdb" or "postgres"
    target: str  # a file path, or a libpq connection string
    data_path: Path

    @property
    def is_file(self) -> bool:
        return self.kind == "duckdb"

    @property
    def path(self) -> Path:
        return Path(self.target)

    def uri(self, target: str | None = None) -> str:
        t = target if target is not None else self.target
        return f"ducklake:{t}" if self.kind == "duckdb" else f"ducklake:postgres:{t}"

    def describe(self) -> str:
        if self.kind == "duckdb":
            return self.target
        return re.sub(r"password=\S+", "password=***", self.target)


def catalog_for(home: Path, data_path: Path, spec: str = "") -> Catalog:
    """`spec` (CORPUS_CATALOG, read by warehouse.paths: a postgresql:// URL, or a file path relative to the
    home), else HOME/corpus.duckdb."""
    spec = spec.strip()
    if spec.startswith(("postgresql://", "postgres://")):
        return Catalog("postgres", _pg_conninfo(spec), data_path)
    if spec.startswith("postgres:"):
        return Catalog("postgres", spec[len("postgres:"):], data_path)
    if spec:
        p = Path(spec).expanduser()
        return Catalog("duckdb", str(p if p.is_absolute() else home / p), data_path)
    return Catalog("duckdb", str(home / "corpus.duckdb"), data_path)


def _pg_conninfo(url: str) -> str:
    """postgresql://user:pw@host:port/db?host=/sock -> libpq key=value pairs (what DuckLake's postgres wants)."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    u = urlsplit(url)
    parts: dict[str, str] = {}
    if u.hostname:
        parts["host"] = unquote(u.hostname)
    if u.port:
        parts["port"] = str(u.port)
    if u.username:
        parts["user"] = unquote(u.username)
    if u.password:
        parts["password"] = unquote(u.password)
    if u.path.strip("/"):
        parts["dbname"] = unquote(u.path.strip("/"))
    parts.update(parse_qsl(u.query))
    return " ".join(f"{k}={v}" for k, v in parts.items())


def attach_sql(cat: Catalog, *, read_only: bool = False, target: str | None = None,
               snapshot: int | None = None, name: str = LAKE) -> str:
    opts = [f"DATA_PATH {sql_str(str(cat.data_path) + os.sep)}", "OVERRIDE_DATA_PATH true"]
    if read_only:
        opts.insert(0, "READ_ONLY")
    if snapshot is not None:
        opts.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    return f"ATTACH {sql_str(cat.uri(target))} AS {name} ({', '.join(opts)})"
