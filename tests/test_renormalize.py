"""New names end to end: ingest, `corpus entities suggest/accept/reject`, `corpus renormalize`, the views."""

from __future__ import annotations

import json

import pytest

from flows import ops
from tests.conftest import run_cli
from tests.new_names_corpus import write_corpus
from warehouse import connect_readonly

pytestmark = pytest.mark.slow


def _ro(home):
    return connect_readonly(home)


def _cluster_with(clusters: list[dict], spelling: str) -> dict:
    return next(c for c in clusters if spelling in {s["spelling"] for s in c["spellings"]})


def test_suggest_accept_reject_renormalize(cli_env, corpus_home, tmp_path):
    summary = ops.run_ingest(home=str(corpus_home), inbox=str(write_corpus(tmp_path / "new_names")))
    assert summary["n_new"] == 8, summary
    con = _ro(corpus_home)
    before = {r[0]: r[1:] for r in con.execute(
        "SELECT article_id, raw_text, clean_text, ingested_at, run_id, title FROM articles").fetchall()}
    known_before = con.execute("SELECT count(*) FROM mentions").fetchone()[0]
    con.close()

    # suggest, through the real entry point
    clusters = json.loads(run_cli(["entities", "suggest", "--format", "json"], cli_env).stdout)
    kaabi = _cluster_with(clusters, "Hamid al-Kaabi")
    assert {s["spelling"] for s in kaabi["spellings"]} == {"Hamid al-Kaabi", "Hameed al-Kaabi", "Hamed Ka'abi", "Kaabi"}
    assert all(s["example"] for s in kaabi["spellings"])
    rezaei = _cluster_with(clusters, "Shirin Rezaei")
    table = run_cli(["entities", "suggest", "--limit", "1"], cli_env).stdout
    assert clusters[0]["cluster"] in table and "1 of" in table

    # accept one, reject another
    out = run_cli(["entities", "accept", kaabi["cluster"], "--id", "hamid-al-kaabi", "--type", "PERSON"],
                  cli_env).stdout
    assert "hamid-al-kaabi" in out
    run_cli(["entities", "reject", rezaei["cluster"]], cli_env)
    decisions = (corpus_home / "gazetteer" / "decisions.yaml").read_text(encoding="utf-8")
    assert "hamid-al-kaabi" in decisions and "shirin rezaei" in decisions
    assert (corpus_home / "gazetteer" / "local.yaml").is_file()
    bad = run_cli(["entities", "accept", "c00000000"], cli_env, check=False)
    assert bad.returncode == 2 and "no cluster" in bad.stderr

    # neither is proposed again; the accepted one waits for renormalize
    res = ops.suggest_entities(str(corpus_home))
    ids = {c.cluster_id for c in res.clusters}
    assert kaabi["cluster"] not in ids and rezaei["cluster"] not in ids
    assert res.pending >= 3
    con = _ro(corpus_home)
    assert con.execute("SELECT count(*) FROM mentions WHERE entity_id = 'hamid-al-kaabi'").fetchone()[0] == 0
    con.close()

    # renormalize, through the real entry point (a Prefect flow run on the session's server)
    out = run_cli(["renormalize", "--json"], cli_env).stdout
    s = json.loads(out)
    assert s["n_articles"] == 8 and s["n_changed"] == 3, s

    con = _ro(corpus_home)
    got = con.execute(
        "SELECT surface, method FROM mentions WHERE entity_id = 'hamid-al-kaabi' ORDER BY surface").fetchall()
    assert {g[0] for g in got} == {"Hamid al-Kaabi", "Hameed al-Kaabi", "Hamed Ka'abi", "Kaabi"}
    assert ("Kaabi", "coref") in got
    view = con.execute("SELECT canonical_name, type, sum(n_mentions), count(DISTINCT article_id) FROM entity_mentions "
                       "WHERE entity_id = 'hamid-al-kaabi' GROUP BY ALL").fetchall()
    assert view == [("Hamid al-Kaabi", "PERSON", 4, 3)]
    assert con.execute("SELECT canonical_name FROM entities WHERE entity_id = 'hamid-al-kaabi'").fetchall() == [
        ("Hamid al-Kaabi",)]
    # every other column is as it was, known entities keep their mentions, offsets still slice
    after = {r[0]: r[1:] for r in con.execute(
        "SELECT article_id, raw_text, clean_text, ingested_at, run_id, title FROM articles").fetchall()}
    assert after == before
    others = con.execute("SELECT count(*) FROM mentions WHERE entity_id <> 'hamid-al-kaabi'").fetchone()[0]
    assert others == known_before
    for clean, start, end, surface in con.execute(
            "SELECT a.clean_text, m.start_char, m.end_char, m.surface "
            "FROM mentions m JOIN articles a USING (article_id) WHERE m.field = 'body'").fetchall():
        assert clean[start:end] == surface
    norm = con.execute("SELECT normalized_text FROM articles WHERE clean_text LIKE '%Hameed al-Kaabi%'").fetchone()[0]
    assert "Hamid al-Kaabi presented" in norm and "Hameed" not in norm
    run = con.execute("SELECT status, inbox, n_seen FROM runs WHERE run_id = ?", [s["run_id"]]).fetchone()
    assert run == ("completed", "(renormalize)", 8)
    con.close()
    assert ops.suggest_entities(str(corpus_home)).pending == 0

    # the next ingest links the new entity at once (the overlay is part of the run's gazetteer)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "n09.txt").write_text(
        "Adviser returns\n\nHamid al-Kaabi returned to the governor's office on Monday, a month after he resigned over "
        "the pumps that were never delivered. Kaabi said he had been promised that the canals would be dredged before "
        "the summer and that he would resign again if they were not.\n", encoding="utf-8")
    ops.run_ingest(home=str(corpus_home), inbox=str(fresh))
    con = _ro(corpus_home)
    assert con.execute("SELECT count(*) FROM entity_mentions WHERE entity_id = 'hamid-al-kaabi'").fetchone()[0] == 4
    con.close()
