"""Plain data records shared by the transforms; no I/O, no framework types."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RemovedSpan:
    """A span of raw_text that cleaning took out of the body, and the rule that did it."""

    start: int  # offset into raw_text
    end: int  # exclusive
    rule: str
    text: str


@dataclass(frozen=True, slots=True)
class Mention:
    """A name in a text (an article's clean_text, title or dateline place) linked to a gazetteer entity."""

    start: int  # offset into the linked text
    end: int  # exclusive
    surface: str
    entity_id: str
    method: str  # exact | skeleton | fuzzy | calque | coref | arabic ...
    score: float


@dataclass(slots=True)
class CleanResult:
    """Output of cleaning one article's raw text."""

    clean_text: str
    removed: list[RemovedSpan] = field(default_factory=list)
    title: str | None = None
    author: str | None = None
    published: dt.date | None = None
    dateline_place: str | None = None
    # (start, end) offsets into clean_text of heading lines kept in the body
    headings: list[tuple[int, int]] = field(default_factory=list)
    # (start, end) offsets into clean_text of paragraphs that repeat an earlier one
    near_duplicates: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class Extracted:
    """Main text and metadata extracted from an HTML page."""

    text: str
    title: str | None = None
    author: str | None = None
    published: dt.date | None = None
    sitename: str | None = None
    url: str | None = None
