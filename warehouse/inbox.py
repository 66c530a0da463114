"""The inbox: listing files safely, reading them, adding new ones, removing ingested ones.

Safe ways to drop a file into an inbox: write it elsewhere (or under a hidden name, which discover
ignores) and rename it into place; a file is consumed (deleted) only while it is still exactly what
was read and archived, so a file still being written is left for the next run.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from warehouse.atomic import atomic_write

ACCEPTED_SUFFIXES = (".txt", ".html", ".htm", ".json", ".jsonl")
# Folders deeper than this under the inbox are not walked: the folder at the limit gets a quarantine
# row (reason `too_deep`) and is set aside. 1,200 nested folders once failed every run.
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A file waiting in an inbox."""

    path: str
    name: str  # path relative to the inbox, used as source_name
    size: int


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What a file was when it was read: it is consumed only while it still matches."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result, size: int | None = None) -> FileStamp:
        return cls(st.st_dev, st.st_ino, st.st_size if size is None else size, st.st_mtime_ns)


class NotARegularFile(OSError):
    """An inbox entry that turned out not to be a regular file when opened (a FIFO, a device, a folder)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A file that is not read at all (outside link, too large, unreadable, vanished)."""

    name: str
    reason: str
    detail: str
    content_sha256: str | None = None


def _entries(folder: str) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _walk(top: str, on_error: Callable[[str, OSError], None] | None = None
          ) -> Iterator[tuple[str, str, int, list[os.DirEntry], list[tuple[str, str, int]]]]:
    """Walk folders iteratively (no recursion limit), top-down and sorted by name, like `os.walk`.

    Yields (folder path, relative name, depth, entries, descend): the caller appends to `descend` the
    (path, relative name, depth) of the subfolders to walk next. A folder that cannot be listed is passed
    to `on_error` (relative name, error) and skipped; one that vanished is skipped silently.
    """
    stack: list[tuple[str, str, int]] = [(top, "", 0)]
    while stack:
        folder, rel, depth = stack.pop()
        try:
            entries = _entries(folder)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if on_error is not None:
                on_error(rel, exc)
            continue
        descend: list[tuple[str, str, int]] = []
        yield folder, rel, depth, entries, descend
        stack.extend(reversed(descend))


def scan_inbox(inbox: Path, max_depth: int = MAX_DEPTH) -> tuple[list[InboxItem], list[Refusal]]:
    """Every regular file under the inbox, sorted; anything else gets a refusal (a quarantine row).

    Hidden names (a leading dot) are ignored: they are how writers stage a file before renaming it in,
    and where refused entries are set aside (`.refused/`). The walk is iterative (no recursion limit);
    folders deeper than `max_depth` are refused as `too_deep`. FIFOs, sockets and devices are refused as
    `not_a_file`, links to folders as `link_to_folder`, links leaving the inbox as `symlink_outside_inbox`.
    """
    items: list[InboxItem] = []
    refusals: list[Refusal] = []
    if not inbox.exists():
        return items, refusals
    root = inbox.resolve()

    def unlistable(rel: str, exc: OSError) -> None:
        name = _text_name(rel) or "."
        refusals.append(Refusal(name, "unreadable", f"cannot list folder {name}: {exc.strerror or exc}"))

    for folder, rel, depth, entries, subdirs in _walk(str(inbox), unlistable):
        stranded = [e.path for e in entries if e.name.startswith(CONSUMING)]
        if stranded:
            for path in stranded:
                _recover(path)
            try:
                entries = _entries(folder)
            except OSError:
                entries = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel_name = f"{rel}/{entry.name}" if rel else entry.name
            name = _text_name(rel_name)
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    try:
                        target = path.resolve(strict=True)
                    except FileNotFoundError:
                        refusals.append(Refusal(name, "vanished", f"{name} is a link to nothing; not read"))
                        continue
                    except (OSError, RuntimeError) as exc:  # a link loop: Python 3.11 raises RuntimeError
                        refusals.append(
                            Refusal(name, "bad_link", f"{name} is a link that cannot be resolved ({exc}); not read")
                        )
                        continue
                    if not target.is_relative_to(root):
                        refusals.append(
                            Refusal(name, "symlink_outside_inbox",
                                    f"{name} links to {target}, outside the inbox; not read")
                        )
                        continue
                    if target.is_dir():
                        refusals.append(
                            Refusal(name, "link_to_folder",
                                    f"{name} is a link to a folder; links to folders are not followed")
                        )
                        continue
                st = path.stat() if entry.is_symlink() else entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                refusals.append(Refusal(name, "vanished", f"{name} disappeared before it could be read"))
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 >= max_depth:
                    refusals.append(
                        Refusal(name, "too_deep", f"folder {name} is {depth + 1} levels deep, at the limit of "
                                f"{max_depth}; its content is not read")
                    )
                    continue
                subdirs.append((entry.path, rel_name, depth + 1))
                continue
            if not stat.S_ISREG(st.st_mode):
                refusals.append(
                    Refusal(name, "not_a_file", f"{name} is a {_kind(st.st_mode)}, not a regular file; not read")
                )
                continue
            items.append(InboxItem(entry.path, name, st.st_size))
    items.sort(key=lambda i: i.name)
    return items, refusals


@dataclass(frozen=True, slots=True)
class Ignored:
    """An inbox entry no run reads: a hidden name, or something set aside in `.refused/`."""

    name: str
    why: str


