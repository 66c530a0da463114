"""Write a file so that no reader ever sees half of it: the one atomic_write of the project.

The bytes go to a temporary file beside the destination, are fsynced (unless `durable=False`, when the
caller syncs many files at once), and the file is renamed over the destination; the folder is fsynced
too, so the rename itself survives a power cut. On any error the temporary file is removed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(dest: Path, durable: bool = True) -> Iterator[Path]:
    """A temporary path beside `dest` for a writer that wants a path (pq.write_table); on a clean exit it
    becomes `dest` (fsynced first when `durable`), on an error it is removed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=f"-{dest.name}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, dest)
        if durable:
            _fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(dest: Path, data: bytes | str, durable: bool = True) -> Path:
    """Write `data` (text as UTF-8) to `dest` atomically; returns `dest`."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(dest, durable) as tmp:
        tmp.write_bytes(payload)
    return dest
