"""Batches and the bounded window of batches in flight, shared by the ingest and renormalize flows."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
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