def ignored_entries(inbox: Path, max_depth: int = MAX_DEPTH) -> list[Ignored]:
    """What sits in the inbox but is never read, for `corpus status`: hidden files, hidden folders (with how
    many files they hold) and the entries set aside in `.refused/`. Links are never followed."""
    found: list[Ignored] = []
    if not inbox.is_dir():
        return found
    for _folder, rel, depth, entries, descend in _walk(str(inbox)):
        for entry in entries:
            rel_name = f"{rel}/{entry.name}" if rel else entry.name
            name = _text_name(rel_name)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if not entry.name.startswith("."):
                if is_dir and depth + 1 < max_depth:
                    descend.append((entry.path, rel_name, depth + 1))
                continue
            if not rel and entry.name == REFUSED_DIR and is_dir:
                try:
                    with os.scandir(entry.path) as it:
                        aside = sorted(e.name for e in it)
                except OSError:
                    aside = []
                found += [Ignored(_text_name(f"{REFUSED_DIR}/{a}"), "set aside (refused)") for a in aside]
            elif is_dir:
                n = _count_files(entry.path, max_depth)
                found.append(Ignored(name, f"hidden folder ({n} file{'s' if n != 1 else ''})"))
            else:
                found.append(Ignored(name, "hidden name"))
    found.sort(key=lambda i: i.name)
    return found


def _count_files(folder: str, max_depth: int) -> int:
    n = 0
    for _path, _rel, depth, entries, descend in _walk(folder):
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if depth + 1 < max_depth:
                    descend.append((e.path, "", depth + 1))
            else:
                n += 1
    return n


CONSUMING = ".consuming-"  # consume() renames a file to .consuming-<pid>-<name> for its last check


def _recover(path: str) -> None:
    """Put back a file a killed consume() left under its hidden name (its pid is gone): the next scan reads it."""
    head, _, rest = os.path.basename(path)[len(CONSUMING):].partition("-")
    if not head.isdigit() or not rest:
        return
    try:
        os.kill(int(head), 0)
        return  # that process is alive: its consume() is still at work
    except ProcessLookupError:
        pass
    except PermissionError:
        return
    _put_back(Path(path), Path(path).with_name(rest))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _text_name(name: str) -> str:
    """The name as valid text: bytes that are not UTF-8 (surrogates after os.fsdecode) become \\xNN.

    The name becomes `source_name`; a lone surrogate cannot be written to Parquet or DuckDB.
    """
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def open_regular(path: str) -> int:
    """A read-only descriptor for `path`, refusing anything but a regular file without ever blocking.

    O_NONBLOCK: opening a FIFO that replaced a file after discover returns at once instead of waiting
    for a writer; fstat after opening then refuses it (the check holds for what was opened, not a name).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "folder" if stat.S_ISDIR(st.st_mode) else _kind(st.st_mode)
            raise NotARegularFile(errno.EINVAL, f"not a regular file (a {kind})")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_item_stamped(item: InboxItem) -> tuple[bytes, FileStamp]:
    """The file's bytes and its stamp (FileNotFoundError / PermissionError / NotARegularFile propagate)."""
    fd = open_regular(item.path)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
        st = os.fstat(fh.fileno())
    # the stamp names the bytes read: if the file grew meanwhile, its size no longer matches and it stays
    return data, FileStamp.of(st, len(data))


def read_item(item: InboxItem) -> bytes:
    """The file's bytes (FileNotFoundError / PermissionError propagate for the caller to classify)."""
    return read_item_stamped(item)[0]


def stamp_of(path: str) -> FileStamp:
    """The current stamp of a file (for one archived by streaming)."""
    return FileStamp.of(os.stat(path))


def consume(items: list[InboxItem], stamps: dict[str, FileStamp]) -> list[InboxItem]:
    """Remove ingested files from the inbox, but only those still exactly as read; returns those left.

    A file whose inode, size or mtime changed since it was read (a writer still appending, or a new file
    renamed over it) is left for the next run, which reads it again: records already landed are
    duplicates by content hash, the rest land. The file is renamed away before the last check, so a
    writer that reopens it by name after that point creates a new file that the next run reads.
    """
    left: list[InboxItem] = []
    for item in items:
        stamp = stamps.get(item.path)
        if stamp is None:
            left.append(item)
            continue
        path = Path(item.path)
        try:
            if FileStamp.of(path.stat()) != stamp:
                left.append(item)
                continue
            # rename to a hidden name first (discover ignores it), then check what was renamed
            aside = path.with_name(f"{CONSUMING}{os.getpid()}-{path.name}")
            os.replace(path, aside)
        except FileNotFoundError:
            continue
        except OSError:
            left.append(item)
            continue
        try:
            if FileStamp.of(aside.stat()) == stamp:
                aside.unlink(missing_ok=True)
                continue
            _put_back(aside, path)
        except OSError:
            _put_back(aside, path)
        left.append(item)
    return left


def _put_back(aside: Path, path: Path) -> None:
    """Return a file that changed under us to the inbox (under another name if its place was taken)."""
    try:
        if not path.exists():
            os.link(aside, path)  # fails rather than replace a new file of the same name
        else:
            stem, dot, suffix = path.name.rpartition(".")
            n = 1
            while True:
                alt = path.with_name(f"{stem or suffix}-unread{n}{dot if stem else ''}{suffix if stem else ''}")
                try:
                    os.link(aside, alt)
                    break
                except FileExistsError:
                    n += 1
        aside.unlink(missing_ok=True)
    except OSError:
        pass  # it stays under its hidden name: still in the inbox folder, never deleted


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
    if dest.resolve().parent != inbox.resolve():  # safe_name() keeps it inside; a rename must never escape
        raise ValueError(f"{name!r} would be written outside the inbox")
    atomic_write(dest, data)
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
