"""Schema migrations: one function per version step, applied in order inside the opening transaction.

A step gets the open connection and the home's layout. Steps that rewrite lake files must be
idempotent: files are replaced one by one (write, fsync, rename), so a step killed half-way is
simply run again by the next writer, whose transaction still sees the old version.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.paths import HomeLayout


def _mentions_field(con, layout: HomeLayout) -> None:
    """1 -> 2: `mentions` gains `field`; every stored mention is a body mention (version 1 linked clean_text only)."""
    from warehouse.store import WarehouseWriter

    for path in sorted((layout.lake / "mentions").rglob("*.parquet")):
        if path.name.startswith(".tmp-") or "field" in pq.read_schema(path).names:
            continue  # a killed writer's leftover, or a file this step already rewrote
        table = pq.ParquetFile(path).read()
        table = table.append_column("field", pa.array(["body"] * table.num_rows, pa.string()))
        WarehouseWriter._write_parquet(table, path)


def _articles_gain_repairs(con, layout: HomeLayout) -> None:
    """2 -> 3: articles gain `repairs` (list of struct{kind, count}: the encoding repairs of the text).

    Lake files are read with union_by_name, so files written before have the column as null; the
    articles table's empty schema file is rewritten with the column so the view has it before any
    new file lands. Self-contained: it only appends the one field to the schema the home has."""
    path = layout.lake / "articles" / "_schema.parquet"
    if not path.exists():
        return  # open() writes it with the current schema
    schema = pq.read_schema(path)
    if "repairs" in schema.names:
        return
    field = pa.field("repairs", pa.list_(pa.struct([("kind", pa.string()), ("count", pa.int32())])))
    tmp = path.with_name(f".tmp-v3-{path.name}")
    pq.write_table(schema.append(field).empty_table(), tmp)
    tmp.replace(path)


# MIGRATIONS[n] upgrades a warehouse from version n to n + 1.
MIGRATIONS: dict[int, Callable[..., None]] = {1: _mentions_field, 2: _articles_gain_repairs}


def migrate(con, found: int, target: int, layout: HomeLayout) -> None:
    """Upgrade the open database (and its lake) from `found` to `target`, or raise when a step is missing."""
    for version in range(found, target):
        step = MIGRATIONS.get(version)
        if step is None:
            from warehouse.store import WarehouseError

            raise WarehouseError(f"no migration from schema version {version} to {version + 1}")
        step(con, layout)
