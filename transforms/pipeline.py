"""Batch steps that turn source documents into table rows; pure functions, called by the flow's tasks."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
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


def _summed(repairs: list[tuple[str, int]]) -> dict[str, int]:
    """One entry per kind of repair (decoding and the HTML path may both repair mojibake), in first-seen order."""
    out: dict[str, int] = {}
    for kind, count in repairs:
        out[kind] = out.get(kind, 0) + count
    return out


def prepare_document(doc: SourceDoc, rules: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Decode, extract (HTML), clean and tag the language of one document; raises TransformError."""
    from transforms.clean import clean_article, clean_html_page, merge_metadata
    from transforms.decode import decode_document

    is_html = doc.kind in ("html", "json-html")
    # HTML is repaired after extraction, on the article's text and metadata only (cheaper than the page)
    decoded = decode_document(doc.body, repair=not is_html)
    text, encoding, repairs = decoded.text, decoded.encoding, list(decoded.repairs)
    meta: dict[str, Any] = dict(doc.meta)
    sitename = None
    if is_html:
        page = clean_html_page(text, url=meta.get("url"), rules=rules, meta=meta)
        text, cleaned = page.extracted.text, page.cleaned
        repairs.extend(page.repairs)
        sitename = page.extracted.sitename
        meta["url"] = meta.get("url") or page.extracted.url
        fields = {"title": page.title, "author": page.author, "published": page.published}
    else:
        cleaned = clean_article(text, rules=rules)
        fields = merge_metadata(meta, None, cleaned)
    language, lang_score = detect_language(cleaned.clean_text)
    aid = article_id_for(text)
    row = {
        "article_id": aid,
        "source_name": doc.source_name,
        "content_sha256": doc.content_sha256,
        "title": fields["title"],
        "author": fields["author"],
        "published": fields["published"],
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
        "repairs": [{"kind": kind, "count": count} for kind, count in _summed(repairs).items()],
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


# Fields of an article whose names are linked, and the articles column holding each one's text.
# `body` offsets are into clean_text; `title` and `dateline_place` offsets are into those columns.
LINKED_FIELDS: tuple[tuple[str, str], ...] = (
    ("body", "clean_text"), ("title", "title"), ("dateline_place", "dateline_place"),
)


# What separates the fields when an article is linked as one text: a paragraph break, so no name
# runs from one field into the next.
FIELD_SEPARATOR = "\n\n"


def field_texts(article: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, text) of every non-empty linked field of an article row, body first."""
    out = []
    for field, column in LINKED_FIELDS:
        text = article.get(column)
        if isinstance(text, str) and (text or field == "body"):
            out.append((field, text))
    return out


def link_article(article: dict[str, Any], linker: Any) -> list[tuple[str, Any]]:
    """(field, mention) of every name in the article, offsets into that field's text.

    The fields are linked as one text, body first, so a short form in the headline ("Sadr", a
    kunya) is judged with the whole article as its context, as in the body.
    """
    parts = field_texts(article)
    joined = FIELD_SEPARATOR.join(text for _, text in parts)
    bounds, pos = [], 0
    for field, text in parts:
        bounds.append((field, pos, pos + len(text)))
        pos += len(text) + len(FIELD_SEPARATOR)
    out: list[tuple[str, Any]] = []
    for m in linker.link(joined):
        for field, lo, hi in bounds:
            if lo <= m.start and m.end <= hi:
                out.append((field, replace(m, start=m.start - lo, end=m.end - lo) if lo else m))
                break
    return out


def link_batch(articles: list[dict[str, Any]], linker: Any, gazetteer: Any) -> list[dict[str, Any]]:
    """Link names in every article's body, title and dateline place; fills normalized_text (from the
    body alone) and returns mention rows with their `field`."""
    from transforms.names import normalize_text

    rows: list[dict[str, Any]] = []
    for art in articles:
        aid, pos = art["article_id"], art.get("_row")
        found = link_article(art, linker)
        body = [m for field, m in found if field == "body"]
        art["normalized_text"] = normalize_text(art.get("clean_text") or "", body, gazetteer)
        rows.extend(
            {
                "_row": pos, "article_id": aid, "start_char": m.start, "end_char": m.end, "surface": m.surface,
                "entity_id": m.entity_id, "method": m.method, "score": m.score, "field": field,
            }
            for field, m in found
        )
    return rows
