"""`corpus rebuild` and `corpus check [--repair]`: the warehouse from the archive alone, and lake checks.

Every inbox file is archived (content-addressed) with one line in archive/index.jsonl naming its source
name, format and first-seen time, before anything about it lands. So the archive alone is enough to
rebuild the catalog and the lake: each indexed blob is put back under its original name in a staging
folder and ingested by the real ingest flow, oldest first.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.parquet as pq

from flows.ops import UserError
from flows.settings import Settings
from warehouse import Warehouse
from warehouse.archive import archive_path, count_locators, iter_index
from warehouse.paths import HomeLayout, resolve_home
from warehouse.store import catalog_exists, connect_readonly

STAGING_DIR = ".rebuild"


class RepairError(UserError):
    """Nothing to rebuild from, or a home that cannot be checked; the message says why (exit 2, like any user error)."""


# ---- re-ingesting the archive ------------------------------------------------------------------
def archive_rounds(layout: HomeLayout) -> tuple[list[list[dict[str, Any]]], int]:
    """The indexed blobs, first seen first, in rounds whose source names are unique; and how many are missing.

    The same name can have held different files over time (an inbox name reused after its file was
    consumed): each round is one flow run, so both keep their name.
    """
    seen: set[str] = set()
    rounds: list[list[dict[str, Any]]] = []
    names_per_round: list[set[str]] = []
    missing = 0
    entries = sorted(iter_index(layout.archive), key=lambda e: str(e.get("first_seen", "")))
    for e in entries:
        sha = e["sha256"]
        if sha in seen:
            continue
        seen.add(sha)
        if not archive_path(layout.archive, sha).is_file():
            missing += 1
            continue
        name = _staging_name(e["source_name"], sha)
        k = next((i for i, names in enumerate(names_per_round) if name not in names), len(rounds))
        if k == len(rounds):
            rounds.append([])
            names_per_round.append(set())
        rounds[k].append(dict(e, staging_name=name))
        names_per_round[k].add(name)
    return rounds, missing


def _staging_name(source_name: str, sha: str) -> str:
    """The source name as a relative path inside the staging folder (a name that could escape is replaced)."""
    parts = PurePosixPath(source_name).parts
    if not parts or source_name.startswith("/") or any(p in ("..", ".") or p.startswith(".") for p in parts):
        return f"unnamed-{sha[:12]}.txt"
    return source_name


def reingest_archive(home: Path, rounds: list[list[dict[str, Any]]], batch_size: int | None = None) -> dict[str, Any]:
    """Ingest every round's blobs under their original names with the real ingest flow; returns totals."""
    from flows.ops import run_ingest

    layout = HomeLayout(home)
    totals = {"n_runs": 0, "n_seen": 0, "n_new": 0, "n_duplicate": 0, "n_quarantined": 0}
    for k, entries in enumerate(rounds):
        staging = layout.home / STAGING_DIR / f"round-{k:03d}-{uuid.uuid4().hex[:8]}"
        try:
            for e in entries:
                dest = staging / e["staging_name"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = archive_path(layout.archive, e["sha256"])
                try:
                    os.link(src, dest)  # no copy: the flow only reads it (an outside inbox is never consumed)
                except OSError:
                    shutil.copyfile(src, dest)
            summary = run_ingest(home=str(home), inbox=str(staging), batch_size=batch_size)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        totals["n_runs"] += 1
        for key in ("n_seen", "n_new", "n_duplicate", "n_quarantined"):
            totals[key] += summary[key]
    shutil.rmtree(layout.home / STAGING_DIR, ignore_errors=True)
    return totals


# ---- corpus rebuild ----------------------------------------------------------------------------
def rebuild(home: str | None = None, batch_size: int | None = None) -> dict[str, Any]:
    """Rebuild catalog and lake from archive/ alone; the old ones are moved aside, never deleted."""
    settings = Settings.from_env(home=home)
    layout = HomeLayout(resolve_home(home))
    rounds, missing = archive_rounds(layout)
    n_blobs = sum(len(r) for r in rounds)
    if not n_blobs:
        raise RepairError(
            f"nothing to rebuild from: {layout.archive / 'index.jsonl'} names no archived file "
            "(archives written before the index existed cannot be rebuilt by name)"
        )
    moved: str | None = None
    wh = Warehouse(layout.home)
    with wh.writer_lock(settings.lock_timeout):
        old = [p for p in (layout.db, layout.db.with_name(layout.db.name + ".wal"), layout.lake) if p.exists()]
        if old:
            aside = layout.home / f"replaced-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}"
            aside.mkdir(parents=True, exist_ok=True)
            for p in old:
                os.replace(p, aside / p.name)
            moved = str(aside)
    totals = reingest_archive(layout.home, rounds, batch_size)
    return {"home": str(layout.home), "n_blobs": n_blobs, "n_missing": missing, "moved_aside": moved, **totals}


# ---- corpus check ------------------------------------------------------------------------------
@dataclass
class CheckReport:
    home: str
    n_files: int = 0
    n_rows: int = 0
    damaged: list[tuple[str, str, str]] = field(default_factory=list)  # (table, rel_path, problem)
    unknown: list[str] = field(default_factory=list)  # lake files the catalog does not name
    missing_blobs: int = 0
    n_records: int = 0  # .jsonl records archived as a byte range of their file's blob (archive/records.sqlite)
    records_missing: int = 0  # of those, records whose file blob is gone
    repaired: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.missing_blobs and not self.records_missing


def check(home: str | None = None, repair: bool = False, batch_size: int | None = None) -> CheckReport:
    """Verify every data file the lake's current snapshot reads (exists, size as the catalog says, every
    row group readable) and the archive index.

    With `repair`, a damaged lake is rebuilt from the archive: the catalog and the lake are moved to
    HOME/damaged-<time>/ (nothing is deleted) and every archived file is ingested again.
    """
    layout = HomeLayout(resolve_home(home))
    if not catalog_exists(layout):
        raise RepairError(f"no warehouse at {layout.db}: run `corpus ingest` first (or `corpus rebuild`)")
    report = CheckReport(str(layout.home))
    con = connect_readonly(layout.home)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()]
        files = []
        for table in tables:
            for data_file, size, delete_file, delete_size in con.execute(
                "SELECT data_file, data_file_size_bytes, delete_file, delete_file_size_bytes "
                "FROM ducklake_list_files('lake', ?)", [table]
            ).fetchall():
                files.append((table, data_file, size))
                if delete_file:
                    files.append((table, delete_file, delete_size))
    finally:
        con.close()
    listed = {os.path.realpath(p) for _, p, _ in files}
    orphans = [(str(p),) for p in (layout.lake.rglob("*.parquet") if layout.lake.exists() else ())
               if os.path.realpath(p) not in listed and not p.name.startswith(".")]
    for table, path, size in files:
        report.n_files += 1
        problem, rows = _check_file(Path(path), size)
        rel = os.path.relpath(path, layout.lake)
        if problem:
            report.damaged.append((table, rel, problem))
        elif not path.endswith("-delete.parquet"):
            report.n_rows += rows
    report.unknown = [os.path.relpath(p, layout.lake) for (p,) in orphans]
    rounds, report.missing_blobs = archive_rounds(layout)
    report.n_records, report.records_missing = count_locators(layout.archive)
    if repair and report.damaged:
        report.repaired = _repair(layout, report, rounds, batch_size)
    return report


