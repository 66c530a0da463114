"""A quarantine row points at its archived raw bytes: `archive_path`, relative to the home.

One small inbox goes through the real flow: a good article, an empty file (held at decode), an HTML
page with no article (held at clean), a stub too short for the suites (held at validate) and a .jsonl
file with one good record and one without text (held at parse). Every row of the run must name a file
under the home whose bytes are the input file's bytes. The sentences are written for this test.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import catalog_rows

GOOD = (
    "The water board of Kut said on Wednesday that the new pumping station on the eastern bank would open "
    "next month, two years after work on it began. Engineers said the station would serve about forty "
    "thousand homes in the southern districts, which now rely on tanker trucks during the summer.\n\n"
    "Residents welcomed the news but said they had heard similar promises before, and the council asked "
    "the board to publish a timetable for connecting the first streets.\n"
)
RECORD = (
    "Teachers in Diwaniyah returned to their classrooms on Sunday after a week-long strike over late pay, "
    "the provincial education office said. The office said salaries for the last two months had been "
    "transferred to the banks, and that lessons lost during the strike would be made up in the spring."
)
INBOX: dict[str, bytes] = {
    "kut_water.txt": GOOD.encode(),
    "empty_file.txt": b"",
    "menu_only.html": (
        b"<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a> <a href='/a'>About</a>"
        b"</nav><footer>Contact us</footer></body></html>"
    ),
    "short_note.txt": b"Rain fell in Hilla on Friday, the weather office said.\n",
    "two_records.jsonl": (
        json.dumps({"title": "Teachers return", "text": RECORD}) + "\n" + json.dumps({"title": "No body here"}) + "\n"
    ).encode(),
}
# source name -> the stage that holds it (a .jsonl record is `file#L<n>`)
HELD = {"empty_file.txt": "decode", "menu_only.html": "clean", "short_note.txt": "validate",
        "two_records.jsonl#L2": "parse"}


@pytest.fixture(scope="module")
def held_home(prefect_server, tmp_path_factory) -> Path:
    from flows.ops import run_ingest

    home = tmp_path_factory.mktemp("qpath_home")
    inbox = home / "inbox"
    inbox.mkdir()
    for name, data in INBOX.items():
        (inbox / name).write_bytes(data)
    summary = run_ingest(home=str(home))
    assert summary["n_new"] == 2, summary
    return home


def _rows(home: Path) -> list[tuple]:
    return catalog_rows(home, "SELECT source_name, stage, content_sha256, archive_path FROM quarantine "
                              "ORDER BY source_name")


def test_every_quarantine_row_names_its_archived_bytes(held_home: Path) -> None:
    rows = _rows(held_home)
    assert {r[0]: r[1] for r in rows} == HELD, rows
    for source_name, stage, sha, path in rows:
        assert path is not None, f"{source_name} ({stage}): archive_path is NULL"
        assert not Path(path).is_absolute(), f"{source_name}: {path} is not relative to the home"
        blob = held_home / path
        assert blob.is_file(), f"{source_name}: {path} does not exist"
        file_name = source_name.split("#", 1)[0]
        assert blob.read_bytes() == INBOX[file_name], f"{source_name}: {path} holds other bytes"
        # the row's own bytes (a record: a byte range of its file's blob) are inside that file
        from warehouse.archive import read_archived

        own = read_archived(held_home / "archive", sha)
        assert hashlib.sha256(own).hexdigest() == sha and own in blob.read_bytes()


def test_the_path_still_resolves_when_the_home_moves(held_home: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved_home"
    shutil.copytree(held_home, moved)
    for source_name, _stage, _sha, path in _rows(moved):
        assert (moved / path).read_bytes() == INBOX[source_name.split("#", 1)[0]]


def test_rows_written_before_archive_path_was_filled_get_it_once(held_home: Path, tmp_path: Path) -> None:
    """A home whose rows predate the column being filled: the next writer fills them from the archive, once;
    a row whose blob is gone stays NULL (never a path to nothing)."""
    from warehouse import Warehouse
    from warehouse.archive import archive_path
    from warehouse.store import ARCHIVE_PATHS_KEY

    home = tmp_path / "old_home"
    shutil.copytree(held_home, home)
    with Warehouse(home).writer() as w:
        with w.connect() as con:
            con.execute("BEGIN")
            con.execute("UPDATE quarantine SET archive_path = NULL")
            con.execute("DELETE FROM _meta WHERE key = ?", [ARCHIVE_PATHS_KEY])
            con.execute("COMMIT")
        w.export_sql_views()
    assert all(r[3] is None for r in _rows(home))
    gone = hashlib.sha256(INBOX["empty_file.txt"]).hexdigest()
    archive_path(home / "archive", gone).unlink()
    with Warehouse(home).writer():  # opening the home as a writer backfills
        pass
    rows = _rows(home)
    assert [r[0] for r in rows if r[3] is None] == ["empty_file.txt"], rows
    for source_name, _stage, _sha, path in rows:
        if path is not None:
            assert (home / path).read_bytes() == INBOX[source_name.split("#", 1)[0]]
    (home / "archive" / gone[:2] / gone).write_bytes(b"")  # back again, but the backfill ran already
    with Warehouse(home).writer():
        pass
    assert [r[0] for r in _rows(home) if r[3] is None] == ["empty_file.txt"]
