"""Encoding repairs: UTF-8 with bad bytes stays UTF-8, mojibake is repaired, every repair is recorded
(articles.repairs, schema version 2), and an old home upgrades."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.decode import decode_bytes, decode_document, repair_mojibake
from transforms.pipeline import prepare_document
from transforms.sources import SourceDoc
from warehouse import Warehouse, connect_readonly
from warehouse.schema import LAKE_SCHEMAS, SCHEMA_VERSION

PARA = (
    "The mayor’s office said the city’s new bridge won’t open before spring — the contractor’s "
    "report blames the river’s floods. "
)


def test_utf8_with_one_bad_byte_stays_utf8() -> None:
    good = (PARA * 4).encode("utf-8")
    damaged = good[:50] + b"\xff" + good[50:]
    text, encoding = decode_bytes(damaged)
    assert encoding == "utf-8"
    assert text.count("\ufffd") == 1
    assert text == good[:50].decode("utf-8") + "\ufffd" + good[50:].decode("utf-8")
    assert "‚Äô" not in text and "â€™" not in text
    assert decode_document(damaged).repairs == (("invalid_utf8", 1),)


def test_a_legacy_code_page_is_still_detected() -> None:
    data = ("Le café de la gare était fermé, a déclaré le préfet à la presse. " * 3).encode("cp1252")
    decoded = decode_document(data)
    assert decoded.text.startswith("Le café de la gare était fermé")
    assert decoded.repairs == ()


def test_mojibake_is_repaired_and_counted() -> None:
    broken = "The council’s vote\nwas delayed.\nThe mayor’s reply came later.\n"
    broken = broken.encode("utf-8").decode("cp1252")  # "â€™" for "’"
    mac = "The bridge‚Äôs cost rose."  # "’" read as Mac Roman
    fixed, n = repair_mojibake(broken)
    assert fixed == "The council’s vote\nwas delayed.\nThe mayor’s reply came later.\n" and n == 2
    assert repair_mojibake(mac) == ("The bridge’s cost rose.", 1)
    sound = "Café, naïve, “quoted” — العراق"
    assert repair_mojibake(sound) == (sound, 0)


def test_repairs_reach_the_article_row() -> None:
    body = ("Headline about the river\n\n" + PARA * 3).encode("utf-8").decode("cp1252").encode("utf-8")
    row, _spans = prepare_document(SourceDoc("river.txt", body, "text"))
    assert "’" in row["clean_text"] and "â€" not in row["clean_text"]
    assert row["repairs"] == [{"kind": "mojibake", "count": 1}]  # one line held mojibake
    row, _spans = prepare_document(SourceDoc("river.txt", (PARA * 3).encode("utf-8"), "text"))
    assert row["repairs"] == []


def test_mojibake_in_an_html_page_is_repaired() -> None:
    html = (
        "<html><head><title>The mayorâ€™s bridge</title></head><body><article><h1>The mayorâ€™s bridge</h1>"
        + "".join(f"<p>{PARA.encode('utf-8').decode('cp1252')} Paragraph {i}.</p>" for i in range(6))
        + "</article></body></html>"
    )
    row, _spans = prepare_document(SourceDoc("bridge.html", html.encode("utf-8"), "html"))
    assert row["title"] == "The mayor’s bridge"
    assert "mayor’s office" in row["clean_text"] and "â€" not in row["clean_text"]
    assert row["repairs"] and row["repairs"][0]["kind"] == "mojibake"


def _drop_repairs(path) -> None:
    table = pq.read_table(path)
    pq.write_table(table.drop(["repairs"]), path)


def test_an_old_home_upgrades_to_repairs(corpus_home) -> None:
    assert SCHEMA_VERSION == 3
    wh = Warehouse(corpus_home)
    row = {"article_id": "a", "source_name": "a.txt", "content_sha256": "sha-a", "clean_text": "text a"}
    with wh.writer() as w:
        w.land_batch("r1", 0, {"articles": pa.Table.from_pylist([row], schema=LAKE_SCHEMAS["articles"])})
    # make it a version-2 home (mentions have `field`): no `repairs` in any articles file
    for path in (corpus_home / "lake" / "articles").rglob("*.parquet"):
        _drop_repairs(path)
    con = duckdb.connect(str(corpus_home / "corpus.duckdb"))
    con.execute("UPDATE _meta SET value = '2' WHERE key = 'schema_version'")
    con.close()

    with wh.writer() as w:  # opening migrates
        second = {**row, "article_id": "b", "content_sha256": "sha-b", "repairs": [{"kind": "mojibake", "count": 3}]}
        w.land_batch("r2", 0, {"articles": pa.Table.from_pylist([second], schema=LAKE_SCHEMAS["articles"])})
    con = connect_readonly(corpus_home)
    try:
        assert con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()[0] == "3"
        rows = dict(con.execute("SELECT article_id, repairs FROM articles ORDER BY article_id").fetchall())
        assert rows == {"a": None, "b": [{"kind": "mojibake", "count": 3}]}
        fixed = con.execute(
            "SELECT count(*) FROM articles, unnest(repairs) AS r(x) WHERE x.kind = 'mojibake'"
        ).fetchone()[0]
        assert fixed == 1
    finally:
        con.close()
    assert "repairs" in pq.read_schema(corpus_home / "lake" / "articles" / "_schema.parquet").names
