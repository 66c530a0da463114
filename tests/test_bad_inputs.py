"""Bad inputs through the real flow: every case lands, is quarantined (stage + reason) or is refused.

One inbox holds the five samples next to every bad file, and ONE flow run ingests it: one bad
file must never stop the others, so the samples landing is part of every assertion. A second
run checks duplicates of already-landed articles; a third fails on a broken gazetteer. Cases
that are not inbox files (`corpus add` names, URLs, unreadable files) have their own tests.

The small fixtures are committed in tests/fixtures/bad (made by make_fixtures.py); the large and
binary ones are generated here into tmp. The table of cases and outcomes is CASES below, copied
into RELIABILITY.md.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SAMPLES, local_site, run_cli
from warehouse import connect_readonly

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bad"
MAX_FILE_MB = 2  # CORPUS_MAX_FILE_MB for the main run; the too-large file is 3 MB
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass(frozen=True)
class Case:
    """One bad input and what must happen to it."""

    id: str
    source_name: str  # the name it arrives under (a .jsonl record is `file#L<n>`)
    outcome: str  # lands | quarantined | refused | duplicate
    stage: str | None = None  # quarantine stage (refusals are stage `discover`)
    reason: str | None = None
    note: str = ""


# ---- the cases of the main run (one inbox, one flow run) -------------------------------------
CASES: list[Case] = [
    Case("empty", "empty.txt", "quarantined", "decode", "empty", "0 bytes"),
    Case("whitespace", "whitespace_only.txt", "quarantined", "decode", "empty", "spaces, tabs, CRLF"),
    Case("png", "image.png.txt", "quarantined", "decode", "binary", "PNG signature, named .txt"),
    Case("elf", "program.txt", "quarantined", "decode", "binary", "ELF header"),
    Case("control-chars", "control_chars.txt", "quarantined", "decode", "binary", "> 5% C0 controls"),
    Case("invalid-utf8-garbage", "invalid_utf8_garbage.txt", "quarantined", "decode", "undecodable",
         "2 KB of high bytes, no encoding gives plausible text"),
    Case("invalid-utf8-in-article", "invalid_utf8_in_article.txt", "lands", note=(
        "UTF-8 article with a broken sequence and a stray 0xFF: strict UTF-8 fails, charset-normalizer "
        "decodes it as cp1252 (the two bad spots become mojibake; the archive keeps the exact bytes)")),
    Case("cp1252", "cp1252.txt", "lands", note="curly quotes, em dashes, é, €: decoded as cp1252"),
    Case("cp1256", "cp1256_arabic.txt", "lands", note="Arabic article in windows-1256: decoded as cp1256"),
    Case("utf16-bom", "utf16_bom.txt", "lands", note="UTF-16 LE with BOM"),
    Case("cr-only", "cr_only.txt", "lands", note="old-Mac CR-only line endings become \\n"),
    Case("mixed-endings", "mixed_line_endings.txt", "lands", note="CRLF, CR and LF in one file"),
    Case("nul-byte", "nul_byte.txt", "lands", note="one stray NUL is dropped"),
    Case("nul-bytes-many", "nul_bytes_many.txt", "quarantined", "decode", "nul_bytes",
         "a NUL every 40 bytes (2.5%)"),
    Case("html-no-article", "no_article.html", "quarantined", "clean", "no_article", "navigation and footer only"),
    Case("html-huge-dom", "huge_dom.html", "quarantined", "clean", "too_large",
         "1.4 MB, 450,000 tags (limit 400,000): refused before parsing"),
    Case("html-deep-dom", "deep_dom.html", "quarantined", "clean", "no_article",
         "30,000 nested <div>s: the parser's depth limit drops the body, nothing crashes"),
    Case("html-malformed", "malformed.html", "lands", note="unclosed tags and script: lxml repairs it"),
    Case("html-junk", "junk_markup.html", "quarantined", "clean", "no_article", "markup soup, no text"),
    Case("html-not-html", "plain_text_named.htm", "quarantined", "clean", "not_html", "plain text named .htm"),
    Case("jsonl-good-record", "records.jsonl#L1", "lands", note="the good line of a .jsonl with bad lines"),
    Case("jsonl-missing-text", "records.jsonl#L2", "quarantined", "parse", "missing_text", "no text field"),
    Case("jsonl-blank-text", "records.jsonl#L3", "quarantined", "parse", "missing_text", "text is white space"),
    Case("jsonl-truncated-line", "records.jsonl#L4", "quarantined", "parse", "bad_json", "line cut off"),
    Case("jsonl-blank", "blank_lines.jsonl", "quarantined", "parse", "empty", "only blank lines"),
    Case("json-truncated", "truncated.json", "quarantined", "parse", "bad_json", "file cut off"),
    Case("json-not-objects", "not_objects.json#1", "quarantined", "parse", "bad_record",
         "a list of 1, \"two\", null: three bad_record rows (#0, #1, #2)"),
    Case("json-deep-nesting", "deep_nesting.json", "quarantined", "parse", "bad_json",
         "100,000 nested lists: json.loads' RecursionError is a bad record, not a failed run"),
    Case("json-huge-number", "huge_number.json", "quarantined", "parse", "bad_json",
         "a 5,001-digit integer: over Python's int() limit (ValueError)"),
    Case("json-lone-surrogate", "lone_surrogate.json", "lands", note=(
        "an emoji cut in half (\\ud83d) in title and text: becomes U+FFFD; the raw bytes are archived as sent")),
    Case("stub", "stub.txt", "quarantined", "validate", "expect_column_value_lengths_to_be_between(clean_text)",
         "one sentence: under CORPUS_MIN_CLEAN_CHARS"),
    Case("future-date", "future_date.json", "quarantined", "validate", "expect_column_values_to_be_between(published)",
         "published 2099-05-01"),
    Case("too-large", "too_large.txt", "quarantined", "read", "too_large",
         "3 MB over CORPUS_MAX_FILE_MB=2: archived by streaming, never read whole"),
    Case("vanished", "zz_vanishes.txt", "quarantined", "read", "vanished",
         "deleted after discover, before read (a hook on the flow's start event deletes it)"),
    Case("replaced-by-folder", "zz_becomes_folder.txt", "quarantined", "read", "unreadable",
         "replaced by a folder after discover: open() raises IsADirectoryError"),
    Case("symlink-outside", "link_to_outside.txt", "refused", "discover", "symlink_outside_inbox",
         "links to a file outside the inbox; never opened"),
    Case("symlink-loop", "loop_a.txt", "refused", "discover", "bad_link", "a <-> b link loop"),
    Case("symlink-dangling", "dangling_link.txt", "refused", "discover", "vanished", "link to a missing file"),
    Case("odd-file-name", "bad_\\xff_name.txt", "lands", note=(
        "a file name that is not UTF-8 (byte 0xFF): lands under a name with the byte escaped")),
    Case("nested-folder", "sub/folder/nested.txt", "lands", note="inbox sub-folders are read"),
    Case("unknown-suffix", "notes.md", "lands", note="unknown extension: read as plain text"),
    Case("same-bytes-same-run", "copy_of_000.txt", "duplicate", note="a sample's bytes under another name"),
    Case("crlf-same-run", "crlf_of_001.txt", "duplicate", note=(
        "a sample with CRLF line endings in the same run: same decoded text, same article_id")),
]

# Cases of the second run, into the warehouse of the main run.
DUP_CASES: list[Case] = [
    Case("dup-other-name", "renamed_002.txt", "duplicate", note="bytes of an already-landed sample"),
    Case("dup-crlf", "crlf_of_003.txt", "duplicate", note="landed sample with CRLF endings: near-duplicate"),
    Case("dup-reencoded", "cp1252_as_utf8.txt", "duplicate", note="the cp1252 article re-encoded as UTF-8"),
    Case("dup-of-quarantined", "stub_again.txt", "duplicate", note="bytes already held in quarantine"),
    Case("new-beside-dups", "fresh.txt", "lands", note="a new article in the same run"),
]

# Cases outside the inbox scan, each with its own test below.
OTHER_CASES: list[Case] = [
    Case("gazetteer-yaml-error", "CORPUS_GAZETTEER", "refused", note=(
        "the run fails before reading anything: GazetteerError '<file>:<line>: YAML syntax error: ...'; "
        "the run is recorded as failed and the inbox is left untouched")),
    Case("add-dotdot-name", "../../x", "refused", note=(
        "`corpus add ../../x` copies the file in as inbox/x.txt; add_bytes never writes outside the inbox")),
    Case("url-404", "http://127.0.0.1:PORT/missing.html", "refused", note="not added: 'HTTP 404'; exit 1"),
    Case("url-timeout", "http://127.0.0.1:PORT/story.html (never answers)", "refused", note=(
        "slow: not added, 'no answer within 1s (timeout or connection refused)'; the next URL is still added; "
        "bounded by an overall deadline: about 3 s at CORPUS_FETCH_TIMEOUT=1")),
    Case("no-permission", "no_permission.txt", "quarantined", "read", "unreadable", (
        "PermissionError on open: quarantined, the rest of the batch is read")),
    Case("100mb", "big.txt", "quarantined", "read", "too_large", (
        "slow: 100 MB over the default 20 MB limit, archived in 1 MB chunks")),
]

ARTICLE_FOR_NEW = (
    "Traders at the Shorja market in Baghdad said on Monday that the price of cooking oil had doubled since the "
    "start of the month, after a shipment was held up at the port of Umm Qasr for customs checks.\n\n"
    "The trade ministry said the delay was temporary and that the ration system would not be affected, "
    "but shopkeepers said they had already started limiting sales to two bottles a customer.\n"
)

NOTES_MD = (
    "# Field notes\n\nA reporter's notes saved as Markdown. The water treatment plant in Samawa was idle for a "
    "third day on Sunday after a power failure, officials said, and residents queued at public taps with plastic "
    "jerrycans. The provincial council blamed the national grid; the electricity ministry blamed unpaid bills.\n"
)

NESTED = (
    "The municipality of Najaf began repaving the road to the airport on Saturday, a project delayed for two years "
    "by a dispute between contractors. Drivers were told to expect closures at night for the next six weeks, "
    "and the governor promised that the work would be finished before the pilgrimage season.\n"
)

ODD_NAME = (
    "Bus drivers in Karbala went on strike on Tuesday over unpaid wages, leaving thousands of students and workers "
    "to find other ways to reach the city centre. The transport directorate said salaries would be paid within "
    "days, once the finance ministry released the quarterly budget for the province.\n"
)


def _png() -> bytes:
    # a real 1x1 PNG: signature, IHDR, IDAT, IEND
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _elf() -> bytes:
    # an ELF64 header followed by padding and a few strings, like the start of a real executable
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
    return header + b"\x00" * 200 + b"GLIBC_2.2.5\x00libc.so.6\x00main\x00" + bytes(range(256))


def _article_paragraph(seed: str) -> str:
    return ("<p>The council met on Tuesday to discuss the budget and the repairs to the market; " + seed
            + " said the work would take a year.</p>") * 5


def build_main_inbox(inbox: Path, outside: Path) -> None:
    """The five samples, every committed fixture and the generated bad files, in one inbox."""
    inbox.mkdir(parents=True, exist_ok=True)
    for f in SAMPLES.iterdir():
        shutil.copy(f, inbox / f.name)
    for f in FIXTURES.iterdir():
        if not f.name.endswith(".py") and not f.name.startswith("."):
            shutil.copy(f, inbox / f.name)
    (inbox / "deep_nesting.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (inbox / "image.png.txt").write_bytes(_png())
    (inbox / "program.txt").write_bytes(_elf())
    (inbox / "huge_dom.html").write_text(
        "<html><body>" + _article_paragraph("the mayor") + "<i>" * 450_000 + "</body></html>", encoding="utf-8")
    (inbox / "deep_dom.html").write_text(
        "<html><body>" + "<div>" * 30_000 + _article_paragraph("the governor") + "</div>" * 30_000
        + "</body></html>", encoding="utf-8")
    line = b"This line of an oversized text file is repeated until the file is three megabytes long.\n"
    with open(inbox / "too_large.txt", "wb") as fh:
        for _ in range(3 * 1024 * 1024 // len(line) + 1):
            fh.write(line)
    (inbox / "zz_vanishes.txt").write_text(ARTICLE_FOR_NEW.replace("Monday", "Friday"), encoding="utf-8")
    (inbox / "zz_becomes_folder.txt").write_text(ARTICLE_FOR_NEW.replace("Monday", "Sunday"), encoding="utf-8")
    (outside / "secret.txt").write_text("outside the inbox: must never be read\n", encoding="utf-8")
    (inbox / "link_to_outside.txt").symlink_to(outside / "secret.txt")
    (inbox / "loop_a.txt").symlink_to(inbox / "loop_b.txt")
    (inbox / "loop_b.txt").symlink_to(inbox / "loop_a.txt")
    (inbox / "dangling_link.txt").symlink_to(inbox / "no_such_file.txt")
    with open(os.path.join(os.fsencode(inbox), b"bad_\xff_name.txt"), "wb") as fh:
        fh.write(ODD_NAME.encode("utf-8"))
    (inbox / "sub" / "folder").mkdir(parents=True)
    (inbox / "sub" / "folder" / "nested.txt").write_text(NESTED, encoding="utf-8")
    (inbox / "notes.md").write_text(NOTES_MD, encoding="utf-8")
    samples = sorted(SAMPLES.iterdir())
    shutil.copy(samples[0], inbox / "copy_of_000.txt")
    (inbox / "crlf_of_001.txt").write_bytes(samples[1].read_bytes().replace(b"\n", b"\r\n"))


def test_committed_fixtures_match_their_generator() -> None:
    """A fixture changed by hand or by git's line-ending conversion would test something else."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.fixtures()
    committed = {f.name for f in FIXTURES.iterdir() if not f.name.endswith(".py") and not f.name.startswith(".")}
    assert committed == set(expected)
    for name, data in expected.items():
        assert (FIXTURES / name).read_bytes() == data, f"{name} differs from make_fixtures.py"


