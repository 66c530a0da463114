"""Properties of the pipeline pieces between the inbox and cleaning, on generated input (hypothesis).

Cleaning (idempotence, rebuild, decode errors) is in test_clean_properties.py and name offsets in
test_names_fold.py; these cover what sits around them: splitting container files, preparing a
batch, article ids of re-encoded copies, inbox names and HTML extraction. Each property says the
same thing the bad-input tests say about single files: no input raises anything but our typed
errors, and every input is accounted for.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.decode import decode_bytes
from transforms.errors import DecodeError, TransformError
from transforms.pipeline import article_id_for, prepare_batch
from transforms.sources import split_source

SETTINGS = settings(
    max_examples=min(200, int(os.environ.get("HYPOTHESIS_EXAMPLES", "100"))),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SUFFIXES = [".txt", ".html", ".htm", ".json", ".jsonl", ".md", ""]

SENTENCES = [
    "The provincial council met on Monday to discuss the water shortage in the southern districts.",
    "Officials said the repairs would take at least three weeks, and asked residents to be patient.",
    "قال مسؤولون في بغداد إن الحكومة ستعلن عن خطة جديدة للكهرباء الأسبوع المقبل.",
    "Café owners complained about the curfew — “we close at nine now,” one said.",
    "Advertisement",
    "Share this article",
    "",
]

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
article_text = st.lists(st.sampled_from(SENTENCES), min_size=0, max_size=8).map("\n\n".join)
records = st.fixed_dictionaries(
    {},
    optional={"text": st.one_of(article_text, st.text(max_size=60), json_scalars),
              "html": st.one_of(article_text.map(lambda t: f"<p>{t}</p>"), st.text(max_size=60)),
              "title": json_scalars, "published": st.one_of(st.just("2020-01-15"), json_scalars),
              "url": json_scalars, "source_name": json_scalars},
)
# JSON strings may carry unpaired \\udXXX escapes (an emoji cut in half); json.dumps writes them as such
escaped_text = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(), max_size=30)
json_bytes = st.one_of(
    st.fixed_dictionaries({"text": st.one_of(article_text, escaped_text)}, optional={"title": escaped_text,
                          "source_name": escaped_text}).map(lambda r: json.dumps(r).encode("ascii")),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),  # deep nesting
    st.integers(1, 6000).map(lambda n: b'{"text": "x", "n": 1' + b"0" * n + b"}"),  # huge integers
    records.map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8")),
    st.lists(st.one_of(records, json_values), max_size=4).map(lambda v: json.dumps(v).encode("utf-8")),
    st.lists(st.one_of(records.map(json.dumps), st.text(max_size=30), st.just("")), max_size=5)
    .map(lambda lines: "\n".join(lines).encode("utf-8")),
    json_values.map(lambda v: json.dumps(v).encode("utf-8")),
)
any_bytes = st.one_of(
    st.binary(max_size=600),
    json_bytes,
    article_text.map(lambda t: t.encode("utf-8")),
    article_text.map(lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le")),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    article_text.map(lambda t: f"<html><body><article>{t}</article>".encode()),
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@SETTINGS
@given(st.text(alphabet="abc_-.", max_size=10), st.sampled_from(SUFFIXES), any_bytes)
def test_split_source_never_raises_and_accounts_for_every_record(stem: str, suffix: str, data: bytes) -> None:
    name = stem + suffix
    docs, fails = split_source(name, data)
    for d in docs:
        assert d.content_sha256 == _sha(d.raw) and d.kind in ("text", "html", "json-text", "json-html")
        assert isinstance(d.body, bytes)
        if d.kind.startswith("json"):
            assert d.body.strip(), "a JSON record without text is a failure, not a document"
    for f in fails:
        assert f.content_sha256 == _sha(f.data) and f.reason and f.detail
    if suffix not in (".json", ".jsonl"):
        assert len(docs) == 1 and not fails and docs[0].raw == data
    elif suffix == ".jsonl":
        lines = [ln for ln in data.splitlines() if ln.strip()]
        assert len(docs) + len(fails) == max(1, len(lines))
    else:
        assert docs or fails  # a .json file always yields something to land or to hold


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(SUFFIXES), any_bytes), min_size=1, max_size=4))
def test_prepare_batch_returns_failures_instead_of_raising(files: list[tuple[str, bytes]]) -> None:
    docs = []
    for i, (suffix, data) in enumerate(files):
        docs.extend(split_source(f"f{i}{suffix}", data)[0])
    batch = prepare_batch(docs)
    assert len(batch.articles) + len(batch.failures) == len(docs)
    for f in batch.failures:
        assert f.stage in ("decode", "clean") and f.reason and f.detail and f.content_sha256
    for a in batch.articles:
        raw = a["raw_text"]
        assert "\r" not in raw and "\x00" not in raw
        assert a["article_id"] == article_id_for(raw)
        assert isinstance(a["clean_text"], str)
        for key in ("source_name", "raw_text", "clean_text", "title", "author", "url"):
            if isinstance(a.get(key), str):
                a[key].encode("utf-8")  # Parquet and DuckDB need valid text: no lone surrogates
    rows = {a["_row"] for a in batch.articles}
    assert all(s["_row"] in rows for s in batch.removed_spans)


@SETTINGS
@given(st.lists(st.sampled_from(SENTENCES[:4]), min_size=1, max_size=6))
def test_line_endings_and_encodings_do_not_change_the_article_id(paragraphs: list[str]) -> None:
    """A re-saved copy (CRLF, CR, BOM, UTF-16) is the same article, so it is a duplicate, not a new one."""
    text = "\n\n".join(paragraphs) + "\n"
    variants = [
        text.encode("utf-8"),
        text.replace("\n", "\r\n").encode("utf-8"),
        text.replace("\n", "\r").encode("utf-8"),
        codecs.BOM_UTF8 + text.encode("utf-8"),
        codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le"),
        codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    ]
    ids = {article_id_for(decode_bytes(v)[0]) for v in variants}
    assert len(ids) == 1


@SETTINGS
@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\x00" not in b))
def test_inbox_names_are_text_whatever_the_bytes_of_the_file_name(raw_name: bytes) -> None:
    """scan_inbox lists every non-hidden file once, under a name Parquet and DuckDB can store."""
    from warehouse.inbox import scan_inbox

    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox"
        inbox.mkdir()
        try:
            with open(os.path.join(os.fsencode(inbox), raw_name), "wb") as fh:
                fh.write(b"an article")
        except OSError:  # '.' and '..' and names the file system refuses
            return
        items, refusals = scan_inbox(inbox)
        hidden = raw_name.startswith(b".")
        assert len(items) == (0 if hidden else 1) and not refusals
        for item in items:
            item.name.encode("utf-8")
            assert Path(item.path).read_bytes() == b"an article"


@SETTINGS
@given(st.text(max_size=80), st.binary(max_size=50))
def test_add_bytes_stays_in_the_inbox_for_any_name(name: str, data: bytes) -> None:
    from warehouse.inbox import add_bytes

    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "home" / "inbox"
        dest = add_bytes(inbox, name, data)
        assert dest.resolve().parent == inbox.resolve()
        assert not dest.name.startswith(".") and dest.read_bytes() == data
        assert [p for p in Path(tmp).rglob("*") if p.is_file()] == [dest]


TAGS = ["<p>", "</p>", "<div>", "</div>", "<article>", "<script>", "</script>", "<!--", "-->", "<br/>",
        "<table><tr><td>", "</td></tr></table>", "<h1>", "</h1>", "<", ">", "&amp;", "&#0;", "<![CDATA[", "<?xml ?>"]


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(TAGS), st.sampled_from(SENTENCES), st.text(max_size=20)), max_size=40))
def test_extract_html_raises_only_typed_errors(parts: list[str]) -> None:
    from transforms.clean import extract_html

    html = "".join(parts)
    try:
        out = extract_html(html)
    except TransformError as exc:
        assert exc.reason  # noqa: PT017 - any page: a typed refusal or text, never both checked by raises()
        return
    assert out.text.strip()


@SETTINGS
@given(any_bytes)
def test_decode_refusals_are_typed_and_named(data: bytes) -> None:
    try:
        decode_bytes(data)
    except DecodeError as exc:  # any bytes: decoded, or refused with a named reason
        assert exc.reason in ("empty", "binary", "nul_bytes", "undecodable")  # noqa: PT017


# Our own lines with names in them, for the offsets of linked mentions in every field.
HEADLINES = ["Muqtada al-Sadr returns to Najaf", "Water talks resume in the south", "Crowds fill Tahrir Square again",
             "Karbala", "Qasem Soleimani and the Quds Force, a profile"]
DATELINES = ["", "KARBALA (AP) — ", "Baghdad, January 21, 2020 — ", "BASRA — ", "Najaf: "]
NAMED_LINES = ["Supporters of Muqtada al-Sadr marched from Najaf to Kufa on Friday.",
               "The Popular Mobilization Forces denied any role in the attack near Baghdad.",
               *SENTENCES[:4]]
FIELD_COLUMN = {"body": "clean_text", "title": "title", "dateline_place": "dateline_place"}
_LINKER: list = []


def _gaz_linker():
    if not _LINKER:
        from transforms.names import Linker, load_gazetteer

        gaz = load_gazetteer()
        _LINKER.extend([gaz, Linker(gaz)])
    return _LINKER


@SETTINGS
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(HEADLINES), st.text(max_size=30)),
                          st.sampled_from(DATELINES),
                          st.lists(st.sampled_from(NAMED_LINES), min_size=1, max_size=5),
                          st.sampled_from([".txt", ".json"])), min_size=1, max_size=3))
def test_every_mention_slices_the_text_of_its_field(items: list[tuple[str | None, str, list[str], str]]) -> None:
    """Body, title and dateline mentions: text_of_field[start:end] == surface, and body offsets are into clean_text."""
    from transforms.pipeline import link_batch

    gaz, linker = _gaz_linker()
    docs = []
    for i, (title, dateline, lines, suffix) in enumerate(items):
        body = dateline + "\n\n".join(lines)
        if suffix == ".json":
            data = json.dumps({"title": title, "text": body}).encode("utf-8")
        else:
            data = (((title + "\n\n") if title else "") + body).encode("utf-8")
        docs.extend(split_source(f"f{i}{suffix}", data)[0])
    batch = prepare_batch(docs)
    rows = link_batch(batch.articles, linker, gaz)
    by_row = {a["_row"]: a for a in batch.articles}
    for r in rows:
        text = by_row[r["_row"]][FIELD_COLUMN[r["field"]]]
        assert isinstance(text, str) and 0 <= r["start_char"] < r["end_char"] <= len(text)
        assert text[r["start_char"] : r["end_char"]] == r["surface"]
