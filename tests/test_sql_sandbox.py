"""Issue 16: `corpus sql` is read-only and confined to the corpus.

Issue 17 item 5: a long read never blocks a writer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, run_cli

ENV = dict(os.environ)
SLOW = "select count(*) from range(100000000000) t(i) where hash(i) % 7 = 1"  # minutes of work


@pytest.fixture(scope="module")
def home(sample_home, tmp_path_factory) -> Path:
    """A private copy of the sample warehouse: an escape that works must not damage the shared one."""
    dest = tmp_path_factory.mktemp("sandbox") / "home"
    shutil.copytree(sample_home, dest)
    return dest


@pytest.fixture
def fresh_home(sample_home, tmp_path_factory) -> Path:
    """A copy of the sample warehouse for one test: one escape that worked must not hide the next."""
    dest = tmp_path_factory.mktemp("escape") / "home"
    shutil.copytree(sample_home, dest)
    return dest


def _state(home: Path) -> dict[str, str]:
    """Hash of every file under the home (catalog, lake, inbox, archive)."""
    return {
        p.relative_to(home).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.name != ".writer.lock"
    }


def _lake_file(home: Path) -> Path:
    return next(p for p in sorted((home / "lake" / "main" / "articles").rglob("ducklake-*.parquet")))


ESCAPES = {
    "overwrite the catalog": "COPY (SELECT 1 AS a) TO '{home}/corpus.duckdb' (FORMAT csv)",
    "rewrite a lake file": "COPY (SELECT * REPLACE ('TAMPERED' AS clean_text) FROM read_parquet('{lake}')) TO '{lake}'",
    "rewrite a lake file from its view": "COPY (SELECT * REPLACE ('TAMPERED' AS clean_text) FROM articles) TO '{lake}'",
    "plant an inbox file": "COPY (SELECT 'planted article' AS t) TO '{home}/inbox/x.txt' (FORMAT csv, HEADER false)",
    "export the database": "EXPORT DATABASE '{tmp}/exported'",
    "write a /tmp file": "COPY (SELECT * FROM articles) TO '{tmp}/leak.csv'",
    "put a file in the lake": "COPY (SELECT 1 AS a) TO '{home}/lake/articles/evil.parquet'",
    "attach a database": "ATTACH '{tmp}/z.duckdb' AS z (READ_WRITE)",
    "attach and create": "ATTACH '{tmp}/z2.duckdb' AS z2 (READ_WRITE); CREATE TABLE z2.t AS SELECT 1 AS a",
    "detach": "DETACH memory",
    "read /etc/passwd": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/hostname')",
    "read_blob": "SELECT * FROM read_blob('/etc/shadow')",
    "environment": "SELECT * FROM read_text('/proc/self/environ')",
    "glob": "SELECT * FROM glob('/root/**')",
    "a file as a table": "SELECT * FROM '/etc/passwd'",
    "describe a file": "DESCRIBE '/etc/passwd'",
    "a lake file directly": "SELECT count(*) FROM read_parquet('{lake}')",
    "a lake file as a table": "SELECT count(*) FROM '{lake}'",
    "query() runs any SQL": "SELECT * FROM query('SELECT 1')",
    "install httpfs": "INSTALL httpfs",
    "load an extension": "LOAD httpfs",
    "extension repository": "SET custom_extension_repository = 'http://127.0.0.1:9/'",
    "undo the sandbox": "SET enable_external_access = true",
    "pragma": "PRAGMA enable_profiling",
    "call": "CALL pragma_version()",
    "two statements": "SELECT 1; SELECT 2",
    "write a table": "CREATE TABLE t AS SELECT 1 AS a",
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_each_escape_is_refused_and_changes_nothing(fresh_home, tmp_path, name):
    from flows import ops
    from warehouse import WarehouseError

    home = fresh_home
    before = _state(home)
    sql = ESCAPES[name].format(home=home, lake=_lake_file(home), tmp=tmp_path)
    with pytest.raises((ops.UserError, WarehouseError)):
        ops.query(sql, home=str(home))
    assert _state(home) == before
    assert list(tmp_path.iterdir()) == []


def test_a_refused_statement_is_one_line_with_exit_2(home, tmp_path):
    proc = run_cli(["sql", f"COPY (SELECT 1) TO '{tmp_path}/x.csv'", "--home", str(home)], ENV, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "COPY" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.csv").exists()


def test_the_sandbox_holds_even_without_the_statement_check(home, tmp_path):
    """DuckDB's own settings refuse files outside the corpus and cannot be unlocked."""
    import duckdb

    from warehouse.reader import Snapshot

    snap = Snapshot(home)
    try:
        for sql in (
            f"COPY (SELECT 1 AS a) TO '{tmp_path}/leak.csv'",
            f"COPY (SELECT 1 AS a) TO '{home}/lake/articles/evil.parquet'",
            "SELECT * FROM read_csv('/etc/passwd')",
            f"ATTACH '{home}/corpus.duckdb' AS c",
            "SET enable_external_access = true",
            "SET allowed_directories = ['/']",
        ):
            with pytest.raises(duckdb.Error):
                snap.con.execute(sql)
        assert snap.con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5  # views still read the lake
    finally:
        snap.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "sql",
    [
        "select count(*) from articles",
        "with a as (select article_id from articles) select count(*) from a",
        "describe articles",
        "summarize runs",
        "show tables",
        "explain select count(*) from mentions",
        "select * from range(3)",
        "select count(*) from information_schema.tables",
        "select outlet from source_summary",
    ],
)
def test_ordinary_reads_still_work(home, sql):
    from flows import ops

    cols, rows = ops.query(sql, home=str(home))
    assert cols and rows is not None