def _ro(home: Path) -> duckdb.DuckDBPyConnection:
    return connect_readonly(home)


@dataclass
class RunResult:
    home: Path
    summary: dict
    articles: dict[str, dict]  # by source_name
    quarantine: list[dict]
    seconds: float


def _collect(home: Path, summary: dict, seconds: float) -> RunResult:
    con = _ro(home)
    try:
        cur = con.execute("SELECT * FROM articles")
        cols = [d[0] for d in cur.description]
        arts = {r[cols.index("source_name")]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
        cur = con.execute("SELECT * FROM quarantine WHERE run_id = ?", [summary["run_id"]])
        cols = [d[0] for d in cur.description]
        quarantine = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    return RunResult(home, summary, arts, quarantine, seconds)


@pytest.fixture(scope="module")
def main_run(prefect_server, tmp_path_factory) -> Iterator[RunResult]:
    """ONE flow run over the samples plus every bad file of CASES, in the home's own inbox."""
    from flows.ops import run_ingest

    home = tmp_path_factory.mktemp("bad_home")
    outside = tmp_path_factory.mktemp("outside")
    inbox = home / "inbox"
    build_main_inbox(inbox, outside)

    def delete_vanishing(event: str, **_fields) -> None:
        if event == "start":  # discover has listed the inbox; nothing is read yet
            (inbox / "zz_vanishes.txt").unlink()
            (inbox / "zz_becomes_folder.txt").unlink()
            (inbox / "zz_becomes_folder.txt").mkdir()

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CORPUS_MAX_FILE_MB", str(MAX_FILE_MB))
        t = time.perf_counter()
        summary = run_ingest(home=str(home), batch_size=12, progress=delete_vanishing)
        seconds = time.perf_counter() - t
    return _collect(home, summary, seconds)


def _quarantine_for(run: RunResult, name: str) -> list[dict]:
    return [q for q in run.quarantine if q["source_name"] == name]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_outcome(main_run: RunResult, case: Case) -> None:
    held = _quarantine_for(main_run, case.source_name)
    if case.outcome == "lands":
        assert case.source_name in main_run.articles, f"{case.id} did not land; held: {held}"
        assert not held
    elif case.outcome == "duplicate":
        assert case.source_name not in main_run.articles and not held
    else:
        assert case.source_name not in main_run.articles
        assert [(q["stage"], q["reason"]) for q in held] == [(case.stage, case.reason)], held
        assert held[0]["detail"], "a quarantine row must say why"


def test_every_sample_lands_next_to_the_bad_files(main_run: RunResult) -> None:
    for f in SAMPLES.iterdir():
        assert f.name in main_run.articles, f"sample {f.name} lost among bad files"


def test_nothing_is_silently_dropped(main_run: RunResult) -> None:
    s = main_run.summary
    assert s["n_seen"] == s["n_new"] + s["n_duplicate"] + s["n_quarantined"], s
    landed = sum(1 for c in CASES if c.outcome == "lands") + 5
    dups = sum(1 for c in CASES if c.outcome == "duplicate")
    held_keys = {(q["source_name"], q["content_sha256"]) for q in main_run.quarantine}
    assert (s["n_new"], s["n_duplicate"], s["n_quarantined"]) == (landed, dups, len(held_keys)), s
    # every quarantine row the run recorded is counted, by reason
    by_reason: dict[str, int] = {}
    for q in main_run.quarantine:
        by_reason[q["reason"]] = by_reason.get(q["reason"], 0) + 1
    assert s["quarantined_by_reason"] == by_reason
    con = _ro(main_run.home)
    row = con.execute("SELECT status, n_seen, n_new, n_duplicate, n_quarantined FROM runs WHERE run_id = ?",
                      [s["run_id"]]).fetchone()
    con.close()
    assert row == ("completed", s["n_seen"], s["n_new"], s["n_duplicate"], s["n_quarantined"])


def test_quarantined_bytes_are_archived(main_run: RunResult) -> None:
    """Every held item that had bytes can be retried: its exact bytes are in the archive."""
    from warehouse.archive import read_archived

    without_bytes = {"vanished", "unreadable", "symlink_outside_inbox", "bad_link"}  # never opened
    for q in main_run.quarantine:
        if q["reason"] in without_bytes:
            assert q["content_sha256"] is None and q["archive_path"] is None, q
            continue
        sha = q["content_sha256"]
        assert sha, q
        # its own blob, or (a .jsonl record) its byte range in its file's blob, found by its locator
        try:
            raw = read_archived(main_run.home / "archive", sha)
        except FileNotFoundError:
            raise AssertionError(f"{q['source_name']}: raw bytes not archived") from None
        assert hashlib.sha256(raw).hexdigest() == sha
        # the row names the archived file holding those bytes (a record: its file's blob), relative to the home
        assert q["archive_path"] and not Path(q["archive_path"]).is_absolute(), q
        blob = (main_run.home / q["archive_path"]).read_bytes()
        assert blob == raw if Path(q["archive_path"]).name == sha else raw in blob, q
    for art in main_run.articles.values():
        sha = art["content_sha256"]
        assert hashlib.sha256(read_archived(main_run.home / "archive", sha)).hexdigest() == sha


def test_the_inbox_keeps_only_what_was_not_taken_in(main_run: RunResult) -> None:
    """Archived items leave the inbox; refused links move to inbox/.refused/ (never opened), so the next run
    does not hold them again; the outside file is untouched."""
    left = sorted(p.relative_to(main_run.home / "inbox").as_posix()
                  for p in (main_run.home / "inbox").rglob("*") if p.is_file() or p.is_symlink())
    assert left == [".refused/dangling_link.txt", ".refused/link_to_outside.txt", ".refused/loop_a.txt",
                    ".refused/loop_b.txt"]
    assert all((main_run.home / "inbox" / name).is_symlink() for name in left)


def test_decoded_texts_are_right(main_run: RunResult) -> None:
    arts = main_run.articles
    assert "Café owners" in arts["cp1252.txt"]["raw_text"] and "“We close at nine now" in arts["cp1252.txt"]["raw_text"]
    assert "€1.20" in arts["cp1252.txt"]["clean_text"]
    assert "أزمة المياه" in arts["cp1256_arabic.txt"]["raw_text"] and arts["cp1256_arabic.txt"]["language"] == "ar"
    assert "São Paulo, Zürich and Kraków" in arts["utf16_bom.txt"]["raw_text"]
    for name in ("cr_only.txt", "mixed_line_endings.txt", "crlf_of_001.txt"):
        if name in arts:
            assert "\r" not in arts[name]["raw_text"]
    assert arts["cr_only.txt"]["raw_text"].count("\n\n") == 2
    assert "\x00" not in arts["nul_byte.txt"]["raw_text"] and "hospital." in arts["nul_byte.txt"]["raw_text"]
    assert arts["records.jsonl#L1"]["title"] == "Schools reopen in Anbar"
    assert "iron bridge across the Tigris" in arts["malformed.html"]["clean_text"]
    assert arts["lone_surrogate.json"]["title"] == "Power cuts in Kirkuk \ufffd"
    assert "cut in half \ufffd." in arts["lone_surrogate.json"]["clean_text"]


def test_too_large_file_is_archived_whole_and_named_in_the_detail(main_run: RunResult) -> None:
    (q,) = _quarantine_for(main_run, "too_large.txt")
    assert "CORPUS_MAX_FILE_MB" in q["detail"] and f"{MAX_FILE_MB * 1024 * 1024:,}" in q["detail"]
    archived = main_run.home / "archive" / q["content_sha256"][:2] / q["content_sha256"]
    assert archived.stat().st_size > MAX_FILE_MB * 1024 * 1024


def test_refusals_say_why(main_run: RunResult) -> None:
    (q,) = _quarantine_for(main_run, "link_to_outside.txt")
    assert "outside the inbox" in q["detail"]
    assert "secret.txt" in q["detail"]
    assert not any("must never be read" in a["raw_text"] for a in main_run.articles.values())
    (q,) = _quarantine_for(main_run, "loop_a.txt")
    assert "link" in q["detail"].lower()


def test_main_run_timing(main_run: RunResult) -> None:
    """One run over ~50 inputs, bad and good; recorded in RELIABILITY.md."""
    print(f"main bad-input run: {main_run.seconds:.1f}s, {main_run.summary}")
    for q in sorted(main_run.quarantine, key=lambda q: q["source_name"]):  # the observed table, for RELIABILITY.md
        print(f"  held   {q['source_name']!r}: {q['stage']}/{q['reason']}: {q['detail'][:100]}")
    for name, a in sorted(main_run.articles.items()):
        print(f"  landed {name!r}: {a.get('encoding')}, {a['language']}, {len(a['clean_text'])} chars")
    assert main_run.seconds < 120


# ---- second run: duplicates of what the main run landed --------------------------------------
def test_duplicates_of_landed_articles_are_counted_not_relanded(main_run: RunResult, tmp_path: Path) -> None:
    from flows.ops import run_ingest

    samples = sorted(SAMPLES.iterdir())
    inbox = tmp_path / "second"
    inbox.mkdir()
    shutil.copy(samples[2], inbox / "renamed_002.txt")
    (inbox / "crlf_of_003.txt").write_bytes(samples[3].read_bytes().replace(b"\n", b"\r\n"))
    cp1252_text = codecs.decode((FIXTURES / "cp1252.txt").read_bytes(), "cp1252")
    (inbox / "cp1252_as_utf8.txt").write_text(cp1252_text, encoding="utf-8")
    shutil.copy(FIXTURES / "stub.txt", inbox / "stub_again.txt")
    (inbox / "fresh.txt").write_text(ARTICLE_FOR_NEW, encoding="utf-8")

    before = _ro(main_run.home).execute("SELECT count(*) FROM articles").fetchone()[0]
    summary = run_ingest(home=str(main_run.home), inbox=str(inbox))
    run = _collect(main_run.home, summary, 0.0)
    assert (summary["n_new"], summary["n_duplicate"], summary["n_quarantined"]) == (1, 4, 0), summary
    assert summary["n_seen"] == 5
    assert run.quarantine == []
    for case in DUP_CASES:
        if case.outcome == "duplicate":
            assert case.source_name not in run.articles, case.id
        else:
            assert case.source_name in run.articles, case.id
    con = _ro(main_run.home)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == before + 1
    assert con.execute("SELECT count(*) = count(DISTINCT article_id) FROM articles").fetchone()[0]
    con.close()
    assert len(list(inbox.iterdir())) == 5, "an outside --inbox folder is left as it was"


# ---- third run: a gazetteer with a YAML error fails the run, clearly, before any work ---------
def _broken_gazetteer(dest: Path) -> tuple[Path, int]:
    from transforms.names.gazetteer import default_path

    lines = Path(default_path()).read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(i for i, ln in enumerate(lines) if ln.strip() == "type: PERSON")
    lines[i] = lines[i].rstrip("\n") + ": oops\n"  # "mapping values are not allowed here"
    dest.write_text("".join(lines), encoding="utf-8")
    return dest, i + 1


def _home_with_broken_gazetteer(corpus_home, tmp_path, monkeypatch):
    """CORPUS_GAZETTEER names a broken copy; one sample waits in the home's inbox."""
    gaz, line = _broken_gazetteer(tmp_path / "broken_gazetteer.yaml")
    monkeypatch.setenv("CORPUS_GAZETTEER", str(gaz))
    inbox = corpus_home / "inbox"
    inbox.mkdir()
    sample = sorted(SAMPLES.iterdir())[0]
    shutil.copy(sample, inbox / sample.name)
    return gaz, line, inbox, sample


def test_gazetteer_yaml_error_fails_the_run_naming_file_and_line(prefect_server, corpus_home, tmp_path,
                                                                 monkeypatch) -> None:
    from flows.ops import run_ingest
    from transforms.errors import GazetteerError

    gaz, line, inbox, sample = _home_with_broken_gazetteer(corpus_home, tmp_path, monkeypatch)
    with pytest.raises(GazetteerError) as err:
        run_ingest(home=str(corpus_home))
    assert f"{gaz}:{line}: YAML syntax error" in str(err.value)
    # the data files are checked before a flow run starts: nothing is written at all
    assert not (corpus_home / "corpus.duckdb").exists()
    assert (inbox / sample.name).read_bytes() == sample.read_bytes(), "a failed run must not consume the inbox"


def test_gazetteer_yaml_error_inside_a_scheduled_flow_run_is_recorded(prefect_server, corpus_home, tmp_path,
                                                                      monkeypatch) -> None:
    """A deployment calls the flow directly: the same error fails the run, which is recorded as failed."""
    from flows.ingest import ingest_flow
    from transforms.errors import GazetteerError

    gaz, line, inbox, sample = _home_with_broken_gazetteer(corpus_home, tmp_path, monkeypatch)
    with pytest.raises(GazetteerError):
        ingest_flow(home=str(corpus_home))
    con = _ro(corpus_home)
    status, error = con.execute("SELECT status, error FROM runs").fetchone()
    n_art = con.execute("SELECT count(*) FROM articles").fetchone()[0] if _has_table(con, "articles") else 0
    con.close()
    assert status == "failed" and f"{gaz.name}:{line}" in error
    assert n_art == 0
    assert (inbox / sample.name).read_bytes() == sample.read_bytes(), "a failed run must not consume the inbox"


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [name]).fetchone()[0]
                or con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])


