"""What `corpus sql`'s private snapshot of the catalog costs, beside querying corpus.duckdb directly.

    python bench/sql_snapshot.py --home corpus_data [--quarantine-rows 400000]

With --quarantine-rows N the home is first copied to a temporary folder and N quarantine rows are added
to the copy (the operational tables are what the snapshot copies; the lake is only read through views).
Prints the median of --repeat runs for: opening the snapshot, one query through it (check + sandbox),
and the same query on a plain read-only connection.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

QUERY = "select count(*), sum(length(clean_text)) from articles"


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", required=True)
    ap.add_argument("--quarantine-rows", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from warehouse import connect_readonly
    from warehouse.reader import Snapshot, run_query

    home = Path(args.home).resolve()
    tmp = None
    if args.quarantine_rows:
        from warehouse import Warehouse

        tmp = Path(tempfile.mkdtemp(prefix="sql-bench-"))
        shutil.copytree(home, tmp / "home")
        home = tmp / "home"
        with Warehouse(home).writer() as w, w.connect() as con:
            con.execute(
                "INSERT INTO quarantine (source_name, content_sha256, stage, reason, detail, run_id, quarantined_at) "
                "SELECT 'feed.jsonl#' || i, sha256(i::VARCHAR), 'parse', 'no_text', 'record ' || i || ' has no text', "
                f"'bench', now() FROM range({args.quarantine_rows}) t(i)"
            )
    try:
        ro = connect_readonly(home)
        counts = {t: ro.execute(f"select count(*) from {t}").fetchone()[0] for t in ("articles", "quarantine", "runs")}
        ro.close()

        def snapshot_only() -> None:
            Snapshot(home).close()

        def direct() -> None:
            c = connect_readonly(home)
            c.execute(QUERY).fetchall()
            c.close()

        t_snap = _median(snapshot_only, args.repeat)
        t_query = _median(lambda: run_query(QUERY, home), args.repeat)
        t_direct = _median(direct, args.repeat)
        print(f"home {args.home}: {counts}")
        print(f"snapshot (copy ops tables, re-create views, lock down): {t_snap * 1000:.0f} ms")
        print(f"corpus sql query through the snapshot:                 {t_query * 1000:.0f} ms")
        print(f"same query on a read-only connection to corpus.duckdb: {t_direct * 1000:.0f} ms")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
