"""Issue 17, item 7: a .jsonl is ONE archive blob, its records are found through locators.

A record's `content_sha256` stays the hash of its own bytes (the article_id contract); the archive keeps
the file once and archive/records.sqlite maps each record's hash to (file blob, start, end). Each test
failed on the code before the change, which wrote one blob per record.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, catalog_rows

FILLER = (
    "The ferry company said on Monday that the crossing to the island would run twice a day again from "
    "next week, after the new landing stage passed its inspection. Fishermen welcomed the news, and the "
    "school asked for a later boat on Fridays so that pupils from the island can stay for sports."
)


def _feed(n: int) -> bytes:
    """n records: every third too short to pass validation, one cut-off line, one blank line, CRLF in places."""
    lines = []
    for i in range(n):
        text = f"Ferry note {i}. {FILLER[:120]}" if i % 3 == 1 else f"Ferry report {i}. {FILLER}"
        lines.append(json.dumps({"title": f"ferry {i}", "text": text}).encode() + (b"\r\n" if i % 4 == 0 else b"\n"))
    lines.insert(5, b'{"title": "cut off", "text": "The line ends he\n')
    lines.insert(9, b"\n")
    return b"".join(lines)


def _blobs(home: Path) -> list[Path]:
    """The archive's blobs (content-addressed files), not its index or locator table."""
    return sorted(p for p in (home / "archive").glob("??/*") if p.is_file() and not p.name.startswith("."))


def _assert_every_hash_resolves(home: Path) -> None:
    """Every article and every held record names raw bytes with exactly its hash (blob or locator)."""
    from warehouse.archive import archived_sha256, read_archived

    shas = [r[0] for r in catalog_rows(home, "SELECT content_sha256 FROM articles")]
    shas += [r[0] for r in catalog_rows(home, "SELECT content_sha256 FROM quarantine WHERE content_sha256 IS NOT NULL")]
    assert shas
    for sha in shas:
        assert hashlib.sha256(read_archived(home / "archive", sha)).hexdigest() == sha
        assert archived_sha256(home / "archive", sha) == sha


@pytest.fixture(scope="module")
def jsonl_home(tmp_path_factory, prefect_server) -> Path:
    """40 records in one .jsonl through the real flow, 10 records a batch."""
    from flows.ops import run_ingest

    home = tmp_path_factory.mktemp("jsonl") / "home"
    (home / "inbox").mkdir(parents=True)
    (home / "inbox" / "feed.jsonl").write_bytes(_feed(40))
    s = run_ingest(home=str(home), batch_size=10)
    assert (s["n_seen"], s["n_new"]) == (41, 27), s
    return home


def test_a_jsonl_of_n_records_makes_one_archive_blob(jsonl_home: Path) -> None:
    from warehouse.archive import count_locators, locate

    data = _feed(40)
    (blob,) = _blobs(jsonl_home)
    assert blob.read_bytes() == data
    assert count_locators(jsonl_home / "archive") == (41, 0)
    # a record's hash is the hash of its own bytes, and its locator points at exactly those bytes
    (sha, name) = catalog_rows(
        jsonl_home, "SELECT content_sha256, source_name FROM articles WHERE title = 'ferry 3'")[0]
    assert name == "feed.jsonl#L4"
    line = json.dumps({"title": "ferry 3", "text": f"Ferry report 3. {FILLER}"}).encode()
    assert sha == hashlib.sha256(line).hexdigest()
    b, start, end = locate(jsonl_home / "archive", sha)
    assert (b, data[start:end]) == (blob.name, line)
    # validation's archived_sha256 expectation held for every landed record, and held records resolve too
    _assert_every_hash_resolves(jsonl_home)
    reasons = {r[0] for r in catalog_rows(jsonl_home, "SELECT reason FROM quarantine")}
    assert "bad_json" in reasons and "expect_column_value_lengths_to_be_between(clean_text)" in reasons


def test_check_counts_records_whose_file_blob_is_missing(jsonl_home: Path, tmp_path: Path) -> None:
    from flows.repair import check

    home = tmp_path / "home"
    shutil.copytree(jsonl_home, home)
    r = check(str(home))
    assert r.ok and (r.n_records, r.records_missing) == (41, 0)
    _blobs(home)[0].unlink()
    r = check(str(home))
    assert not r.ok and (r.n_records, r.records_missing) == (41, 41) and r.missing_blobs == 1


def test_quarantine_retry_of_a_held_record_reads_it_through_its_locator(
    jsonl_home: Path, tmp_path: Path, monkeypatch
) -> None:
    from flows.ops import run_ingest

    home = tmp_path / "home"
    shutil.copytree(jsonl_home, home)
    held = catalog_rows(home, "SELECT content_sha256 FROM quarantine WHERE stage = 'validate'")
    assert held and not any((home / "archive" / s[:2] / s).exists() for (s,) in held)
    monkeypatch.setenv("CORPUS_MIN_CLEAN_CHARS", "50")
    s = run_ingest(home=str(home), retry_quarantined=True)
    assert s["n_new"] == 13, s
    titles = {r[0] for r in catalog_rows(home, "SELECT title FROM articles")}
    assert titles == {f"ferry {i}" for i in range(40)}
    assert len(_blobs(home)) == 1
    _assert_every_hash_resolves(home)


