"""Bad records injected into the real flow are quarantined with the failing expectation; good ones land.

Each injection simulates a bug in one stage (a cleaner that leaves a banner, a linker off by one, a
linker inventing an entity, an id function that collides) by wrapping the real stage function.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import SAMPLES
from transforms import pipeline
from warehouse import connect_readonly

SHORT = "Too short to be an article.\n"


@pytest.fixture
def injected(monkeypatch):
    real_prepare, real_link = pipeline.prepare_batch, pipeline.link_batch

    def prepare(docs, rules=None):
        batch = real_prepare(docs, rules)
        for art in batch.articles:
            if art["source_name"].startswith("000_"):
                art["clean_text"] += "\n\n728 x 90\n"  # a cleaner that missed a banner
        dup = next(a for a in batch.articles if a["source_name"].startswith("003_"))
        batch.articles.append(dict(dup, source_name="003_copy.txt", _row=len(batch.articles)))
        return batch

    def link(articles, linker, gazetteer):
        rows = real_link(articles, linker, gazetteer)
        for name, fault in (("001_", "offset"), ("002_", "entity")):
            aid = next(a["article_id"] for a in articles if a["source_name"].startswith(name))
            m = next(r for r in rows if r["article_id"] == aid)
            if fault == "offset":
                m["start_char"] += 1
                m["end_char"] += 1
            else:
                m["entity_id"] = "no-such-entity"
        return rows

    monkeypatch.setattr(pipeline, "prepare_batch", prepare)
    monkeypatch.setattr(pipeline, "link_batch", link)


def test_each_bad_record_is_quarantined_with_its_reason(prefect_server, corpus_home, tmp_path, injected):
    from flows.ops import run_ingest

    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLES, inbox)
    (inbox / "short.txt").write_text(SHORT, encoding="utf-8")
    summary = run_ingest(home=str(corpus_home), inbox=str(inbox))
    con = connect_readonly(corpus_home)
    landed = {r[0] for r in con.execute("SELECT source_name FROM articles").fetchall()}
    assert landed == {"003_649906619efb8436.txt", "004_dc9668a5bd49d4a6.txt"}
    held = {}
    for name, stage, reason, detail in con.execute(
            "SELECT source_name, stage, reason, detail FROM quarantine").fetchall():
        assert stage == "validate" and detail
        held.setdefault(name, set()).add(reason)
    assert "expect_column_values_to_not_match_regex_list(clean_text)" in held["000_083595a5a8a6eafd.txt"]
    assert "expect_column_pair_values_to_be_equal(surface,field_slice)" in held["001_37770341e2c3cd0c.txt"]
    assert "expect_column_values_to_be_in_set(entity_id)" in held["002_8a7174939e31e350.txt"]
    assert "expect_column_values_to_be_unique(article_id)" in held["003_copy.txt"]
    assert "expect_column_value_lengths_to_be_between(clean_text)" in held["short.txt"]
    assert summary["n_new"] == 2 and summary["n_quarantined"] == 5
    # nothing of a rejected article landed, and results were kept per expectation
    assert con.execute("SELECT count(*) FROM mentions m ANTI JOIN articles a USING (article_id)").fetchone()[0] == 0
    failed = con.execute("SELECT count(*) FROM validation_results WHERE NOT success").fetchone()[0]
    assert failed >= 5
    assert (corpus_home / "docs" / "index.html").exists()


def test_quarantine_retry_lands_after_the_fix(prefect_server, corpus_home, tmp_path, monkeypatch):
    from flows.ops import run_ingest, status

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = (SAMPLES / "004_dc9668a5bd49d4a6.txt").read_text(encoding="utf-8")
    (inbox / "article.txt").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CORPUS_MIN_CLEAN_CHARS", "100000")  # a limit set too high holds the article
    first = run_ingest(home=str(corpus_home), inbox=str(inbox))
    assert first["n_quarantined"] == 1 and first["n_new"] == 0
    assert status(str(corpus_home))["n_held"] == 1
    monkeypatch.delenv("CORPUS_MIN_CLEAN_CHARS")  # the fix
    again = run_ingest(home=str(corpus_home), inbox=str(inbox))
    assert again["n_duplicate"] == 1 and again["n_new"] == 0  # held content is not re-tried silently
    retry = run_ingest(home=str(corpus_home), retry_quarantined=True)
    assert retry["n_new"] == 1
    s = status(str(corpus_home))
    assert s["n_held"] == 0 and s["counts"]["articles"] == 1


def test_empty_batch_from_a_non_empty_inbox_fails_the_run(prefect_server, corpus_home, tmp_path, monkeypatch):
    """A read stage that loses every file (simulated) is a batch-level failure, not a quiet empty run."""
    from flows import ingest
    from flows.ops import run_ingest

    real_split = ingest.split_source
    monkeypatch.setattr(ingest, "split_source", lambda name, data: ([], []))
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLES, inbox)
    with pytest.raises(ingest.BatchError, match="gave no article, duplicate or quarantine row"):
        run_ingest(home=str(corpus_home), inbox=str(inbox))
    monkeypatch.setattr(ingest, "split_source", real_split)
    con = connect_readonly(corpus_home)
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "failed"
