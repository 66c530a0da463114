"""Encoding repairs: UTF-8 with bad bytes stays UTF-8, mojibake is repaired, every repair is recorded
(articles.repairs, schema version 2), and an old home upgrades."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from transforms.clean import clean_html_page
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


def test_sound_text_skips_ftfy_and_repair_matches_ftfy(monkeypatch) -> None:
    import ftfy

    from transforms.decode import _ftfy_config

    samples = [
        "Café, naïve, “quoted” — العراق\nZürich’s second line.",
        "The council’s vote".encode().decode("cp1252") + "\nclean line é",
        "first line\n" + "été".encode().decode("latin-1") + " au début",
        "Ã  la ligne\nsecond",
        "bridge\x92s and \x93quotes\x94",
        "plain words " * 50 + "caf\u00c3\u00a9" + " more words" * 50 + " na\u00efve",
        "x" * 300 + "\n\u00c2 y\nend \u00e9t\u00e9",
    ]
    expected = [ftfy.fix_text(s, _ftfy_config()) for s in samples]
    assert [repair_mojibake(s)[0] for s in samples] == expected
    calls: list[str] = []
    real = ftfy.fix_text
    monkeypatch.setattr(ftfy, "fix_text", lambda text, *a, **k: calls.append(text) or real(text, *a, **k))
    assert repair_mojibake(samples[0]) == (samples[0], 0)
    assert calls == []  # one badness search, not ftfy's per-line fixing, on text with no mojibake


def test_ftfy_badness_matches_fit_the_stretches_searched() -> None:
    # repair_mojibake searches only text near non-ASCII characters: sound while ftfy's pattern
    # matches at most _BADNESS_REACH + 1 characters.
    import re._parser

    from ftfy.badness import BADNESS_RE

    from transforms.decode import _BADNESS_REACH

    assert re._parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags).getwidth()[1] <= _BADNESS_REACH + 1


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


def test_an_old_home_upgrades_to_repairs(tmp_path) -> None:
    """A home from before `articles.repairs` (home_v1.tar.gz) is migrated: old articles have none, new ones do."""
    import tarfile

    assert SCHEMA_VERSION == 4
    home = tmp_path / "home"
    home.mkdir()
    with tarfile.open(Path(__file__).parent / "fixtures" / "home_v1.tar.gz") as tar:
        tar.extractall(home, filter="data")
    wh = Warehouse(home)
    row = {"article_id": "b", "source_name": "b.txt", "content_sha256": "sha-b", "clean_text": "text b",
           "repairs": [{"kind": "mojibake", "count": 3}]}
    with wh.writer() as w:  # opening migrates
        w.land_batch("r2", 0, {"articles": pa.Table.from_pylist([row], schema=LAKE_SCHEMAS["articles"])})
    con = connect_readonly(home)
    try:
        assert con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()[0] == "4"
        rows = dict(con.execute("SELECT article_id, repairs FROM articles ORDER BY article_id").fetchall())
        assert rows.pop("b") == [{"kind": "mojibake", "count": 3}]
        assert rows and all(v is None for v in rows.values())  # the old articles
        fixed = con.execute(
            "SELECT count(*) FROM articles, unnest(repairs) AS r(x) WHERE x.kind = 'mojibake'"
        ).fetchone()[0]
        assert fixed == 1
    finally:
        con.close()


def test_double_encoded_utf8_with_c1_controls_is_repaired_not_stripped() -> None:
    """UTF-8 read as Latin-1 then saved as UTF-8 again keeps "â\\x80\\x99" for "’": the C1 controls
    are part of the mojibake, so they are repaired first; stripping them first left a lone "â"."""
    sound = "The ferry’s captain said the harbour’s lights — all of them — failed at dusk.\n"
    double = (sound * 3).encode("utf-8").decode("latin-1").encode("utf-8")
    assert "\x80" in double.decode("utf-8")
    text, _ = decode_bytes(double)
    assert text == sound * 3
    decoded = decode_document(double, repair=False)  # the HTML path repairs later, but not this
    assert decoded.text == sound * 3
    assert ("mojibake", 3) in decoded.repairs
    html = ("<html><body><article>" + f"<p>{sound}</p>" * 6 + "</article></body></html>").encode("utf-8")
    double_html = html.decode("latin-1").encode("utf-8")
    page = clean_html_page(double_html)
    assert "ferry’s captain" in page.clean_text and "â" not in page.clean_text
    assert page.repairs and page.repairs[0][0] == "mojibake"


def test_c1_controls_left_after_repair_are_dropped() -> None:
    """A C1 control that is no mojibake (no code page maps it) is still dropped, and one that is
    cp1252 read as Latin-1 ("\\x92" for "’") becomes the character it stood for."""
    decoded = decode_document("A plain line\x9d with one stray control.".encode(), repair=False)
    assert decoded.text == "A plain line with one stray control." and decoded.repairs == ()
    decoded = decode_document("The harbour\x92s lights.".encode(), repair=False)
    assert decoded.text == "The harbour’s lights." and decoded.repairs == (("mojibake", 1),)


def test_an_html_page_repaired_twice_has_one_mojibake_entry() -> None:
    """Decoding repairs double-encoded lines, the HTML path repairs the extracted text: the article row has
    one entry per kind, with the counts summed."""
    sound = "The ferry’s captain said the harbour’s lights — all of them — failed at dusk."
    body = "".join(f"<p>{sound} Paragraph {i}.</p>" for i in range(6))
    head = "<html><head><title>The ferryâ€™s lights</title></head>\n"  # mojibake the HTML path repairs
    tail = f"<body><article>{body}</article></body></html>".encode().decode("latin-1")  # decoding repairs this
    data = (head + tail).encode("utf-8")
    row, _spans = prepare_document(SourceDoc("ferry.html", data, "html"))
    kinds = [r["kind"] for r in row["repairs"]]
    assert kinds.count("mojibake") == 1, row["repairs"]
    assert "ferry’s captain" in row["clean_text"] and row["title"] == "The ferry’s lights"
