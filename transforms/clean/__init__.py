"""Article cleaning: remove noise lines, move metadata to columns, flag repeated paragraphs.

clean_article only ever deletes spans of its input: `clean_text` is `raw_text` with the
`removed` spans cut out, so every removal is accounted for and the raw text can be rebuilt.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import zlib
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq

from transforms.clean.html import extract_html
from transforms.clean.lines import (
    Line,
    mark_duplicate_lines,
    mark_noise_lines,
    mark_repeated_sections,
    mark_residue,
    spans_for_removal,
    split_lines,
)
from transforms.clean.metadata import HeaderFindings, find_metadata, is_body_line, is_heading_like
from transforms.clean.rules import RulesError, RuleSet, load_rules
from transforms.decode import decode_document, repair_mojibake
from transforms.errors import TransformError
from transforms.records import CleanResult, Extracted, RemovedSpan

__all__ = [
    "clean_article",
    "clean_html_page",
    "merge_metadata",
    "extract_html",
    "load_rules",
    "CleanPage",
    "RuleSet",
    "RulesError",
]


@dataclass(slots=True)
class CleanPage:
    """An HTML page through the whole HTML path: extraction, cleaning and the merged metadata."""

    extracted: Extracted
    cleaned: CleanResult
    title: str | None
    author: str | None
    published: dt.date | None
    repairs: tuple[tuple[str, int], ...] = ()  # ("mojibake", lines repaired) in text and metadata

    @property
    def clean_text(self) -> str:
        return self.cleaned.clean_text


def merge_metadata(
    meta: dict[str, Any], extracted: Extracted | None, cleaned: CleanResult
) -> dict[str, Any]:
    """Title, author and published of an article, by source: the container's record first
    (a JSON field is explicit), then the page's own markup (extract_html), then what cleaning
    found in the text (header lines, dateline, closing bio)."""
    out: dict[str, Any] = {}
    for key in ("title", "author", "published"):
        value = meta.get(key)
        if key == "published":
            value = _as_date(value)
        if not value and extracted is not None:
            value = getattr(extracted, key)
        out[key] = value or getattr(cleaned, key)
    return out


def _as_date(value: Any) -> dt.date | None:
    """A date from a date, datetime or ISO-like string; None when it cannot be read."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date) or value is None:
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def clean_html_page(
    data: bytes | str, url: str | None = None, rules: RuleSet | None = None, meta: dict[str, Any] | None = None
) -> CleanPage:
    """The pipeline's HTML path for one page: extract_html, mojibake repair of what it extracted,
    clean_article, merge_metadata. Bytes are decoded here so that a repair made while decoding
    (C1-control mojibake, see transforms.decode) is recorded with the others."""
    fixed = 0
    if isinstance(data, bytes | bytearray | memoryview):
        decoded = decode_document(bytes(data), repair=False)
        data = decoded.text
        fixed = sum(n for kind, n in decoded.repairs if kind == "mojibake")
    extracted = extract_html(data, url=url)
    for key in ("text", "title", "author"):
        value = getattr(extracted, key)
        if value:
            value, n = repair_mojibake(value)
            setattr(extracted, key, value)
            fixed += n
    cleaned = clean_article(extracted.text, rules=rules)
    merged = merge_metadata(meta or {}, extracted, cleaned)
    repairs = (("mojibake", fixed),) if fixed else ()
    return CleanPage(extracted, cleaned, merged["title"], merged["author"], merged["published"], repairs)

# Removing lines can expose new noise (a caption doubled around an ad, a heading left on top);
# passes repeat until nothing changes, which is what makes cleaning idempotent. Each pass removes
# at least one line, so the loop ends; two passes are the common case.


def clean_article(raw_text: str, rules: RuleSet | None = None) -> CleanResult:
    """Clean one article's raw text: remove noise lines, move metadata to fields, flag repeats."""
    if not isinstance(raw_text, str):
        raise TransformError(f"clean_article expects str, got {type(raw_text).__name__}", reason="bad_input")
    if rules is None:
        rules = load_rules()
    try:
        return _clean(raw_text, rules)
    except TransformError:
        raise
    except Exception as exc:  # a bug must surface as a typed error, with the cause chained
        raise TransformError(f"cleaning failed: {exc!r}", reason="clean_failed") from exc


