"""The only code that writes the lake: a DuckLake (Parquet data files + a catalog of snapshots).

Landing protocol (crash-safe, DuckLake's own): one DuckLake transaction per batch inserts its
articles, mentions and removed spans, its quarantine rows and its validation rows; DuckLake writes the
Parquet files, then commits one snapshot naming them. A file written by a killed run is in no
snapshot: invisible to every reader, deleted by the next writer (only files written since this
catalog exists: a new or replaced catalog never deletes a lake it does not know, issue 17 item 2).
A killed run's `runs` row is marked `crashed` by the next writer. With a shared catalog other writers may
be running, so only runs whose owner (host, PID and the process's start time, kept in `_meta` as
`run_owner:RUN_ID` while the run lasts) is a process of this host that no longer exists are marked.

One writer at a time per home with the DuckDB-file catalog: a file lock (`CORPUS_HOME/.writer.lock`)
is held for a whole run, and the catalog is attached only for the milliseconds each step needs, so
readers (which copy the small catalog file) get in between. With a PostgreSQL catalog several writers
land at once: DuckLake's transactions keep them apart.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute
from filelock import FileLock, Timeout

from transforms.errors import CorpusError
from warehouse import lake as lk
from warehouse.archive import (
    append_index_lines,
    archive_bytes,
    archived_sha256,
    blobs_holding,
    index_line,
    indexed_shas,
)
from warehouse.archive import flush as archive_flush
from warehouse.paths import HomeLayout, resolve_home
from warehouse.schema import LAKE_SCHEMAS, OPS_DDL, OPS_TABLES, QUARANTINE_COLUMNS, SCHEMA_VERSION
from warehouse.views import ANALYSIS_VIEWS

CHILD_TABLES = ("mentions", "removed_spans")
ALL_TABLES = tuple(LAKE_SCHEMAS) + tuple(t for t in OPS_TABLES if t != "_meta")
ORPHAN_GRACE = dt.timedelta(hours=1)  # a shared (PostgreSQL) catalog: another writer's files in flight
CLEANUP_GRACE = dt.timedelta(hours=1)  # files of expired snapshots stay this long: readers of an older copy
MARK_WAIT_SECONDS = 4.0  # mark_terminated's wait for the session and the catalog, together (see there)


class WarehouseError(CorpusError):
    """A warehouse problem a user can act on; the message says what to do (the CLI exits 3)."""

    exit_code = 3


class WarehouseBusy(WarehouseError):
    """Another process holds the writer lock."""


class CatalogCorrupt(WarehouseError):
    """The catalog exists but is not a readable DuckLake catalog (the CLI exits 4, not 3 = busy)."""

    exit_code = 4


# _meta key: quarantine rows of this home have had their archive_path filled from the archive (value: how
# many hashes were found); rows written since get it when they are inserted
ARCHIVE_PATHS_KEY = "quarantine_archive_paths"
RUN_OWNER = "run_owner:"  # _meta key prefix: the process that owns a running run


def _start_ticks(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the command name in parentheses may hold spaces
    return fields[19] if len(fields) > 19 else None


def run_owner() -> str:
    """This process as the owner of a run: host, PID and start time (a reused PID is another process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid()) or ''}"


