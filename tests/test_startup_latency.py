"""Issue 20: `corpus add FILE --now` start-up and exit costs (flows/startup.py, flows/early_server.py)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time

import pytest


def _python(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)


def test_the_cli_freezes_its_objects_before_the_interpreter_exits():
    """The interpreter's last collection has nothing to walk: every object the command made is frozen."""
    proc = _python(
        "import gc, sys\n"
        "from flows.cli import main\n"
        "sys.argv = ['corpus', '--help']\n"
        "main()\n"
        "print('FROZEN=' + str(gc.get_freeze_count()))\n"
    )
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("FROZEN=")]
    assert line, proc.stdout + proc.stderr
    assert int(line[-1].removeprefix("FROZEN=")) > 10_000


def test_the_collector_is_off_during_start_up_and_back_on_when_the_flow_starts(monkeypatch):
    from flows import early_server, startup

    monkeypatch.setattr(early_server, "_server", None)
    assert gc.isenabled()
    startup.pause_gc()
    try:
        assert not gc.isenabled()
        early_server.wait_until_healthy()  # what ops.run_ingest calls last before the flow
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_collector_turned_off_by_someone_else_stays_off():
    from flows import startup

    gc.disable()
    try:
        startup.pause_gc()
        startup.resume_gc()
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.slow
def test_the_temporary_server_starts_answers_and_stops():
    """`python -m flows.early_server` is uvicorn with Prefect's app: healthy, then stopped at exit."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = _python(
        "import gc, json, urllib.request\n"
        "from flows import early_server\n"
        "url = early_server.start()\n"
        "early_server.wait_until_healthy()\n"
        "assert early_server.started(), 'the server died'\n"
        "print('HEALTH=' + urllib.request.urlopen(url + '/health', timeout=10).read().decode())\n"
        "print('CMD=' + ' '.join(early_server._server.args[1:3]))\n"
        "server = early_server._server\n"
        "early_server.stop()\n"
        "print('EXIT=' + str(server.returncode))\n",
        env=env,
        timeout=240,
    )
    assert "HEALTH=true" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "CMD=-m flows.early_server" in proc.stdout
    assert "EXIT=None" not in proc.stdout


def test_a_datagram_wakes_the_serving_runner_before_its_next_poll(tmp_path):
    """`corpus add --now` wakes `corpus serve`'s runner through the port in serve.json: no poll interval wait."""
    import threading

    from flows import fastpath
    from flows.serve import InProcessRunner

    runner = InProcessRunner("deployment-id", poll=60.0, echo=lambda m: None)
    looks: list[float] = []
    looked = threading.Event()
    runner.warm_up = lambda: None  # type: ignore[method-assign]

    def run_due() -> bool:
        looks.append(time.monotonic())
        looked.set()
        return False

    runner._run_due = run_due  # type: ignore[method-assign]
    runner.start()
    try:
        assert looked.wait(10)
        looked.clear()
        fastpath.write_serve_file(tmp_path, "http://127.0.0.1:9/api", runner.wake_port)
        port = fastpath._wake_port(tmp_path, "http://127.0.0.1:9/api")
        assert port == runner.wake_port
        assert fastpath._wake_port(tmp_path, "http://127.0.0.1:10/api") is None  # another server's record
        sent = time.monotonic()
        fastpath.wake_runner(port)
        assert looked.wait(10)
        assert looks[-1] - sent < 5.0  # long before the 60 s poll
    finally:
        runner.stop()
        assert runner.done.wait(10)  # stop() wakes it too
    assert runner.error is None


def test_corpus_add_reads_the_summary_the_serving_process_wrote(tmp_path):
    from flows import fastpath

    summary = {
        "run_id": "r1",
        "home": str(tmp_path),
        "n_seen": 1,
        "n_new": 1,
        "n_duplicate": 0,
        "n_quarantined": 0,
        "quarantined_by_reason": {},
        "stage_seconds": {"clean": 0.5},
    }
    fastpath.write_summary(tmp_path, "r1", summary)
    assert fastpath.served_summary(tmp_path, "r1") == summary
    assert not fastpath.summary_path(tmp_path, "r1").exists()  # read once, then removed
    started = time.monotonic()
    assert fastpath.served_summary(tmp_path, "r2", wait=0.2) is None  # none came: the warehouse is asked
    assert time.monotonic() - started >= 0.2
    fastpath.write_summary(tmp_path, "r3", {**summary, "run_id": "another"})
    assert fastpath.served_summary(tmp_path, "r3", wait=0) is None