def _clean(raw_text: str, rules: RuleSet) -> CleanResult:
    """Run cleaning passes to a fixed point, then find headings and near-duplicates."""
    kept: list[tuple[int, int]] = [(0, len(raw_text))] if raw_text else []
    removed: list[tuple[int, int, str]] = []
    text = raw_text
    found = HeaderFindings()
    memo: tuple[dict, dict] = ({}, {})  # line rules and residue matches by line, for every pass
    while True:
        spans, pass_found, lines = _clean_once(text, rules, memo)
        for attr in ("title", "author", "published", "dateline_place"):
            if getattr(found, attr) is None:
                setattr(found, attr, getattr(pass_found, attr))
        if not spans:
            break
        raw_spans = _to_raw(spans, kept)
        removed.extend(raw_spans)
        kept = _subtract(kept, raw_spans)
        text = "".join(raw_text[s:e] for s, e in kept)
    removed.sort()
    merged: list[tuple[int, int, str]] = []
    for s, e, rule in removed:
        if merged and merged[-1][1] == s and merged[-1][2] == rule:
            merged[-1] = (merged[-1][0], e, rule)
        else:
            merged.append((s, e, rule))
    return CleanResult(
        clean_text=text,
        removed=[RemovedSpan(s, e, rule, raw_text[s:e]) for s, e, rule in merged],
        title=found.title,
        author=found.author,
        published=found.published,
        dateline_place=found.dateline_place,
        headings=_headings(lines, rules),
        near_duplicates=_near_duplicates(lines, rules),
    )


def _clean_once(
    text: str, rules: RuleSet, memo: tuple[dict, dict] | None = None
) -> tuple[list[tuple[int, int, str]], HeaderFindings, list[Line]]:
    """One pass: spans (start, end, rule) of `text` to delete, the metadata they held, the lines.
    `memo` holds what earlier passes over the same article found line by line."""
    if memo is None:
        memo = ({}, {})
    lines = split_lines(text)
    removed: dict[int, str] = {}
    partial: list[tuple[int, int, str]] = []
    mark_noise_lines(lines, rules, removed, memo[0])
    mark_duplicate_lines(lines, removed, rules.settings["duplicate_line_max_chars"])
    mark_repeated_sections(lines, removed, rules.settings["repeated_section_min_chars"])
    found = find_metadata(lines, removed, partial, rules)
    mark_residue(lines, removed, partial, rules, memo[1], text)
    if not removed and not partial:
        return [], found, lines
    return spans_for_removal(lines, removed, partial), found, lines


