"""Kill -9 an ingest at a random moment, rerun, compare with a clean run (used by tests and bench)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from warehouse import connect_readonly

BIN = Path(sys.executable).parent
COUNT_SQL = {
    "articles": "SELECT count(*) FROM articles",
    "distinct_articles": "SELECT count(DISTINCT article_id) FROM articles",
    "mentions": "SELECT count(*) FROM mentions",
    "removed_spans": "SELECT count(*) FROM removed_spans",
    "orphan_mentions": "SELECT count(*) FROM mentions m ANTI JOIN articles a USING (article_id)",
    "orphan_spans": "SELECT count(*) FROM removed_spans r ANTI JOIN articles a USING (article_id)",
    "quarantine_sources": "SELECT count(DISTINCT content_sha256) FROM quarantine",
}


def make_inbox(dest: Path, samples: Path, copies: int) -> Path:
    """`copies` distinct variants of each sample (a numbered sentence appended), so each is a new article."""
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        for src in sorted(samples.iterdir()):
            text = src.read_text(encoding="utf-8")
            (dest / f"{i:03d}_{src.name}").write_text(text + f"\n\nEditor's note {i}: variant of the sample.\n",
                                                      encoding="utf-8")
    return dest


def counts(home: Path) -> dict[str, int]:
    con = connect_readonly(home)
    try:
        return {k: con.execute(q).fetchone()[0] for k, q in COUNT_SQL.items()}
    finally:
        con.close()


def ingest_cmd(home: Path, inbox: Path, batch_size: int) -> list[str]:
    return [str(BIN / "corpus"), "ingest", "--home", str(home), "--inbox", str(inbox),
            "--batch-size", str(batch_size)]


def run_ingest(home: Path, inbox: Path, env: dict[str, str], batch_size: int = 10) -> subprocess.CompletedProcess:
    return subprocess.run(ingest_cmd(home, inbox, batch_size), env=env, capture_output=True, text=True,
                          timeout=600)


def killed_then_rerun(home: Path, inbox: Path, env: dict[str, str], kill_after: float,
                      batch_size: int = 10) -> tuple[bool, subprocess.CompletedProcess]:
    """Start an ingest, SIGKILL its whole process group after `kill_after` s, then rerun to completion."""
    proc = subprocess.Popen(ingest_cmd(home, inbox, batch_size), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + kill_after
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return killed, run_ingest(home, inbox, env, batch_size)


def trials(base: Path, inbox: Path, env: dict[str, str], n: int, max_delay: float, seed: int = 7,
           batch_size: int = 10) -> tuple[dict[str, int], list[dict]]:
    """Reference counts of a clean run, and one record per kill trial."""
    ref_home = base / "reference"
    ref = run_ingest(ref_home, inbox, env, batch_size)
    assert ref.returncode == 0, ref.stderr
    reference = counts(ref_home)
    rng = random.Random(seed)
    results = []
    for i in range(n):
        home = base / f"trial{i:02d}"
        delay = rng.uniform(0.5, max_delay)
        killed, rerun = killed_then_rerun(home, inbox, env, delay, batch_size)
        got = counts(home) if (home / "corpus.duckdb").exists() else {}
        results.append({"trial": i, "kill_after_s": round(delay, 2), "killed": killed,
                        "rerun_exit": rerun.returncode, "counts": got, "equal": got == reference,
                        "stderr": rerun.stderr[-2000:] if rerun.returncode else ""})
    return reference, results
