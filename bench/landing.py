"""Would these pages land? The pipeline's prepare_document and the batch validation suites, as the
ingest flow runs them (without name linking: mentions are not what this checks)."""

from __future__ import annotations

from collections import Counter
from typing import Any


def prepare_page(name: str, data: bytes, url: str | None) -> tuple[dict | None, list[dict], str | None]:
    """prepare_document on one HTML page: (row, removed spans, None) or (None, [], failure reason)."""
    from transforms.errors import TransformError
    from transforms.pipeline import prepare_document
    from transforms.sources import SourceDoc

    try:
        row, spans = prepare_document(SourceDoc(name, data, "html", meta={"url": url} if url else {}))
    except TransformError as exc:
        return None, [], f"clean:{exc.reason}"
    return row, spans, None


def landing(prepared: list[tuple[dict | None, list[dict], str | None]]) -> tuple[int, Counter[str], int]:
    """(articles that would land, quarantine reasons with counts, residue spans cleaning removed)."""
    import pandas as pd

    from expectations import ValidationConfig, validate_batch
    from warehouse.schema import LAKE_SCHEMAS

    reasons: Counter[str] = Counter(reason for _row, _spans, reason in prepared if reason)
    articles: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for row, spans, reason in prepared:
        if reason is None and row is not None:
            articles.append({**row, "archived_sha256": row["content_sha256"], "run_id": "bench"})
            removed.extend(spans)
    art_cols = [c for c in LAKE_SCHEMAS["articles"].names if c != "ingested_at"] + ["archived_sha256"]
    frames = {
        "articles": pd.DataFrame(articles, columns=art_cols),
        "mentions": pd.DataFrame(
            [], columns=["article_id", "start_char", "end_char", "surface", "entity_id", "method", "score"]
        ),
        "removed_spans": pd.DataFrame(removed, columns=["article_id", "start_char", "end_char", "rule", "text"]),
    }
    result = validate_batch(frames, [], ValidationConfig())
    for f in result.failures:
        reasons[f"validate:{f.expectation}"] += 1
    stepped_in = next((r.unexpected_count for r in result.results if r.expectation == "residue_removed_by_cleaning"), 0)
    return len(articles) - len(result.rejected_article_rows), reasons, stepped_in