def test_cli_reports_the_gazetteer_error_with_file_and_line(cli_env, tmp_path) -> None:
    gaz, line = _broken_gazetteer(tmp_path / "gaz.yaml")
    env = dict(cli_env, CORPUS_GAZETTEER=str(gaz), COLUMNS="250")
    proc = run_cli(["ingest", "--inbox", str(SAMPLES)], env, check=False)
    assert proc.returncode != 0
    assert f"{gaz}:{line}: YAML syntax error" in proc.stderr.replace("\n", "")


# ---- `corpus add`: hostile names and bad URLs --------------------------------------------------
HOSTILE_NAMES = ["../../x", "..\\..\\x.txt", "/etc/passwd", "a/../../b.html", "..", ".", "", ".bashrc",
                 "x\x00y.txt", "~/evil.txt", "%2e%2e%2fx", "C:\\Windows\\evil.txt", "ok.txt/..", "a" * 500]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_add_bytes_never_writes_outside_the_inbox(tmp_path: Path, name: str) -> None:
    from warehouse.inbox import add_bytes

    inbox = tmp_path / "home" / "inbox"
    dest = add_bytes(inbox, name, b"an article")
    assert dest.resolve().parent == inbox.resolve()
    assert not dest.name.startswith(".") and dest.read_bytes() == b"an article"
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent.resolve() != inbox.resolve()]
    assert outside == []


