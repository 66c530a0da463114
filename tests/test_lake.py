"""Issue 18: the warehouse on DuckLake -- time travel, runs and snapshots, a moved home, full-text search,
compaction and retention, and the migration of a home written by the previous (schema 3) format."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli
from warehouse import Warehouse, connect_readonly

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, prefect_server) -> tuple[Path, str, str]:
    """A home fed by two runs: three samples, then the other two (and the first three again)."""
    from flows.ops import run_ingest

    base = tmp_path_factory.mktemp("lake")
    first, second = base / "in1", base / "in2"
    first.mkdir()
    second.mkdir()
    samples = sorted(SAMPLES.iterdir())
    for f in samples[:3]:
        shutil.copy(f, first / f.name)
    for f in samples:
        shutil.copy(f, second / f.name)
    home = base / "home"
    r1 = run_ingest(home=str(home), inbox=str(first))
    r2 = run_ingest(home=str(home), inbox=str(second))
    assert (r1["n_new"], r2["n_new"], r2["n_duplicate"]) == (3, 2, 3), (r1, r2)
    return home, r1["run_id"], r2["run_id"]


def _csv(proc) -> list[str]:
    return proc.stdout.strip().splitlines()


def test_as_of_the_first_run_gives_its_counts(two_runs, cli_env):
    home, run1, run2 = two_runs
    env = dict(cli_env, CORPUS_HOME=str(home))
    q = "select (select count(*) from articles) as a, (select count(*) from mentions) as m"
    now = _csv(run_cli(["sql", q, "-f", "csv"], env))
    then = _csv(run_cli(["sql", q, "-f", "csv", "--as-of", run1], env))
    assert now[1].split(",")[0] == "5" and then[1].split(",")[0] == "3"
    assert int(then[1].split(",")[1]) < int(now[1].split(",")[1])
    # a run id that does not exist, or a time before the corpus: one line, exit 2
    proc = run_cli(["sql", q, "--as-of", "no-such-run"], env, check=False)
    assert proc.returncode == 2 and "neither a run id" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli(["sql", q, "--as-of", "2001-01-01T00:00"], env, check=False)
    assert proc.returncode == 2 and "no snapshot before" in proc.stderr


def test_runs_lists_each_run_with_its_snapshot(two_runs, cli_env):
    home, run1, run2 = two_runs
    env = dict(cli_env, CORPUS_HOME=str(home))
    rows = json.loads(run_cli(["runs", "-f", "json"], env).stdout)
    snaps = {r["run_id"]: r["snapshot"] for r in rows}
    assert snaps[run1] < snaps[run2]
    # the snapshot a run lists is the one --as-of the run attaches
    con = connect_readonly(home, as_of=snaps[run1])
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
    finally:
        con.close()


def test_one_snapshot_per_batch_covers_articles_quarantine_and_validation(two_runs):
    home, run1, _ = two_runs
    con = connect_readonly(home)
    try:
        rows = con.execute(
            "SELECT changes FROM lake.snapshots() WHERE commit_message LIKE 'batch %' "
            "AND json_extract_string(commit_extra_info, '$.run_id') = ?", [run1]).fetchall()
    finally:
        con.close()
    assert len(rows) == 1  # three samples, one batch: one snapshot
    changed = json.dumps(rows[0][0], default=str)
    for table in ("articles", "mentions", "validation_results"):
        assert table in changed or "tables_inserted_into" in changed


def test_a_moved_home_works_at_once(two_runs, tmp_path, cli_env):
    home, _, _ = two_runs
    moved = tmp_path / "elsewhere" / "home"
    moved.parent.mkdir()
    shutil.copytree(home, tmp_path / "copy")
    (tmp_path / "copy").rename(moved)  # a `mv` of a whole home
    env = dict(cli_env, CORPUS_HOME=str(moved))
    out = _csv(run_cli(["sql", "select count(*) as n, count(distinct clean_text) as t from articles", "-f", "csv"],
                       env))
    assert out == ["n,t", "5,5"]
    # the data files it read are the moved home's own
    con = connect_readonly(moved)
    try:
        files = [r[0] for r in con.execute("SELECT data_file FROM ducklake_list_files('lake', 'articles')").fetchall()]
    finally:
        con.close()
    assert files and all(f.startswith(str(moved)) for f in files)


def test_search_finds_an_article_by_a_word_of_its_body(two_runs, cli_env):
    home, _, _ = two_runs
    env = dict(cli_env, CORPUS_HOME=str(home))
    assert (home / "search.duckdb").is_file()  # refreshed at the end of the run
    con = connect_readonly(home)
    try:
        aid, text = con.execute("SELECT article_id, clean_text FROM articles ORDER BY article_id LIMIT 1").fetchone()
    finally:
        con.close()
    # a word of this article's body that no other article has
    words = [w.strip(".,;:\"'()").lower() for w in text.split()]
    con = connect_readonly(home)
    try:
        rare = next(w for w in words if len(w) > 6 and w.isalpha() and con.execute(
            "SELECT count(*) FROM articles WHERE contains(lower(clean_text), ?)", [w]).fetchone()[0] == 1)
    finally:
        con.close()
    proc = run_cli(["search", rare, "--limit", "3"], env)
    assert aid in proc.stdout and f"[{rare}" in proc.stdout.lower()
    # the index is derived: deleted, `corpus search` builds it again
    (home / "search.duckdb").unlink()
    assert aid in run_cli(["search", rare], env).stdout
    assert "no match" in run_cli(["search", rare, "--since", "2999-01-01"], env).stdout
    assert "no match" in run_cli(["search", rare, "--entity", "no-such-entity"], env).stdout


def test_compact_merges_files_and_expires_snapshots(two_runs, tmp_path, cli_env):
    home = tmp_path / "home"
    shutil.copytree(two_runs[0], home)
    env = dict(cli_env, CORPUS_HOME=str(home))
    con = connect_readonly(home)
    n_before = con.execute("SELECT count(*) FROM lake.snapshots()").fetchone()[0]
    con.close()
    proc = run_cli(["compact", "--keep-days", "0"], env)
    assert "articles: 2 file(s) -> 1" in proc.stdout, proc.stdout
    con = connect_readonly(home)
    try:
        assert con.execute("SELECT count(*) FROM lake.snapshots()").fetchone()[0] < n_before
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
    finally:
        con.close()


def test_a_schema_3_home_is_migrated_by_the_next_run_and_by_corpus_migrate(tmp_path, cli_env):
    """home_v3.tar.gz: the five samples ingested by the code before DuckLake, with its DuckDB 2.0
    (tests/fixtures/make_home_v3.sh). DuckDB 1.5.5 cannot open that catalog: the data comes from the
    lake's Parquet files, and the old catalog is kept aside."""
    import duckdb

    homes = []
    for name in ("by_migrate", "by_open"):
        home = tmp_path / name
        home.mkdir()
        with tarfile.open(FIXTURES / "home_v3.tar.gz") as tar:
            tar.extractall(home, filter="data")
        homes.append(home)
    lake = homes[0] / "lake"
    parts = [str(p) for p in lake.glob("articles/ingest_date=*/part-*.parquet")]
    want_ids = sorted(r[0] for r in duckdb.sql(f"SELECT DISTINCT article_id FROM read_parquet({parts})").fetchall())
    mparts = [str(p) for p in lake.glob("mentions/ingest_date=*/part-*.parquet")]
    n_mentions = duckdb.sql(f"SELECT count(*) FROM read_parquet({mparts})").fetchone()[0]
    assert len(want_ids) == 5 and n_mentions > 0

    proc = run_cli(["migrate"], dict(cli_env, CORPUS_HOME=str(homes[0])))
    assert "migrated" in proc.stdout and "schema version 4" in proc.stdout, proc.stdout
    with Warehouse(homes[1]).writer():  # any writer run migrates by itself
        pass
    for home in homes:
        con = connect_readonly(home)
        try:
            assert sorted(r[0] for r in con.execute("SELECT article_id FROM articles").fetchall()) == want_ids
            assert con.execute("SELECT count(*) FROM mentions").fetchone()[0] == n_mentions
            assert con.execute("SELECT count(*) FROM entity_mentions").fetchone()[0] > 0
        finally:
            con.close()
        aside = next(home.glob("replaced-*"))
        assert not (home / "lake" / "articles").exists() and (aside / "lake" / "articles").is_dir()
        assert (aside / "corpus.duckdb").is_file()
    # migrating twice changes nothing; a run on the migrated home lands only what is new
    proc = run_cli(["migrate"], dict(cli_env, CORPUS_HOME=str(homes[0])))
    assert "already at schema version 4" in proc.stdout
    proc = run_cli(["ingest", "--inbox", str(SAMPLES)], dict(cli_env, CORPUS_HOME=str(homes[0])))
    assert "0 new" in proc.stdout and "5 duplicate" in proc.stdout, proc.stdout


