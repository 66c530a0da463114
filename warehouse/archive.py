"""Content-addressed archive of raw bytes: archive/<sha[:2]>/<sha>; written once, never modified."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
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
    """The archived bytes for a hash (FileNotFoundError if never archived)."""
    return archive_path(archive_dir, sha256).read_bytes()


def archived_sha256(archive_dir: Path, sha256: str) -> str | None:
    """Hash of the bytes actually on disk for this hash, or None when missing: proves the archive."""
    path = archive_path(archive_dir, sha256)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


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


def append_index(archive_dir: Path, sha256: str, source_name: str, fmt: str) -> None:
    """Append one entry (made durable by the batch's `flush()`, before the batch lands)."""
    path = index_path(archive_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {"sha256": sha256, "source_name": source_name, "format": fmt,
         "first_seen": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")},
        ensure_ascii=False,
    ).encode("utf-8") + b"\n"
    with open(path, "ab") as fh:
        if fh.tell() > 0:
            with open(path, "rb") as rd:  # a kill mid-line leaves no newline: never glue two entries
                rd.seek(-1, os.SEEK_END)
                if rd.read(1) != b"\n":
                    line = b"\n" + line
        fh.write(line)