def test_cli_add_dotdot_path_and_404_url(cli_env, corpus_home, tmp_path, http_server) -> None:
    """`corpus add ../../x http://…/missing.html`: the file goes into the inbox as x.txt, the 404 is not added."""
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (tmp_path / "x").write_text("an article called x\n", encoding="utf-8")
    before = {p for p in tmp_path.rglob("*")}
    env = dict(cli_env, CORPUS_FETCH_ALLOW_PRIVATE="1")  # trafilatura refuses 127.0.0.1 by default (SSRF)
    proc = run_cli(["add", "../../x", f"{http_server}/missing.html"], env, check=False, cwd=deep)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    inbox = corpus_home / "inbox"
    assert sorted(p.name for p in inbox.iterdir()) == ["x.txt"]
    assert f"added {inbox / 'x.txt'}" in proc.stdout
    assert "not added" in proc.stderr and "HTTP 404" in proc.stderr
    new_outside = {p for p in tmp_path.rglob("*") if not p.is_relative_to(corpus_home)} - before
    assert new_outside == set()


def test_add_url_404_and_good_page(corpus_home, http_server, monkeypatch) -> None:
    from flows.ops import add_articles

    monkeypatch.setenv("CORPUS_FETCH_ALLOW_PRIVATE", "1")  # trafilatura refuses 127.0.0.1 by default (SSRF)
    res = add_articles([f"{http_server}/missing.html", f"{http_server}/good.html"], home=str(corpus_home))
    assert res.failed == [(f"{http_server}/missing.html", f"{http_server}/missing.html: HTTP 404")]
    (added,) = res.added
    assert added.name.endswith("_good.html") and added.parent == corpus_home / "inbox"
    assert [p.name for p in (corpus_home / "inbox").iterdir()] == [added.name]


