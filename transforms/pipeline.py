"""Batch steps that turn source documents into table rows; pure functions, called by the flow's tasks."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transforms.errors import DecodeError, TransformError
from transforms.lang import detect_language
from transforms.sources import SourceDoc


@dataclass(slots=True)
class StageFailure:
    """An article that a stage could not handle; it becomes a quarantine row."""

    source_name: str
    content_sha256: str
    stage: str
    reason: str
    detail: str
    article_id: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {
            "source_name": self.source_name, "content_sha256": self.content_sha256, "stage": self.stage,
            "reason": self.reason, "detail": self.detail, "article_id": self.article_id,
        }


@dataclass(slots=True)
class PreparedBatch:
    """Rows of one batch after decoding and cleaning."""

    articles: list[dict[str, Any]]
    removed_spans: list[dict[str, Any]]
    failures: list[StageFailure]


def article_id_for(raw_text: str) -> str:
    """The article's id: a hash of its decoded, normalised text, so re-encodings and CRLF copies collide."""
    return hashlib.sha256(raw_text.encode("utf-8")).hexdigest()[:32]


def parse_date(value: Any) -> dt.date | None:
    """A date from an ISO-like string or date/datetime; None when it cannot be read."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def prepare_document(doc: SourceDoc, rules: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Decode, extract (HTML), clean and tag the language of one document; raises TransformError."""
    from transforms.clean import clean_article, extract_html
    from transforms.decode import decode_bytes

    text, encoding = decode_bytes(doc.body)
    meta: dict[str, Any] = dict(doc.meta)
    sitename = None
    if doc.kind in ("html", "json-html"):
        extracted = extract_html(text, url=meta.get("url"))
        text = extracted.text
        sitename = extracted.sitename
        for key in ("title", "author", "url"):
            if not meta.get(key) and getattr(extracted, key):
                meta[key] = getattr(extracted, key)
        if not meta.get("published") and extracted.published:
            meta["published"] = extracted.published
    cleaned = clean_article(text, rules=rules)
    language, lang_score = detect_language(cleaned.clean_text)
    aid = article_id_for(text)
    row = {
        "article_id": aid,
        "source_name": doc.source_name,
        "content_sha256": doc.content_sha256,
        "title": meta.get("title") or cleaned.title,
        "author": meta.get("author") or cleaned.author,
        "published": parse_date(meta.get("published")) or cleaned.published,
        "dateline_place": cleaned.dateline_place,
        "language": language,
        "raw_text": text,
        "clean_text": cleaned.clean_text,
        "normalized_text": cleaned.clean_text,
        "source_kind": doc.kind,
        "url": meta.get("url"),
        "sitename": sitename,
        "encoding": encoding,
        "language_score": lang_score,
        "headings": [{"start_char": s, "end_char": e} for s, e in cleaned.headings],
        "near_duplicates": [{"start_char": s, "end_char": e} for s, e in cleaned.near_duplicates],
    }
    removed = [
        {"article_id": aid, "start_char": s.start, "end_char": s.end, "rule": s.rule, "text": s.text}
        for s in cleaned.removed
    ]
    return row, removed


def prepare_batch(docs: Sequence[SourceDoc], rules: Any = None) -> PreparedBatch:
    """Prepare every document; a document that fails becomes a StageFailure, the others go on."""
    articles: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    failures: list[StageFailure] = []
    for doc in docs:
        try:
            row, spans = prepare_document(doc, rules)
            # `_row` ties child rows to their article even if two articles share an id
            row["_row"] = len(articles)
            for span in spans:
                span["_row"] = row["_row"]
        except TransformError as exc:
            stage = "decode" if isinstance(exc, DecodeError) else "clean"
            failures.append(StageFailure(doc.source_name, doc.content_sha256, stage, exc.reason, str(exc)))
            continue
        articles.append(row)
        removed.extend(spans)
    return PreparedBatch(articles, removed, failures)


def link_batch(articles: list[dict[str, Any]], linker: Any, gazetteer: Any) -> list[dict[str, Any]]:
    """Link names in every article's clean_text; fills normalized_text and returns mention rows."""
    from transforms.names import normalize_text

    rows: list[dict[str, Any]] = []
    for art in articles:
        mentions = linker.link(art["clean_text"])
        art["normalized_text"] = normalize_text(art["clean_text"], mentions, gazetteer)
        aid, pos = art["article_id"], art.get("_row")
        rows.extend(
            {
                "_row": pos, "article_id": aid, "start_char": m.start, "end_char": m.end, "surface": m.surface,
                "entity_id": m.entity_id, "method": m.method, "score": m.score,
            }
            for m in mentions
        )
    return rows
