"""Issue 18 item 8: a PostgreSQL catalog, tested for real -- two `corpus ingest` processes with different
inboxes write into one corpus at the same time; afterwards nothing is lost and nothing is duplicated."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
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
    """A real PostgreSQL server in a temporary folder (initdb + pg_ctl); yields its connection URL."""
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
    try:
        subprocess.run([*prefix, str(bindir / "createdb"), "-h", str(sock), "-p", str(port), "-U", "corpus",
                        "corpus"], check=True, capture_output=True, timeout=60)
        yield f"postgresql://corpus@/corpus?host={sock}&port={port}"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)


@pytest.mark.slow
def test_two_ingests_at_once_into_one_postgres_catalog(postgres, tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

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
    env = dict(os.environ, CORPUS_HOME=str(home), CORPUS_CATALOG=postgres,
               PREFECT_API_URL=str(PREFECT_API_URL.value()), CORPUS_NO_WATCHDOG="1")
    procs = [subprocess.Popen([str(BIN / "corpus"), "ingest", "--inbox", str(inbox), "--batch-size", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for inbox in inboxes]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    old = os.environ.get("CORPUS_CATALOG")
    os.environ["CORPUS_CATALOG"] = postgres
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
