"""Crash test: kill -9 `corpus ingest` at random moments, rerun, compare every count with a clean run.

usage: python bench/crash_trials.py [--trials 20] [--copies 10] [--max-delay 12] [--seed 7]

One temporary Prefect server serves all runs (so each run costs what a scheduled run costs).
Prints one line per trial and a verdict; results go into RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from transforms.telemetry import turn_off_analytics  # noqa: E402

turn_off_analytics()

from bench.crash_harness import make_inbox, trials  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--copies", type=int, default=10, help="variants of each sample (5 samples each)")
    ap.add_argument("--max-delay", type=float, default=12.0, help="latest kill, seconds after start")
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120), tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value())
        base = Path(tmp)
        inbox = make_inbox(base / "inbox", REPO / "samples" / "articles", a.copies)
        reference, results = trials(base, inbox, env, a.trials, a.max_delay, seed=a.seed, batch_size=a.batch)
    print("reference", json.dumps(reference))
    for r in results:
        print(json.dumps({k: r[k] for k in ("trial", "kill_after_s", "killed", "rerun_exit", "equal")}))
        if not r["equal"]:
            print("   counts", json.dumps(r["counts"]), r["stderr"][-500:])
    killed = sum(r["killed"] for r in results)
    ok = sum(r["equal"] and r["rerun_exit"] == 0 for r in results)
    print(f"{ok}/{len(results)} trials equal to the clean run ({killed} runs killed mid-way, "
          f"{len(results) - killed} finished before the kill)")
    return 0 if ok == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
