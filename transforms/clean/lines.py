"""The line cleaner: split text into lines, mark noise lines, turn marks into removable spans."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.clean.rules import LineRule, ResidueRule, RuleSet

__all__ = [
    "Line",
    "split_lines",
    "mark_noise_lines",
    "mark_duplicate_lines",
    "mark_repeated_sections",
    "mark_residue",
    "spans_for_removal",
]

_TOKEN_EDGE = "\"'“”‘’([{<"
_TOKEN_TAIL = ".,;:!?\"'“”‘’)]}>"


@dataclass(slots=True)
class Line:
    """One line of a text: offsets of its content and of the end of its newline."""

    start: int
    end: int  # end of the content, before "\n"
    nl_end: int  # after the "\n" (== end for a last line without newline)
    text: str
    stripped: str


def split_lines(text: str) -> list[Line]:
    """Split text on "\\n" keeping offsets; a text ending in "\\n" ends with an empty line."""
    lines = []
    pos = 0
    for part in text.split("\n"):
        end = pos + len(part)
        nl_end = min(end + 1, len(text))
        lines.append(Line(pos, end, nl_end, part, part.strip()))
        pos = nl_end
    return lines


def _next_nonblank(lines: list[Line], i: int) -> int | None:
    for j in range(i + 1, len(lines)):
        if lines[j].stripped:
            return j
    return None


def mark_noise_lines(
    lines: list[Line], rules: RuleSet, removed: dict[int, str], memo: dict[str, LineRule | None] | None = None
) -> None:
    """Mark lines matched by a line rule (and a rule's companion next line) in `removed`.

    `memo` keeps each line's match between the cleaning passes of one article: a pass after the
    first sees the same lines again, less the removed ones."""
    limit = rules.max_rule_chars
    for i, line in enumerate(lines):
        stripped = line.stripped
        if not stripped or i in removed or len(stripped) > limit:
            continue
        if memo is None:
            rule = rules.match_line(stripped)
        elif stripped in memo:
            rule = memo[stripped]
        else:
            rule = memo[stripped] = rules.match_line(stripped)
        if rule is None:
            continue
        removed[i] = rule.name
        if rule.next_line is not None:
            j = _next_nonblank(lines, i)
            if j is not None and j not in removed and rule.next_line.fullmatch(lines[j].stripped):
                removed[j] = rule.name


def mark_duplicate_lines(lines: list[Line], removed: dict[int, str], max_chars: int) -> None:
    """Mark a line that repeats the previous kept non-blank line (e.g. a doubled caption)."""
    if max_chars <= 0:
        return
    previous: str | None = None
    for i, line in enumerate(lines):
        stripped = line.stripped
        if not stripped or i in removed:
            continue
        if stripped == previous and len(stripped) <= max_chars:
            removed[i] = "duplicate_line"
            continue
        previous = stripped


def mark_repeated_sections(lines: list[Line], removed: dict[int, str], min_chars: int) -> None:
    """Mark a second copy of a section: consecutive kept lines that each repeat an earlier line,
    among them at least two paragraphs of `min_chars` or more (a page that carries its article
    twice, as a mobile and a desktop copy or a print view). A single repeated paragraph is left
    alone (a summary box or a refrain may repeat one on purpose), and so are repeated runs of
    short lines (the labels of a schedule or a recipe repeated day after day)."""
    if min_chars <= 0:
        return
    seen: set[str] = set()
    run: list[int] = []
    paragraphs = 0
    for i, line in enumerate(lines):
        stripped = line.stripped
        if not stripped or i in removed:
            continue
        if stripped in seen:
            run.append(i)
            paragraphs += len(stripped) >= min_chars
            continue
        _mark_run(run, paragraphs, removed)
        run, paragraphs = [], 0
        seen.add(stripped)
    _mark_run(run, paragraphs, removed)


def _mark_run(run: list[int], paragraphs: int, removed: dict[int, str]) -> None:
    if paragraphs >= 2:
        for i in run:
            removed[i] = "repeated_section"


def mark_residue(
    lines: list[Line],
    removed: dict[int, str],
    partial: list[tuple[int, int, str]],
    rules: RuleSet,
    memo: dict[str, list[tuple[int, int, str]]] | None = None,
    text: str | None = None,
) -> None:
    """Mark scraper residue inside kept lines (rules.residue) as partial spans, or the whole line
    when nothing but punctuation would be left of it. `memo` keeps each line's matches between the
    cleaning passes of one article; `text`, the whole text of the lines, lets one search rule out
    a residue rule for every line (ResidueRule.whole_text)."""
    residue = rules.residue
    if text is not None:
        residue = tuple(r for r in residue if not r.whole_text or r.search(text))
    if not residue:
        return
    taken = sorted((s, e) for s, e, _ in partial)
    for i, line in enumerate(lines):
        if not line.stripped or i in removed:
            continue
        line_text = line.text
        if memo is None:
            found = _residue_in(line_text, residue)
        elif line_text in memo:
            found = memo[line_text]
        else:
            found = memo[line_text] = _residue_in(line_text, residue)
        if not found:
            continue
        spans: list[tuple[int, int, str]] = []
        for start, end, name in found:
            if spans and start < spans[-1][1]:
                continue  # overlaps a span already taken on this line
            if any(s < line.start + end and line.start + start < e for s, e in taken):
                continue  # overlaps a dateline or another partial span
            spans.append((start, end, name))
        if not spans:
            continue
        rest = "".join(line_text[a:b] for a, b in _gaps(spans, len(line_text)))
        if not any(c.isalnum() for c in rest):
            removed[i] = spans[0][2]
            continue
        for start, end, name in spans:
            # take the white space before the span with it, so no double space is left
            while start > 0 and line_text[start - 1] in " \t" and (
                end >= len(line_text) or line_text[end] in " \t.,;:!?)"
            ):
                start -= 1
            partial.append((line.start + start, line.start + end, name))


def _residue_in(text: str, residue: tuple[ResidueRule, ...]) -> list[tuple[int, int, str]]:
    """(start, end, rule) of every residue match in one line's text, sorted."""
    found: list[tuple[int, int, str]] = []
    for rule in residue:
        for m in rule.finditer(text):
            start, end = m.start(), m.end()
            if start == end:
                continue
            if rule.token:
                start, end = _token_bounds(text, start, end)
            found.append((start, end, rule.name))
    found.sort()
    return found


def _token_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The white-space-delimited token around text[start:end], minus quotes and sentence punctuation."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    while end > start and text[end - 1] in _TOKEN_TAIL:
        end -= 1
    while start < end and text[start] in _TOKEN_EDGE:
        start += 1
    return start, end


def _gaps(spans: list[tuple[int, int, str]], length: int) -> list[tuple[int, int]]:
    out = []
    pos = 0
    for s, e, _ in spans:
        if s > pos:
            out.append((pos, s))
        pos = max(pos, e)
    if pos < length:
        out.append((pos, length))
    return out


def spans_for_removal(
    lines: list[Line], removed: dict[int, str], partial: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Spans (start, end, rule) deleting the marked lines and the blank lines they would orphan.

    A run of blank and removed lines between two kept lines keeps its first block of blank
    lines, so paragraphs stay separated as they were; at the start or end of the text the
    whole run goes. `partial` spans (a dateline inside a kept line) are added as they are.
    """
    spans: list[tuple[int, int, str]] = list(partial)
    n = len(lines)
    i = 0
    while i < n:
        if lines[i].stripped and i not in removed:
            i += 1
            continue
        j = i
        has_removed = False
        while j < n and (not lines[j].stripped or j in removed):
            has_removed = has_removed or j in removed
            j += 1
        if has_removed:
            spans.extend(_run_spans(lines, removed, i, j, at_edge=(i == 0 or j == n)))
        i = j
    spans = [s for s in spans if s[1] > s[0]]
    spans.sort()
    return _merge_touching(spans)


def _run_spans(lines: list[Line], removed: dict[int, str], a: int, b: int, at_edge: bool) -> list[tuple[int, int, str]]:
    """Spans for the run of blank/removed lines a..b-1."""
    keep: set[int] = set()
    if not at_edge:
        k = a
        while k < b and k in removed:
            k += 1
        while k < b and k not in removed:  # the first block of blank lines
            keep.add(k)
            k += 1
    rule_of: list[str | None] = [removed.get(k) for k in range(a, b)]
    # A dropped blank line takes the rule of the removed line before it (or after it).
    last: str | None = None
    for idx, r in enumerate(rule_of):
        if r is None:
            rule_of[idx] = last
        else:
            last = r
    nxt: str | None = None
    for idx in range(len(rule_of) - 1, -1, -1):
        r = rule_of[idx]
        if r is None:
            rule_of[idx] = nxt
        elif (a + idx) in removed:
            nxt = r
    out = []
    for k in range(a, b):
        if k in keep:
            continue
        line = lines[k]
        out.append((line.start, line.nl_end, rule_of[k - a] or "blank_lines"))
    return out


def _merge_touching(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Merge sorted spans that touch and share a rule."""
    merged: list[tuple[int, int, str]] = []
    for s, e, rule in spans:
        if merged and merged[-1][1] == s and merged[-1][2] == rule:
            merged[-1] = (merged[-1][0], e, rule)
        else:
            merged.append((s, e, rule))
    return merged