def test_the_serving_process_writes_the_summary_only_for_corpus_add(tmp_path):
    from types import SimpleNamespace

    from flows import fastpath
    from flows.serve import _summary_for_corpus_add

    state = SimpleNamespace(result=lambda: {"run_id": "r1", "n_new": 1})
    for tags, written in ((["corpus"], False), ([fastpath.ADD_TAG], True)):
        run = SimpleNamespace(id="r1", tags=tags, parameters={"home": str(tmp_path)})
        _summary_for_corpus_add(None, run, state)
        assert fastpath.summary_path(tmp_path, "r1").exists() is written


def test_gx_validates_without_running_altair_or_scipy_stats():
    """GX imports them for expectations the suites do not use: they load only if something touches them."""
    proc = _python(
        "import sys\n"
        "import pandas as pd\n"
        "from expectations import gx_context, validate\n"
        "import great_expectations as gx\n"
        "import great_expectations.expectations as gxe\n"
        "suite = gx.ExpectationSuite(name='t', expectations=[gxe.ExpectColumnValuesToNotBeNull(column='a')])\n"
        "bad = [o for o in validate(pd.DataFrame({'a': [1.0, None, 3.0]}), suite) if not o.success]\n"
        "print('FAILED=' + str(len(bad)))\n"
        "print('RAN=' + ','.join(m for m in ('altair.vegalite', 'scipy.stats._stats_py') if m in sys.modules))\n"
        "import scipy.stats\n"
        "print('KS=' + str(scipy.stats.ks_2samp([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]).pvalue > 0))\n"
    )
    assert "RAN=\n" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "FAILED=1" in proc.stdout  # the null was found: GX validated
    assert "KS=True" in proc.stdout  # who uses it gets the real module


def test_a_run_that_ends_before_its_flow_turns_the_collector_back_on(monkeypatch):
    from flows import cli, early_server, ops
    from transforms.errors import UserError

    def fails(**kwargs):
        assert not gc.isenabled()  # paused for the start-up
        raise UserError("inbox x is not a folder")

    monkeypatch.setattr(ops, "run_ingest", fails)
    monkeypatch.setattr(early_server, "start", lambda: None)
    monkeypatch.setenv("CORPUS_NO_WATCHDOG", "1")
    try:
        with pytest.raises(UserError):
            cli._run_with_progress(home=None)
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_the_warm_up_also_loads_what_the_first_batch_and_the_flow_call_need():
    """While the temporary server starts: GX and its context, the language model, FastAPI (Prefect's encoder)."""
    proc = _python(
        "import sys\n"
        "from flows.ingest import _import_gx\n"
        "_import_gx()\n"
        "from expectations import runtime\n"
        "print('LOADED=' + str(runtime._context is not None and 'fastapi' in sys.modules))\n"
    )
    assert "LOADED=True" in proc.stdout, proc.stdout + proc.stderr[-3000:]


def test_runs_for_corpus_add_skip_prefects_heartbeat_thread():
    """Its 1 s sleeps hold up the end of each run by 0.5 s on average; a served `corpus add` run has none."""
    from types import SimpleNamespace

    from prefect.settings import get_current_settings, temporary_settings

    from flows import fastpath, serve

    default = get_current_settings().flows.heartbeat_frequency
    assert default is not None
    for tags, expected in (([fastpath.ADD_TAG], None), (["corpus"], default)):
        with temporary_settings(updates=serve.run_settings(SimpleNamespace(tags=tags))):
            assert get_current_settings().flows.heartbeat_frequency == expected


def test_add_now_says_why_a_recorded_server_did_not_take_the_run(tmp_path, monkeypatch, capsys):
    from flows import cli, fastpath

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("CORPUS_NO_SERVER", raising=False)
    home = tmp_path / "home"
    fastpath.write_serve_file(home, "http://127.0.0.1:9/api")  # this process "serves" it; nothing answers
    assert cli._ingest_on_server(str(home)) is False
    assert "running here, not by corpus serve: no Prefect server answers at http://127.0.0.1:9/api" in (
        capsys.readouterr().err
    )