def test_runaway_query_stops_at_timeout_with_exit_124(home):
    t = time.monotonic()
    proc = run_cli(["sql", SLOW, "--timeout", "1", "--home", str(home)], ENV, check=False, timeout=120)
    assert proc.returncode == 124, proc.stderr
    assert time.monotonic() - t < 60
    assert "limit" in proc.stderr and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_ctrl_c_ends_a_query_cleanly_with_exit_130(home, tmp_path):
    proc = subprocess.Popen([str(BIN / "corpus"), "sql", SLOW, "--timeout", "100", "--home", str(home)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**ENV, "TMPDIR": str(tmp_path)},
                            # as from a terminal: SIGINT at its default even if something in this pytest process
                            # set it to ignored (a child inherits SIG_IGN, and Python then never raises
                            # KeyboardInterrupt)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("corpus-sql-*")) and time.monotonic() < deadline:  # the snapshot exists
        time.sleep(0.1)
    time.sleep(3)  # on a loaded machine the snapshot may still be building; the query runs for 100 s
    proc.send_signal(signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_an_empty_query_is_a_clear_message(home, query):
    proc = run_cli(["sql", query, "--home", str(home)], ENV, check=False)
    assert proc.returncode == 2
    assert "empty" in proc.stderr and "Traceback" not in proc.stderr


def test_a_query_may_start_with_a_comment(home):
    proc = run_cli(["sql", "-- just a comment\nselect 41 + 1 as answer", "--home", str(home), "-f", "csv"], ENV)
    assert proc.stdout.splitlines() == ["answer", "42"]
    proc = run_cli(["sql", "--home", str(home), "-f", "csv", "--", "-- after --\nselect 7 as n"], ENV)
    assert proc.stdout.splitlines() == ["n", "7"]
    proc = run_cli(["sql", "-", "--home", str(home), "-f", "csv"], ENV, input="-- from stdin\nselect 8 as n")
    assert proc.stdout.splitlines() == ["n", "8"]


def test_only_a_comment_is_no_statement_not_an_unknown_option(home):
    proc = run_cli(["sql", "-- just a comment", "--home", str(home)], ENV, check=False)
    assert proc.returncode == 2
    assert "No such option" not in proc.stderr and "no statement" in proc.stderr


def test_a_long_read_does_not_block_a_writer(home):
    """Issue 17 item 5: while a query runs, another process opens corpus.duckdb for writing at once."""
    from flows import ops

    failure: list[BaseException] = []

    def read() -> None:
        try:
            ops.query("select count(*) from range(600000000) t(i) where hash(i) % 7 = 1", home=str(home))
        except BaseException as exc:  # noqa: BLE001
            failure.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.8)
    writer = subprocess.run(
        [sys.executable, "-c",
         "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
         "con.execute('CREATE TABLE IF NOT EXISTS _probe (a INT)'); con.execute('DROP TABLE _probe'); con.close()",
         str(home / "corpus.duckdb")],
        capture_output=True, text=True, timeout=60,
    )
    still_reading = reader.is_alive()
    reader.join(120)
    assert writer.returncode == 0, writer.stderr
    assert still_reading, "the query ended before the writer tried: the test proved nothing"
    assert not failure, failure
