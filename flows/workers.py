"""Lean worker processes that clean and link for `corpus ingest` with the process runner (issue 20).

Clean and link are pure transforms, so the processes that run them import the transforms, the rules and
the gazetteer and nothing else: no Prefect, DuckDB, pyarrow, pandas or GX (a worker of Prefect's
ProcessPoolTaskRunner imported all of them through flows.ingest, 367 MB each). The flow's clean and
link tasks stay Prefect tasks on the flow's threads; each hands its batch to this pool and waits, which
costs the flow's process no CPU while a worker computes.

Workers are started with 'spawn' from a bare `__main__`: a fresh interpreter that neither inherits the
CLI's heap (as 'fork' would) nor re-imports the CLI's script (as 'spawn' does by default, and the
`corpus` script imports DuckDB and pyarrow through the CLI). All of them start when the pool starts.

This module is also what the flow itself uses for the rules and the gazetteer (cached on their files'
content), so a worker and the flow's own thread load them the same way. It imports only the standard
library at module level.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

# top-level packages a worker must never import (tests/test_workers.py checks a live worker)
HEAVY = ("prefect", "duckdb", "pyarrow", "pandas", "great_expectations", "expectations", "warehouse", "dask")


def file_digest(path: str | Path | None) -> str | None:
    """sha256 of a file's bytes (None for no path or an unreadable file: its loader then says why)."""
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _gazetteer_and_linker(path: str | None, overlays: tuple[tuple[str, str], ...] = ()):
    """The gazetteer (path or the packaged one, plus overlays as (path, content hash)) and its Linker.

    Cached on the files' content, not their path: a long-lived worker (`corpus serve`, a Dask worker)
    sees an edited CORPUS_GAZETTEER on its next batch."""
    return _gazetteer_for(path, file_digest(path), overlays)


@lru_cache(maxsize=4)
def _gazetteer_for(path: str | None, digest: str | None, overlays: tuple[tuple[str, str], ...]):
    from transforms.names import Linker, load_gazetteer

    gaz = load_gazetteer(Path(path) if path else None, overlays=[o for o, _ in overlays])
    return gaz, Linker(gaz)


def _rules(path: str | None):
    """The cleaning rules (packaged, plus CORPUS_RULES), cached on the file's content like the gazetteer."""
    return _rules_for(path, file_digest(path))


@lru_cache(maxsize=4)
def _rules_for(path: str | None, digest: str | None):
    from transforms.clean import load_rules

    return load_rules(Path(path) if path else None)


# ---- the work of one batch (in a worker, or in the flow's own thread) ---------------------------
def clean_docs(docs: list[Any], rules_path: str | None) -> tuple[Any, float]:
    """Decode, extract and clean a batch: (PreparedBatch, seconds)."""
    from transforms import pipeline

    t = time.perf_counter()
    prepared = pipeline.prepare_batch(docs, _rules(rules_path))
    return prepared, time.perf_counter() - t


def link_prepared(
    prepared: Any, gaz: Any, linker: Any, max_clean_chars: int | None
) -> tuple[Any, list[dict[str, Any]]]:
    """Link every name of a cleaned batch: (a new PreparedBatch whose articles have normalized_text, mentions).

    Articles over `max_clean_chars` are not linked (validation holds them as too long anyway, and linking
    megabytes of name-dense text could take minutes): they keep normalized_text = clean_text and no
    mentions. The batch passed in is left as it was."""
    from transforms import pipeline

    limit = max_clean_chars if max_clean_chars is not None else float("inf")
    articles = [dict(a) for a in prepared.articles]  # link_batch fills normalized_text in the rows it gets
    for a in articles:
        if len(a["clean_text"]) > limit:
            a["normalized_text"] = a["clean_text"]
    mentions = pipeline.link_batch([a for a in articles if len(a["clean_text"]) <= limit], linker, gaz)
    return pipeline.PreparedBatch(articles, prepared.removed_spans, prepared.failures), mentions


def link_columns() -> tuple[str, ...]:
    """The columns of an article row that linking reads: what the pool sends a worker to link."""
    from transforms import pipeline

    return ("article_id", "_row", *dict.fromkeys(column for _, column in pipeline.LINKED_FIELDS))