# trafilatura's urllib3 Retry adds 5 read retries with back-off to a fetch; flows/fetch.py bounds the
# whole call by an overall deadline (2 x timeout + 1 s), so a silent server costs about 3 s here.
FETCH_TIME_BOUND = 10.0  # seconds allowed at CORPUS_FETCH_TIMEOUT=1


def test_add_url_that_never_answers_is_not_added(corpus_home, http_server, silent_server, monkeypatch) -> None:
    from flows.ops import add_articles

    monkeypatch.setenv("CORPUS_FETCH_TIMEOUT", "1")
    monkeypatch.setenv("CORPUS_FETCH_ALLOW_PRIVATE", "1")  # trafilatura refuses 127.0.0.1 by default (SSRF)
    t = time.perf_counter()
    res = add_articles([silent_server, f"{http_server}/good.html"], home=str(corpus_home))
    seconds = time.perf_counter() - t
    failed = dict(res.failed)
    assert "no answer within 1s" in failed[silent_server]
    (added,) = res.added  # the URL after the silent one is still added
    assert added.name.endswith("_good.html")
    assert [p.name for p in (corpus_home / "inbox").iterdir()] == [added.name]
    assert seconds < FETCH_TIME_BOUND, f"a silent URL held `corpus add` for {seconds:.0f}s"


