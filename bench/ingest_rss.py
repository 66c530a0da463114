"""The flow's own process over a run: its RSS after each landed batch (does it hold whole-run state?).

usage: python bench/ingest_rss.py --corpus DIR [--n 6000] [--runner process|thread]

Runs `corpus ingest`'s library call (flows.ops.run_ingest) in this process on the first N files of DIR
(hard-linked into a temporary inbox, fresh temporary home) and prints one line per landed batch: seconds,
articles landed, RSS of this process and glibc's in-use heap; then one JSON line. A process that keeps
every batch's rows grows with N; one that frees them stays flat after the first batches.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def _heap_in_use_mb() -> float | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        return libc.mallinfo2().uordblks / 1e6
    except (OSError, AttributeError):
        return None


def main() -> int:
    import psutil

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--runner", choices=["thread", "process"])
    a = ap.parse_args()
    from flows import ops

    work = Path(tempfile.mkdtemp(prefix="ingest-rss-"))
    inbox, home = work / "inbox", work / "home"
    inbox.mkdir()
    for e in sorted(os.scandir(a.corpus), key=lambda e: e.name)[: a.n]:
        os.link(e.path, inbox / e.name)
    me, t0, rows = psutil.Process(), time.perf_counter(), []

    def progress(event: str, **fields) -> None:
        if event == "advance":
            rows.append({"s": round(time.perf_counter() - t0, 1), "landed": fields.get("new"),
                         "rss_mb": round(me.memory_info().rss / 1e6), "heap_mb": _heap_in_use_mb()})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    try:
        summary = ops.run_ingest(home=str(home), inbox=str(inbox), runner=a.runner, progress=progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rss = [r["rss_mb"] for r in rows]
    print(json.dumps({"articles": summary["n_new"], "runner": summary["runner"]["name"],
                      "rss_mb_first_batch": rss[0] if rss else None, "rss_mb_last_batch": rss[-1] if rss else None,
                      "rss_mb_max": max(rss, default=None), "stage_s": summary["stage_seconds"],
                      "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
