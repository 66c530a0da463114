"""Crash safety (kill -9 at random moments, then rerun) and two concurrent ingests on one home."""

from __future__ import annotations

import os
import subprocess

import pytest

from bench.crash_harness import counts, ingest_cmd, make_inbox, trials
from tests.conftest import SAMPLES

# CI runs a few trials; bench/crash_trials.py runs 20+ and the results are in RELIABILITY.md.
N_TRIALS = int(os.environ.get("CORPUS_CRASH_TRIALS", "4"))


@pytest.mark.slow
def test_kill_nine_then_rerun_equals_clean_run(cli_env, tmp_path):
    inbox = make_inbox(tmp_path / "inbox", SAMPLES, copies=6)
    reference, results = trials(tmp_path, inbox, cli_env, n=N_TRIALS, max_delay=7.0, batch_size=5)
    assert reference["articles"] == 30 and reference["orphan_mentions"] == 0
    assert any(r["killed"] for r in results), "no trial killed a run; raise max_delay"
    bad = [r for r in results if r["rerun_exit"] != 0 or not r["equal"]]
    assert not bad, f"reference {reference}; failing trials {bad}"


def test_two_concurrent_ingests_equal_one(cli_env, tmp_path):
    inbox = make_inbox(tmp_path / "inbox", SAMPLES, copies=2)
    home = tmp_path / "home"
    procs = [
        subprocess.Popen(
            ingest_cmd(home, inbox, 5), env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    got = counts(home)
    assert got["articles"] == got["distinct_articles"] == 10
    assert got["orphan_mentions"] == 0 and got["orphan_spans"] == 0
    news = sorted(int(o.split(" new")[0].rsplit(" ", 1)[-1]) for o, _ in outs)
    assert news == [0, 10], outs


def test_second_writer_gives_clear_message_when_lock_times_out(cli_env, tmp_path):
    from filelock import FileLock

    home = tmp_path / "home"
    home.mkdir()
    env = dict(cli_env, CORPUS_LOCK_TIMEOUT="1")
    with FileLock(str(home / ".writer.lock")):
        proc = subprocess.run(ingest_cmd(home, SAMPLES, 5), env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3
    assert "another ingest is writing" in proc.stderr
    assert "Traceback" not in proc.stderr
