"""The inbox: listing files safely, reading them, adding new ones, removing ingested ones."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

ACCEPTED_SUFFIXES = (".txt", ".html", ".htm", ".json", ".jsonl")


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A file waiting in an inbox."""

    path: str
    name: str  # path relative to the inbox, used as source_name
    size: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """A file that is not read at all (outside link, too large, unreadable, vanished)."""

    name: str
    reason: str
    detail: str
    content_sha256: str | None = None


def scan_inbox(inbox: Path) -> tuple[list[InboxItem], list[Refusal]]:
    """Every regular file under the inbox (hidden files skipped), sorted; links leaving it are refused."""
    items: list[InboxItem] = []
    refusals: list[Refusal] = []
    if not inbox.exists():
        return items, refusals
    root = inbox.resolve()
    for dirpath, dirnames, filenames in os.walk(inbox, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            if fname.startswith("."):
                continue
            path = Path(dirpath) / fname
            name = _text_name(path.relative_to(inbox).as_posix())
            if path.is_symlink():
                try:
                    target = path.resolve()
                except (OSError, RuntimeError) as exc:  # a link loop: Python 3.11 raises RuntimeError
                    refusals.append(
                        Refusal(name, "bad_link", f"{name} is a link that cannot be resolved ({exc}); not read")
                    )
                    continue
                if not target.is_relative_to(root):
                    refusals.append(
                        Refusal(name, "symlink_outside_inbox", f"{name} links to {target}, outside the inbox; not read")
                    )
                    continue
            try:
                st = path.stat()
            except FileNotFoundError:
                refusals.append(Refusal(name, "vanished", f"{name} disappeared before it could be read"))
                continue
            if not path.is_file():
                continue
            items.append(InboxItem(str(path), name, st.st_size))
    return items, refusals


def _text_name(name: str) -> str:
    """The name as valid text: bytes that are not UTF-8 (surrogates after os.fsdecode) become \\xNN.

    The name becomes `source_name`; a lone surrogate cannot be written to Parquet or DuckDB.
    """
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def read_item(item: InboxItem) -> bytes:
    """The file's bytes (FileNotFoundError / PermissionError propagate for the caller to classify)."""
    with open(item.path, "rb") as fh:
        return fh.read()


def consume(items: list[InboxItem]) -> None:
    """Remove ingested files from the inbox; their bytes are in the archive."""
    for item in items:
        Path(item.path).unlink(missing_ok=True)


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, default_suffix: str = ".txt") -> str:
    """A plain file name: no directories, no leading dots, no '..': it cannot escape the inbox."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE.sub("_", base).lstrip("._") or "article"
    if not base.lower().endswith(ACCEPTED_SUFFIXES):
        base += default_suffix
    return base[:200]


def add_bytes(inbox: Path, name: str, data: bytes) -> Path:
    """Write bytes into the inbox under a safe, unused name (temp file, then rename)."""
    inbox.mkdir(parents=True, exist_ok=True)
    fname = safe_name(name)
    dest = inbox / fname
    stem, dot, suffix = fname.rpartition(".")
    n = 1
    while dest.exists():
        if dest.read_bytes() == data:
            return dest
        dest = inbox / f"{stem}-{n}{dot}{suffix}"
        n += 1
    fd, tmp = tempfile.mkstemp(dir=inbox, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, dest)
    assert dest.resolve().parent == inbox.resolve()
    return dest


REFUSED_DIR = ".refused"


def set_aside(inbox: Path, names: list[str]) -> None:
    """Move refused or unreadable entries to inbox/.refused/ so later runs do not hold them again.

    Only the directory entry moves (a link stays a link, its target is untouched); hidden folders are
    never scanned.
    """
    dest_dir = inbox / REFUSED_DIR
    for name in names:
        src = inbox / name
        if not src.is_symlink() and not src.exists():
            continue
        dest_dir.mkdir(exist_ok=True)
        dest = dest_dir / name.replace("/", "__")
        n = 1
        while dest.is_symlink() or dest.exists():
            dest = dest_dir / f"{n}-{name.replace('/', '__')}"
            n += 1
        try:
            os.replace(src, dest)
        except OSError:
            continue  # cannot move it: it will be reported again next run, which is still not silent