def test_a_large_corpus_rebuilds_its_search_index_in_a_detached_process(tmp_path, two_runs, monkeypatch):
    """Above SYNC_MAX_ARTICLES the run does not wait for the fts rebuild (a minute per 100k articles): a
    detached process rebuilds it from a copy of the catalog, and the index then holds every article."""
    import shutil
    import time

    import duckdb

    from warehouse import Warehouse, search

    home = tmp_path / "home"
    shutil.copytree(two_runs[0], home)
    (home / "search.duckdb").unlink()
    monkeypatch.setattr(search, "SYNC_MAX_ARTICLES", 1)
    with Warehouse(home).writer() as w:
        assert w.refresh_search(force=True)["base"] == "detached"  # handed off, not built here
    deadline = time.monotonic() + 120
    log = home / "search.log"
    while time.monotonic() < deadline and "rebuilds:" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)  # the process prints its line once the new index is in place
    con = duckdb.connect(str(home / "search.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM docs").fetchone()[0] == 5
    finally:
        con.close()
    # at the lowest CPU priority, so the commands it runs beside are not slowed (os.nice's answer, logged)
    assert f"rebuilds: 1 (nice {min(19, os.nice(0) + search.REBUILD_NICENESS)})" in (home / "search.log").read_text()


def test_readers_leave_no_temporary_folder_behind(two_runs, tmp_path, monkeypatch):
    """Every reader (a query connection, the runs listing) cleans up the folder its catalog copy used."""
    import tempfile

    from flows.ops import runs

    home, _, _ = two_runs
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    con = connect_readonly(home)
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
    finally:
        con.close()
    assert runs(str(home))
    assert list(scratch.iterdir()) == []


def test_the_search_index_rebuild_holds_duckdb_to_a_memory_limit(two_runs, monkeypatch):
    """The detached rebuild runs beside a run and copies every article: DuckDB's default (80 % of RAM) let it
    reach 2.7 GB over 100k articles. It is held to a fixed budget, spilling beyond it."""
    import duckdb

    from warehouse import search

    home, _, _ = two_runs
    seen: list[int] = []
    real = search.build_index

    def spy(layout, con, lake_name):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return real(layout, con, lake_name)

    monkeypatch.setattr(search, "build_index", spy)
    from warehouse.paths import HomeLayout

    assert search._build_from_copy(HomeLayout(home)) == 5
    default = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert seen == ["488.2 MiB"] != [default]  # search.BUILD_MEMORY_LIMIT, 512 MB, as DuckDB reports it
