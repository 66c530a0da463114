"""Schema migrations: one function per version step, applied in order inside the opening transaction."""

from __future__ import annotations

from collections.abc import Callable


def _v1_articles_gain_repairs(con) -> None:
    """1 -> 2: articles gain `repairs` (list of struct{kind, count}: the encoding repairs of the text).

    Lake files are read with union_by_name, so files written before have the column as null; the
    articles table's empty schema file is rewritten with the column so the view has it before any
    new file lands. Self-contained: it only appends the one field to the schema the home has."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    (db_path,) = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    path = Path(db_path).parent / "lake" / "articles" / "_schema.parquet"
    if not path.exists():
        return  # open() writes it with the current schema
    schema = pq.read_schema(path)
    if "repairs" in schema.names:
        return
    field = pa.field("repairs", pa.list_(pa.struct([("kind", pa.string()), ("count", pa.int32())])))
    tmp = path.with_name(f".tmp-v2-{path.name}")
    pq.write_table(schema.append(field).empty_table(), tmp)
    tmp.replace(path)


# MIGRATIONS[n] upgrades a warehouse from version n to n + 1.
MIGRATIONS: dict[int, Callable] = {1: _v1_articles_gain_repairs}


def migrate(con, found: int, target: int) -> None:
    """Upgrade the open database from `found` to `target`, or raise when a step is missing."""
    for version in range(found, target):
        step = MIGRATIONS.get(version)
        if step is None:
            from warehouse.store import WarehouseError

            raise WarehouseError(f"no migration from schema version {version} to {version + 1}")
        step(con)
