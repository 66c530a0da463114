"""Issue 20: a lean cold start, the fastest runner by default, the fast path through a running server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from flows.runners import PROCESS_MIN_ARTICLES, RunnerError, choose_runner, estimate_articles
from tests.conftest import SAMPLES, run_cli

HEAVY = ("prefect", "great_expectations")

def _imported_by(args: list[str], env: dict[str, str]) -> list[str]:
    """The heavy packages a fresh interpreter holds after running `corpus ARGS`."""
    code = (
        "import sys\n"
        "from flows.cli import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('IMPORTED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("IMPORTED=")]
    assert line, proc.stdout + proc.stderr
    return [m for m in line[-1].removeprefix("IMPORTED=").split(",") if m]


@pytest.mark.parametrize(
    "args",
    [["status"], ["sql", "select count(*) from articles"], ["--help"], ["ingest", "--help"],
     ["quarantine", "list"]],
)
def test_read_commands_import_no_prefect_and_no_gx(sample_home, args):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["CORPUS_HOME"] = str(sample_home)
    assert _imported_by(args, env) == []


@pytest.mark.slow
def test_an_empty_inbox_imports_no_gx(cli_env, corpus_home):
    """Nothing new to validate: the run neither imports Great Expectations nor builds its context.

    No PREFECT_API_URL, as for a cron job: that is when the GX warm-up thread used to start. The CLI
    starts Prefect's temporary server itself, so it never imports Prefect's server package either.
    """
    (corpus_home / "inbox").mkdir()
    cli_env = {k: v for k, v in cli_env.items() if k != "PREFECT_API_URL"}
    code = (
        "import sys\n"
        "from flows.cli import app\n"
        "try:\n"
        "    app(['ingest', '--json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('GX=' + str('great_expectations' in sys.modules))\n"
        "print('SERVER=' + str('prefect.server.api.server' in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=300)
    assert '"n_seen": 0' in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "GX=False" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "SERVER=False" in proc.stdout, proc.stdout + proc.stderr[-3000:]


def test_all_duplicates_land_nothing_and_skip_validation(sample_home, cli_env, corpus_home):
    """A batch of duplicates only: no GX run, no validation rows, and the run still completes."""
    home = corpus_home / "copy"
    shutil.copytree(sample_home, home)
    env = dict(cli_env, CORPUS_HOME=str(home))
    before = run_cli(["sql", "select count(*) as n from validation_results", "-f", "json"], env)
    proc = run_cli(["ingest", "--inbox", str(SAMPLES), "--json"], env)
    s = json.loads(proc.stdout)
    assert (s["n_new"], s["n_duplicate"]) == (0, 5)
    after = run_cli(["sql", "select count(*) as n from validation_results", "-f", "json"], env)
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert s["runner"]["name"] == "thread"


# ---- runner choice ------------------------------------------------------------------------------
def test_small_runs_stay_on_threads_large_ones_use_processes(monkeypatch):
    monkeypatch.delenv("CORPUS_RUNNER", raising=False)
    assert choose_runner(None, 1, 1000, cores=2).name == "thread"
    assert choose_runner(None, PROCESS_MIN_ARTICLES - 1, 1000, cores=2).name == "thread"
    big = choose_runner(None, 12_000, 1000, cores=2)
    assert (big.name, big.workers) == ("process", 2)
    assert "12000 articles in 12 batches on 2 cores" in big.reason
    assert choose_runner(None, 12_000, 1000, cores=1).name == "thread"  # one core: processes add nothing
    assert choose_runner(None, 12_000, 20_000, cores=2).name == "thread"  # one batch: nothing to overlap


def test_an_explicit_runner_wins(monkeypatch, tmp_path):
    from flows.settings import Settings

    monkeypatch.delenv("CORPUS_RUNNER", raising=False)
    assert choose_runner("thread", 100_000, 1000, cores=2).name == "thread"
    assert choose_runner("process", 1, 1000, cores=2).name == "process"
    assert Settings.from_env(tmp_path).runner is None
    monkeypatch.setenv("CORPUS_RUNNER", "process")  # Settings owns the variable; run_ingest passes it on
    assert choose_runner(Settings.from_env(tmp_path).runner, 1, 1000, cores=2).name == "process"
    with pytest.raises(RunnerError, match="thread, process, dask"):
        choose_runner("fibers", 1, 1000)


def test_estimate_counts_files_and_jsonl_records(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.html").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "c.jsonl").write_bytes(b"x" * 40_000)
    assert estimate_articles(tmp_path) == 2 + 10
    assert estimate_articles(tmp_path / "missing") == 0


def test_unknown_runner_is_one_line_exit_2(cli_env, corpus_home):
    proc = run_cli(["ingest", "--runner", "fibers"], cli_env, check=False)
    assert proc.returncode == 2
    assert "--runner must be one of thread, process, dask" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_process_runner_gives_the_same_warehouse(sample_home, cli_env, corpus_home):
    """Clean and link on worker processes land exactly what the thread runner lands."""
    proc = run_cli(["ingest", "--inbox", str(SAMPLES), "--runner", "process", "--json"], cli_env)
    s = json.loads(proc.stdout)
    assert s["runner"]["name"] == "process" and s["n_new"] == 5, s
    query = ("select article_id, normalized_text, (select count(*) from mentions m "
             "where m.article_id = a.article_id) as n from articles a order by article_id")
    mine = run_cli(["sql", query, "-f", "json"], cli_env).stdout
    theirs = run_cli(["sql", query, "-f", "json", "--home", str(sample_home)], cli_env).stdout
    assert json.loads(mine) == json.loads(theirs)


# ---- corpus add --now through a running corpus serve ---------------------------------------------
def _article(tag: str) -> str:
    return (f"Harbour works resume in the north ({tag})\n\nDock workers returned on Tuesday after a week of talks "
            "between the port authority and the union, and the first ships were unloaded before noon. The "
            "authority said the new shift rota would be tried for a month before anything else changed.\n")


@pytest.mark.slow
def test_add_now_is_run_by_the_serving_process(tmp_path):
    import signal

    from flows import fastpath
    from flows.serve import free_port
    from tests.conftest import BIN

    home = (tmp_path / "home").resolve()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(CORPUS_HOME=str(home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed in finally
    serve = subprocess.Popen([str(BIN / "corpus"), "serve", "--cron", "0 0 1 1 *", "--port", str(port)],
                             env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    output = lambda: (tmp_path / "serve.log").read_text(errors="replace")[-4000:]  # noqa: E731
    try:
        deadline = time.monotonic() + 180
        while True:  # up, deployment applied, runner warmed up and polling
            assert serve.poll() is None, output()
            assert time.monotonic() < deadline, output()
            try:
                if fastpath.candidate_apis(home):
                    fastpath._served_deployment(fastpath.candidate_apis(home)[-1], home)
                    break
            except fastpath.NoServer:
                pass
            time.sleep(0.5)
        for i in range(2):  # the second run reuses what the first loaded
            (tmp_path / f"a{i}.txt").write_text(_article(f"edition {i}"), encoding="utf-8")
            proc = run_cli(["add", str(tmp_path / f"a{i}.txt"), "--now"], env)
            assert "1 new" in proc.stdout, proc.stdout + proc.stderr
            assert f"ran by corpus serve (pid {serve.pid})" in proc.stdout, proc.stdout + output()
        assert output().count("in this process") >= 2
    finally:
        stopping = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=120)
        stopped_in = time.monotonic() - stopping
        log.close()
    assert code == 0, output()
    # the runs' logs reach the server before it stops: no minute of retries against a server already gone
    assert "Error logging to API" not in output(), output()
    assert stopped_in < 30, f"corpus serve took {stopped_in:.0f}s to stop\n{output()}"
    assert not (home / fastpath.SERVE_FILE).exists()  # nobody serves the home any more
    n = run_cli(["sql", "select count(*) as n from articles", "-f", "json"], env).stdout
    assert json.loads(n) == [{"n": 2}]


@pytest.mark.slow
def test_add_now_runs_locally_when_no_server_serves_the_home(cli_env, corpus_home, tmp_path):
    """A stale serve.json (its process gone) and a server without this home's deployment: a local run."""
    from flows import fastpath

    (corpus_home / "prefect").mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (corpus_home / fastpath.SERVE_FILE).write_text(json.dumps({"api_url": "http://127.0.0.1:9/api", "pid": dead.pid}))
    (tmp_path / "a.txt").write_text(_article("local"), encoding="utf-8")
    proc = run_cli(["add", str(tmp_path / "a.txt"), "--now"], cli_env)
    assert "1 new" in proc.stdout and "ran by corpus serve" not in proc.stdout, proc.stdout + proc.stderr
    assert "runner: thread" in proc.stdout
