"""Landing alone: the cost of WarehouseWriter.land_batch per article, without cleaning, linking or GX.

usage: python bench/land_only.py --source HOME [--articles 20000] [--batch 2000]

Reads articles, mentions and removed spans from the Parquet files under SOURCE/lake (any layout, so
the same script measures the code before DuckLake too: run it with PYTHONPATH pointing at an older
checkout), cuts them into batches as the flow lands them, and lands every batch into a new temporary
home, timing land_batch only. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def _read(lake: Path, table: str, schema: pa.Schema) -> pa.Table:
    files = [p for p in lake.rglob("*.parquet")
             if f"/{table}/" in p.as_posix() and not p.name.startswith(("_", ".")) and "-delete" not in p.name]
    parts = [pq.read_table(f).select([n for n in schema.names if n in pq.read_schema(f).names]) for f in files]
    return pa.concat_tables([p.cast(pa.schema([schema.field(n) for n in p.schema.names])) for p in parts])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--articles", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=2000)
    a = ap.parse_args()
    from warehouse import Warehouse
    from warehouse.schema import LAKE_SCHEMAS

    lake = a.source / "lake"
    arts = _read(lake, "articles", LAKE_SCHEMAS["articles"]).slice(0, a.articles)
    ments = _read(lake, "mentions", LAKE_SCHEMAS["mentions"])
    spans = _read(lake, "removed_spans", LAKE_SCHEMAS["removed_spans"])
    batches = []
    for start in range(0, arts.num_rows, a.batch):
        b = arts.slice(start, a.batch)
        ids = b["article_id"]
        batches.append({"articles": b, "mentions": ments.filter(pc.is_in(ments["article_id"], ids)),
                        "removed_spans": spans.filter(pc.is_in(spans["article_id"], ids))})
    home = Path(tempfile.mkdtemp(prefix="land-only-"))
    seconds = 0.0
    with Warehouse(home).writer() as w:
        for no, tables in enumerate(batches):
            t = time.perf_counter()
            w.land_batch("bench-land", no, tables)
            seconds += time.perf_counter() - t
    n = arts.num_rows
    print(json.dumps({"articles": n, "mentions": sum(b["mentions"].num_rows for b in batches), "batch": a.batch,
                      "land_s": round(seconds, 2), "ms_per_article": round(1000 * seconds / n, 3),
                      "code": os.environ.get("PYTHONPATH") or "this checkout",
                      "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
