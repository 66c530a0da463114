"""Names in titles and datelines are mentions of the article (issue 14, item 7): the `field` column,
its offsets, its validation, the 1 -> 2 migration of old homes, and "articles naming X"."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from transforms.names import Linker, load_gazetteer, normalize_text
from transforms.pipeline import link_batch
from warehouse import Warehouse, connect_readonly
from warehouse.schema import SCHEMA_VERSION

FIXTURES = Path(__file__).parent / "fixtures"
FIELD_TEXT = {"body": "clean_text", "title": "title", "dateline_place": "dateline_place"}

# Our own sentences: the title names the cleric, the body never does.
TITLE = "Muqtada al-Sadr calls on his followers to leave the streets"
BODY = (
    "The cleric's office published a short statement on Friday evening, a few hours after the "
    "largest gathering of the week had ended without violence.\n\n"
    "Supporters were asked to go home before the curfew and to keep away from government "
    "buildings, and local organisers said they would respect the request.\n\n"
    "Shops in the old market reopened on Saturday morning, and traffic returned to the main bridge."
)


@pytest.fixture(scope="module")
def gaz_linker():
    gaz = load_gazetteer()
    return gaz, Linker(gaz)


def test_title_and_dateline_are_linked_with_offsets_into_their_own_text(gaz_linker):
    gaz, linker = gaz_linker
    art = {"article_id": "a1", "_row": 0, "clean_text": BODY, "title": TITLE, "dateline_place": "Karbala"}
    rows = link_batch([art], linker, gaz)
    by_field = {r["field"]: r for r in rows}
    assert by_field["title"]["entity_id"] == "muqtada-al-sadr"
    assert by_field["dateline_place"]["entity_id"] == "karbala"
    for r in rows:
        assert art[FIELD_TEXT[r["field"]]][r["start_char"] : r["end_char"]] == r["surface"]
    assert art["normalized_text"] == BODY  # normalized_text is about the body alone


def test_body_offsets_and_normalized_text_stay_as_before(gaz_linker):
    gaz, linker = gaz_linker
    body = "Crowds in Najaf waited for Muqtada al-Sadr."
    art = {"article_id": "a2", "_row": 0, "clean_text": body, "title": None, "dateline_place": None}
    rows = link_batch([art], linker, gaz)
    assert [(r["field"], r["start_char"], r["surface"]) for r in rows] == [
        ("body", m.start, m.surface) for m in linker.link(body)
    ]
    assert art["normalized_text"] == normalize_text(body, linker.link(body), gaz)


def test_a_headline_short_form_is_judged_with_the_whole_article_as_context(gaz_linker):
    """A calque in the title links when the body names the person in full, as it would in the body."""
    gaz, linker = gaz_linker
    title = "Mourners bury the Engineer in Najaf"
    named = "Thousands walked behind the coffin of Abu Mahdi al-Muhandis on Monday, after the strike."
    unnamed = "Thousands walked behind a coffin on Monday, after the strike."
    found = {}
    for body in (named, unnamed):
        art = {"article_id": "a3", "_row": 0, "clean_text": body, "title": title, "dateline_place": None}
        found[body] = {(r["field"], r["surface"], r["entity_id"]) for r in link_batch([art], linker, gaz)}
    assert ("title", "the Engineer", "abu-mahdi-al-muhandis") in found[named]
    assert found[unnamed] == {("title", "Najaf", "najaf")}


# ---- validation ---------------------------------------------------------------------------------


def _batch(mentions: list[tuple]) -> dict[str, pd.DataFrame]:
    import hashlib

    raw = "Advertisement\n" + BODY
    sha = hashlib.sha256(raw.encode()).hexdigest()
    article = {
        "article_id": "art-1", "source_name": "art-1.txt", "content_sha256": sha, "archived_sha256": sha,
        "title": TITLE, "author": None, "published": None, "dateline_place": "Karbala", "language": "en",
        "raw_text": raw, "clean_text": BODY, "normalized_text": BODY,
    }
    cols = ["article_id", "start_char", "end_char", "surface", "entity_id", "method", "score", "field"]
    return {"articles": pd.DataFrame([article]), "mentions": pd.DataFrame(mentions, columns=cols)}


def _mention_failures(frames) -> list[str]:
    from expectations import validate_batch

    report = validate_batch(frames, ["muqtada-al-sadr", "karbala"])
    return [f.detail for f in report.failures if f.table == "mentions"]


def test_mentions_of_every_field_validate_against_their_own_text():
    frames = _batch([
        ("art-1", 0, 15, "Muqtada al-Sadr", "muqtada-al-sadr", "exact", 1.0, "title"),
        ("art-1", 0, 7, "Karbala", "karbala", "exact", 1.0, "dateline_place"),
    ])
    assert _mention_failures(frames) == []


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # title offsets read in the body: the slice is not the surface
        (("art-1", 0, 15, "Muqtada al-Sadr", "muqtada-al-sadr", "exact", 1.0, "body"), "!= the 'body' text"),
        # past the end of the dateline place
        (("art-1", 0, 15, "Muqtada al-Sadr", "muqtada-al-sadr", "exact", 1.0, "dateline_place"), "past the end"),
        (("art-1", 0, 7, "Karbala", "karbala", "exact", 1.0, "caption"), "field 'caption' is not one of"),
        (("art-1", 0, 7, "Karbala", "karbala", "exact", 1.0, None), "field is null"),
    ],
)
def test_mentions_that_do_not_slice_their_field_are_rejected(row, expected):
    failures = _mention_failures(_batch([row]))
    assert any(expected in d for d in failures), failures


def test_a_title_mention_of_an_article_without_title_is_rejected():
    frames = _batch([("art-1", 0, 15, "Muqtada al-Sadr", "muqtada-al-sadr", "exact", 1.0, "title")])
    frames["articles"].loc[0, "title"] = None
    assert any("past the end of the 'title' text" in d for d in _mention_failures(frames))


# ---- migration of a home built by schema version 1 ----------------------------------------------


def test_a_version_1_home_is_upgraded_with_every_old_mention_in_the_body(tmp_path):
    # home_v1.tar.gz: the five samples ingested by the code of schema version 1 (before `field`); the
    # next writer turns it into a DuckLake (warehouse/migrations.py), every old mention a body mention
    import duckdb

    home = tmp_path / "home"
    home.mkdir()
    with tarfile.open(FIXTURES / "home_v1.tar.gz") as tar:
        tar.extractall(home, filter="data")
    with pytest.raises(duckdb.IOException, match="newer version of DuckDB"):  # DuckDB 2.0 wrote it
        duckdb.connect(str(home / "corpus.duckdb"), read_only=True)
    files = sorted((home / "lake" / "mentions").rglob("*.parquet"))
    before = sum(pq.ParquetFile(f).metadata.num_rows for f in files if f.name != "_schema.parquet")
    assert before > 0 and all("field" not in pq.read_schema(f).names for f in files if f.name != "_schema.parquet")

    with Warehouse(home).writer():
        pass
    with Warehouse(home).writer():  # a second opening finds nothing left to do
        pass

    # nothing deleted: the old catalog (written by DuckDB 2.0, which DuckDB 1.5.5 cannot open: the data
    # came from the lake's files) and the old lake files are kept under HOME/replaced-*/
    aside = next(home.glob("replaced-*"))
    assert (aside / "corpus.duckdb").is_file()
    assert all((aside / f.relative_to(home)).is_file() for f in files)
    con = connect_readonly(home)
    try:
        assert con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert con.execute("SELECT field, count(*) FROM mentions GROUP BY field").fetchall() == [("body", before)]
        bad = con.execute(
            "SELECT count(*) FROM mentions m JOIN articles a USING (article_id) "
            "WHERE substr(a.clean_text, m.start_char + 1, m.end_char - m.start_char) <> m.surface"
        ).fetchone()[0]
        assert bad == 0
        assert con.execute("SELECT sum(n_mentions) FROM entity_mentions").fetchone()[0] == before
    finally:
        con.close()


# ---- end to end: "articles naming X" finds an article that names X only in its headline ----------


def _title_rows(home) -> list[tuple]:
    con = connect_readonly(home)
    try:
        return con.execute(
            "SELECT m.field, substr(a.title, m.start_char + 1, m.end_char - m.start_char), m.surface, m.entity_id "
            "FROM mentions m JOIN articles a USING (article_id) WHERE m.field <> 'body' ORDER BY m.start_char"
        ).fetchall()
    finally:
        con.close()


def test_title_only_article_is_found_by_articles_naming_x(tmp_path, prefect_server):
    from flows.ops import run_ingest, run_renormalize

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "headline.json").write_text(json.dumps({"title": TITLE, "text": BODY}), encoding="utf-8")
    home = tmp_path / "home"
    summary = run_ingest(home=str(home), inbox=str(inbox))
    assert summary["n_new"] == 1, summary
    con = connect_readonly(home)
    try:
        rows = con.execute(
            "SELECT source_name, fields, n_mentions FROM entity_mentions WHERE entity_id = 'muqtada-al-sadr'"
        ).fetchall()
        assert rows == [("headline.json", ["title"], 1)]
        assert "al-Sadr" not in con.execute("SELECT clean_text FROM articles").fetchone()[0]
    finally:
        con.close()
    expected = [("title", "Muqtada al-Sadr", "Muqtada al-Sadr", "muqtada-al-sadr")]
    assert _title_rows(home) == expected
    # re-linking the stored corpus links the titles again too
    assert run_renormalize(home=str(home))["n_mentions"] == 1
    assert _title_rows(home) == expected