def link_rows(rows: list[tuple[Any, ...]], gazetteer_path: str | None, overlays: tuple[tuple[str, str], ...],
              max_clean_chars: int | None) -> tuple[list[str], list[dict[str, Any]], float]:
    """A worker's link: rows of `link_columns()` in, (each article's normalized_text, mentions, seconds) out.

    The pool sends only what linking reads and gets back only what it adds, not the whole batch
    both ways (its raw and clean texts, removed spans and metadata, pickled twice more)."""
    from transforms import pipeline

    t = time.perf_counter()
    gaz, linker = _gazetteer_and_linker(gazetteer_path, overlays)
    columns = link_columns()
    batch = pipeline.PreparedBatch([dict(zip(columns, row, strict=True)) for row in rows], [], [])
    linked, mentions = link_prepared(batch, gaz, linker, max_clean_chars)
    return [a["normalized_text"] for a in linked.articles], mentions, time.perf_counter() - t


def _warm(rules_path: str | None, gazetteer_path: str | None, overlays: tuple[tuple[str, str], ...]) -> None:
    """A worker's initializer: load the rules and the gazetteer before the first batch arrives."""
    _rules(rules_path)
    _gazetteer_and_linker(gazetteer_path, overlays)


def _ready() -> int:
    import os

    return os.getpid()


def loaded_packages() -> list[str]:
    """The top-level packages imported in this process (a worker answers for itself)."""
    return sorted({name.split(".", 1)[0] for name in sys.modules})


# ---- the pool -----------------------------------------------------------------------------------
_spawn_lock = threading.Lock()


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """`__main__` as an empty module while workers are spawned, so they do not re-run the caller's script.

    multiprocessing's 'spawn' re-imports the parent's main script in every child (the `corpus` console
    script imports the CLI, which imports DuckDB and pyarrow). Only the spawn data of the processes
    started inside this block is affected; nothing else reads `__main__` meanwhile in this process."""
    real = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = real


class WorkerPool:
    """`workers` lean processes that clean and link batches; use as a context manager (`active()` while in it).

    The flow's clean and link tasks call `clean`/`link`, which block the calling thread (never the GIL)
    until a worker answered. A worker that dies breaks the pool: the task raises BrokenProcessPool and
    the run fails like any task error (the batch was not landed; its inbox files stay for the next run).
    """

    def __init__(self, workers: int, rules_path: str | None = None, gazetteer_path: str | None = None,
                 overlays: tuple[tuple[str, str], ...] = ()):
        import multiprocessing

        self.workers = max(1, workers)
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_warm, initargs=(rules_path, gazetteer_path, overlays))
        # ProcessPoolExecutor starts a 'spawn' process per submit while none is idle: start them all now
        with _spawn_lock, _bare_main():
            self._started = [self._pool.submit(_ready) for _ in range(self.workers)]

    def pids(self) -> list[int]:
        """The workers' process ids (once the pool answered its first calls)."""
        for f in self._started:
            f.result()
        return sorted(self._pool._processes or {})  # type: ignore[attr-defined]  # pid -> Process

    def call(self, fn: Any, *args: Any) -> Any:
        return self._pool.submit(fn, *args).result()

    def clean(self, docs: list[Any], rules_path: str | None) -> tuple[Any, float]:
        return self.call(clean_docs, docs, rules_path)

    def link(self, prepared: Any, gazetteer_path: str | None, overlays: tuple[tuple[str, str], ...],
             max_clean_chars: int | None) -> tuple[Any, list[dict[str, Any]], float]:
        """`link_prepared` in a worker: (batch, mentions, seconds); the worker gets and returns only
        the columns linking reads and writes (`link_rows`). The batch passed in is left as it was."""
        from transforms import pipeline

        columns = link_columns()
        rows = [tuple(a.get(c) for c in columns) for a in prepared.articles]
        normalized, mentions, seconds = self.call(link_rows, rows, gazetteer_path, overlays, max_clean_chars)
        articles = [dict(a, normalized_text=n) for a, n in zip(prepared.articles, normalized, strict=True)]
        return pipeline.PreparedBatch(articles, prepared.removed_spans, prepared.failures), mentions, seconds

    def close(self) -> None:
        """End the workers (again: a no-op)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        global _active
        _active = self
        return self

    def __exit__(self, *exc: Any) -> None:
        global _active
        _active = None
        self.close()


_active: WorkerPool | None = None


def active() -> WorkerPool | None:
    """The pool of the run in progress in this process, if its runner is `process`."""
    return _active


def release() -> None:
    """The run cleaned and linked its last batch: end the workers now, not after the run's wrap-up (Data
    Docs, compaction, the search index, whose rebuild would otherwise overlap with ~400 MB of idle workers).
    A later clean or link of this run runs in the calling thread."""
    global _active
    pool, _active = _active, None
    if pool is not None:
        pool.close()