def _check_file(path: Path, size: int | None) -> tuple[str | None, int]:
    if not path.is_file():
        return "missing", 0
    actual = path.stat().st_size
    if size is not None and actual != size:
        return f"{actual} bytes, the catalog says {size}", 0
    rows = 0
    try:
        f = pq.ParquetFile(path)
        for i in range(f.num_row_groups):  # read every page: a damaged column shows up here
            rows += f.read_row_group(i).num_rows
    except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
        return f"unreadable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", 0
    return None, rows


def _repair(layout: HomeLayout, report: CheckReport, rounds, batch_size: int | None) -> dict[str, Any]:
    """Move the damaged catalog and lake aside and re-land everything from the archive."""
    settings = Settings.from_env(home=layout.home)
    wh = Warehouse(layout.home)
    aside = layout.home / f"damaged-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}"
    with wh.writer_lock(settings.lock_timeout):
        old = [p for p in (layout.db, layout.db.with_name(layout.db.name + ".wal"), layout.lake) if p.exists()]
        aside.mkdir(parents=True, exist_ok=True)
        for p in old:
            os.replace(p, aside / p.name)
    totals = reingest_archive(layout.home, rounds, batch_size)
    return {"retired": [rel for _, rel, _ in report.damaged], "moved_to": str(aside), **totals}
