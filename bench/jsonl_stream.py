"""One big .jsonl of tiny records through the real `corpus ingest`: wall time, peak memory, archive files.

usage:
  python bench/jsonl_stream.py [--records 200000] [--batch 1000] [--home DIR] [--code DIR]

Writes a .jsonl of `--records` records (every 50th a real article of ~400 characters, the rest tiny
records that validation holds), ingests it with `corpus ingest --inbox` in a child process (its own
Prefect temporary server) and samples the resident memory of the whole process tree every 0.2 s.
`--code DIR` runs another checkout's code (PYTHONPATH), e.g. the code before a change.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
FILLER = (
    "The harbour council met on Tuesday evening to discuss the repair of the old stone pier, which the "
    "winter storms damaged twice. Residents asked for a clear timetable and for a budget the town can "
    "afford, and the council promised both before the spring fair opens on the green."
)


def write_jsonl(path: Path, n: int) -> int:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            if i % 50 == 0:
                rec = {"title": f"Report {i}", "text": f"Report number {i}. {FILLER} {FILLER}"}
            else:
                rec = {"text": f"tiny record {i}"}
            fh.write(json.dumps(rec) + "\n")
    return path.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--home")
    ap.add_argument("--code", help="checkout whose code to run (default: this one)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jsonl-bench-"))
    home = Path(args.home) if args.home else tmp / "home"
    inbox = tmp / "inbox"
    inbox.mkdir()
    size = write_jsonl(inbox / "feed.jsonl", args.records)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", GX_ANALYTICS_ENABLED="false",
               PREFECT_HOME=str(tmp / "prefect"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    if args.code:
        env["PYTHONPATH"] = str(Path(args.code).resolve())
    cmd = [str(Path(sys.executable).parent / "corpus"), "ingest", "--home", str(home), "--inbox", str(inbox),
           "--batch-size", str(args.batch), "--json"]
    t0 = time.perf_counter()
    err_path = tmp / "stderr.log"
    err_fh = open(err_path, "w")  # noqa: SIM115 - the child writes to it for the whole run; closed below
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err_fh, text=True)
    ps = psutil.Process(proc.pid)
    peak, peak_at, curve = 0, 0.0, []  # curve: (seconds in, RSS) every 0.2 s
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):  # ended between poll() and here
            # the CLI process itself (not its worker processes, nor Prefect's temporary server)
            rss = ps.memory_info().rss
            curve.append((time.perf_counter() - t0, rss))
            if rss > peak:
                peak, peak_at = rss, curve[-1][0]
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    out = proc.stdout.read()
    archive_files = sum(1 for p in (home / "archive").rglob("*") if p.is_file() and p.name != "index.jsonl")
    blobs = sum(1 for p in (home / "archive").glob("??/*") if p.is_file() and not p.name.startswith("."))
    summary = {}
    with contextlib.suppress(ValueError):  # no JSON summary: the run failed, its exit code is printed
        summary = json.loads(out[out.index("{"):])
    print(f"command: {' '.join(sys.argv)}")
    print(f"input: {args.records:,} records, {size / 2**20:.1f} MB, batch {args.batch}")
    print(f"exit {proc.returncode}, wall {wall:.1f} s, peak RSS of the CLI process {peak / 2**20:.0f} MB "
          f"({peak / size:.0f}x the file)")
    tenths = [max((r for t, r in curve if i * wall / 10 <= t < (i + 1) * wall / 10), default=0) for i in range(10)]
    print(f"peak at {peak_at:.0f} s of {wall:.0f} s; highest RSS in each tenth of the run, MB:",
          " ".join(f"{r / 2**20:.0f}" for r in tenths))
    print(f"archive files: {archive_files:,} ({blobs:,} blob(s); the rest: archive/records.sqlite, the locators)")
    print("summary:", {k: summary.get(k) for k in ("n_seen", "n_new", "n_duplicate", "n_quarantined")})
    print("seconds per stage:", summary.get("stage_seconds"))
    if proc.returncode:
        print("stderr (end):", err_path.read_text()[-3000:])
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
