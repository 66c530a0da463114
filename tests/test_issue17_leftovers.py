"""Issue 17, the last points: kill -9 of `corpus serve` leaves no Prefect server behind, and `corpus status`
shows the inbox entries a run ignores. Each test failed on the code before the change."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, copy_samples, run_cli
from tests.test_reliability import _home_processes, _wait_gone


@pytest.mark.slow
def test_kill_nine_of_corpus_serve_leaves_no_server(tmp_path: Path) -> None:
    """`corpus serve` starts `prefect server start` in a session of its own: kill -9 of serve's PID used to
    leave that server (and its port) for ever."""
    from flows.serve import free_port

    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(CORPUS_HOME=str(home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               GX_ANALYTICS_ENABLED="false", PREFECT_HOME=str(tmp_path / "prefect"))
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        serve = subprocess.Popen([str(BIN / "corpus"), "serve", "--cron", "0 0 1 1 *", "--port", str(port)],
                                 env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while "Serving ingest/" not in log_path.read_text(errors="replace"):
            assert serve.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "corpus serve did not start serving"
            time.sleep(0.5)
        time.sleep(2)  # the runner is up
        assert len(_home_processes(home)) >= 2  # serve, its server (and the watchdog)
        os.kill(serve.pid, signal.SIGKILL)
        serve.wait()
        assert _wait_gone(home, 30) == [], "processes outlived the killed `corpus serve`"
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex(("127.0.0.1", port)) != 0, "the server still listens"
    finally:
        if serve.poll() is None:
            serve.kill()
        for p in _home_processes(home):
            p.kill()


def test_status_counts_and_shows_what_the_inbox_ignores(sample_home: Path, tmp_path: Path, cli_env) -> None:
    """Hidden names are ignored by design (writers stage files under them), and refused entries wait in
    inbox/.refused/: `corpus status` names both, so nothing sits in the inbox unseen."""
    import shutil

    from flows.ops import status

    home = tmp_path / "home"
    shutil.copytree(sample_home, home, symlinks=True)
    inbox = home / "inbox"
    copy_samples(inbox / "waiting")
    (inbox / ".draft.txt").write_text("A half-written article.", encoding="utf-8")
    (inbox / "sub").mkdir()
    (inbox / "sub" / ".hidden-folder").mkdir()
    (inbox / "sub" / ".hidden-folder" / "x.txt").write_text("Inside a hidden folder.", encoding="utf-8")
    (inbox / ".refused").mkdir()
    os.mkfifo(inbox / ".refused" / "pipe.txt")
    (inbox / ".refused" / "too_deep").mkdir()
    os.mkfifo(inbox / "new_pipe.txt")  # refused by the next run, set aside then
    s = status(str(home))
    assert s["n_inbox"] == 5
    assert s["n_ignored"] == 5, s["ignored"]
    assert {(e["name"], e["why"]) for e in s["ignored"]} == {
        (".draft.txt", "hidden name"),
        ("sub/.hidden-folder", "hidden folder (1 file)"),
        (".refused/pipe.txt", "set aside (refused)"),
        (".refused/too_deep", "set aside (refused)"),
        ("new_pipe.txt", "refused by the next run (not_a_file)"),
    }
    proc = run_cli(["status"], dict(cli_env, CORPUS_HOME=str(home)))
    assert "5 file(s) waiting, 5 ignored" in proc.stdout, proc.stdout
    assert ".draft.txt" in proc.stdout and ".refused/pipe.txt" in proc.stdout
