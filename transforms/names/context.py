"""Evaluate the gazetteer's context conditions (the `when:` mappings) for one candidate mention."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sortedcontainers import SortedList  # type: ignore[import-untyped]

# how much text the preceded_by / followed_by regexes see
_WINDOW = 80
_WORD = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1024)
def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_GLOBAL_FLAGS = re.compile(r"^\(\?[aiLmsux]+\)")
# what a pattern may not contain for a search of the whole text to stand for searches of windows
# (see _starts): anything that looks at or past the place it stands without consuming it (\b, \B,
# $, \Z, lookaheads), atomic groups and possessive quantifiers; a leading \b is fine
_PEEKS = re.compile(r"\\[bBZ]|\$|\(\?[=!>]|[*+?}]\+")


def anchored_end(pattern: str) -> str:
    """The pattern anchored at the end of the text, global flags such as (?i) kept in front."""
    m = _GLOBAL_FLAGS.match(pattern)
    head = m.group() if m else ""
    return f"{head}(?:{pattern[len(head) :]})$"


@dataclass(frozen=True, slots=True)
class Placed:
    """A linked span used as context: offsets into the text and its entity."""

    start: int
    end: int
    entity_id: str


class PlacedIndex:
    """The article's mentions by entity, sorted by start: each query costs O(log n + hits).

    Scanning a plain list per candidate made linking quadratic on name-dense texts.
    """

    def __init__(self, placed: Iterable[Placed] = ()):
        by_entity: dict[str, list[tuple[int, int]]] = {}
        for p in placed:
            by_entity.setdefault(p.entity_id, []).append((p.start, p.end))
        # one sort per entity, not one insertion per mention
        self._by_entity: dict[str, SortedList] = {eid: SortedList(spans) for eid, spans in by_entity.items()}

    def add(self, p: Placed) -> None:
        self._by_entity.setdefault(p.entity_id, SortedList()).add((p.start, p.end))

    def spans(self, eid: str, lo: int, hi: int) -> list[tuple[int, int]]:
        """Spans of eid that start in [lo, hi)."""
        sl = self._by_entity.get(eid)
        if not sl:
            return []
        return list(sl.irange((lo, -1), (hi, -1), inclusive=(True, False)))

    def has(self, ids: Iterable[str], other_than: tuple[int, int]) -> bool:
        """A mention of one of ids other than the span other_than."""
        for eid in ids:
            sl = self._by_entity.get(eid)
            if sl and (len(sl) > 1 or sl[0] != other_than):
                return True
        return False

    def near(self, ids: Iterable[str], start: int, end: int, n: int, longest: int = 400) -> bool:
        """A mention of one of ids, other than [start, end), overlapping [start - n, end + n)."""
        for eid in ids:
            for s, e in self.spans(eid, start - n - longest, end + n):
                if (s, e) != (start, end) and e > start - n:
                    return True
        return False

    def latest_before(self, ids: Iterable[str], pos: int) -> str | None:
        """Entity (of ids) of the mention that starts last before pos."""
        best: tuple[int, str] | None = None
        for eid in ids:
            sl = self._by_entity.get(eid)
            if not sl:
                continue
            k = sl.bisect_left((pos, -1))
            if k and (best is None or sl[k - 1][0] > best[0]):
                best = (sl[k - 1][0], eid)
        return best[1] if best else None


def in_caps_context(text: str, start: int, end: int, radius: int = 40) -> bool:
    """True if the words around [start, end) are mostly in capitals (a headline, a banner)."""
    words = _WORD.findall(text[max(0, start - radius) : start]) + _WORD.findall(text[end : end + radius])
    words = [w for w in words if len(w) > 1]
    if not words:
        return False
    caps = sum(1 for w in words if w.isupper())
    return caps / len(words) >= 0.6


@lru_cache(maxsize=1024)
def _starts_rx(pattern: str, flags: int) -> tuple[re.Pattern[str], int | None] | None:
    """A pattern that finds the offsets where `pattern` matches in a text, and the longest match
    `pattern` can make (None: no bound); None when windowed searches of `pattern` cannot be answered
    from those offsets (see _near_text)."""
    m = _GLOBAL_FLAGS.match(pattern)
    head = m.group() if m else ""
    body = pattern[len(head) :]
    rest = body[2:] if body.startswith("\\b") else body
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]  # no stubs

        shortest, longest = _parser.parse(pattern, flags).getwidth()
    except Exception:  # noqa: BLE001 - the parser is internal: when in doubt, search window by window
        return None
    if shortest == 0 or _PEEKS.search(rest):
        return None
    return re.compile(f"{head}(?=(?:{body}))", flags), (longest if longest < _constants.MAXREPEAT else None)


_BLOCK = 256  # the text is scanned for a pattern's matches in blocks of this many characters, as needed


class _Starts(threading.local):
    """Per thread: the text last searched and, per pattern and block, the offsets where it matches."""

    text: str | None = None
    found: dict[re.Pattern[str], dict[int, list[int]]]


_starts_cache = _Starts()


def _near_text(pattern: str, text: str, start: int, end: int, n: int) -> bool:
    """`pattern` (case-insensitive) found in the n characters before start or after end.

    The same answer as searching the two windows (`rx.search(text, lo, hi)`), without scanning the
    same characters again for each candidate of the text: the offsets where the pattern matches are
    found once per block of the text that a window reaches, and a window holds a match only if one
    of them lies in it and the pattern matches there within the window. That is exact for a pattern
    that never looks past what it consumed (a window's end cuts the text: a match inside it is a
    match in the whole text), scanning a block and up to the longest match beyond it; any other
    pattern is searched window by window. A pattern without a longest match is scanned in one block."""
    rx = _rx(pattern, re.IGNORECASE)
    found = _starts_rx(pattern, re.IGNORECASE)
    if found is None:
        return rx.search(text, max(0, start - n), start) is not None or rx.search(text, end, end + n) is not None
    srx, longest = found
    cache = _starts_cache
    if cache.text is not text:
        cache.text, cache.found = text, {}
    blocks = cache.found.get(srx)
    if blocks is None:
        blocks = cache.found[srx] = {}
    size, length = (_BLOCK, len(text)) if longest is not None else (len(text) + 1, len(text))
    for lo, hi in ((max(0, start - n), start), (end, min(length, end + n))):
        if lo >= hi:
            continue
        for b in range(lo // size, (hi - 1) // size + 1):
            offsets = blocks.get(b)
            if offsets is None:
                first = b * size
                stop = first + size
                reach = length if longest is None else min(length, stop + longest)
                offsets = blocks[b] = [m.start() for m in srx.finditer(text, first, reach) if m.start() < stop]
            for p in offsets:
                if lo <= p < hi and rx.match(text, p, hi) is not None:
                    return True
    return False


def holds(
    cond: dict[str, Any] | None,
    text: str,
    start: int,
    end: int,
    placed: Sequence[Placed] | PlacedIndex = (),
    local_only: bool = False,
) -> bool:
    """True if the condition holds for the span [start, end) of text.

    `placed` are the other mentions of the article (a list, or a :class:`PlacedIndex` for speed).
    With local_only, conditions that need them (article_mentions, near_entities,
    not_near_entities) are treated as holding.
    """
    if not cond:
        return True
    if not local_only and not isinstance(placed, PlacedIndex):
        placed = PlacedIndex(placed)
    for key, val in cond.items():
        if key == "any":
            if not any(holds(c, text, start, end, placed, local_only) for c in val):
                return False
        elif key == "preceded_by":
            if not _rx(anchored_end(val)).search(text[max(0, start - _WINDOW) : start]):
                return False
        elif key == "not_preceded_by":
            if _rx(anchored_end(val)).search(text[max(0, start - _WINDOW) : start]):
                return False
        elif key == "followed_by":
            if not _rx(val).match(text[end : end + _WINDOW]):
                return False
        elif key == "not_followed_by":
            if _rx(val).match(text[end : end + _WINDOW]):
                return False
        elif key in ("near_text", "not_near_text"):
            # the text on each side, searched in place (no copy of the windows)
            if _near_text(val["pattern"], text, start, end, val["chars"]) != (key == "near_text"):
                return False
        elif key == "all":
            if not all(holds(c, text, start, end, placed, local_only) for c in val):
                return False
        elif key == "not_in_caps_context":
            if in_caps_context(text, start, end):
                return False
        elif local_only:
            continue
        elif key == "article_mentions":
            assert isinstance(placed, PlacedIndex)  # noqa: S101 - narrows the type for mypy
            if not placed.has(val, (start, end)):
                return False
        elif key in ("near_entities", "not_near_entities"):
            assert isinstance(placed, PlacedIndex)  # noqa: S101 - narrows the type for mypy
            near = placed.near(val["ids"], start, end, val["chars"])
            if near != (key == "near_entities"):
                return False
    return True


def needs_article(cond: dict[str, Any] | None) -> bool:
    """True if the condition refers to other mentions of the article."""
    if not cond:
        return False
    for key, val in cond.items():
        if key in ("article_mentions", "near_entities", "not_near_entities"):
            return True
        if key in ("any", "all") and any(needs_article(c) for c in val):
            return True
    return False