def test_rebuild_from_the_archive_alone_gives_the_same_record_ids(jsonl_home: Path, tmp_path: Path) -> None:
    """Catalog, lake AND the locator table deleted: the blob and archive/index.jsonl are enough."""
    from flows.repair import rebuild
    from warehouse.archive import count_locators

    home = tmp_path / "home"
    shutil.copytree(jsonl_home, home)
    want = set(catalog_rows(home, "SELECT article_id, content_sha256, source_name FROM articles"))
    want_held = sorted(catalog_rows(home, "SELECT source_name, content_sha256, reason FROM quarantine"))
    (home / "corpus.duckdb").unlink()
    shutil.rmtree(home / "lake")
    for p in (home / "archive").glob("records.sqlite*"):
        p.unlink()
    s = rebuild(home=str(home), batch_size=10)
    assert s["n_new"] == 27, s
    assert set(catalog_rows(home, "SELECT article_id, content_sha256, source_name FROM articles")) == want
    assert sorted(catalog_rows(home, "SELECT source_name, content_sha256, reason FROM quarantine")) == want_held
    assert len(_blobs(home)) == 1 and count_locators(home / "archive") == (41, 0)
    _assert_every_hash_resolves(home)


_KILLED_RUN = r"""
import os, signal, sys
import flows.ingest as ingest
from warehouse import archive

def killed(archive_dir, rows):
    rows = list(rows)
    con = archive._locators(archive_dir, create=True)
    con.execute("BEGIN IMMEDIATE")
    con.executemany("INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?)", rows)
    os.kill(os.getpid(), signal.SIGKILL)  # after the blob, inside the locators' transaction

ingest.add_locators = killed
from flows.ops import run_ingest
run_ingest(home=sys.argv[1], batch_size=10)
"""


def test_a_kill_between_the_blob_and_its_locators_is_safe(prefect_server, tmp_path: Path) -> None:
    """kill -9 after the file's blob is written and while its locators are being inserted: nothing landed,
    the file stays in the inbox, and the rerun lands every record, each hash resolving."""
    from flows.ops import run_ingest
    from warehouse.archive import count_locators

    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    (home / "inbox" / "feed.jsonl").write_bytes(_feed(25))
    env = dict(os.environ, PREFECT_API_URL=prefect_server, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", _KILLED_RUN, str(home)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert len(_blobs(home)) == 1 and count_locators(home / "archive") == (0, 0)
    assert (home / "inbox" / "feed.jsonl").exists()
    s = run_ingest(home=str(home), batch_size=10)
    assert s["n_new"] == 17, s
    assert len(_blobs(home)) == 1 and count_locators(home / "archive") == (26, 0)
    assert not (home / "inbox" / "feed.jsonl").exists()
    _assert_every_hash_resolves(home)


def test_every_jsonl_record_knows_its_byte_range() -> None:
    """split_jsonl's spans point at exactly the bytes that were hashed, for any mix of lines and line ends,
    also when the file is split a few records at a time."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from transforms.sources import split_jsonl, split_source

    line = st.one_of(
        st.builds(lambda t: json.dumps({"text": t}).encode(), st.text(max_size=30)),
        st.binary(max_size=20).filter(lambda b: b"\n" not in b and b"\r" not in b),
        st.just(b""), st.just(b"  \t"),
    )

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(line, st.sampled_from([b"\n", b"\r\n", b"\r"])), max_size=12), st.integers(1, 4))
    def check(lines, step):
        data = b"".join(a + b for a, b in lines)
        docs, fails = split_source("x.jsonl", data)
        whole = [(r.content_sha256, r.span) for r in [*docs, *fails] if r.span is not None]
        for r in [*docs, *fails]:
            if r.span is not None:
                assert data[r.span[0]:r.span[1]] == (r.raw if hasattr(r, "raw") else r.data)
                assert hashlib.sha256(data[r.span[0]:r.span[1]]).hexdigest() == r.content_sha256
        parts, pos, lineno = [], 0, 0
        while pos is not None:
            d, f, pos, lineno = split_jsonl("x.jsonl", data, pos, lineno, max_records=step)
            parts += [(r.content_sha256, r.span) for r in [*d, *f]]
        assert sorted(parts, key=lambda p: p[1]) == sorted(whole, key=lambda p: p[1])

    check()


def test_a_damaged_locator_table_means_not_archived_never_a_crash(tmp_path: Path) -> None:
    from warehouse.archive import archived_sha256, locators_path, read_archived

    archive = tmp_path / "archive"
    archive.mkdir()
    locators_path(archive).write_bytes(b"not a database at all " * 200)
    assert archived_sha256(archive, "ab" * 32) is None
    with pytest.raises(FileNotFoundError):
        read_archived(archive, "ab" * 32)
