"""Where memory grows with the number of records of one big .jsonl: tracemalloc and RSS per landed batch.

usage:
  python bench/jsonl_memory.py [--records 20000] [--batch 500] [--top 15] [--no-trace] [--trim] [--types]

Runs the real ingest flow in this process (Prefect's temporary server) over one .jsonl written by
bench/jsonl_stream.py's generator, takes a tracemalloc snapshot and the RSS after the first few batches
and after the last one, and prints the allocation sites that grew most in between (Python memory only:
DuckDB's and Arrow's native memory shows in the RSS, not in tracemalloc). Also glibc's own view of its
heap (mallinfo2: bytes in use, bytes free but kept) and Arrow's pool. `--no-trace` runs at full speed
(RSS and malloc figures only); `--trim` calls glibc's malloc_trim(0) after every landed batch; `--types`
counts live Python objects by type (gc, objgraph-style) after batch `--warm` and after the last.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")  # a busy machine
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="jsonl-mem-prefect-"))  # its own server state

from bench.jsonl_stream import write_jsonl


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--warm", type=int, default=4, help="batches before the first snapshot")
    ap.add_argument("--no-trace", action="store_true", help="no tracemalloc: RSS and malloc figures only")
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) after every landed batch")
    ap.add_argument("--types", action="store_true",
                    help="count live Python objects by type (gc) after batch --warm and after the last")
    args = ap.parse_args()
    import ctypes

    import pyarrow as pa

    libc = ctypes.CDLL("libc.so.6")

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc.mallinfo2.restype = MallInfo2

    def native() -> tuple[float, float, float]:
        m = libc.mallinfo2()
        return (m.uordblks + m.hblkhd) / 2**20, m.fordblks / 2**20, pa.total_allocated_bytes() / 2**20

    import psutil

    from flows.ops import run_ingest

    tmp = Path(tempfile.mkdtemp(prefix="jsonl-mem-"))
    inbox = tmp / "inbox"
    inbox.mkdir()
    size = write_jsonl(inbox / "feed.jsonl", args.records)
    last_batch = -(-args.records // args.batch)
    me = psutil.Process()
    seen = {"batches": 0, "first": None, "rss": [], "native": []}

    def hook(event: str, **fields) -> None:
        if event != "advance":
            return
        seen["batches"] += 1
        if args.trim:
            libc.malloc_trim(0)
        seen["rss"].append(me.memory_info().rss)
        seen["native"].append(native())
        if args.types and seen["batches"] in (args.warm, last_batch):
            import collections
            import gc

            gc.collect()
            seen.setdefault("types", []).append(collections.Counter(type(o).__name__ for o in gc.get_objects()))
        if seen["batches"] == args.warm and not args.no_trace:
            seen["first"] = (tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()[0])

    import threading

    peaks: dict[int, int] = {}  # batches landed so far -> peak RSS sampled every 0.1 s meanwhile
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            k = seen["batches"]
            peaks[k] = max(peaks.get(k, 0), me.memory_info().rss)
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    if not args.no_trace:
        tracemalloc.start(8)
    t0 = time.perf_counter()
    s = run_ingest(home=str(tmp / "home"), inbox=str(inbox), batch_size=args.batch, progress=hook)
    wall = time.perf_counter() - t0
    done.set()
    rss = seen["rss"]
    print(f"command: {' '.join(sys.argv)}")
    print(f"input: {args.records:,} records, {size / 2**20:.1f} MB, batch {args.batch}; wall {wall:.0f} s "
          f"({'no tracemalloc' if args.no_trace else 'under tracemalloc'}); {s['n_new']} new, "
          f"{s['n_quarantined']} quarantined")
    w, z = seen["native"][args.warm - 1], seen["native"][-1]
    print(f"malloc in use / free but kept / Arrow pool, MB: after batch {args.warm}: {w[0]:.0f} / {w[1]:.0f} / "
          f"{w[2]:.0f}; after the last: {z[0]:.0f} / {z[1]:.0f} / {z[2]:.0f}")
    print("RSS per batch, MB:", " ".join(f"{r / 2**20:.0f}" for r in rss))
    top = max(peaks, key=peaks.get)
    where = "after the last batch landed (data docs, compaction, run summary)" if top == len(rss) else \
        f"while batch {top + 1} was read, validated or landed"
    print(f"peak RSS sampled every 0.1 s: {peaks[top] / 2**20:.0f} MB, {where}; peak while the batches ran: "
          f"{max(v for k, v in peaks.items() if k < len(rss)) / 2**20:.0f} MB; after the last batch: "
          f"{peaks.get(len(rss), 0) / 2**20:.0f} MB")
    if args.types and len(seen.get("types", [])) == 2:
        early, late = seen["types"]
        grew = sorted(((late[k] - early.get(k, 0), k) for k in late), reverse=True)[: args.top]
        print(f"live objects (gc) after batch {args.warm}: {sum(early.values()):,}; after the last: "
              f"{sum(late.values()):,}; most grown types:", ", ".join(f"{k} {d:+,}" for d, k in grew))
    if args.no_trace:
        print(f"RSS after batch {args.warm}: {rss[args.warm - 1] / 2**20:.0f} MB; after the last: "
              f"{rss[-1] / 2**20:.0f} MB; peak sampled: {max(rss) / 2**20:.0f} MB")
        return 0
    last, traced = tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    first, traced_first = seen["first"]
    print(f"traced Python memory after batch {args.warm}: {traced_first / 2**20:.1f} MB; "
          f"after the last ({seen['batches']}): {traced / 2**20:.1f} MB")
    print(f"RSS after batch {args.warm}: {rss[args.warm - 1] / 2**20:.0f} MB; after the last: "
          f"{rss[-1] / 2**20:.0f} MB; peak sampled: {max(rss) / 2**20:.0f} MB")
    filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
    diff = last.filter_traces(filters).compare_to(first.filter_traces(filters), "traceback")
    print(f"top {args.top} growth sites (size diff, count diff, innermost frames):")
    for stat in diff[: args.top]:
        frames = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback[:4])
        print(f"  {stat.size_diff / 2**20:+8.2f} MB {stat.count_diff:+8d}  {frames}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
