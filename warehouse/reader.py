"""Sandboxed, read-only SQL on a private copy of the lake's catalog (`corpus sql`).

A query never runs on the catalog itself. The reader opens the catalog file read-only for the few
milliseconds it takes to copy it (it is small: DuckLake keeps the data in Parquet files), attaches the
copy read-only as a DuckLake over the home's `lake/` folder, and deletes the copy (the open file stays
readable). A query running for minutes never holds a lock a writer needs (issue 17, item 5): the data
files a snapshot names are never changed, and files of expired snapshots stay for a grace period.
`--as-of` attaches the copy at an older snapshot (time travel).

The in-memory database is then locked down with DuckDB's own sandbox: `allowed_directories` is the
lake folder, `enable_external_access = false` forbids every other file, directory, extension and
network access, and `lock_configuration = true` stops a query from undoing that. On top, each query is
parsed by DuckDB itself and must be exactly one SELECT (or EXPLAIN of one; DESCRIBE, SHOW, SUMMARIZE and
WITH ... SELECT parse as SELECT), whose tables are the corpus's own tables and views and whose table
functions are on a short allow-list: lake files are readable only through the tables.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from warehouse import lake as lk
from warehouse.paths import HomeLayout, resolve_home
from warehouse.store import WarehouseError, _corrupt, _first_line, _is_lock_error, _plain_connect, _sql_str

DEFAULT_TIMEOUT = 300.0

# Table functions a query may call: generators and catalog listings. No file reader (read_parquet,
# read_csv, read_text, read_blob, glob, query, ...) is here: lake files are read through the views only.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range", "generate_series", "unnest", "json_each", "json_tree",
        "duckdb_tables", "duckdb_views", "duckdb_columns", "duckdb_constraints", "duckdb_functions",
        "duckdb_types", "duckdb_schemas", "duckdb_databases", "duckdb_keywords", "duckdb_indexes",
        "pragma_table_info", "pragma_show", "information_schema",
    }
)
_EXPLAIN = re.compile(r"^\s*explain(\s+analyze)?\s+", re.IGNORECASE)
_WHY = {
    "COPY": "COPY writes files",
    "EXPORT": "EXPORT DATABASE writes files",
    "ATTACH": "ATTACH opens another database",
    "DETACH": "DETACH changes the catalog",
    "LOAD": "INSTALL and LOAD add extensions",
    "SET": "SET changes settings",
    "VARIABLE_SET": "SET changes settings",
    "PRAGMA": "PRAGMA changes settings",
    "CALL": "CALL runs a procedure",
    "INSERT": "INSERT writes data",
    "UPDATE": "UPDATE writes data",
    "DELETE": "DELETE writes data",
    "CREATE": "CREATE changes the catalog",
    "DROP": "DROP changes the catalog",
    "ALTER": "ALTER changes the catalog",
}


class RefusedQuery(WarehouseError):
    """A statement `corpus sql` does not run (the message says why); the CLI exits 2."""

    exit_code = 2


class QueryTimeout(WarehouseError):
    """The query ran past its time limit and was interrupted; the CLI exits 124."""

    exit_code = 124


def check_statement(con: duckdb.DuckDBPyConnection, sql: str, relations: set[str]) -> str:
    """The one statement of `sql` when it is a read-only query on `relations`; else RefusedQuery."""
    if not sql.strip():
        raise RefusedQuery("the query is empty")
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise RefusedQuery(f"SQL error: {_first_line(exc)}") from None
    if not statements:
        raise RefusedQuery("the query holds no statement (only comments?)")
    if len(statements) > 1:
        raise RefusedQuery(f"one statement at a time: this holds {len(statements)}")
    stmt = statements[0]
    kind = stmt.type.name
    body = stmt.query
    if kind == "EXPLAIN":
        body = _EXPLAIN.sub("", body, count=1)
        inner = con.extract_statements(body) if body.strip() else []
        if len(inner) != 1 or inner[0].type.name != "SELECT":
            raise RefusedQuery("EXPLAIN is allowed on a SELECT only")
    elif kind != "SELECT":
        why = _WHY.get(kind, f"{kind} is not a query")
        raise RefusedQuery(f"read-only SQL: {why}; only one SELECT (or WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) runs")
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [body]).fetchone()[0])
    if tree.get("error"):
        raise RefusedQuery(f"SQL error: {tree.get('error_message', 'cannot parse the query')}")
    ctes: set[str] = set()
    _collect_ctes(tree, ctes)
    known = {r.lower() for r in relations} | ctes
    _check_node(tree, known)
    return stmt.query


def _collect_ctes(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for item in cte_map.get("map", []):
                if isinstance(item, dict) and "key" in item:
                    out.add(str(item["key"]).lower())
        for v in node.values():
            _collect_ctes(v, out)
    elif isinstance(node, list):
        for v in node:
            _collect_ctes(v, out)


def _check_node(node: Any, known: set[str]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            name = str(fn.get("function_name", "")).lower()
            if name not in ALLOWED_TABLE_FUNCTIONS:
                raise RefusedQuery(
                    f"read-only SQL: the table function {name}() is not allowed; "
                    "read the corpus through its tables and views"
                )
        elif kind == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            schema = str(node.get("schema_name", "")).lower()
            catalog = str(node.get("catalog_name", "")).lower()
            if catalog not in ("", "memory", "system", "temp", lk.LAKE):
                raise RefusedQuery(f"read-only SQL: no other database ({catalog}) is reachable")
            if schema in ("information_schema", "pg_catalog"):
                pass
            elif name.lower() not in known and any(c in name for c in "/\\:.*?~"):
                # a quoted path is a file to DuckDB (a replacement scan); an unknown plain name is left to
                # DuckDB, whose catalog error suggests the right table
                raise RefusedQuery(
                    f"read-only SQL: {name!r} is not a table of the corpus; files are read through the "
                    "corpus's tables and views only"
                )
        for v in node.values():
            _check_node(v, known)
    elif isinstance(node, list):
        for v in node:
            _check_node(v, known)


def open_lake_copy(layout: HomeLayout, wait_seconds: float = 30.0, as_of: int | None = None,
                   con: duckdb.DuckDBPyConnection | None = None) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """An in-memory DuckDB with the home's lake attached read-only (as `lake`, the default catalog) from a
    private copy of the catalog file; returns it and the temporary folder it may use."""
    cat = layout.catalog
    tmp = Path(tempfile.mkdtemp(prefix="corpus-sql-"))
    con = con if con is not None else duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        lk.load(con, "ducklake")
        if cat.is_file:
            if not cat.path.exists():
                raise WarehouseError(f"no warehouse at {cat.path}: run `corpus ingest` first")
            copy = tmp / "catalog.duckdb"
            src = _plain_connect(cat.path, read_only=True, wait_seconds=wait_seconds)
            try:  # while it is open read-only no writer can change it: the copy is consistent
                shutil.copyfile(cat.path, copy)
                wal = Path(str(cat.path) + ".wal")
                if wal.exists():
                    shutil.copyfile(wal, Path(str(copy) + ".wal"))
            finally:
                src.close()
            target = str(copy)
        else:
            target = None
            lk.load(con, "postgres")
        try:
            con.execute(lk.attach_sql(cat, read_only=True, target=target, snapshot=as_of))
        except duckdb.Error as exc:
            if as_of is not None and "snapshot" in str(exc).lower():
                raise WarehouseError(f"no snapshot {as_of} in this corpus (expired by `corpus compact`?)") from None
            if _is_lock_error(exc):
                raise WarehouseError(f"cannot open {cat.describe()}: {_first_line(exc)}") from None
            raise _corrupt(cat.describe(), exc) from None
        if cat.is_file:
            for p in tmp.glob("catalog.duckdb*"):
                p.unlink(missing_ok=True)  # DuckDB keeps it open; nothing is left behind
        con.execute(f"USE {lk.LAKE}")
    except BaseException:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return con, tmp


def resolve_as_of(layout: HomeLayout, as_of: str | None) -> int | None:
    """A run id or a timestamp -> the snapshot id the corpus stood at after it (None: the latest)."""
    if as_of is None:
        return None
    import datetime as dt

    con, tmp = open_lake_copy(layout)
    try:
        from warehouse.store import _snapshot_rows

        rows = _snapshot_rows(con, lk.LAKE)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    mine = [sid for sid, _, _, run in rows if run == as_of]
    if mine:
        return max(mine)
    try:
        when = dt.datetime.fromisoformat(as_of)
    except ValueError:
        raise RefusedQuery(
            f"--as-of {as_of!r} is neither a run id (see `corpus runs`) nor a timestamp (2026-01-31T12:00)"
        ) from None
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when
    before = [sid for sid, t, _, _ in rows if t <= when]
    if not before:
        raise RefusedQuery(f"the corpus has no snapshot before {as_of}")
    return max(before)


class Snapshot:
    """An in-memory, sandboxed DuckDB with the lake attached read-only from a private copy of the catalog."""

    def __init__(self, home: str | os.PathLike[str] | None = None, wait_seconds: float = 30.0,
                 as_of: str | None = None):
        self.layout = HomeLayout(resolve_home(home))
        snap = resolve_as_of(self.layout, as_of)
        self.con, self._tmp = open_lake_copy(self.layout, wait_seconds=wait_seconds, as_of=snap)
        try:
            self.relations = {
                r[0] for r in self.con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ? UNION "
                    "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal",
                    [lk.LAKE, lk.LAKE]).fetchall()}
            self.allowed = self._data_files(snap)
            self._lock_down()
        except BaseException:
            self.close()
            raise

    def _data_files(self, snap: int | None) -> list[str]:
        """Every data and delete file the attached snapshot reads: the only files a query may open."""
        files: set[str] = set()
        extra = f", snapshot_version => {int(snap)}" if snap is not None else ""
        for (table,) in self.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [lk.LAKE]).fetchall():
            sql = f"SELECT data_file, delete_file FROM ducklake_list_files('{lk.LAKE}', ?{extra})"
            for data, delete in self.con.execute(sql, [table]).fetchall():
                files.add(data)
                if delete:
                    files.add(delete)
        return sorted(files)

    def _lock_down(self) -> None:
        con = self.con
        con.execute("SET enable_progress_bar = false")  # DuckDB would draw its own bar on the output
        con.execute(f"SET temp_directory = {_sql_str(str(self._tmp))}")
        con.execute("SET python_enable_replacements = false")  # no Python variable is a table either
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET allowed_paths = [" + ", ".join(_sql_str(p) for p in self.allowed) + "]")
        con.execute("SET allowed_directories = []")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def query(self, sql: str, timeout: float | None = DEFAULT_TIMEOUT) -> tuple[list[str], list[tuple]]:
        """Check and run one read-only statement; returns (column names, rows).

        The statement runs in a worker thread while this thread waits in short steps, so that Ctrl-C
        (KeyboardInterrupt) and the time limit are noticed at once and end the query with
        `con.interrupt()`, whatever DuckDB is doing.
        """
        stmt = check_statement(self.con, sql, self.relations)
        box: dict[str, Any] = {}
        # an Event, not Thread.join(): a join cut short by KeyboardInterrupt can mark a running thread as ended
        done = threading.Event()

        def work() -> None:
            try:
                cur = self.con.execute(stmt)
                box["result"] = ([], []) if cur.description is None else (
                    [d[0] for d in cur.description], cur.fetchall())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                box["error"] = exc
            finally:
                done.set()

        deadline = time.monotonic() + timeout if timeout and timeout > 0 else None
        threading.Thread(target=work, name="corpus-sql", daemon=True).start()
        try:
            while not done.wait(0.05):
                if deadline is not None and time.monotonic() > deadline:
                    self._stop(done)
                    raise QueryTimeout(f"the query ran past its {timeout:g}s limit and was stopped (--timeout)")
        except KeyboardInterrupt:
            self._stop(done)
            raise
        exc = box.get("error")
        if exc is None:
            return box["result"]
        if isinstance(exc, KeyboardInterrupt) or (
            isinstance(exc, (RuntimeError, duckdb.InterruptException)) and "interrupt" in str(exc).lower()
        ):
            raise KeyboardInterrupt  # DuckDB's own SIGINT handler ended the query
        if isinstance(exc, duckdb.Error):
            raise RefusedQuery(f"SQL error: {_first_line(exc)}") from None
        raise exc

    def _stop(self, done: threading.Event) -> None:
        """Interrupt the running statement until its thread has ended (an early interrupt can be missed)."""
        while not done.is_set():
            self.con.interrupt()
            done.wait(0.2)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)


@contextmanager
def snapshot(home: str | os.PathLike[str] | None = None, as_of: str | None = None) -> Iterator[Snapshot]:
    snap = Snapshot(home, as_of=as_of)
    try:
        yield snap
    finally:
        snap.close()


def run_query(sql: str, home: str | os.PathLike[str] | None = None,
              timeout: float | None = DEFAULT_TIMEOUT, as_of: str | None = None) -> tuple[list[str], list[tuple]]:
    """One sandboxed read-only query on a copy of the home's catalog (at `as_of`: a run id or a time)."""
    if not sql.strip():
        raise RefusedQuery("the query is empty")
    with snapshot(home, as_of=as_of) as snap:
        return snap.query(sql, timeout)
