"""The only code that writes the lake and corpus.duckdb.

Landing protocol (crash-safe):
1. every table of a batch is written to Parquet under a temporary name, fsynced, then renamed into
   `lake/<table>/ingest_date=YYYY-MM-DD/part-<run>-<batch>.parquet`;
2. one DuckDB transaction records those files in the `_lake_files` manifest, inserts the batch's
   quarantine and validation rows, and re-creates the views over the manifest's live files.
A file that is in the lake but not in the manifest was left by a killed run: it is invisible to
the views and is deleted by the next writer. A killed run's `runs` row is marked `crashed`.

One writer at a time: a file lock (`CORPUS_HOME/.writer.lock`) is held for a whole run, and each
DuckDB connection is held only for the few milliseconds a step needs, so readers get in between.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from transforms.errors import CorpusError
from warehouse.archive import append_index, archive_bytes, archived_sha256, indexed_shas
from warehouse.archive import flush as archive_flush
from warehouse.migrations import migrate
from warehouse.paths import HomeLayout, resolve_home
from warehouse.schema import LAKE_SCHEMAS, OPS_DDL, QUARANTINE_COLUMNS, SCHEMA_VERSION
from warehouse.views import ANALYSIS_VIEWS

SCHEMA_FILE = "_schema.parquet"
_INSERT_FILE = "INSERT INTO _lake_files (table_name, rel_path, run_id, n_rows, added_at) VALUES (?, ?, ?, ?, ?)"
CHILD_TABLES = ("mentions", "removed_spans")


class WarehouseError(CorpusError):
    """A warehouse problem a user can act on; the message says what to do (the CLI exits 3)."""

    exit_code = 3


class WarehouseBusy(WarehouseError):
    """Another process holds the writer lock."""


class CatalogCorrupt(WarehouseError):
    """corpus.duckdb exists but is not a readable DuckDB database (the CLI exits 4, not 3 = busy)."""

    exit_code = 4


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _connect(db: Path, read_only: bool = False, wait_seconds: float = 30.0) -> duckdb.DuckDBPyConnection:
    """Open DuckDB, retrying while another process holds its file lock for a moment."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise _corrupt(db, exc) from exc
            if time.monotonic() > deadline:
                raise WarehouseError(f"cannot open {db}: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as exc:  # not a DuckDB file, a truncated one, a bad WAL
            raise _corrupt(db, exc) from exc


def _corrupt(db: Path, exc: Exception) -> CatalogCorrupt:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return CatalogCorrupt(
        f"the catalog {db} is damaged ({first}); move it aside and run `corpus rebuild` "
        "to rebuild it from the archive"
    )


def connect_readonly(home: str | os.PathLike[str] | None = None, wait_seconds: float = 30.0):
    """A read-only connection to the warehouse (waits while a writer commits)."""
    layout = HomeLayout(resolve_home(home))
    if not layout.db.exists():
        raise WarehouseError(f"no warehouse at {layout.db}: run `corpus ingest` first")
    return _connect(layout.db, read_only=True, wait_seconds=wait_seconds)


class Warehouse:
    """A corpus home's lake and database."""

    def __init__(self, home: str | os.PathLike[str] | None = None):
        self.layout = HomeLayout(resolve_home(home))

    def check_catalog(self) -> None:
        """Raise CatalogCorrupt now (before a flow run starts) when corpus.duckdb cannot be opened."""
        if self.layout.db.exists():
            _connect(self.layout.db, read_only=True).close()

    def wait_until_free(self, lock_timeout: float) -> None:
        """Block until no other process writes (or raise WarehouseBusy); the caller then takes the lock."""
        with self.writer_lock(lock_timeout):
            pass

    @contextmanager
    def writer_lock(self, lock_timeout: float) -> Iterator[None]:
        self.layout.ensure()
        lock = FileLock(str(self.layout.lock))
        try:
            lock.acquire(timeout=lock_timeout)
        except Timeout:
            raise WarehouseBusy(
                f"another ingest is writing to {self.layout.home} (lock {self.layout.lock} still held "
                f"after {lock_timeout:.0f}s); try again later or raise CORPUS_LOCK_TIMEOUT"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def writer(self, lock_timeout: float = 600.0) -> Iterator[WarehouseWriter]:
        """Hold the single-writer lock for the duration of the block."""
        with self.writer_lock(lock_timeout):
            writer = WarehouseWriter(self.layout)
            writer.open()
            yield writer


class WarehouseWriter:
    """Write operations; only obtained through Warehouse.writer(), i.e. under the lock."""

    def __init__(self, layout: HomeLayout):
        self.layout = layout
        self._indexed: set[str] | None = None

    # ---- opening -------------------------------------------------------------------------
    def connect(self) -> duckdb.DuckDBPyConnection:
        return _connect(self.layout.db)

    def open(self) -> None:
        """Create or upgrade the database, drop a killed run's leftovers, refresh the views."""
        with self.connect() as con:
            con.execute("BEGIN")
            for ddl in OPS_DDL:
                con.execute(ddl)
            row = con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()
            found = int(row[0]) if row else None
            if found is not None and found > SCHEMA_VERSION:
                con.execute("ROLLBACK")
                raise WarehouseError(
                    f"{self.layout.db} has schema version {found}, newer than this code's {SCHEMA_VERSION}: "
                    "upgrade corpus-pipeline"
                )
            if found is not None and found < SCHEMA_VERSION:
                migrate(con, found, SCHEMA_VERSION, self.layout)
            con.execute("INSERT OR REPLACE INTO _meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            if not con.execute("SELECT 1 FROM _meta WHERE key = 'created_at'").fetchone():
                # when this catalog began to know the lake: lake files older than that and missing from its
                # manifest are not a killed run's leftovers (e.g. a catalog moved aside), never deleted
                first = con.execute(
                    "SELECT least((SELECT min(added_at) FROM _lake_files), (SELECT min(started_at) FROM runs))"
                ).fetchone()[0]
                created = first if found is not None and first is not None else utcnow()
                con.execute("INSERT INTO _meta VALUES ('created_at', ?)", [_as_utc(created).isoformat()])
            con.execute(
                "UPDATE runs SET status = 'crashed', finished_at = coalesce(finished_at, ?) WHERE status = 'running'",
                [utcnow()],
            )
            con.execute("COMMIT")
        for table, schema in LAKE_SCHEMAS.items():
            path = self.layout.lake / table / SCHEMA_FILE
            if not path.exists():
                self._write_parquet(schema.empty_table(), path)
        self._remove_orphans()
        with self.connect() as con:
            self._refresh_views(con)

    def _live_files(self, con) -> dict[str, list[str]]:
        files: dict[str, list[str]] = {t: [f"{t}/{SCHEMA_FILE}"] for t in LAKE_SCHEMAS}
        for table, rel in con.execute(
            "SELECT table_name, rel_path FROM _lake_files WHERE retired_at IS NULL ORDER BY added_at, rel_path"
        ).fetchall():
            files.setdefault(table, []).append(rel)
        return files

    def _remove_orphans(self) -> list[str]:
        """Delete a killed run's leftovers: half-written archive files, and lake files no committed landing
        refers to -- but only files written since this catalog exists, and never with an empty manifest.

        A lake file older than the catalog was not left by one of its runs: the catalog is new (the old one
        was moved aside or lost). Deleting such files once destroyed a whole lake; they are kept and
        returned (`corpus check` reports them, `corpus rebuild` rebuilds from the archive).
        """
        for tmp in self.layout.archive.rglob(".tmp-*"):
            tmp.unlink(missing_ok=True)
        with self.connect() as con:
            known = {r[0] for r in con.execute("SELECT rel_path FROM _lake_files").fetchall()}
            created = self._created_at(con)
        kept: list[str] = []
        for path in self.layout.lake.rglob("*"):
            if not path.is_file() or path.name == SCHEMA_FILE:
                continue
            rel = path.relative_to(self.layout.lake).as_posix()
            if rel in known:
                continue
            try:
                mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            except FileNotFoundError:
                continue
            if not known or created is None or mtime < created - dt.timedelta(seconds=2):
                kept.append(rel)
                continue
            path.unlink(missing_ok=True)
        return kept

    @staticmethod
    def _created_at(con) -> dt.datetime | None:
        row = con.execute("SELECT value FROM _meta WHERE key = 'created_at'").fetchone()
        return _as_utc(dt.datetime.fromisoformat(row[0])) if row else None

    def _refresh_views(self, con) -> None:
        for table, rels in self._live_files(con).items():
            paths = ", ".join(_sql_str(str(self.layout.lake / rel)) for rel in rels)
            con.execute(
                f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM "
                f"read_parquet([{paths}], union_by_name = true, hive_partitioning = false)"
            )
        for name, sql in ANALYSIS_VIEWS.items():
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    # ---- reading what is known -------------------------------------------------------------
    def known_keys(self) -> tuple[set[str], set[str], set[str]]:
        """(content hashes of articles, article ids, content hashes held in quarantine)."""
        with self.connect() as con:
            rows = con.execute("SELECT content_sha256, article_id FROM articles").fetchall()
            held = con.execute("SELECT DISTINCT content_sha256 FROM quarantine WHERE resolved_at IS NULL").fetchall()
        return {r[0] for r in rows}, {r[1] for r in rows}, {r[0] for r in held}

    # ---- archive ---------------------------------------------------------------------------
    def index_archived(self, sha256: str, source_name: str) -> None:
        """Note an archived inbox file's name and format in archive/index.jsonl (once per hash)."""
        from transforms.sources import file_kind

        if self._indexed is None:
            self._indexed = indexed_shas(self.layout.archive)
        if sha256 not in self._indexed:
            append_index(self.layout.archive, sha256, source_name, file_kind(source_name))
            self._indexed.add(sha256)

    def archive(self, data: bytes, sha256: str | None = None, durable: bool = True) -> tuple[str, Path]:
        return archive_bytes(self.layout.archive, data, sha256, durable)

    def flush_archive(self) -> None:
        """Sync the archive files written with durable=False (before their batch is landed)."""
        archive_flush()

    def verify_archived(self, sha256: str) -> str | None:
        return archived_sha256(self.layout.archive, sha256)

    # ---- runs ------------------------------------------------------------------------------
    def start_run(self, run_id: str, flow_run_name: str | None, inbox: str) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO runs (run_id, started_at, status, flow_run_name, inbox, "
                "n_seen, n_new, n_duplicate, n_quarantined) VALUES (?, ?, 'running', ?, ?, 0, 0, 0, 0)",
                [run_id, utcnow(), flow_run_name, inbox],
            )

    def mark_terminated(self, run_id: str) -> None:
        """From a signal watcher: the run ends now (a short wait only; the next writer marks it otherwise)."""
        with _connect(self.layout.db, wait_seconds=2) as con:
            con.execute(
                "UPDATE runs SET status = 'terminated', finished_at = ?, error = 'terminated by SIGTERM' "
                "WHERE run_id = ? AND status = 'running'",
                [utcnow(), run_id],
            )

    def finish_run(
        self,
        run_id: str,
        counts: dict[str, int],
        status: str,
        error: str | None = None,
        stage_seconds: dict[str, float] | None = None,
    ) -> None:
        with self.connect() as con:
            con.execute(
                "UPDATE runs SET finished_at = ?, n_seen = ?, n_new = ?, n_duplicate = ?, n_quarantined = ?, "
                "status = ?, error = ?, stage_seconds = ? WHERE run_id = ?",
                [
                    utcnow(),
                    counts.get("n_seen", 0),
                    counts.get("n_new", 0),
                    counts.get("n_duplicate", 0),
                    counts.get("n_quarantined", 0),
                    status,
                    error,
                    json.dumps({k: round(v, 3) for k, v in (stage_seconds or {}).items()}),
                    run_id,
                ],
            )

    # ---- landing ---------------------------------------------------------------------------
    def land_batch(
        self,
        run_id: str,
        batch_no: int,
        tables: dict[str, pa.Table],
        quarantine: Sequence[dict[str, Any]] = (),
        validation: Sequence[dict[str, Any]] = (),
    ) -> int:
        """Land one batch atomically; returns the number of new articles (already-known ids are skipped)."""
        articles = tables.get("articles")
        if articles is not None and articles.num_rows:
            _, known_ids, _ = self.known_keys()
            if known_ids:
                keep = pc.invert(pc.is_in(articles["article_id"], pa.array(sorted(known_ids))))
                tables = dict(tables)
                tables["articles"] = articles = articles.filter(keep)
                live = pa.array(articles["article_id"].to_pylist())
                for child in CHILD_TABLES:
                    if child in tables:
                        tables[child] = tables[child].filter(pc.is_in(tables[child]["article_id"], live))
        now = utcnow()
        part = f"ingest_date={now.date().isoformat()}/part-{run_id}-{batch_no:05d}.parquet"
        written: list[tuple[str, str, int]] = []
        try:
            for table, data in tables.items():
                if table in LAKE_SCHEMAS:
                    self._write_lake_file(table, data, f"{table}/{part}", written)
            with self.connect() as con:
                con.execute("BEGIN")
                if written:
                    con.executemany(
                        _INSERT_FILE,
                        [(t, rel, run_id, n, now) for t, rel, n in written],
                    )
                self._insert_quarantine(con, quarantine, run_id, now)
                if validation:
                    con.executemany(
                        "INSERT INTO validation_results VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            (
                                run_id,
                                batch_no,
                                v["suite"],
                                v["expectation"],
                                bool(v["success"]),
                                int(v["unexpected_count"]),
                                now,
                            )
                            for v in validation
                        ],
                    )
                self._refresh_views(con)
                con.execute("COMMIT")
        except BaseException:
            self._discard_uncommitted([rel for _, rel, _ in written])
            raise
        return articles.num_rows if articles is not None else 0

    def record_quarantine(self, rows: Sequence[dict[str, Any]], run_id: str) -> None:
        """Quarantine rows that belong to no landing (e.g. unreadable files)."""
        if not rows:
            return
        with self.connect() as con:
            con.execute("BEGIN")
            self._insert_quarantine(con, rows, run_id, utcnow())
            con.execute("COMMIT")

    def record_duplicates(self, rows: Sequence[dict[str, Any]], run_id: str) -> None:
        """Note which source duplicated which article; a same-bytes row gets its article's id from `articles`."""
        if not rows:
            return
        with self.connect() as con:
            con.execute("BEGIN")
            con.executemany(
                "INSERT INTO duplicates VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, r.get("source_name"), r.get("content_sha256"), r.get("article_id"), r.get("reason"),
                  utcnow()) for r in rows],
            )
            con.execute(
                "UPDATE duplicates SET article_id = a.article_id FROM (SELECT content_sha256, min(article_id) AS "
                "article_id FROM articles GROUP BY ALL) a WHERE duplicates.run_id = ? AND duplicates.article_id "
                "IS NULL AND duplicates.content_sha256 = a.content_sha256",
                [run_id],
            )
            con.execute("COMMIT")

    @staticmethod
    def _insert_quarantine(con, rows: Iterable[dict[str, Any]], run_id: str, now: dt.datetime) -> None:
        # one INSERT ... SELECT from an Arrow table: executemany cost ~1 ms a row (49,000 rows took 50 s)
        columns: dict[str, list[Any]] = {c: [] for c in QUARANTINE_COLUMNS}
        for r in rows:
            for c in QUARANTINE_COLUMNS:
                v = run_id if c == "run_id" else now if c == "quarantined_at" else r.get(c)
                columns[c].append(v if v is None or c == "quarantined_at" else str(v))
        if not columns["stage"]:
            return
        table = pa.table(
            {c: pa.array(v, type=pa.timestamp("us", tz="UTC") if c == "quarantined_at" else pa.string())
             for c, v in columns.items()}
        )
        name = f"_quarantine_rows_{uuid.uuid4().hex[:8]}"
        cols = ", ".join(QUARANTINE_COLUMNS)
        con.register(name, table)
        try:
            con.execute(f"INSERT INTO quarantine ({cols}) SELECT {cols} FROM {name}")
        finally:
            con.unregister(name)

    def resolve_quarantine(self, content_shas: Sequence[str], resolution: str) -> None:
        """Mark held items as dealt with (e.g. retried successfully)."""
        if not content_shas:
            return
        with self.connect() as con:
            con.executemany(
                "UPDATE quarantine SET resolved_at = ?, resolution = ? "
                "WHERE content_sha256 = ? AND resolved_at IS NULL",
                [(utcnow(), resolution, s) for s in content_shas],
            )

    def sync_entities(self, entities: pa.Table, version: str) -> bool:
        """Replace the entities table when the gazetteer changed; returns True when it did."""
        with self.connect() as con:
            row = con.execute("SELECT count(*), min(gazetteer_version) FROM entities").fetchone()
            if row and row[0] == entities.num_rows and row[1] == version:
                return False
        rel = f"entities/version={version}-{uuid.uuid4().hex[:8]}.parquet"
        self._write_parquet(entities.cast(LAKE_SCHEMAS["entities"]), self.layout.lake / rel)
        now = utcnow()
        try:
            with self.connect() as con:
                con.execute("BEGIN")
                con.execute(
                    "UPDATE _lake_files SET retired_at = ? WHERE table_name = 'entities' AND retired_at IS NULL",
                    [now],
                )
                con.execute(
                    "INSERT INTO _lake_files (table_name, rel_path, run_id, n_rows, added_at) "
                    "VALUES ('entities', ?, NULL, ?, ?)",
                    [rel, entities.num_rows, now],
                )
                self._refresh_views(con)
                con.execute("COMMIT")
        except BaseException:
            self._discard_uncommitted([rel])
            raise
        self._drop_retired()
        return True

    def iter_table(self, table: str, columns: Sequence[str], batch_rows: int = 2000) -> Iterator[pa.Table]:
        """Stream a lake table in Arrow batches (for re-processing the whole corpus)."""
        cols = ", ".join(columns)
        with self.connect() as con:
            # no ORDER BY: sorting the whole table (text included) would hold the corpus in memory
            reader = con.sql(f"SELECT {cols} FROM {table}").to_arrow_reader(batch_rows)
            # DuckDB hands out smaller batches (one per file scanned, at most); gather them to batch_rows
            pending: list[pa.RecordBatch] = []
            n = 0
            for batch in reader:
                pending.append(batch)
                n += batch.num_rows
                if n >= batch_rows:
                    yield pa.Table.from_batches(pending)
                    pending, n = [], 0
            if pending:
                yield pa.Table.from_batches(pending)

    def rewrite_tables(self, run_id: str, batches: Iterable[dict[str, pa.Table]]) -> dict[str, int]:
        """Replace whole lake tables with new content, atomically.

        Each item of `batches` maps table names to full-schema Arrow tables. New files are written as
        the batches come (never holding the corpus in memory); one transaction then retires every
        old file of those tables and records the new ones. Killed half-way, nothing changes and the
        new files are orphans the next writer deletes.
        """
        now = utcnow()
        written: list[tuple[str, str, int]] = []
        tables_seen: set[str] = set()
        try:
            for n, batch in enumerate(batches):
                for table, data in batch.items():
                    tables_seen.add(table)
                    rel = f"{table}/ingest_date={now.date().isoformat()}/rewrite-{run_id}-{n:05d}.parquet"
                    self._write_lake_file(table, data, rel, written)
            with self.connect() as con:
                con.execute("BEGIN")
                for table in sorted(tables_seen):
                    con.execute(
                        "UPDATE _lake_files SET retired_at = ? WHERE table_name = ? AND retired_at IS NULL",
                        [now, table],
                    )
                if written:
                    con.executemany(
                        _INSERT_FILE,
                        [(t, rel, run_id, k, now) for t, rel, k in written],
                    )
                self._refresh_views(con)
                con.execute("COMMIT")
        except BaseException:
            self._discard_uncommitted([rel for _, rel, _ in written])
            raise
        self._drop_retired()
        counts: dict[str, int] = {t: 0 for t in tables_seen}
        for t, _, k in written:
            counts[t] += k
        return counts

    def live_file_count(self, table: str) -> int:
        """How many committed lake files a table's view reads."""
        with self.connect() as con:
            return con.execute(
                "SELECT count(*) FROM _lake_files WHERE table_name = ? AND retired_at IS NULL", [table]
            ).fetchone()[0]

    def compact(self, run_id: str, tables: Sequence[str] = ("articles", "mentions", "removed_spans"),
                rows_per_file: int = 20_000) -> dict[str, tuple[int, int]]:
        """Merge each table's many small batch files into few large ones (one atomic swap per table).

        Scheduled runs add one file per table per batch; months of them make every query open thousands
        of files. Returns {table: (files before, files after)}.
        """
        out: dict[str, tuple[int, int]] = {}
        for table in tables:
            before = self.live_file_count(table)
            with self.connect() as con:
                rows = con.execute(
                    "SELECT coalesce(sum(n_rows), 0) FROM _lake_files WHERE table_name = ? AND retired_at IS NULL",
                    [table],
                ).fetchone()[0]
            if before <= max(1, -(-rows // rows_per_file)):  # already as few files as a rewrite would give
                out[table] = (before, before)
                continue
            names = LAKE_SCHEMAS[table].names
            self.rewrite_tables(run_id, ({table: t} for t in self.iter_table(table, names, rows_per_file)))
            out[table] = (before, self.live_file_count(table))
        return out

    def _discard_uncommitted(self, rels: Sequence[str]) -> None:
        """After a failed landing, delete the files it wrote that the catalog does not name.

        The failure may come after COMMIT (a signal's exception while the connection closes): files the
        committed manifest names must stay. When the catalog cannot be asked, every file stays; the next
        writer's orphan sweep removes the unnamed ones.
        """
        if not rels:
            return
        try:
            with self.connect() as con:
                named = {
                    r[0]
                    for r in con.execute(
                        "SELECT rel_path FROM _lake_files WHERE list_contains(?, rel_path)", [list(rels)]
                    ).fetchall()
                }
        except Exception:  # noqa: BLE001 - leave the files to the orphan sweep rather than lose committed data
            return
        for rel in rels:
            if rel not in named:
                (self.layout.lake / rel).unlink(missing_ok=True)

    def _drop_retired(self) -> None:
        with self.connect() as con:
            rows = con.execute("SELECT rel_path FROM _lake_files WHERE retired_at IS NOT NULL").fetchall()
            for (rel,) in rows:
                (self.layout.lake / rel).unlink(missing_ok=True)
            con.execute("DELETE FROM _lake_files WHERE retired_at IS NOT NULL")

    def _write_lake_file(self, table: str, data: pa.Table, rel: str, written: list[tuple[str, str, int]]) -> None:
        """Write a non-empty table's rows as one lake file (not yet committed) and note it in `written`."""
        if data.num_rows == 0:
            return
        self._write_parquet(data.cast(LAKE_SCHEMAS[table]), self.layout.lake / rel)
        written.append((table, rel, data.num_rows))

    @staticmethod
    def _write_parquet(table: pa.Table, dest: Path) -> None:
        """Write to a temporary name, fsync, rename: a reader never sees half a file."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".tmp-{uuid.uuid4().hex}-{dest.name}")
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
