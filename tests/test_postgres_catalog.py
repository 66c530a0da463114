"""Issue 18 item 8: a PostgreSQL catalog, tested for real -- two `corpus ingest` processes with different
inboxes write into one corpus at the same time; afterwards nothing is lost and nothing is duplicated."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, SAMPLES
from warehouse import connect_readonly

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_bin() -> Path | None:
    for d in PG_BIN_DIRS:
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A real PostgreSQL server in a temporary folder (initdb + pg_ctl); yields a function that creates a
    database on it and returns the database's connection URL (each test its own catalog)."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl): install the Debian package `postgresql`")
    base = tmp_path_factory.mktemp("pg")
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as the `postgres` system user
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        os.chmod(base, 0o755)  # noqa: S103  # the server user must read its data folder's parent
        for parent in base.parents:  # the server user must reach its data folder
            if str(parent) in ("/", "/tmp"):  # noqa: S108  # stop at the shared temp root, never chmod it
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o011)  # noqa: S103  # traverse-only for the server user
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, sock, port = base / "data", base, _free_port()
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "corpus"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
                    "-o", f"-k {sock} -p {port} -c listen_addresses=''", "start"],
                   check=True, capture_output=True, timeout=120)
    def new_database(name: str) -> str:
        subprocess.run([*prefix, str(bindir / "createdb"), "-h", str(sock), "-p", str(port), "-U", "corpus",
                        name], check=True, capture_output=True, timeout=60)
        return f"postgresql://corpus@/{name}?host={sock}&port={port}"

    try:
        yield new_database
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)


@pytest.mark.slow
def test_two_ingests_at_once_into_one_postgres_catalog(postgres, tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    catalog = postgres("two_ingests")
    home = tmp_path / "shared_home"
    samples = sorted(SAMPLES.iterdir())
    inboxes = [tmp_path / "in_a", tmp_path / "in_b"]
    for k, inbox in enumerate(inboxes):
        inbox.mkdir()
        for i, f in enumerate(samples):
            # each inbox: its own variants of every sample, and one sample both inboxes share
            text = f.read_text(encoding="utf-8")
            (inbox / f"{k}_{f.name}").write_text(text + f"\n\nDesk {k} copy {i}.\n", encoding="utf-8")
        shutil.copy(samples[0], inbox / samples[0].name)
    env = dict(os.environ, CORPUS_HOME=str(home), CORPUS_CATALOG=catalog,
               PREFECT_API_URL=str(PREFECT_API_URL.value()), CORPUS_NO_WATCHDOG="1")
    procs = [subprocess.Popen([str(BIN / "corpus"), "ingest", "--inbox", str(inbox), "--batch-size", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for inbox in inboxes]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    old = os.environ.get("CORPUS_CATALOG")
    os.environ["CORPUS_CATALOG"] = catalog
    try:
        con = connect_readonly(home)
        try:
            n, distinct = con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone()
            orphans = con.execute(
                "SELECT count(*) FROM mentions m ANTI JOIN articles a USING (article_id)").fetchone()[0]
            dup_mentions = con.execute(
                "SELECT count(*) FROM (SELECT article_id, field, start_char, end_char, count(*) AS k FROM mentions "
                "GROUP BY ALL HAVING k > 1)").fetchone()[0]
            runs = con.execute("SELECT status, count(*) FROM runs GROUP BY ALL").fetchall()
        finally:
            con.close()
    finally:
        if old is None:
            os.environ.pop("CORPUS_CATALOG", None)
        else:
            os.environ["CORPUS_CATALOG"] = old
    # 5 variants per inbox + the shared sample once: nothing lost, nothing duplicated
    assert (n, distinct) == (11, 11)
    assert orphans == 0 and dup_mentions == 0
    assert runs == [("completed", 2)]
    assert not (home / "corpus.duckdb").exists()  # the catalog is in PostgreSQL


@pytest.mark.slow
def test_a_killed_run_on_a_shared_catalog_is_marked_crashed_and_a_live_one_is_not(postgres, tmp_path, monkeypatch):
    """With a shared catalog another writer's `running` run may be alive: the next writer marks crashed only
    the runs whose process (on this host) is gone, never a run still going."""
    from warehouse import Warehouse

    home, catalog = tmp_path / "home", postgres("killed_run")
    monkeypatch.setenv("CORPUS_CATALOG", catalog)
    killed = (f"import os\nfrom warehouse import Warehouse\nwith Warehouse({str(home)!r}).writer(60) as w:\n"
              "    w.start_run('run-killed', None, 'inbox')\n    os._exit(9)\n")
    proc = subprocess.run([str(BIN / "python"), "-c", killed], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, CORPUS_CATALOG=catalog), cwd=str(Path(__file__).parents[1]))
    assert proc.returncode == 9, proc.stderr[-2000:]
    with Warehouse(home).writer(60) as w:
        w.start_run("run-alive", None, "inbox")  # this process: alive
    with Warehouse(home).writer(60):  # the next writer
        pass
    con = connect_readonly(home)
    try:
        status = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
        owners = [r[0] for r in con.execute("SELECT key FROM _meta WHERE key LIKE 'run_owner:%'").fetchall()]
    finally:
        con.close()
    assert status == {"run-killed": "crashed", "run-alive": "running"}
    assert owners == ["run_owner:run-alive"]


@pytest.mark.slow
def test_writers_opening_a_new_shared_catalog_at_once_all_get_in(postgres, tmp_path):
    """The first writers on an empty PostgreSQL catalog each try to create DuckLake's tables; the losers of
    that race must retry and open the catalog the winner made, not fail (or call it damaged)."""
    catalog = postgres("first_open")
    code = ("import sys, time\nfrom warehouse import Warehouse\nt = float(sys.argv[1])\n"
            "time.sleep(max(0.0, t - time.time()))\n"
            f"with Warehouse({str(tmp_path / 'home')!r}).writer(60):\n    print('open')\n")
    start = f"{time.time() + 4:.3f}"  # every process imports first, then all attach at the same moment
    procs = [subprocess.Popen([str(BIN / "python"), "-c", code, start], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=str(Path(__file__).parents[1]),
                              env=dict(os.environ, CORPUS_CATALOG=catalog))
             for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err[-1500:] for _, err in outs]


@pytest.mark.parametrize("message", [
    'duplicate key value violates unique constraint "pg_type_typname_nsp_index"',
    'CREATE TABLE ducklake_metadata(...): ERROR:  relation "ducklake_metadata" already exists',
    'ERROR:  schema "__ducklake_metadata_lake" already exists',
])
def test_every_form_of_the_first_open_race_is_retried(message):
    """PostgreSQL reports two writers creating DuckLake's tables at once either as a unique-key violation on
    its own catalog or as 'relation/schema ... already exists' (seen in a CI-like run: one of four writers
    then reported a damaged catalog). Both are the race, retried; other errors are not."""
    import duckdb

    from warehouse.store import _lost_init_race

    assert _lost_init_race(duckdb.Error(message))
    assert not _lost_init_race(duckdb.Error('ERROR:  relation "articles" does not exist'))
    assert not _lost_init_race(duckdb.Error('ERROR:  relation "my_own_table" already exists'))