def owner_is_gone(owner: str) -> bool:
    """Whether the process named by run_owner() certainly no longer exists: it ran on this host, and no
    process with its PID and start time is alive. A process of another host is never judged gone."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    ticks = _start_ticks(int(parts[1]))
    return ticks is None or (parts[2] != "" and ticks != parts[2])


def _forget_owner(con, run_id: str) -> None:
    """Drop the `_meta` row naming the process that owns run `run_id` (the run ended, or was marked crashed)."""
    con.execute("DELETE FROM _meta WHERE key = ?", [RUN_OWNER + run_id])


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


_sql_str = lk.sql_str


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _corrupt(db: Path | str, exc: Exception) -> CatalogCorrupt:
    return CatalogCorrupt(
        f"the catalog {db} is damaged ({_first_line(exc)}); move it aside and run `corpus rebuild` "
        "to rebuild it from the archive"
    )


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflict" in text or "could not set" in text)


def is_old_format(db: Path) -> bool:
    """A catalog written before DuckLake (schema version <= 3: native tables and a `_lake_files` manifest)."""
    if not db.is_file():
        return False
    from warehouse.migrations import _unreadable_storage

    try:
        con = _plain_connect(db, read_only=True)
    except CatalogCorrupt as exc:
        if _unreadable_storage(exc.__cause__ or exc):
            return True  # written by DuckDB 2.0 (the code before DuckLake): migrated from its lake files
        raise
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    return "_lake_files" in names and "ducklake_metadata" not in names


def _plain_connect(db: Path, read_only: bool = False, wait_seconds: float = 30.0) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file itself (not as a lake), retrying while another process holds its lock a moment."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise _corrupt(db, exc) from exc
            if time.monotonic() > deadline:
                raise WarehouseError(f"cannot open {db}: {_first_line(exc)}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as exc:  # not a DuckDB file, a truncated one, a bad WAL
            raise _corrupt(db, exc) from exc


def _lost_init_race(exc: BaseException) -> bool:
    """Whether an ATTACH of a shared catalog failed because another writer was creating DuckLake's tables in
    the same empty database at that moment: PostgreSQL refuses the second CREATE TABLE (or SCHEMA) with a
    unique-key violation on its own catalog (pg_type / pg_class / pg_namespace), or, when the first one had
    committed, with 'relation "ducklake_..." already exists'. Attaching again finds the tables the winner made."""
    text = str(exc)
    if "duplicate key value violates unique constraint" in text:
        return "pg_type_" in text or "pg_class_" in text or "pg_namespace_" in text
    return re.search(r'"(?:__)?ducklake_\w*" already exists', text) is not None


class _Engine:
    """One in-memory DuckDB per process with the extensions loaded (a LOAD costs ~0.1 s; an ATTACH ~5 ms)."""

    # DuckDB keeps ~0.13 MB per ATTACH/DETACH of a DuckLake catalog until the database is closed; an ingest
    # attaches several times per batch, which made a 200-batch run grow ~0.45 MB per batch (issue 17). The
    # engine is closed and made again after this many detaches, at a moment no session has a catalog attached.
    RECYCLE_AFTER = 50
    _lock = threading.Lock()
    _db: duckdb.DuckDBPyConnection | None = None
    _pid = 0
    _attached = 0  # sessions of this process with a catalog attached now
    _detaches = 0  # since the engine was made

    @classmethod
    def _get(cls) -> duckdb.DuckDBPyConnection:
        if cls._db is None or cls._pid != os.getpid():
            db = duckdb.connect(":memory:")
            db.execute("SET enable_progress_bar = false")
            lk.load(db, "ducklake")
            cls._db, cls._pid, cls._attached, cls._detaches = db, os.getpid(), 0, 0
        return cls._db

    @classmethod
    def acquire(cls) -> duckdb.DuckDBPyConnection:
        """The engine, counted as in use until release(): it is never recycled under an attached catalog."""
        with cls._lock:
            db = cls._get()
            cls._attached += 1
            return db

    @classmethod
    def release(cls, db: duckdb.DuckDBPyConnection) -> None:
        with cls._lock:
            if db is not cls._db:
                return
            cls._attached -= 1
            cls._detaches += 1
            if cls._attached == 0 and cls._detaches >= cls.RECYCLE_AFTER:
                cls._db = None
                with suppress(duckdb.Error):
                    db.close()


class LakeSession:
    """Attach a home's catalog for the length of a `with` block (re-entrant within a process)."""

    def __init__(self, layout: HomeLayout):
        self.layout = layout
        self.cat = layout.catalog
        self._lock = threading.RLock()
        self._depth = 0
        self._name = f"lake_{uuid.uuid4().hex[:8]}"
        self._db: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def open(self, wait_seconds: float = 30.0,
             lock_timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self._lock.acquire(timeout=-1 if lock_timeout is None else lock_timeout):
            raise WarehouseError("the catalog is in use by this process")
        try:
            if self._depth == 0:
                db = _Engine.acquire()
                try:
                    self._attach(db, wait_seconds)
                except BaseException:
                    _Engine.release(db)
                    raise
                self._db = db
            db = self._db
            self._depth += 1
            cur = db.cursor()
            try:
                cur.execute(f"USE {self._name}")
                yield cur
            except BaseException:
                with suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()
                self._depth -= 1
                if self._depth == 0:
                    self._detach(db)
                    _Engine.release(db)
        finally:
            self._lock.release()

    def _attach(self, db: duckdb.DuckDBPyConnection, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        delay = 0.02
        sql = lk.attach_sql(self.cat, name=self._name)
        if not self.cat.is_file:
            lk.load(db, "postgres")
        while True:
            try:
                db.execute(sql)
                return
            except duckdb.Error as exc:
                if not (_is_lock_error(exc) or (not self.cat.is_file and _lost_init_race(exc))):
                    raise _corrupt(self.cat.describe(), exc) from exc
                if time.monotonic() > deadline:
                    raise WarehouseError(f"cannot open {self.cat.describe()}: {_first_line(exc)}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _detach(self, db: duckdb.DuckDBPyConnection) -> None:
        try:
            db.execute("USE memory")
            db.execute(f"DETACH {self._name}")
        except duckdb.Error:
            pass

    @property
    def name(self) -> str:
        return self._name


def connect_readonly(home: str | os.PathLike[str] | None = None, wait_seconds: float = 30.0,
                     as_of: int | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse on a private copy of its catalog (never blocks a writer).

    The lake is attached as `lake` and is the default catalog: `SELECT ... FROM articles` works.
    """
    from warehouse.reader import open_lake_copy

    layout = HomeLayout(resolve_home(home))
    con, tmp = open_lake_copy(layout, wait_seconds=wait_seconds, as_of=as_of)
    # the catalog copy is already unlinked (DuckDB holds it open) and no temp_directory points here
    shutil.rmtree(tmp, ignore_errors=True)
    return con


def catalog_exists(layout: HomeLayout) -> bool:
    cat = layout.catalog
    return cat.path.exists() if cat.is_file else True


class Warehouse:
    """A corpus home's lake and catalog."""

    def __init__(self, home: str | os.PathLike[str] | None = None):
        self.layout = HomeLayout(resolve_home(home))

    def check_catalog(self) -> None:
        """Raise CatalogCorrupt now (before a flow run starts) when the catalog cannot be opened."""
        db = self.layout.db
        if self.layout.catalog.is_file and db.exists() and not is_old_format(db):
            con = _plain_connect(db, read_only=True)
            con.close()

    def wait_until_free(self, lock_timeout: float) -> None:
        """Block until no other process writes (or raise WarehouseBusy); the caller then takes the lock."""
        with self.writer_lock(lock_timeout):
            pass

    @contextmanager
    def writer_lock(self, lock_timeout: float) -> Iterator[None]:
        self.layout.ensure()
        if not self.layout.catalog.is_file:
            yield  # a shared PostgreSQL catalog: DuckLake's transactions keep writers apart
            return
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


def _retry_conflicts(method):
    """Run a write again when DuckLake refuses its commit for a concurrent writer's (a shared catalog only).

    Each write method opens its own transaction and reads what it needs inside it, so a retry sees the
    other writer's commit (e.g. a landing re-checks which article ids are known).
    """
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        delay = 0.05
        for attempt in range(30):
            try:
                return method(self, *args, **kwargs)
            except duckdb.TransactionException as exc:
                if "conflict" not in str(exc).lower() or attempt == 29:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    return wrapper


class WarehouseWriter:
    """Write operations; only obtained through Warehouse.writer(), i.e. under the lock."""

    def __init__(self, layout: HomeLayout):
        self.layout = layout
        self._indexed: set[str] | None = None
        self._index_pending: list[bytes] = []  # index lines noted, written by the next flush_archive
        self.session = LakeSession(layout)

    # ---- opening -------------------------------------------------------------------------
    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The lake attached and made the default catalog, for one step."""
        with self.session.open() as con:
            yield con

    def _commit_message(self, con, run_id: str | None, message: str) -> None:
        extra = json.dumps({"run_id": run_id}) if run_id else None
        con.execute(
            f"CALL {self.session.name}.set_commit_message('corpus', ?, extra_info => ?)", [message, extra]
        )

    @_retry_conflicts
    def open(self) -> None:
        """Create or upgrade the catalog (a pre-DuckLake home is migrated), mark killed runs, drop their files;
        once per home, fill `archive_path` of quarantine rows written before it was filled."""
        self.layout.ensure()
        cat = self.layout.catalog
        if cat.is_file and is_old_format(cat.path):
            from warehouse.migrations import migrate_to_ducklake

            migrate_to_ducklake(self.layout)
        if cat.is_file:
            from warehouse.migrations import finish_migration

            finish_migration(self.layout)  # a migration killed after its catalog swap
        with self.connect() as con:
            con.execute("BEGIN")
            for table, schema in LAKE_SCHEMAS.items():
                name = f"_empty_{table}"
                con.register(name, schema.empty_table())
                try:
                    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM {name}")
                finally:
                    con.unregister(name)
            for ddl in OPS_DDL:
                con.execute(ddl)
            # the keys open() checks, in one query (each look-up in _meta costs ~5 ms of CPU)
            meta = dict(con.execute(
                "SELECT key, value FROM _meta WHERE list_contains(?, key)",
                [["schema_version", "created_at", "last_landing", ARCHIVE_PATHS_KEY]]).fetchall())
            found = int(meta["schema_version"]) if "schema_version" in meta else None
            if found is not None and found > SCHEMA_VERSION:
                con.execute("ROLLBACK")
                raise WarehouseError(
                    f"{cat.describe()} has schema version {found}, newer than this code's {SCHEMA_VERSION}: "
                    "upgrade corpus-pipeline"
                )
            if found != SCHEMA_VERSION:
                con.execute("DELETE FROM _meta WHERE key = 'schema_version'")
                con.execute("INSERT INTO _meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
                for name, sql in ANALYSIS_VIEWS.items():
                    con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
            if "created_at" not in meta:
                con.execute("INSERT INTO _meta VALUES ('created_at', ?)", [utcnow().isoformat()])
            if ARCHIVE_PATHS_KEY not in meta:
                self._backfill_archive_paths(con)
            if not cat.is_file and "last_landing" not in meta:
                # landings on a shared catalog conflict by deleting this row: it must exist before the first
                # one, or two first landings both delete nothing, both commit, and land the same article twice
                con.execute("INSERT INTO _meta VALUES ('last_landing', '')")
            self._mark_crashed(con, shared=not cat.is_file)
            self._commit_message(con, None, "open")
            con.execute("COMMIT")
            if found != SCHEMA_VERSION:
                self.lake_options(con)
        for tmp in self.layout.archive.rglob(".tmp-*"):
            tmp.unlink(missing_ok=True)
        self.remove_orphans()
        self.export_sql_views()

    def _backfill_archive_paths(self, con) -> int:
        """Once per home (noted in `_meta`): quarantine rows written before `archive_path` was filled get it
        from the archive by their content hash; rows whose bytes were never archived stay NULL."""
        shas = [r[0] for r in con.execute(
            "SELECT DISTINCT content_sha256 FROM quarantine WHERE archive_path IS NULL AND content_sha256 IS NOT NULL"
        ).fetchall()]
        paths = self.archive_paths(shas)
        if paths:
            con.register("_archive_paths", pa.table({"sha": list(paths), "path": list(paths.values())}))
            try:
                con.execute("UPDATE quarantine SET archive_path = p.path FROM _archive_paths p "
                            "WHERE quarantine.content_sha256 = p.sha AND quarantine.archive_path IS NULL")
            finally:
                con.unregister("_archive_paths")
        # DELETE + INSERT: two writers of a shared catalog doing this at once conflict, and one retries
        con.execute("DELETE FROM _meta WHERE key = ?", [ARCHIVE_PATHS_KEY])
        con.execute("INSERT INTO _meta VALUES (?, ?)", [ARCHIVE_PATHS_KEY, str(len(paths))])
        return len(paths)

    def _mark_crashed(self, con, shared: bool) -> None:
        """Mark `crashed` the runs still `running` whose process is gone. With the catalog file there is one
        writer per home, so every such run was killed; with a shared catalog, only those whose owner was a
        process of this host that no longer exists (see owner_is_gone)."""
        owners = dict(con.execute(
            "SELECT substr(key, ?), value FROM _meta WHERE starts_with(key, ?)",
            [len(RUN_OWNER) + 1, RUN_OWNER]).fetchall())
        running = [r[0] for r in con.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchall()]
        dead = [r for r in running if not shared or (r in owners and owner_is_gone(owners[r]))]
        ended = [r for r in owners if r not in running]  # e.g. a run of code from before owners were kept
        for run_id in dead:
            con.execute(
                "UPDATE runs SET status = 'crashed', finished_at = coalesce(finished_at, ?) "
                "WHERE run_id = ? AND status = 'running'",
                [utcnow(), run_id],
            )
        for run_id in dead + ended:
            if run_id in owners:
                _forget_owner(con, run_id)

    def lake_options(self, con) -> None:
        """The corpus tables always go to Parquet files (DuckLake would inline batches of <= 10 rows into the
        catalog); the small operational tables keep inlining."""
        for table in LAKE_SCHEMAS:
            con.execute(
                f"CALL {self.session.name}.set_option('data_inlining_row_limit', 0, table_name => '{table}')")

    def created_at(self) -> dt.datetime | None:
        with self.connect() as con:
            row = con.execute("SELECT value FROM _meta WHERE key = 'created_at'").fetchone()
        return _as_utc(dt.datetime.fromisoformat(row[0])) if row else None

    def remove_orphans(self) -> tuple[list[str], list[str]]:
        """Delete lake files no snapshot names that a killed run of this catalog left (DuckLake lists them).

        Only files written since this catalog exists, and with a shared catalog only ones older than
        ORPHAN_GRACE (another writer's transaction may be in flight). A file older than the catalog was
        not left by one of its runs: the catalog is new (the old one was moved aside or lost). Deleting
        such files once destroyed a whole lake; they are kept and returned with the deleted ones.
        """
        created = self.created_at()
        with self.connect() as con:
            n_known = sum(_file_count(con, self.session.name, t) for t in LAKE_SCHEMAS)
            if n_known == 0:  # an empty or new catalog names no file: it deletes none (issue 17 item 2)
                return [], []
            rows = con.execute(
                f"CALL ducklake_delete_orphaned_files('{self.session.name}', dry_run => true, cleanup_all => true)"
            ).fetchall()
        deleted: list[str] = []
        kept: list[str] = []
        now = utcnow()
        for (path,) in rows:
            p = Path(path)
            try:
                mtime = dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC)
            except FileNotFoundError:
                continue
            young = now - mtime < ORPHAN_GRACE
            if created is None or mtime < created - dt.timedelta(seconds=2) or (
                    young and not self.layout.catalog.is_file):
                kept.append(str(p))
                continue
            p.unlink(missing_ok=True)
            deleted.append(str(p))
        return deleted, kept

    # ---- reading what is known -------------------------------------------------------------
    def known_hashes(self, shas: Iterable[str], run_id: str) -> dict[str, str]:
        """Which of these content hashes the catalog knows, and how: "same_bytes" (landed as an article, or a
        document of run `run_id` held after reading or dropped as a same-text duplicate) or "held" (held in
        quarantine by another run, not resolved). Unknown hashes are left out.

        The ingest asks once per read batch, so its memory follows the batch, not every hash of the run
        or of the lake (issue 17: a set of all known hashes grew ~30 MB per 200,000 records)."""
        batch = pa.table({"content_sha256": pa.array(sorted(set(shas)), pa.string())})
        if not batch.num_rows:
            return {}
        with self.connect() as con:
            con.register("_shas", batch)
            try:
                rows = con.execute(
                    "SELECT content_sha256, max(how) FROM ("
                    " SELECT content_sha256, 2 AS how FROM articles SEMI JOIN _shas USING (content_sha256)"
                    " UNION ALL SELECT content_sha256, CASE WHEN run_id IS DISTINCT FROM $run THEN 1"
                    "  WHEN stage NOT IN ('discover', 'read', 'parse') THEN 2 END"
                    "  FROM quarantine SEMI JOIN _shas USING (content_sha256)"
                    "  WHERE resolved_at IS NULL OR run_id = $run"
                    " UNION ALL SELECT content_sha256, 2 FROM duplicates SEMI JOIN _shas USING (content_sha256)"
                    "  WHERE run_id = $run AND reason = 'same_text'"
                    ") WHERE how IS NOT NULL GROUP BY ALL",
                    {"run": run_id},
                ).fetchall()
            finally:
                con.unregister("_shas")
        return {sha: "same_bytes" if how == 2 else "held" for sha, how in rows}

    def known_article_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these article ids are landed (looked up per batch, not held for the whole lake)."""
        batch = pa.table({"article_id": pa.array(sorted(set(ids)), pa.string())})
        if not batch.num_rows:
            return set()
        with self.connect() as con:
            con.register("_ids", batch)
            try:
                rows = con.execute(
                    "SELECT DISTINCT article_id FROM articles SEMI JOIN _ids USING (article_id)").fetchall()
            finally:
                con.unregister("_ids")
        return {r[0] for r in rows}

    # ---- archive ---------------------------------------------------------------------------
    def index_archived(self, sha256: str, source_name: str) -> None:
        """Note an archived inbox file's name and format for archive/index.jsonl (once per hash); the line is
        written by the next `flush_archive`, with the batch's others in one write (an open and an append
        per file cost ~0.05 ms each in the flow's process, issue 20)."""
        from transforms.sources import file_kind

        if self._indexed is None:
            self._indexed = indexed_shas(self.layout.archive)
        if sha256 not in self._indexed:
            self._index_pending.append(index_line(sha256, source_name, file_kind(source_name)))
            self._indexed.add(sha256)

    def archive(self, data: bytes, sha256: str | None = None, durable: bool = True) -> tuple[str, Path]:
        return archive_bytes(self.layout.archive, data, sha256, durable)

    def flush_archive(self) -> None:
        """Write the index lines noted since the last call, then sync them and the archive files written with
        durable=False (before their batch is landed). Lines whose write failed stay noted for the next call."""
        if self._index_pending:
            append_index_lines(self.layout.archive, self._index_pending)
            self._index_pending = []
        archive_flush()

    def verify_archived(self, sha256: str) -> str | None:
        return archived_sha256(self.layout.archive, sha256)

    # ---- runs ------------------------------------------------------------------------------
    @_retry_conflicts
    def start_run(self, run_id: str, flow_run_name: str | None, inbox: str) -> None:
        with self.connect() as con:
            con.execute("BEGIN")
            con.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
            con.execute(
                "INSERT INTO runs (run_id, started_at, status, flow_run_name, inbox, "
                "n_seen, n_new, n_duplicate, n_quarantined) VALUES (?, ?, 'running', ?, ?, 0, 0, 0, 0)",
                [run_id, utcnow(), flow_run_name, inbox],
            )
            _forget_owner(con, run_id)
            con.execute("INSERT INTO _meta VALUES (?, ?)", [RUN_OWNER + run_id, run_owner()])
            self._commit_message(con, run_id, "run started")
            con.execute("COMMIT")

    def mark_terminated(self, run_id: str, wait_seconds: float = MARK_WAIT_SECONDS) -> None:
        """From a signal watcher: the run ends now (a bounded wait; the next writer marks it otherwise).

        The wait covers both the session (this process's main thread may hold it for the length of one
        landing, a DuckDB call a signal cannot cut short) and the catalog file; it is bounded so SIGTERM
        still ends the process within seconds (flows.guard.TERM_MARK_SECONDS is the guard's backstop). 2 s
        was too short for a landing on a busy machine: the marking gave up and the row stayed `running`.
        """
        deadline = time.monotonic() + wait_seconds
        if not self.session._lock.acquire(timeout=wait_seconds):  # one deadline for the session and the catalog
            raise WarehouseError("the catalog is in use by this process")
        try:
            with self.session.open(wait_seconds=max(0.0, deadline - time.monotonic()), lock_timeout=0) as con:
                con.execute(
                    "UPDATE runs SET status = 'terminated', finished_at = ?, error = 'terminated by SIGTERM' "
                    "WHERE run_id = ? AND status = 'running'",
                    [utcnow(), run_id],
                )
                _forget_owner(con, run_id)
        finally:
            self.session._lock.release()

    @_retry_conflicts
    def finish_run(
        self,
        run_id: str,
        counts: dict[str, int],
        status: str,
        error: str | None = None,
        stage_seconds: dict[str, float] | None = None,
    ) -> None:
        with self.connect() as con:
            con.execute("BEGIN")
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
            _forget_owner(con, run_id)
            self._commit_message(con, run_id, f"run {status}")
            con.execute("COMMIT")

    # ---- landing ---------------------------------------------------------------------------
    def _insert(self, con, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        name = f"_rows_{uuid.uuid4().hex[:8]}"
        con.register(name, data.cast(LAKE_SCHEMAS[table]) if table in LAKE_SCHEMAS else data)
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {name}")
        finally:
            con.unregister(name)

    @_retry_conflicts
    def land_batch(
        self,
        run_id: str,
        batch_no: int,
        tables: dict[str, pa.Table],
        quarantine: Sequence[dict[str, Any]] = (),
        validation: Sequence[dict[str, Any]] = (),
    ) -> int:
        """Land one batch as one DuckLake snapshot; returns the number of new articles (known ids are skipped)."""
        now = utcnow()
        articles = tables.get("articles")
        with self.connect() as con:
            con.execute("BEGIN")
            if articles is not None and articles.num_rows:
                con.register("_batch_ids", articles.select(["article_id"]))
                try:
                    known = [r[0] for r in con.execute(
                        "SELECT DISTINCT a.article_id FROM articles a SEMI JOIN _batch_ids b USING (article_id)"
                    ).fetchall()]
                finally:
                    con.unregister("_batch_ids")
                if known:
                    keep = pa.compute.invert(pa.compute.is_in(articles["article_id"], pa.array(known)))
                    tables = dict(tables)
                    tables["articles"] = articles = articles.filter(keep)
                    live = articles["article_id"].combine_chunks() if articles.num_rows else pa.array([], pa.string())
                    for child in CHILD_TABLES:
                        if child in tables:
                            tables[child] = tables[child].filter(pa.compute.is_in(tables[child]["article_id"], live))
            for table, data in tables.items():
                if table in LAKE_SCHEMAS:
                    self._insert(con, table, data)
            self._insert_quarantine(con, quarantine, run_id, now)
            if validation:
                self._insert(con, "validation_results", pa.table({
                    "run_id": pa.array([run_id] * len(validation), pa.string()),
                    "batch_no": pa.array([batch_no] * len(validation), pa.int32()),
                    "suite": pa.array([v["suite"] for v in validation], pa.string()),
                    "expectation": pa.array([v["expectation"] for v in validation], pa.string()),
                    "success": pa.array([bool(v["success"]) for v in validation], pa.bool_()),
                    "unexpected_count": pa.array([int(v["unexpected_count"]) for v in validation], pa.int64()),
                    "checked_at": pa.array([now] * len(validation), pa.timestamp("us", tz="UTC")),
                }))
            if not self.layout.catalog.is_file:
                # two writers landing at once both write this row: DuckLake refuses the second commit,
                # which is retried and then skips the ids the first one landed (no duplicate articles)
                con.execute("DELETE FROM _meta WHERE key = 'last_landing'")
                con.execute("INSERT INTO _meta VALUES ('last_landing', ?)", [f"{run_id}/{batch_no}"])
            self._commit_message(con, run_id, f"batch {batch_no}")
            self._before_commit(con)
            con.execute("COMMIT")
        return articles.num_rows if articles is not None else 0

    def _before_commit(self, con) -> None:
        """A hook for tests (a failure here must leave no rows and no visible files)."""

    @_retry_conflicts
    def record_quarantine(self, rows: Sequence[dict[str, Any]], run_id: str) -> None:
        """Quarantine rows that belong to no landing (e.g. unreadable files)."""
        if not rows:
            return
        with self.connect() as con:
            con.execute("BEGIN")
            self._insert_quarantine(con, rows, run_id, utcnow())
            self._commit_message(con, run_id, "quarantine")
            con.execute("COMMIT")

    @_retry_conflicts
    def record_duplicates(self, rows: Sequence[dict[str, Any]], run_id: str) -> None:
        """Note which source duplicated which article; a same-bytes row gets its article's id from `articles`."""
        if not rows:
            return
        with self.connect() as con:
            con.execute("BEGIN")
            data = pa.table({
                "run_id": pa.array([run_id] * len(rows), pa.string()),
                "source_name": pa.array([r.get("source_name") for r in rows], pa.string()),
                "content_sha256": pa.array([r.get("content_sha256") for r in rows], pa.string()),
                "article_id": pa.array([r.get("article_id") for r in rows], pa.string()),
                "reason": pa.array([r.get("reason") for r in rows], pa.string()),
                "seen_at": pa.array([utcnow()] * len(rows), pa.timestamp("us", tz="UTC")),
            })
            con.register("_dups", data)
            try:
                con.execute(
                    "INSERT INTO duplicates SELECT d.run_id, d.source_name, d.content_sha256, "
                    "coalesce(d.article_id, a.article_id), d.reason, d.seen_at FROM _dups d LEFT JOIN "
                    "(SELECT content_sha256, min(article_id) AS article_id FROM articles "
                    " WHERE content_sha256 IN (SELECT content_sha256 FROM _dups) GROUP BY ALL) a "
                    "ON d.article_id IS NULL AND d.content_sha256 = a.content_sha256"
                )
            finally:
                con.unregister("_dups")
            self._commit_message(con, run_id, "duplicates")
            con.execute("COMMIT")

    def archive_paths(self, shas: Iterable[str]) -> dict[str, str]:
        """{content sha: the archived file holding its raw bytes, as a path relative to the home}.

        `archive/ab/abcd…`, POSIX separators: it still resolves when the home is moved or mounted elsewhere
        (`HOME / archive_path`). A `.jsonl` record names its file's blob (the record's byte range in it is
        in archive/records.sqlite, by the record's hash). Hashes whose bytes are not archived are left out.
        """
        prefix = self.layout.archive.relative_to(self.layout.home).as_posix()  # the layout of `archive_path`
        return {sha: f"{prefix}/{blob[:2]}/{blob}" for sha, blob in blobs_holding(self.layout.archive, shas).items()}

    def _insert_quarantine(self, con, rows: Iterable[dict[str, Any]], run_id: str, now: dt.datetime) -> None:
        """Insert quarantine rows; each row whose raw bytes are archived gets their `archive_path` (relative
        to the home, see `archive_paths`); rows of never-read entries (a link leaving the inbox, a vanished
        or unreadable file) keep it NULL, and their detail says the entry was not read."""
        rows = list(rows)
        paths = self.archive_paths(r["content_sha256"] for r in rows
                                   if r.get("content_sha256") and not r.get("archive_path"))
        # one INSERT ... SELECT from an Arrow table: executemany cost ~1 ms a row (49,000 rows took 50 s)
        columns: dict[str, list[Any]] = {c: [] for c in QUARANTINE_COLUMNS}
        for r in rows:
            for c in QUARANTINE_COLUMNS:
                v = run_id if c == "run_id" else now if c == "quarantined_at" else r.get(c)
                if c == "archive_path" and v is None:
                    v = paths.get(r.get("content_sha256") or "")
                columns[c].append(v if v is None or c == "quarantined_at" else str(v))
        if not columns["stage"]:
            return
        table = pa.table(
            {c: pa.array(v, type=pa.timestamp("us", tz="UTC") if c == "quarantined_at" else pa.string())
             for c, v in columns.items()}
        )
        self._insert(con, "quarantine", table)

    @_retry_conflicts
    def resolve_quarantine(self, content_shas: Sequence[str], resolution: str) -> None:
        """Mark held items as dealt with (e.g. retried successfully)."""
        if not content_shas:
            return
        with self.connect() as con:
            con.execute("BEGIN")
            con.execute(
                "UPDATE quarantine SET resolved_at = ?, resolution = ? "
                "WHERE list_contains(?, content_sha256) AND resolved_at IS NULL",
                [utcnow(), resolution, list(content_shas)],
            )
            self._commit_message(con, None, "quarantine resolved")
            con.execute("COMMIT")

    @_retry_conflicts
    def sync_entities(self, entities: pa.Table, version: str) -> bool:
        """Replace the entities table when the gazetteer changed; returns True when it did."""
        with self.connect() as con:
            row = con.execute("SELECT count(*), min(gazetteer_version) FROM entities").fetchone()
            if row and row[0] == entities.num_rows and row[1] == version:
                return False
            con.execute("BEGIN")
            con.execute("DELETE FROM entities")
            self._insert(con, "entities", entities)
            self._commit_message(con, None, f"gazetteer {version}")
            con.execute("COMMIT")
        return True

    def iter_table(self, table: str, columns: Sequence[str], batch_rows: int = 2000) -> Iterator[pa.Table]:
        """Stream a lake table in Arrow batches (for re-processing the whole corpus)."""
        cols = ", ".join(columns)
        with self.connect() as con:
            # no ORDER BY: sorting the whole table (text included) would hold the corpus in memory
            reader = con.sql(f"SELECT {cols} FROM {table}").to_arrow_reader(batch_rows)
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
        """Replace whole lake tables with new content, in one DuckLake transaction (one snapshot).

        Each item of `batches` maps table names to full-schema Arrow tables; a table is emptied the first
        time it appears, then filled batch by batch (the batches may stream from iter_table: that reads
        the snapshot before this transaction). Killed half-way, nothing changes.
        """
        counts: dict[str, int] = {}
        with self.connect() as con:
            con.execute("BEGIN")
            for batch in batches:
                for table, data in batch.items():
                    if table not in counts:
                        con.execute(f"DELETE FROM {table}")
                        counts[table] = 0
                    self._insert(con, table, data)
                    counts[table] += data.num_rows
            self._commit_message(con, run_id, "rewrite " + ", ".join(sorted(counts)))
            con.execute("COMMIT")
        self.export_sql_views()
        try:  # the rewritten rows are out of date in the full-text index (the delta, or the base, takes them)
            self.refresh_search(force=True)
        except Exception:  # noqa: BLE001 - derived and rebuildable: a missing index is built by `corpus search`
            self.layout.search_db.unlink(missing_ok=True)
        return counts

    def file_counts(self) -> dict[str, int]:
        """How many data files each lake table reads now."""
        with self.connect() as con:
            return {t: _file_count(con, self.session.name, t) for t in ALL_TABLES}

    def live_file_count(self, table: str) -> int:
        """How many data files a table reads now."""
        with self.connect() as con:
            return _file_count(con, self.session.name, table)

    def compact(self, run_id: str, tables: Sequence[str] = ("articles", "mentions", "removed_spans"),
                rows_per_file: int = 20_000, keep_days: float | None = None) -> dict[str, tuple[int, int]]:
        """Merge small files (DuckLake's merge_adjacent_files), expire snapshots older than `keep_days`,
        and delete the files no kept snapshot needs once CLEANUP_GRACE has passed.

        Returns {table: (files before, files after)}. Snapshots are kept unless `keep_days` is given.
        """
        before = self.file_counts()
        name = self.session.name
        with self.connect() as con:
            con.execute(f"CALL ducklake_flush_inlined_data('{name}')")
            con.execute(f"CALL ducklake_merge_adjacent_files('{name}')")
            if keep_days is not None:
                cutoff = utcnow() - dt.timedelta(days=keep_days)
                con.execute(f"CALL ducklake_expire_snapshots('{name}', older_than => ?::TIMESTAMPTZ)", [cutoff])
            con.execute(f"CALL ducklake_cleanup_old_files('{name}', older_than => ?::TIMESTAMPTZ)",
                        [utcnow() - CLEANUP_GRACE])
        after = self.file_counts()
        self.export_sql_views()
        return {t: (before[t], after[t]) for t in tables if t in before}

    def export_sql_views(self) -> None:
        """Make the catalog file answer `SELECT ... FROM articles` for any DuckDB client, no extension needed.

        The contract (and ../shared/eval/score.py) opens corpus.duckdb and queries its tables directly. The
        catalog file is a DuckDB database, so beside DuckLake's own `ducklake_*` tables it gets, in one
        transaction: a view per corpus table over the Parquet files of the current snapshot (DuckLake never
        inlines those tables' rows, and never deletes part of their files), a copy of each small operational
        table, and the analysis views. This is a derived read-out, refreshed at the end of each run and by
        every writer opening the home (a moved home's paths are right again after its next run); `corpus sql`
        and everything else read the DuckLake itself.
        """
        if not self.layout.catalog.is_file:
            return
        name = self.session.name
        meta = f"__ducklake_metadata_{name}"
        with self.connect() as con:
            plans: list[tuple[str, str]] = []
            for table in ALL_TABLES:
                files = con.execute(
                    f"SELECT data_file, delete_file FROM ducklake_list_files('{name}', ?)", [table]).fetchall()
                if table in LAKE_SCHEMAS and files and not any(d for _, d in files):
                    paths = ", ".join(lk.sql_str(f) for f, _ in files)
                    plans.append((table, f"CREATE VIEW {meta}.main.{table} AS SELECT * FROM read_parquet([{paths}], "
                                         "union_by_name = true)"))
                else:
                    plans.append((table, f"CREATE TABLE {meta}.main.{table} AS SELECT * FROM {name}.main.{table}"))
            # DuckDB lists nothing of DuckLake's metadata database: drop whatever is there, view or table
            for obj in [*ANALYSIS_VIEWS, *(t for t, _ in plans)]:
                for kind in ("VIEW", "TABLE"):
                    with suppress(duckdb.CatalogException):
                        con.execute(f"DROP {kind} IF EXISTS {meta}.main.{obj}")
            con.execute("BEGIN")
            for _, sql in plans:
                con.execute(sql)
            con.execute(f"USE {meta}")
            for view, sql in ANALYSIS_VIEWS.items():
                con.execute(f"CREATE VIEW {meta}.main.{view} AS {sql}")
            con.execute("COMMIT")

    def refresh_search(self, force: bool = False) -> dict | None:
        """Bring the full-text index up to the current snapshot (see warehouse/search.py): the small delta
        index here, the base here when the corpus is small, else in a detached process. None when nothing
        asked for it (no `force` and an index exists), else what search.refresh did."""
        from warehouse import search

        if not force and self.layout.search_db.exists():
            return None
        with self.connect() as con:
            return search.refresh(self.layout, con, self.session.name)

    # ---- snapshots -------------------------------------------------------------------------
    def snapshots(self) -> list[tuple]:
        """(snapshot_id, snapshot_time, commit_message, run_id) of every kept snapshot."""
        with self.connect() as con:
            return _snapshot_rows(con, self.session.name)


def _file_count(con, lake: str, table: str) -> int:
    """How many data files `table` of the attached lake `lake` reads now."""
    return con.execute(f"SELECT count(*) FROM ducklake_list_files('{lake}', ?)", [table]).fetchone()[0]


def _snapshot_rows(con, name: str) -> list[tuple]:
    rows = con.execute(
        f"SELECT snapshot_id, snapshot_time, commit_message, commit_extra_info FROM {name}.snapshots() "
        "ORDER BY snapshot_id").fetchall()
    out = []
    for sid, when, msg, extra in rows:
        run = None
        if extra:
            try:
                run = json.loads(extra).get("run_id")
            except (ValueError, AttributeError):
                run = None
        out.append((sid, when, msg, run))
    return out
