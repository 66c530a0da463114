"""End to end: the real Prefect flow over the samples into a real DuckDB file and Parquet lake."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SAMPLES, copy_samples, run_cli, shared_path
from warehouse import connect_readonly

CONTRACT = {
    "articles": ["article_id", "source_name", "content_sha256", "title", "author", "published", "dateline_place",
                 "language", "raw_text", "clean_text", "normalized_text", "ingested_at", "run_id"],
    "mentions": ["article_id", "start_char", "end_char", "surface", "entity_id", "method", "score"],
    "removed_spans": ["article_id", "start_char", "end_char", "rule", "text"],
    "entities": ["entity_id", "canonical_name", "type", "aliases"],
    "quarantine": ["source_name", "content_sha256", "stage", "reason", "detail", "run_id", "quarantined_at"],
    "runs": ["run_id", "started_at", "finished_at", "n_seen", "n_new", "n_duplicate", "n_quarantined", "status"],
}
VIEWS = ["entity_mentions", "entity_cooccurrence", "mentions_by_day", "source_summary"]


def _ro(home):
    return connect_readonly(home)


def test_contract_tables_and_columns(sample_home):
    con = _ro(sample_home)
    for table, cols in CONTRACT.items():
        got = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        missing = [c for c in cols if c not in got]
        assert not missing, f"{table} lacks {missing}"
    for view in VIEWS:
        con.execute(f"SELECT * FROM {view} LIMIT 1").fetchall()
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
    names = {r[0] for r in con.execute("SELECT source_name FROM articles").fetchall()}
    assert names == {p.name for p in SAMPLES.iterdir()}
    ref = {r[0] for r in con.execute("SELECT entity_id FROM entities").fetchall()}
    csv_ids = {ln.split(",")[0] for ln in shared_path("reference", "entities.csv").read_text().splitlines()[1:]}
    assert csv_ids <= ref


def test_lake_holds_parquet_per_table(sample_home):
    for table in ("articles", "mentions", "removed_spans", "entities"):
        files = list((sample_home / "lake" / "main" / table).glob("ducklake-*.parquet"))  # DuckLake's data files
        assert files, f"no Parquet for {table}"


def test_offsets_and_rebuild(sample_home):
    con = _ro(sample_home)
    arts = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
        "SELECT article_id, raw_text, clean_text, normalized_text FROM articles").fetchall()}
    fields = {r[0]: {"body": r[1], "title": r[2], "dateline_place": r[3]} for r in con.execute(
        "SELECT article_id, clean_text, title, dateline_place FROM articles").fetchall()}
    for aid, start, end, surface, field in con.execute(
            "SELECT article_id, start_char, end_char, surface, field FROM mentions").fetchall():
        assert fields[aid][field][start:end] == surface
    for aid, (raw, clean, _norm) in arts.items():
        spans = con.execute("SELECT start_char, end_char, text FROM removed_spans WHERE article_id = ? "
                            "ORDER BY start_char", [aid]).fetchall()
        kept, pos = [], 0
        for s, e, text in spans:
            assert raw[s:e] == text
            kept.append(raw[pos:s])
            pos = e
        kept.append(raw[pos:])
        assert "".join(kept) == clean
    # every article's raw bytes are archived under their hash
    for (sha,) in con.execute("SELECT content_sha256 FROM articles").fetchall():
        assert (sample_home / "archive" / sha[:2] / sha).is_file()


def test_normalized_text_uses_canonical_names(sample_home):
    con = _ro(sample_home)
    norm = con.execute("SELECT normalized_text FROM articles WHERE source_name LIKE '001_%'").fetchone()[0]
    assert "Qasem Soleimani" in norm
    assert "Kassem Suleim" not in norm


def test_second_run_is_idempotent(prefect_server, corpus_home):
    from flows.ops import run_ingest

    first = run_ingest(home=str(corpus_home), inbox=str(SAMPLES))
    second = run_ingest(home=str(corpus_home), inbox=str(SAMPLES))
    assert (first["n_new"], first["n_duplicate"]) == (5, 0)
    assert (second["n_new"], second["n_duplicate"]) == (0, 5)
    con = _ro(corpus_home)
    assert con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone() == (5, 5)
    runs = con.execute("SELECT status, n_new, n_duplicate FROM runs ORDER BY started_at").fetchall()
    assert runs == [("completed", 5, 0), ("completed", 0, 5)]


def test_home_inbox_is_consumed(prefect_server, corpus_home):
    from flows.ops import run_ingest

    copy_samples(corpus_home / "inbox")
    summary = run_ingest(home=str(corpus_home))
    assert summary["n_new"] == 5
    assert not list((corpus_home / "inbox").iterdir()), "ingested files stay in the inbox"
    assert SAMPLES.exists() and len(list(SAMPLES.iterdir())) == 5


def test_cli_ingest_sql_status(cli_env, corpus_home):
    proc = run_cli(["ingest", "--inbox", str(SAMPLES)], cli_env)
    assert "5 new" in proc.stdout
    proc = run_cli(["sql", "select count(*) as n from articles", "--format", "csv"], cli_env)
    assert proc.stdout.strip().splitlines() == ["n", "5"]
    proc = run_cli(["sql", "select entity_id from entities order by entity_id limit 2", "--format", "json"], cli_env)
    assert len(json.loads(proc.stdout)) == 2
    proc = run_cli(["status"], cli_env)
    assert "completed" in proc.stdout and "articles" in proc.stdout
    bad = run_cli(["sql", "select * from no_such_table"], cli_env, check=False)
    assert bad.returncode == 2 and "SQL error" in bad.stderr
    # python -m flows is the same CLI
    proc = subprocess.run([sys.executable, "-m", "flows", "sql", "select 1 as one", "--format", "csv"],
                          env=cli_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.split() == ["one", "1"]


def test_score_script_runs_on_warehouse(sample_home):
    score = shared_path("eval", "score.py")
    gold = shared_path("gold", "seeds.json")
    proc = subprocess.run([sys.executable, str(score), "--home", str(sample_home), "--gold", str(gold), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["articles_missing"] == []


@pytest.mark.parametrize("table", ["articles", "mentions", "entities", "runs"])
def test_plain_duckdb_client_reads_every_table(sample_home, table):
    con = connect_readonly(sample_home)
    assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0


def test_cli_compact_merges_files_and_keeps_rows(cli_env, corpus_home):
    run_cli(["ingest", "--inbox", str(SAMPLES), "--batch-size", "1"], cli_env)
    before = run_cli(["sql", "select (select count(*) from articles), (select count(*) from mentions)",
                      "--format", "csv"], cli_env).stdout
    proc = run_cli(["compact"], cli_env)
    assert "articles: 5 file(s) -> 1" in proc.stdout
    after = run_cli(["sql", "select (select count(*) from articles), (select count(*) from mentions)",
                     "--format", "csv"], cli_env).stdout
    assert before == after
    second = run_cli(["ingest", "--inbox", str(SAMPLES)], cli_env)  # still idempotent after compaction
    assert "0 new" in second.stdout


def test_runs_compact_the_lake_past_the_threshold(prefect_server, corpus_home, monkeypatch):
    from flows.ops import run_ingest

    monkeypatch.setenv("CORPUS_COMPACT_AT", "3")
    summary = run_ingest(home=str(corpus_home), inbox=str(SAMPLES), batch_size=1)
    assert summary["n_new"] == 5 and "compact" in summary["stage_seconds"]
    con = _ro(corpus_home)
    assert con.execute("SELECT count(*) FROM ducklake_list_files('lake', 'articles')").fetchone()[0] == 1
    assert con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone() == (5, 5)
