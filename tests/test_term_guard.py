"""SIGTERM marks the run before the process ends, however the process ends (flows/guard.py TermGuard).

The end-to-end test (tests/test_reliability.py, slow) SIGTERMs a real `corpus ingest`; it left the run row
`running` about once in six runs: the process ended (normally, or by the watcher's os._exit) before the
marker thread had written. These tests make the marking slow on purpose, in a small subprocess, so the
order of events is fixed instead of left to the machine's load.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The child starts a TermGuard whose on_term takes a while (it waits until the main thread is on its way out,
# then a further second), SIGTERMs itself and writes "marked" to argv[1] once on_term has finished.
CHILD = textwrap.dedent("""
    import os, signal, sys, threading, time
    from flows.guard import TermGuard

    out, mode = sys.argv[1], sys.argv[2]
    leaving = threading.Event()

    def on_term():
        if mode == "hang":
            threading.Event().wait()
        leaving.wait(10)
        time.sleep(1.0)  # slower than the main thread's way out
        with open(out, "w") as f:
            f.write("marked")

    if mode in ("busy", "hang"):
        # the main thread keeps working after SIGTERM (as a long C call would): only the watcher acts
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        leaving.set()
    kwargs = {"mark_seconds": 1.0} if mode == "hang" else {}
    guard = TermGuard(on_term, grace=0.2, **kwargs).start()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(3000):  # 30 s: the guard ends the process long before
            time.sleep(0.01)
    finally:
        leaving.set()
        guard.stop()
""")


def _child(tmp_path: Path, mode: str) -> tuple[int, str, float]:
    out = tmp_path / "marked.txt"
    t = time.monotonic()
    done = subprocess.run([sys.executable, "-c", CHILD, str(out), mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    took = time.monotonic() - t
    return done.returncode, out.read_text() if out.exists() else "", took


def test_a_process_that_exits_normally_after_sigterm_waits_for_the_marker(tmp_path: Path) -> None:
    """Prefect's handler raises in the main thread, which unwinds and exits normally: the daemon marker thread
    used to be killed at interpreter exit before it had written."""
    rc, marked, _ = _child(tmp_path, "exit")
    assert marked == "marked"
    assert rc == 143


def test_the_watcher_does_not_exit_before_a_slow_marker_has_finished(tmp_path: Path) -> None:
    """The main thread does not end (busy): the watcher used to os._exit after the grace period whether or
    not the marker had written."""
    rc, marked, _ = _child(tmp_path, "busy")
    assert marked == "marked"
    assert rc == 143


def test_a_marker_that_never_returns_still_ends_the_process_within_seconds(tmp_path: Path) -> None:
    rc, marked, took = _child(tmp_path, "hang")
    assert (rc, marked) == (143, "")
    assert took < 20  # bounded by mark_seconds (1 s) plus Python's start; 30 s if the bound did not hold


def test_mark_terminated_waits_for_a_catalog_busy_a_few_seconds(tmp_path: Path) -> None:
    """The marker shares the writer's catalog session with the main thread, which may be landing a batch
    (a long DuckDB call) when SIGTERM comes: a 2 s wait gave up, and the run row stayed `running`."""
    from warehouse.store import Warehouse, connect_readonly

    home = tmp_path / "home"
    with Warehouse(home).writer(10) as writer:
        writer.start_run("r1", None, str(tmp_path / "inbox"))
        held = threading.Event()

        def land_a_while() -> None:
            with writer.session.open():
                held.set()
                time.sleep(2.5)

        lander = threading.Thread(target=land_a_while)
        lander.start()
        assert held.wait(30)
        writer.mark_terminated("r1")
        lander.join()
    con = connect_readonly(home)
    try:
        assert con.execute("SELECT status, error FROM runs WHERE run_id = 'r1'").fetchone() == (
            "terminated", "terminated by SIGTERM")
    finally:
        con.close()