def _to_raw(spans: list[tuple[int, int, str]], kept: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Map spans of the current text (the kept pieces joined) to spans of the raw text."""
    starts: list[int] = []
    total = 0
    for s, e in kept:
        starts.append(total)
        total += e - s
    out: list[tuple[int, int, str]] = []
    for s, e, rule in spans:
        k = bisect.bisect_right(starts, s) - 1
        pos = s
        while pos < e and k < len(kept):
            piece_start, piece_end = kept[k]
            offset = pos - starts[k]
            take = min(e - pos, (piece_end - piece_start) - offset)
            if take > 0:
                out.append((piece_start + offset, piece_start + offset + take, rule))
                pos += take
            k += 1
    return out


def _subtract(kept: list[tuple[int, int]], spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Kept raw intervals minus the removed raw spans."""
    cuts = sorted((s, e) for s, e, _ in spans)
    out: list[tuple[int, int]] = []
    ci = 0
    for s, e in kept:
        pos = s
        while ci < len(cuts) and cuts[ci][1] <= pos:
            ci += 1
        j = ci
        while j < len(cuts) and cuts[j][0] < e:
            cs, ce = cuts[j]
            if cs > pos:
                out.append((pos, cs))
            pos = max(pos, ce)
            j += 1
        if pos < e:
            out.append((pos, e))
    return out


def _headings(lines: list[Line], rules: RuleSet) -> list[tuple[int, int]]:
    """Offsets of heading lines kept in the body: short, no final stop, followed by body text."""
    max_words = rules.settings["heading_max_words"]
    out = []
    for i, line in enumerate(lines):
        stripped = line.stripped
        if not stripped or not is_heading_like(stripped, max_words):
            continue
        nxt = next((ln for ln in lines[i + 1 :] if ln.stripped), None)
        if nxt is None or not is_body_line(nxt.stripped):
            continue
        lead = len(line.text) - len(line.text.lstrip())
        out.append((line.start + lead, line.start + lead + len(stripped)))
    return out


# The content words of the near-duplicate check: the \w+ words longer than 3 characters (a run of
# word characters shorter than 4 holds no match of \w{4,}, a longer one is matched whole).
_CONTENT_WORD = re.compile(r"\w{4,}")


@dataclass(slots=True)
class _Para:
    """A paragraph long enough for the near-duplicate check, with its features computed lazily."""

    line: Line
    content_words: set[str]
    _bits: set[int] | None = None

    def bits(self) -> set[int]:
        """A 1024-bit signature of the white-space word set, as the set of its bits: shared bits
        approximate shared words cheaply. CRC-32, not hash(): Python salts str hashes per process, and the
        same article must be flagged alike in every run and worker."""
        if self._bits is None:
            self._bits = {zlib.crc32(word.encode()) & 1023 for word in set(self.line.stripped.lower().split())}
        return self._bits


def _near_duplicates(lines: list[Line], rules: RuleSet) -> list[tuple[int, int]]:
    """Offsets of paragraphs that reword an earlier paragraph (flagged, never deleted).

    A paragraph is flagged when fuzz.partial_ratio with an earlier one reaches the threshold.
    Cheap, exact filters run first, in order of cost: shared content words, shared signature bits,
    fuzz.ratio, and an upper bound of partial_ratio from LCS lengths (_partial_ratio_bound); only
    the pairs none of them rules out pay for partial_ratio itself. Every filter is a necessary
    condition of the flag, so the result is that of running the whole chain on every pair.
    """
    threshold = rules.settings["near_duplicate_ratio"]
    min_words = rules.settings["near_duplicate_min_words"]
    if threshold <= 0:
        return []
    paras: list[_Para] = []
    for line in lines:
        stripped = line.stripped
        if stripped.count(" ") + 1 < min_words:
            continue
        paras.append(_Para(line, set(_CONTENT_WORD.findall(stripped.lower()))))
    out = []
    for j in range(1, len(paras)):
        para_j = paras[j]
        words_j = para_j.content_words
        for i in range(j):
            para_i = paras[i]
            words_i = para_i.content_words
            # Most content words (longer than 3 letters) shared; measured on the samples: a reworded
            # repeat shares 0.81 of them, distinct paragraphs at most 0.47.
            if len(words_i & words_j) < 0.6 * min(len(words_i), len(words_j)):
                continue
            bits_i, bits_j = para_i.bits(), para_j.bits()
            if 2 * len(bits_i & bits_j) < min(len(bits_i), len(bits_j)):
                continue
            a, b = sorted((para_i.line.stripped, para_j.line.stripped), key=len)
            # fuzz.ratio is bit-parallel and cheap; a reworded repeat scores well above 50 on it.
            if not fuzz.ratio(a, b, score_cutoff=50):
                continue
            if _partial_ratio_bound(a, b) < threshold - _BOUND_MARGIN:
                continue
            if fuzz.partial_ratio(a, b, score_cutoff=threshold):
                line_j = para_j.line
                lead = len(line_j.text) - len(line_j.text.lstrip())
                out.append((line_j.start + lead, line_j.start + lead + len(line_j.stripped)))
                break
    return out


# partial_ratio is a float computed another way; the bound only rules out pairs clearly below.
_BOUND_MARGIN = 1e-6


def _partial_ratio_bound(a: str, b: str) -> float:
    """An upper bound of fuzz.partial_ratio(a, b) for len(a) <= len(b), from a few LCS lengths.

    partial_ratio is the best fuzz.ratio of `a` against a window of `b` no longer than `a`: a
    window of len(a) (ratio = 100 * LCS / len(a)), or a shorter prefix or suffix of `b` (ratio =
    200 * LCS / (len(a) + len(window)) <= 200 * L / (len(a) + L), L bounding its LCS). The LCS
    with a window is at most the LCS with any stretch of `b` containing it, so: the full windows
    are bounded by stretches of len(a) + c starting every c characters (each window lies in
    one), the prefixes by b[:len(a) - 1], the suffixes by b[len(b) - len(a) + 1:]. About ten
    bit-parallel LCS runs against partial_ratio's one per alignment.
    """
    la, lb = len(a), len(b)
    if la == 0:
        return 100.0
    if la >= lb:  # equal lengths: every window of either string, in either direction
        lcs = LCSseq.similarity(a, b)
        return 200.0 * lcs / (la + lcs)
    step = max(la // 4, 1)
    full = max(LCSseq.similarity(a, b[s : s + la + step]) for s in range(0, lb - la + 1, step))
    prefix = LCSseq.similarity(a, b[: la - 1])
    suffix = LCSseq.similarity(a, b[lb - la + 1 :])
    return max(100.0 * full / la, 200.0 * prefix / (la + prefix), 200.0 * suffix / (la + suffix))
