"""Find the metadata that sits in an article's body: title, byline, dateline, author bio.

Each finding marks lines (or, for a dateline, the start of a line) for removal, so that the
metadata lives in columns and the body keeps only text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from transforms.clean.lines import Line
from transforms.clean.rules import RuleSet

__all__ = [
    "HeaderFindings",
    "find_metadata",
    "parse_date",
    "looks_like_name",
    "is_heading_like",
    "is_body_line",
    "word_count",
]

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_DATE_MDY = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_DATE_DMY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WORD_RE = re.compile(r"\w+")
_DIGIT_RE = re.compile(r"\d")
_FINAL_STOP = frozenset(".!?,;:…")
_BODY_END = frozenset('.!?…"”’)»')
# Lower-case words allowed inside personal names and between names.
_NAME_PARTICLES = frozenset(
    "al el bin ibn bint abu de da di del della dos van von der den du le la ul ud ad as ash at and y e".split()
)
# Capitalised words that start sentences, never places or names in a dateline or byline.
_NOT_NAMES = frozenset(
    "the a an on in at by since until from for to of after before during yesterday today tomorrow "
    "last next this that these those monday tuesday wednesday thursday friday saturday sunday "
    "earlier later meanwhile however but and or so while when as if it he she they we i you there "
    "here now then also still even only just".split()
)
_NAME_TOKEN_RE = re.compile(r"[\s,/&]+")
_BIO_VERBS = (" is ", " was ", " has been ", " serves ", " covers ", " reports ", " writes about ")
_TITLE_START_RE = re.compile(r"[\"“‘'«(\[]?[^\W_]")


@dataclass(slots=True)
class HeaderFindings:
    """Metadata found in one pass, and the spans of the body it occupied."""

    title: str | None = None
    author: str | None = None
    published: dt.date | None = None
    dateline_place: str | None = None


def word_count(text: str) -> int:
    """Number of \\w+ words."""
    return len(_WORD_RE.findall(text))


def parse_date(text: str) -> dt.date | None:
    """Parse 'January 21, 2020', 'Dec. 1, 2019', '12 January 2020' or '2020-01-21'; None if not a date."""
    text = text.strip()
    try:
        if m := _DATE_ISO.fullmatch(text):
            year, month, day = int(m[1]), int(m[2]), int(m[3])
        elif m := _DATE_MDY.fullmatch(text):
            month = _MONTHS.get(m[1].lower(), 0)
            day, year = int(m[2]), int(m[3])
        elif m := _DATE_DMY.fullmatch(text):
            month = _MONTHS.get(m[2].lower(), 0)
            day, year = int(m[1]), int(m[3])
        else:
            return None
        if not 1800 <= year <= 2200 or not month:
            return None
        return dt.date(year, month, day)
    except ValueError:
        return None


def looks_like_name(text: str, min_tokens: int = 1, max_tokens: int = 8) -> bool:
    """True when text reads as a person, organisation or place name (capitalised words)."""
    text = text.strip().rstrip(",;:")
    if not text or _DIGIT_RE.search(text) or len(text) > 100:
        return False
    tokens = [t for t in _NAME_TOKEN_RE.split(text) if t]
    names = 0
    for i, token in enumerate(tokens):
        bare = token.strip("()\"'“”‘’")
        if not bare:
            return False
        low = bare.lower()
        if low in _NAME_PARTICLES or low.split("-")[0] in _NAME_PARTICLES and "-" in low:
            continue
        first = bare[0]
        if first.islower() or not (first.isalpha()):
            return False
        if i == 0 and low in _NOT_NAMES:
            return False
        if bare.endswith(".") and len(bare) > 4 and not bare[:-1].isupper():
            return False  # a sentence end, not an initial ("J.", "Jr.", "U.S.")
        names += 1
    return min_tokens <= names <= max_tokens


def is_heading_like(stripped: str, max_words: int) -> bool:
    """A short line that starts like a title and has no final stop ('Sectarian politics')."""
    if not stripped or stripped[-1] in _FINAL_STOP or stripped[-1] in '"”’»)':
        return False
    n = word_count(stripped)
    if not 1 <= n <= max_words or len(stripped) > 12 * max_words:
        return False
    if not _TITLE_START_RE.match(stripped):
        return False
    first = stripped.lstrip("\"“‘'«([")[:1]
    return not first.islower()


def is_body_line(stripped: str) -> bool:
    """A line that reads as body text: long, or a full sentence."""
    n = word_count(stripped)
    if n >= 20:
        return True
    return n >= 8 and stripped[-1] in _BODY_END


def _first_kept(lines: list[Line], removed: dict[int, str], start: int = 0) -> int | None:
    for i in range(start, len(lines)):
        if lines[i].stripped and i not in removed:
            return i
    return None


def _clean_author(author: str) -> str:
    """Trim separators and stray punctuation around a captured author."""
    return author.strip().strip(",;:|-–—").strip()


def find_metadata(
    lines: list[Line],
    removed: dict[int, str],
    partial: list[tuple[int, int, str]],
    rules: RuleSet,
    header_limit: int = 12,
) -> HeaderFindings:
    """Mark title, byline, date lines, dateline prefix and author-bio lines; return what they held."""
    found = HeaderFindings()
    meta = rules.metadata
    settings = rules.settings
    body = None
    header: list[int] = []
    for i, line in enumerate(lines):
        if not line.stripped or i in removed:
            continue
        if is_body_line(line.stripped) or len(header) >= header_limit:
            body = i
            break
        header.append(i)
    header_removed_before = any(i in removed for i in range(0, body if body is not None else len(lines)))

    # Bylines and date lines in the header.
    for i in header:
        stripped = lines[i].stripped
        if found.author is None:
            for rx in meta.get("byline", ()):
                m = rx.fullmatch(stripped)
                if m and looks_like_name(m["author"], 1, 10) or m and _is_uncased(m["author"]):
                    found.author = _clean_author(m["author"])
                    removed[i] = "byline"
                    break
            if i in removed:
                continue
        for rx in meta.get("date_line", ()):
            m = rx.fullmatch(stripped)
            if m and (date := parse_date(m["date"])) is not None:
                place = m.groupdict().get("place")
                if place and not looks_like_name(place, 1, 5):
                    continue
                if found.published is None:
                    found.published = date
                if place and found.dateline_place is None:
                    found.dateline_place = place.strip()
                removed[i] = "dateline"
                break
        if i in removed:
            continue
        # A dateline standing alone on its line: "BAGHDAD (Reuters) -", "BASRA —".
        for rx in meta.get("dateline", ()):
            m = rx.match(stripped)
            if not m or m.end() != len(stripped) or not m.groupdict().get("place"):
                continue
            place = m["place"]
            date_text = m.groupdict().get("date")
            date = parse_date(date_text) if date_text else None
            if date_text and date is None or not looks_like_name(place, 1, 5):
                continue
            if not date and not m.groupdict().get("agency") and not place.isupper():
                continue
            if date is not None and found.published is None:
                found.published = date
            if found.dateline_place is None:
                found.dateline_place = place.strip()
            removed[i] = "dateline"
            break

    _split_bylines(lines, removed, found, meta.get("byline_label", ()))

    # Title: the first header line that reads as one.
    candidates = [i for i in header if i not in removed]
    if candidates:
        first = candidates[0]
        stripped = lines[first].stripped
        max_words = settings["title_max_words"]
        strong = header_removed_before or any(i in removed for i in header)
        if strong and _title_like(stripped, max_words, min_words=2):
            found.title = stripped
            removed[first] = "title"
        elif (
            not strong
            and body is not None
            and first == _first_kept(lines, removed)
            and candidates == [first]
            and _title_like(stripped, max_words, min_words=3)
            and first + 1 < len(lines)
            and not lines[first + 1].stripped
        ):
            found.title = stripped
            removed[first] = "title"

    # Dateline glued to the start of the first body paragraph.
    if body is not None:
        line = lines[body]
        offset = len(line.text) - len(line.text.lstrip())
        for rx in meta.get("dateline", ()):
            m = rx.match(line.text, offset)
            if not m:
                continue
            rest = line.text[m.end() :].lstrip("\"“‘'«( ")
            if not rest or rest[0].islower():
                continue  # a dateline is followed by a sentence ("ISIS — the group ..." is not one)
            place = m.groupdict().get("place")
            date_text = m.groupdict().get("date")
            date = parse_date(date_text) if date_text else None
            if date_text and date is None:
                continue
            if place and not looks_like_name(place, 1, 5):
                continue
            if not date and not m.groupdict().get("agency") and not (place and place.isupper()):
                continue
            partial.append((line.start + m.start(), line.start + m.end(), "dateline"))
            if date is not None and found.published is None:
                found.published = date
            if place:
                found.dateline_place = place.strip()
            break

    # Author-bio lines standing alone anywhere.
    bio_rx = meta.get("author_bio", ())
    if bio_rx:
        n = len(lines)
        for i, line in enumerate(lines):
            stripped = line.stripped
            if not stripped or i in removed or len(stripped) > 300:
                continue
            alone = (i == 0 or not lines[i - 1].stripped) and (i + 1 >= n or not lines[i + 1].stripped)
            if not alone or not any(k in stripped for k in _BIO_VERBS):
                continue
            for rx in bio_rx:
                m = rx.fullmatch(stripped)
                if m and looks_like_name(m["author"], 2, 5):
                    removed[i] = "author_bio"
                    if found.author is None:
                        found.author = _clean_author(m["author"])
                    break
    return found


def _split_bylines(lines: list[Line], removed: dict[int, str], found: HeaderFindings,
                   labels: tuple[re.Pattern[str], ...]) -> None:
    """A byline label alone on its line ("Written by") and the name on the next non-blank line: both
    lines are the byline, anywhere in the text (an author box below the article too); the first such
    name is the author when the header named none. A label followed by anything but a name stays."""
    if not labels:
        return
    n = len(lines)
    for i, line in enumerate(lines):
        stripped = line.stripped
        if not stripped or i in removed or len(stripped) > 20 or not any(rx.fullmatch(stripped) for rx in labels):
            continue
        j = next((k for k in range(i + 1, min(n, i + 3)) if lines[k].stripped), None)
        if j is None or j in removed:
            continue
        name = _clean_author(lines[j].stripped)
        if len(name) > 100 or not looks_like_name(name, 1, 10):
            continue
        removed[i] = removed[j] = "byline"
        if found.author is None:
            found.author = name


def _title_like(stripped: str, max_words: int, min_words: int) -> bool:
    """A title candidate: heading-like (a final ? or ! allowed), with enough words."""
    if word_count(stripped) < min_words:
        return False
    if stripped[-1] in "?!":
        stripped = stripped[:-1].rstrip()
        if not stripped:
            return False
    return is_heading_like(stripped, max_words)


def _is_uncased(text: str) -> bool:
    """True for a name in a script without letter case (Arabic), where capitals prove nothing."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and not any(c.isupper() or c.islower() for c in letters) and len(text) <= 60
