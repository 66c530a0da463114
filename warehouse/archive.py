"""Content-addressed archive of raw bytes: archive/<sha[:2]>/<sha>; written once, never modified.

A record of a `.jsonl` file is not a blob of its own: the file is archived once, and
archive/records.sqlite keeps a locator per record, "record sha -> (file blob sha, byte start, end)".
`read_archived` and `archived_sha256` resolve a hash through its blob or its locator alike, so a
record's content hash still names its raw bytes (200,000 records make one blob, not 200,000).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

# One JSON line per archived inbox file: {"sha256", "source_name", "format", "first_seen"}, appended
# (and synced with the blobs, before anything about them lands) when the file is archived. With it,
# `corpus rebuild` can rebuild the whole warehouse from archive/ alone.
INDEX_FILE = "index.jsonl"


def archive_path(archive_dir: Path, sha256: str) -> Path:
    """Where the bytes with this hash live."""
    return archive_dir / sha256[:2] / sha256


def archive_bytes(archive_dir: Path, data: bytes, sha256: str | None = None, durable: bool = True) -> tuple[str, Path]:
    """Store bytes under their hash (temp file, fsync, rename) unless already there; return (sha, path).

    With durable=False the fsync is left to one `flush()` per batch: an fsync per small file costs
    milliseconds each, which dominated ingest time.
    """
    sha = sha256 or hashlib.sha256(data).hexdigest()
    dest = archive_path(archive_dir, sha)
    if dest.exists() and dest.stat().st_size == len(data):
        return sha, dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha, dest


def read_archived(archive_dir: Path, sha256: str) -> bytes:
    """The archived bytes for a hash: its own blob, or its byte range in a file's blob (a .jsonl record).

    FileNotFoundError if never archived (or its file's blob is gone).
    """
    try:
        return archive_path(archive_dir, sha256).read_bytes()
    except FileNotFoundError:
        loc = locate(archive_dir, sha256)
        if loc is None:
            raise
    blob, start, end = loc
    with open(archive_path(archive_dir, blob), "rb") as fh:
        fh.seek(start)
        return fh.read(end - start)


def archived_sha256(archive_dir: Path, sha256: str) -> str | None:
    """Hash of the bytes actually on disk for this hash, or None when missing: proves the archive."""
    try:
        return hashlib.sha256(read_archived(archive_dir, sha256)).hexdigest()
    except FileNotFoundError:
        return None


# ---- record locators ---------------------------------------------------------------------------
# archive/records.sqlite: one row per .jsonl record, (sha256 of the record's bytes, sha256 of the file's
# blob, start, end) with end exclusive. Written in one transaction per read batch, after the file's blob
# and before `flush()`: a kill before the commit leaves a blob without locators, and the rerun, which
# reads the same file again (it is consumed only after landing), writes them. Rows are never changed
# (INSERT OR IGNORE: the same bytes in two files are the same bytes). SQLite (stdlib): an indexed
# lookup for each record without ever loading the whole table.
LOCATORS_FILE = "records.sqlite"
_local = threading.local()


def locators_path(archive_dir: Path) -> Path:
    return archive_dir / LOCATORS_FILE


def _locators(archive_dir: Path, create: bool) -> sqlite3.Connection | None:
    """This thread's connection to the archive's locator table (None when there is none and not `create`).

    Cached per thread and per file; a file that was deleted or replaced since is opened again.
    """
    path = locators_path(archive_dir)
    cache: dict[str, tuple[sqlite3.Connection, tuple[int, int]]] | None = getattr(_local, "cons", None)
    if cache is None:
        cache = _local.cons = {}
    key = str(path)
    try:
        st = os.stat(path)
        ident: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except FileNotFoundError:
        ident = None
    cached = cache.pop(key, None)
    if cached is not None:
        if cached[1] == ident:
            cache[key] = cached
            return cached[0]
        cached[0].close()
    if ident is None and not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(key, timeout=60, isolation_level=None, check_same_thread=False)
    # WAL + synchronous NORMAL: a commit is not fsynced by itself; flush() (os.sync) makes it durable
    # before anything about the batch lands, with the blobs
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute(
        "CREATE TABLE IF NOT EXISTS records (sha256 TEXT PRIMARY KEY, blob TEXT NOT NULL, "
        "start INTEGER NOT NULL, end INTEGER NOT NULL) WITHOUT ROWID"
    )
    st = os.stat(path)
    cache[key] = (con, (st.st_dev, st.st_ino))
    return con


def add_locators(archive_dir: Path, rows: Iterable[tuple[str, str, int, int]]) -> int:
    """Record (record sha, blob sha, start, end) locators in one transaction; returns how many were given."""
    rows = list(rows)
    if not rows:
        return 0
    con = _locators(archive_dir, create=True)
    con.execute("BEGIN IMMEDIATE")
    try:
        con.executemany("INSERT OR IGNORE INTO records (sha256, blob, start, end) VALUES (?, ?, ?, ?)", rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(rows)


def locate(archive_dir: Path, sha256: str) -> tuple[str, int, int] | None:
    """(blob sha, start, end) of a record archived inside a file's blob, or None."""
    return locate_many(archive_dir, [sha256]).get(sha256)


def locate_many(archive_dir: Path, shas: Iterable[str]) -> dict[str, tuple[str, int, int]]:
    """(blob sha, start, end) of each record archived inside a file's blob, for many hashes at once (one
    query per 500): {record sha: (blob sha, start, end)}; hashes not found are left out."""
    shas = list(dict.fromkeys(shas))
    found: dict[str, tuple[str, int, int]] = {}
    try:
        con = _locators(archive_dir, create=False)
        if con is None or not shas:
            return found
        for i in range(0, len(shas), 500):
            part = shas[i:i + 500]
            rows = con.execute(
                f"SELECT sha256, blob, start, end FROM records WHERE sha256 IN ({','.join('?' * len(part))})", part
            ).fetchall()
            found.update((r[0], (r[1], int(r[2]), int(r[3]))) for r in rows)
    except sqlite3.DatabaseError:  # a damaged locator table: "not archived" (held, never a crash); rebuild rewrites it
        return found
    return found


def blobs_holding(archive_dir: Path, shas: Iterable[str]) -> dict[str, str]:
    """{sha: the blob on disk that holds those bytes}: its own blob, or (a .jsonl record) its file's blob.

    Hashes whose bytes are not in the archive are left out. What a quarantine row's `archive_path` names.
    """
    base = os.fspath(archive_dir)  # plain strings, not `archive_path`: pathlib cost ~10 µs a hash

    def on_disk(sha: str) -> bool:
        return os.path.isfile(os.path.join(base, sha[:2], sha))

    shas = [s for s in dict.fromkeys(shas) if s]
    found = {s: s for s in shas if on_disk(s)}
    missing = [s for s in shas if s not in found]
    blobs: dict[str, bool] = {}  # the records of one file share its blob: one stat each
    for sha, (blob, _start, _end) in locate_many(archive_dir, missing).items():
        if blob not in blobs:
            blobs[blob] = on_disk(blob)
        if blobs[blob]:
            found[sha] = blob
    return found


def count_locators(archive_dir: Path) -> tuple[int, int]:
    """(locators, locators whose file blob is missing): what `corpus check` reports."""
    con = _locators(archive_dir, create=False)
    if con is None:
        return 0, 0
    n = con.execute("SELECT count(*) FROM records").fetchone()[0]
    blobs = [b for (b,) in con.execute("SELECT DISTINCT blob FROM records")]
    missing = {b for b in blobs if not archive_path(archive_dir, b).is_file()}
    if not missing:
        return n, 0
    n_missing = sum(
        con.execute("SELECT count(*) FROM records WHERE blob = ?", [b]).fetchone()[0] for b in missing
    )
    return n, n_missing


def archive_file(archive_dir: Path, src: str, chunk: int = 1 << 20) -> tuple[str, Path]:
    """Archive a file by streaming it (never whole in memory); returns (sha, path)."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=archive_dir, prefix=".tmp-")
    try:
        from warehouse.inbox import open_regular  # never blocks on a FIFO swapped in after discover

        with os.fdopen(open_regular(src), "rb") as fin, os.fdopen(fd, "wb") as fout:
            while block := fin.read(chunk):
                h.update(block)
                fout.write(block)
            fout.flush()
            os.fsync(fout.fileno())
        sha = h.hexdigest()
        dest = archive_path(archive_dir, sha)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha, dest


def flush() -> None:
    """Make everything archived so far durable (one sync for a whole batch of files)."""
    os.sync()


def index_path(archive_dir: Path) -> Path:
    return archive_dir / INDEX_FILE


def indexed_shas(archive_dir: Path) -> set[str]:
    """The hashes the archive index names."""
    return {e["sha256"] for e in iter_index(archive_dir)}


def iter_index(archive_dir: Path) -> Iterator[dict]:
    """The index's entries in the order they were written (a torn last line from a kill is skipped)."""
    try:
        fh = open(index_path(archive_dir), "rb")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and entry.get("source_name"):
                yield entry


def index_line(sha256: str, source_name: str, fmt: str) -> bytes:
    """One index entry as the line `append_index` writes (first_seen is now)."""
    return json.dumps(
        {"sha256": sha256, "source_name": source_name, "format": fmt,
         "first_seen": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")},
        ensure_ascii=False,
    ).encode("utf-8") + b"\n"


def append_index_lines(archive_dir: Path, lines: Iterable[bytes]) -> None:
    """Append entries made by `index_line`, in one write (made durable by the batch's `flush()`)."""
    data = b"".join(lines)
    if not data:
        return
    path = index_path(archive_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        if fh.tell() > 0:
            with open(path, "rb") as rd:  # a kill mid-line leaves no newline: never glue two entries
                rd.seek(-1, os.SEEK_END)
                if rd.read(1) != b"\n":
                    data = b"\n" + data
        fh.write(data)


def append_index(archive_dir: Path, sha256: str, source_name: str, fmt: str) -> None:
    """Append one entry (made durable by the batch's `flush()`, before the batch lands)."""
    append_index_lines(archive_dir, [index_line(sha256, source_name, fmt)])