GOOD_PAGE = ("<html><head><title>Flood defences</title></head><body><article><h1>Flood defences</h1>"
             + "<p>Engineers in Amara raised the river banks on Sunday after a week of heavy rain upstream.</p>" * 4
             + "</article></body></html>").encode()


@pytest.fixture
def http_server() -> Iterator[str]:
    """A local server on 127.0.0.1: /good.html is an article, everything else is 404."""
    with local_site({"/good.html": GOOD_PAGE}) as url:
        yield url


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/story.html"
    stop.set()
    thread.join(timeout=2)
    for c in held:
        c.close()
    sock.close()


# ---- unreadable and vanished files at the read stage -------------------------------------------
def _unreadable_path(tmp_path: Path) -> Path | None:
    """A path whose open() raises PermissionError for this process, or None if none can be made.

    Not root: a file with mode 000. Root ignores file modes, but the kernel still refuses to read
    a write-only sysctl (mode 0200), so that stands in for the file.
    """
    if not IS_ROOT:
        p = tmp_path / "no_permission.txt"
        p.write_text("secret\n", encoding="utf-8")
        p.chmod(0)
        return p
    for candidate in ("/proc/sys/vm/compact_memory", "/proc/sys/vm/drop_caches"):
        try:
            open(candidate, "rb").close()
        except PermissionError:
            return Path(candidate)
        except OSError:
            continue
    return None


