"""Batches and the bounded window of batches in flight, shared by the ingest and renormalize flows."""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of at most `size`, in order."""
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def bounded_window(submitted: Iterable[T], window: int) -> Iterator[T]:
    """Yield the submitted batches in order, keeping `window` more submitted ahead of the one yielded.

    `submitted` is a lazy iterator that submits one batch per step (a Prefect future, say). While the
    caller finishes the batch it was given (validate and land, or write), up to `window` later batches
    are already being worked on: CORPUS_MAX_IN_FLIGHT=2 means two batches cleaned/linked ahead of landing,
    as the README says. A window below 1 counts as 1.
    """
    ahead = max(1, window)
    pending: deque[T] = deque()
    for item in submitted:
        pending.append(item)
        if len(pending) > ahead:
            yield pending.popleft()
    while pending:
        yield pending.popleft()


@contextmanager
def freed_per_batch() -> Iterator[Callable[[], int]]:
    """A call that frees finished batches at once, for a run's loop: `with freed_per_batch() as free:` then
    `free()` after each batch landed.

    A landed batch's rows stay in memory, cut off, inside reference cycles (Prefect's futures, states and
    caught exceptions' frames hold them: ~8,000 objects per batch of 1,000). Python's full collection,
    the only one that reaches them, runs ever more rarely as the process grows, so without this the
    process grew ~50 MB per 1,000 articles (BENCHMARKS.md, issue 20). The objects alive before the run
    (Prefect, GX, pandas: millions) are frozen for its length, so each collection scans only the run's own
    objects and costs milliseconds; they are unfrozen at the end (a long-lived `corpus serve` collects
    them again as usual).
    """
    gc.collect()
    gc.freeze()
    try:
        yield gc.collect
    finally:
        gc.unfreeze()
