"""From a batch's validation to quarantine rows: ONE row per rejected article.

An article that fails several expectations (a short text that also holds a banner, say) is one held
record, so it gets one row: `reason` is its first failed expectation, and `detail` lists every one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from expectations.results import BatchValidation, RowFailure

STAGE = "validate"


def _owner(f: RowFailure, articles: Sequence[Mapping[str, Any]], rejected: set[int],
           first_pos: Mapping[str, int]) -> int | None:
    """The position in `articles` of the record a failure belongs to (None for entity rows)."""
    if f.article_id is None:
        return None  # entity rows are not validated per batch here
    pos = f.row_index if f.table == "articles" and f.row_index is not None else first_pos.get(f.article_id)
    if pos is None:
        return None
    if pos not in rejected:  # a child-row failure of an id held twice: it belongs to the rejected copy
        pos = next((p for p in sorted(rejected) if articles[p]["article_id"] == f.article_id), pos)
    return pos


def _detail(failures: Sequence[RowFailure]) -> str:
    if len(failures) == 1:
        f = failures[0]
        return f"{f.table}: {f.detail}"
    parts = [f"{f.expectation} ({f.table}: {f.detail})" for f in failures]
    return f"{len(failures)} expectations failed: " + "; ".join(parts)


def quarantine_rows(articles: Sequence[Mapping[str, Any]], result: BatchValidation) -> list[dict[str, Any]]:
    """One quarantine row per article in `result.rejected_article_rows`, in the order of `articles`.

    Each row names the article (source_name, content_sha256, article_id), its first failed expectation as
    `reason`, and every failed expectation with its detail (a row rejected with no failure of its own, which
    should not happen, gets reason "rejected").
    """
    rejected = set(result.rejected_article_rows)
    first_pos: dict[str, int] = {}
    for pos, a in enumerate(articles):
        first_pos.setdefault(a["article_id"], pos)
    by_pos: dict[int, list[RowFailure]] = {}
    for f in result.failures:
        owner = _owner(f, articles, rejected, first_pos)
        if owner is not None:
            by_pos.setdefault(owner, []).append(f)
    rows = []
    for pos in sorted(rejected | set(by_pos)):
        a, failures = articles[pos], by_pos.get(pos, [])
        rows.append({
            "source_name": a["source_name"],
            "content_sha256": a["content_sha256"],
            "stage": STAGE,
            "reason": failures[0].expectation if failures else "rejected",
            "detail": _detail(failures) if failures else "rejected by the batch validation",
            "article_id": a["article_id"],
        })
    return rows