def test_unreadable_and_vanished_files_are_quarantined_and_the_batch_goes_on(tmp_path: Path) -> None:
    """read_task's own code, without Prefect: a PermissionError and a deleted file each become a row."""
    from flows.ingest import read_task
    from warehouse import Warehouse
    from warehouse.inbox import InboxItem

    unreadable = _unreadable_path(tmp_path)
    if unreadable is None:
        pytest.skip("running as root and no file refuses root's reads here, so PermissionError cannot be made")
    good = tmp_path / "good.txt"
    good.write_text(ARTICLE_FOR_NEW, encoding="utf-8")
    items = [
        InboxItem(str(unreadable), "no_permission.txt", 10),
        InboxItem(str(tmp_path / "gone.txt"), "gone.txt", 10),
        InboxItem(str(good), "good.txt", good.stat().st_size),
    ]
    with Warehouse(tmp_path / "home").writer() as writer:
        out = read_task.fn(writer, items, 0, 20 * 1024 * 1024, set(), "test-run")
    rows = {q["source_name"]: q for q in out.quarantine}
    assert (rows["no_permission.txt"]["stage"], rows["no_permission.txt"]["reason"]) == ("read", "unreadable")
    assert "ermission denied" in rows["no_permission.txt"]["detail"]
    assert (rows["gone.txt"]["stage"], rows["gone.txt"]["reason"]) == ("read", "vanished")
    assert [d.source_name for d in out.docs] == ["good.txt"]
    assert out.n_seen == 3
    # neither is consumed: they stay in the inbox for the next run
    assert [i.name for i in out.consumed] == ["good.txt"]


