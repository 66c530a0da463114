"""Schema migrations.

Versions 1-3 were the home-made lake: native tables in corpus.duckdb, Parquet files under
`lake/<table>/ingest_date=.../` and a `_lake_files` manifest naming the live ones (version 2 added
`mentions.field`, version 3 `articles.repairs`). Version 4 is a DuckLake. `migrate_to_ducklake`
turns any 1-3 home into a version-4 one, on the first writer run or by `corpus migrate`:

1. a new DuckLake catalog is built beside the old one (`corpus.duckdb.migrating`), with every live
   row of every table (columns an older version lacked are filled as that version's data means:
   `mentions.field = 'body'`, `articles.repairs` null);
2. the old catalog is copied to `HOME/replaced-v<N>-<time>/` and the new one renamed over it (atomic);
3. the old lake folders (`lake/articles/`, ...) are moved into the same folder.

Killed before 2, the old home is untouched and the next writer starts again; killed after 2, the next
writer finds old lake folders beside a version-4 catalog and finishes step 3. Nothing is deleted.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from warehouse import lake as lk
from warehouse.paths import HomeLayout
from warehouse.schema import LAKE_SCHEMAS, OPS_TABLES

OLD_TABLE_DIRS = tuple(LAKE_SCHEMAS)  # lake/<table>/ was the old layout; DuckLake writes lake/main/<table>/
OLD_SCHEMA_FILE = "_schema.parquet"


def _unreadable_storage(exc: BaseException) -> bool:
    text = str(exc)
    return "version number" in text and "newer version of DuckDB" in text or "created with an newer" in text


def _old_version(con) -> int:
    row = con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 1


def migrate_to_ducklake(layout: HomeLayout) -> dict[str, int]:
    """Convert a pre-DuckLake home (schema 1-3) in place; returns the rows copied per table."""
    from warehouse.store import WarehouseWriter, _plain_connect

    db = layout.db
    new = db.with_name(db.name + ".migrating")
    for p in (new, Path(str(new) + ".wal")):
        p.unlink(missing_ok=True)
    try:
        old = _plain_connect(db, read_only=True)
    except Exception as exc:
        if not _unreadable_storage(exc.__cause__ or exc):
            raise
        old = None
    if old is not None:
        try:
            version = _old_version(old)
            live: dict[str, list[str]] = {t: [] for t in LAKE_SCHEMAS}
            for table, rel in old.execute(
                "SELECT table_name, rel_path FROM _lake_files WHERE retired_at IS NULL ORDER BY added_at, rel_path"
            ).fetchall():
                if (layout.lake / rel).is_file():
                    live.setdefault(table, []).append(str(layout.lake / rel))
            names = {r[0] for r in old.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            ops = {t: old.sql(f'SELECT * FROM "{t}"').to_arrow_table() for t in OPS_TABLES if t in names}
            origin = str(version)
        finally:
            old.close()
    else:
        # DuckDB 2.0 wrote the catalog and DuckDB 1.5.5 (the version the DuckLake extension needs) cannot open
        # it. The lake's own Parquet files hold every article, mention and span: all of them are read (a
        # killed run's uncommitted files add nothing new: rows are de-duplicated below); the operational
        # tables (runs, quarantine, ...) stay in the old catalog, kept aside. `corpus rebuild` re-derives
        # quarantine from the archive if needed.
        version, ops, origin = 0, {}, "duckdb-2.0 catalog (read from the lake files)"
        live = {t: [str(p) for p in sorted((layout.lake / t).rglob("*.parquet"))
                    if p.name != OLD_SCHEMA_FILE and not p.name.startswith(".")] for t in LAKE_SCHEMAS}
        if live.get("entities"):  # one gazetteer version: the newest file (the next run syncs it anyway)
            live["entities"] = [max(live["entities"], key=lambda f: os.stat(f).st_mtime)]
    writer = WarehouseWriter(HomeLayout(layout.home))
    counts: dict[str, int] = {}
    # build the new catalog under its temporary name
    cat = lk.Catalog("duckdb", str(new), layout.lake)
    writer.session.cat = cat
    with writer.connect() as con:
        con.execute("BEGIN")
        for table, schema in LAKE_SCHEMAS.items():
            con.register("_empty", schema.empty_table())
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _empty")
            con.unregister("_empty")
        from warehouse.schema import OPS_DDL

        for ddl in OPS_DDL:
            con.execute(ddl)
        con.execute("COMMIT")
        writer.lake_options(con)
        con.execute("BEGIN")
        for table, files in live.items():
            if not files:
                counts[table] = 0
                continue
            src = ("SELECT * FROM read_parquet([" + ", ".join(lk.sql_str(f) for f in files)
                   + "], union_by_name = true, hive_partitioning = false)")
            cols = LAKE_SCHEMAS[table].names
            have = {r[0] for r in con.execute(f"DESCRIBE {src}").fetchall()}
            select = ", ".join(
                c if c in have else ("'body' AS field" if (table, c) == ("mentions", "field") else f"NULL AS {c}")
                for c in cols)
            if table == "mentions" and "field" in have:
                select = select.replace("field", "coalesce(field, 'body') AS field", 1)
            if table == "articles":  # one row per article id, whichever file holds it
                src = f"SELECT * FROM ({src}) QUALIFY row_number() OVER (PARTITION BY article_id) = 1"
            elif table in ("mentions", "removed_spans"):
                src = f"SELECT DISTINCT * FROM ({src}) WHERE article_id IN (SELECT article_id FROM articles)"
            con.execute(f"INSERT INTO {table} BY NAME SELECT {select} FROM ({src})")
            counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table, data in ops.items():
            if table == "_meta":  # the new catalog has its own version and creation time
                data = data.filter(pc.invert(pc.is_in(data["key"], pa.array(["schema_version", "created_at"]))))
            if data.num_rows:
                con.register("_ops", data)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _ops")
                con.unregister("_ops")
            counts[table] = data.num_rows
        con.execute("INSERT INTO _meta VALUES ('migrated_from', ?)", [origin])
        writer._commit_message(con, None, f"migrated from schema version {version}")
        con.execute("COMMIT")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    aside = layout.home / f"replaced-{f'v{version}' if version else 'pre-ducklake'}-{stamp}"
    aside.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, aside / db.name)
    wal = Path(str(db) + ".wal")
    if wal.exists():
        shutil.copyfile(wal, aside / wal.name)
    with open(aside / db.name, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(new, db)
    wal.unlink(missing_ok=True)
    finish_migration(layout, aside)
    return counts


def finish_migration(layout: HomeLayout, aside: Path | None = None) -> list[str]:
    """Move the old layout's lake folders (lake/<table>/) out of a DuckLake home's data path."""
    moved: list[str] = []
    for table in OLD_TABLE_DIRS:
        src = layout.lake / table
        if not src.is_dir():
            continue
        if aside is None:
            aside = layout.home / f"replaced-old-lake-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}"
        dest = aside / "lake" / table
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        moved.append(table)
    return moved