@pytest.mark.skipif(IS_ROOT, reason="root reads files with mode 000; the read_task test covers PermissionError")
def test_unreadable_file_through_the_flow(prefect_server, corpus_home) -> None:
    from flows.ops import run_ingest

    inbox = corpus_home / "inbox"
    inbox.mkdir()
    for f in SAMPLES.iterdir():
        shutil.copy(f, inbox / f.name)
    p = inbox / "no_permission.txt"
    p.write_text(ARTICLE_FOR_NEW, encoding="utf-8")
    p.chmod(0)
    summary = run_ingest(home=str(corpus_home))
    run = _collect(corpus_home, summary, 0)
    assert summary["n_new"] == 5
    assert [(q["stage"], q["reason"]) for q in _quarantine_for(run, "no_permission.txt")] == [("read", "unreadable")]


# ---- the real 100 MB file (slow) -----------------------------------------------------------------
def _write_big(path: Path, mb: int) -> None:
    line = b"A line of a very large text dump that no one should read into memory at once.\n"
    block = line * (1024 * 1024 // len(line) + 1)
    with open(path, "wb") as fh:
        for _ in range(mb):
            fh.write(block[: 1024 * 1024])


@pytest.mark.slow
def test_100mb_file_is_quarantined_without_reading_it_into_memory(prefect_server, corpus_home, tmp_path) -> None:
    import tracemalloc

    from flows.ingest import read_task
    from flows.ops import run_ingest
    from warehouse import Warehouse
    from warehouse.inbox import InboxItem

    inbox = corpus_home / "inbox"
    inbox.mkdir()
    big = inbox / "big.txt"
    _write_big(big, 100)
    size = big.stat().st_size
    assert size == 100 * 1024 * 1024
    # read_task's own memory: the file goes to the archive in 1 MB chunks
    with Warehouse(tmp_path / "probe_home").writer() as writer:
        tracemalloc.start()  # after opening the warehouse: measure read_task alone
        out = read_task.fn(writer, [InboxItem(str(big), "big.txt", size)], 0, 20 * 1024 * 1024, set(), "test-run")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert [(q["stage"], q["reason"]) for q in out.quarantine] == [("read", "too_large")]
    assert peak < 16 * 1024 * 1024, f"read_task held {peak / 2**20:.0f} MB for a 100 MB file"
    # and through the real flow, next to the samples, with the default 20 MB limit
    for f in SAMPLES.iterdir():
        shutil.copy(f, inbox / f.name)
    summary = run_ingest(home=str(corpus_home))
    assert (summary["n_new"], summary["quarantined_by_reason"]) == (5, {"too_large": 1}), summary
    run = _collect(corpus_home, summary, 0)
    (q,) = _quarantine_for(run, "big.txt")
    archived = corpus_home / "archive" / q["content_sha256"][:2] / q["content_sha256"]
    assert archived.stat().st_size == size
