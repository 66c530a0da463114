"""Load, merge, validate and compile the cleaning rules (rules.yaml plus an optional user file)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from transforms.errors import TransformError
from transforms.yaml_lines import load_yaml

__all__ = ["LineRule", "ResidueRule", "RuleSet", "RulesError", "load_rules", "default_rules"]

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
# Rule names that clean_article gives to spans it removes in code, not through line rules.
RESERVED_NAMES = frozenset(
    {"title", "byline", "dateline", "date_line", "author_bio", "duplicate_line", "repeated_section", "blank_lines"}
)
_METADATA_GROUPS = {
    "byline": ({"author"}, "all"),
    "byline_label": (set(), "all"),
    "author_bio": ({"author"}, "all"),
    "dateline": ({"place", "date"}, "any"),
    "date_line": ({"date"}, "all"),
}
_DEFAULT_SETTINGS: dict[str, int] = {
    "max_line_chars": 250,
    "duplicate_line_max_chars": 300,
    "repeated_section_min_chars": 250,
    "near_duplicate_ratio": 80,
    "near_duplicate_min_words": 12,
    "heading_max_words": 14,
    "title_max_words": 30,
}
_RULE_KEYS = {
    "name",
    "description",
    "patterns",
    "case_sensitive",
    "max_chars",
    "next_line",
    "enabled",
    "keywords",
}


class RulesError(TransformError):
    """A rules file is missing, is not valid YAML, or breaks the documented format."""

    reason = "bad_rules"


@dataclass(frozen=True, slots=True)
class LineRule:
    """One named line rule: compiled whole-line patterns and an optional companion next line."""

    name: str
    patterns: tuple[re.Pattern[str], ...]
    max_chars: int
    next_line: re.Pattern[str] | None = None
    description: str = ""
    keywords: tuple[str, ...] = ()  # lower-case; when set, lines without any of them are skipped

    def matches(self, stripped: str) -> bool:
        """True when the stripped line is within max_chars and fully matches a pattern."""
        if len(stripped) > self.max_chars:
            return False
        if self.keywords:
            low = stripped.lower()
            if not any(k in low for k in self.keywords):
                return False
        return any(p.fullmatch(stripped) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class ResidueRule:
    """Scraper residue inside a kept line (a long id, a credit caption), removed as a span."""

    name: str
    pattern: re.Pattern[str]
    token: bool = False  # the span grows to the white-space-delimited token around the match
    # True when one search of a whole text tells that none of its lines holds a match
    whole_text: bool = False
    # the pattern without its leading lookbehinds and \b: it matches wherever `pattern` can (see
    # _start_pattern); None when there is none to strip or `pattern` can match empty
    at: re.Pattern[str] | None = None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """`pattern.finditer(text)`, trying `pattern` only where `at` matches.

        `re` tries a pattern that starts with a lookbehind at every offset of the text, one that
        starts with a character class only at the characters of the class."""
        at = self.at
        if at is None:
            yield from self.pattern.finditer(text)
            return
        pos, match = 0, self.pattern.match
        while (c := at.search(text, pos)) is not None:
            m = match(text, c.start())
            if m is None:
                pos = c.start() + 1
            else:
                yield m
                pos = m.end()  # never empty (see _start_pattern)

    def search(self, text: str) -> bool:
        """`pattern.search(text)` found something."""
        return next(self.finditer(text), None) is not None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """All compiled rules: line rules in file order, metadata patterns and numeric settings."""

    line_rules: tuple[LineRule, ...]
    metadata: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    settings: dict[str, int] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    max_rule_chars: int = 0  # the longest line any line rule looks at; longer lines skip them all
    residue: tuple[ResidueRule, ...] = ()

    def match_line(self, stripped: str) -> LineRule | None:
        """The first line rule that removes this stripped line, or None."""
        if not stripped or len(stripped) > self.max_rule_chars:
            return None
        for rule in self.line_rules:
            if rule.matches(stripped):
                return rule
        return None


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    """Parse YAML text (transforms/yaml_lines.py): every mapping holds its line under `__line__`; a YAML
    error or a key given twice is a RulesError naming file and line."""
    data = load_yaml(text, source, RulesError, syntax="invalid YAML", line_key="__line__")
    if data is None:
        return {"__line__": 1}
    if not isinstance(data, dict):
        raise RulesError(f"{source}:1: the rules file must be a mapping with `rules:` and/or `metadata:`")
    return {str(k): v for k, v in data.items()}


def _compile(pattern: Any, flags: int, where: str) -> re.Pattern[str]:
    """Compile one regex, reporting where it came from when it is invalid."""
    if not isinstance(pattern, str) or not pattern:
        raise RulesError(f"{where}: a pattern must be a non-empty string, got {pattern!r}")
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RulesError(f"{where}: invalid regex {pattern!r}: {exc}") from exc


def _compile_rule(raw: Any, settings: dict[str, int], source: str) -> LineRule | None:
    """Validate and compile one rule mapping; None when the rule is disabled."""
    if not isinstance(raw, dict):
        raise RulesError(f"{source}: each entry under `rules:` must be a mapping, got {raw!r}")
    line = raw.get("__line__", "?")
    where = f"{source}:{line}"
    unknown = set(raw) - _RULE_KEYS - {"__line__", "__source__"}
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {sorted(unknown)} (allowed: {sorted(_RULE_KEYS)})")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise RulesError(f"{where}: a rule needs a `name` of lower-case letters, digits and _, got {name!r}")
    if name in RESERVED_NAMES:
        raise RulesError(f"{where}: rule name {name!r} is reserved for metadata and structural rules")
    if raw.get("enabled", True) is False:
        return None
    patterns = raw.get("patterns")
    if not isinstance(patterns, list) or not patterns:
        raise RulesError(f"{where}: rule {name!r} needs a non-empty list `patterns`")
    flags = 0 if raw.get("case_sensitive", False) else re.IGNORECASE
    compiled = tuple(_compile(p, flags, f"{where} (rule {name})") for p in patterns)
    max_chars = raw.get("max_chars", settings["max_line_chars"])
    if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars <= 0:
        raise RulesError(f"{where}: rule {name!r}: max_chars must be a positive integer, got {max_chars!r}")
    next_line = raw.get("next_line")
    next_re = _compile(next_line, flags, f"{where} (rule {name}, next_line)") if next_line else None
    keywords = raw.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        raise RulesError(f"{where}: rule {name!r}: keywords must be a list of non-empty strings")
    description = str(raw.get("description", ""))
    return LineRule(name, compiled, max_chars, next_re, description, tuple(k.lower() for k in keywords))


def _merge_named(merged: list[Any], extra: dict[str, Any], key: str, source: str) -> None:
    """Merge the user's list `key` into `merged` in place: an item replaces the one of the same name, else is added."""
    items = extra.get(key) or []
    if not isinstance(items, list):
        raise RulesError(f"{source}:{extra.get('__line__', 1)}: `{key}` must be a list")
    by_name = {r.get("name"): i for i, r in enumerate(merged) if isinstance(r, dict)}
    for item in items:
        if isinstance(item, dict):
            item = {**item, "__source__": source}
            if item.get("name") in by_name:
                merged[by_name[item["name"]]] = item
                continue
        merged.append(item)


def _merge(base: dict[str, Any], extra: dict[str, Any], source: str) -> dict[str, Any]:
    """Merge a user rules mapping into the default one (rules by name, metadata by key)."""
    merged_settings: dict[str, Any] = dict(base.get("settings") or {})
    merged_rules: list[Any] = list(base.get("rules") or [])
    merged_metadata: dict[str, Any] = dict(base.get("metadata") or {})
    merged_residue: list[Any] = list(base.get("residue") or [])
    metadata_sources: dict[str, str] = {}
    merged: dict[str, Any] = {
        "settings": merged_settings,
        "rules": merged_rules,
        "metadata": merged_metadata,
        "residue": merged_residue,
        "__metadata_sources__": metadata_sources,
    }
    _merge_named(merged_residue, extra, "residue", source)
    settings = extra.get("settings") or {}
    if not isinstance(settings, dict):
        raise RulesError(f"{source}:{extra.get('__line__', 1)}: `settings` must be a mapping")
    merged_settings.update(settings)
    _merge_named(merged_rules, extra, "rules", source)
    metadata = extra.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise RulesError(f"{source}:{extra.get('__line__', 1)}: `metadata` must be a mapping")
    for key, value in metadata.items():
        if key != "__line__":
            merged_metadata[key] = value
            metadata_sources[key] = source
    return merged


def _build(doc: dict[str, Any], default_source: str, sources: tuple[str, ...]) -> RuleSet:
    """Validate a merged rules mapping and compile it into a RuleSet."""
    version = doc.get("version", 1)
    if version != 1:
        raise RulesError(f"{default_source}: unsupported rules format version {version!r} (expected 1)")
    settings = dict(_DEFAULT_SETTINGS)
    for key, value in (doc.get("settings") or {}).items():
        if key == "__line__":
            continue
        if key not in _DEFAULT_SETTINGS:
            raise RulesError(f"{default_source}: unknown setting {key!r} (known: {sorted(_DEFAULT_SETTINGS)})")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RulesError(f"{default_source}: setting {key!r} must be a non-negative integer, got {value!r}")
        settings[key] = value
    line_rules: list[LineRule] = []
    seen: set[str] = set()
    for raw in doc.get("rules") or []:
        source = raw.get("__source__", default_source) if isinstance(raw, dict) else default_source
        rule = _compile_rule(raw, settings, source)
        if rule is None:
            continue
        if rule.name in seen:
            raise RulesError(f"{source}:{raw.get('__line__', '?')}: duplicate rule name {rule.name!r}")
        seen.add(rule.name)
        line_rules.append(rule)
    metadata: dict[str, tuple[re.Pattern[str], ...]] = {}
    meta_sources = doc.get("__metadata_sources__", {})
    for key, patterns in (doc.get("metadata") or {}).items():
        if key == "__line__":
            continue
        source = meta_sources.get(key, default_source)
        if key not in _METADATA_GROUPS:
            raise RulesError(f"{source}: unknown metadata key {key!r} (known: {sorted(_METADATA_GROUPS)})")
        if not isinstance(patterns, list):
            raise RulesError(f"{source}: metadata.{key} must be a list of regexes")
        groups, mode = _METADATA_GROUPS[key]
        compiled = []
        for pattern in patterns:
            rx = _compile(pattern, 0, f"{source} (metadata.{key})")
            have = set(rx.groupindex)
            ok = groups <= have if mode == "all" else bool(groups & have)
            if not ok:
                raise RulesError(
                    f"{source} (metadata.{key}): pattern {pattern!r} must define the named group(s) "
                    f"{sorted(groups)} ({mode})"
                )
            compiled.append(rx)
        metadata[key] = tuple(compiled)
    for key in _METADATA_GROUPS:
        metadata.setdefault(key, ())
    longest = max((r.max_chars for r in line_rules), default=0)
    residue = _compile_residue(doc.get("residue") or [], default_source)
    return RuleSet(tuple(line_rules), metadata, settings, sources, longest, residue)


def _compile_residue(items: Any, default_source: str) -> tuple[ResidueRule, ...]:
    """Validate and compile the `residue:` list."""
    if not isinstance(items, list):
        raise RulesError(f"{default_source}: `residue` must be a list")
    out: list[ResidueRule] = []
    seen: set[str] = set()
    for raw in items:
        if not isinstance(raw, dict):
            raise RulesError(f"{default_source}: each entry under `residue:` must be a mapping, got {raw!r}")
        where = f"{raw.get('__source__', default_source)}:{raw.get('__line__', '?')}"
        unknown = set(raw) - {"name", "pattern", "token", "enabled", "description", "__line__", "__source__"}
        if unknown:
            raise RulesError(f"{where}: unknown key(s) {sorted(unknown)} in a residue rule")
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise RulesError(f"{where}: a residue rule needs a `name` of lower-case letters, digits and _")
        if name in RESERVED_NAMES or name in seen:
            raise RulesError(f"{where}: residue rule name {name!r} is reserved or repeated")
        seen.add(name)
        if raw.get("enabled", True) is False:
            continue
        pattern = _compile(raw.get("pattern"), 0, f"{where} (residue {name})")
        out.append(
            ResidueRule(name, pattern, bool(raw.get("token")), _line_context_free(pattern), _start_pattern(pattern))
        )
    return tuple(out)


_GLOBAL_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")


def _group_end(src: str) -> int | None:
    """The offset after the group that opens src[0] ("("), or None (escapes and classes skipped;
    None too when a group opens inside it: dropping it could renumber the groups)."""
    depth, i, n = 0, 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i += 1
            if i < n and src[i] == "^":
                i += 1
            if i < n and src[i] == "]":
                i += 1  # a "]" first in a class is a literal
            while i < n and src[i] != "]":
                i += 2 if src[i] == "\\" else 1
        elif ch == "(":
            depth += 1
            if depth > 1:
                return None
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _start_pattern(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """`pattern` less its leading lookbehinds and \b, or None when it has none or can match empty.

    Dropping a condition can only add matches, so it matches at every offset where `pattern`
    does: searched first, it tells where `pattern` is worth trying (ResidueRule.finditer)."""
    src = pattern.pattern
    head = m.group() if (m := _GLOBAL_FLAGS.match(src)) else ""
    rest = src[len(head) :]
    stripped = False
    while True:
        if rest.startswith("\\b"):
            rest = rest[2:]
        elif rest.startswith(("(?<=", "(?<!")):
            end = _group_end(rest)
            if end is None:
                return None
            rest = rest[end:]
        else:
            break
        stripped = True
    if not stripped or not rest:
        return None
    try:
        from re import _parser as sre_parser  # type: ignore[attr-defined]  # no stubs

        if sre_parser.parse(src, pattern.flags).getwidth()[0] == 0:
            return None  # finditer's rules for empty matches differ
        return re.compile(head + rest, pattern.flags)
    except Exception:  # noqa: BLE001 - not a pattern of its own (a group split) or another Python's internals
        return None


def _line_context_free(pattern: re.Pattern[str]) -> bool:
    """True when a match inside a line is also a match inside the text holding the line.

    Residue patterns run on each line alone; the text holds the same characters with a newline
    before and after the line. Only anchors (^ $ \\A \\Z) and lookarounds can tell the two apart
    (\\b and \\B cannot: the newline is not a word character, like the edge of a string), so a
    pattern without them that has no match in the text has none in any of its lines.
    """
    try:
        from re import _constants as sre_constants  # type: ignore[attr-defined]  # no stubs
        from re import _parser as sre_parser  # type: ignore[attr-defined]  # no stubs

        tree = sre_parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # noqa: BLE001 - another Python's internals: no shortcut, same answers
        return False
    boundaries = {
        sre_constants.AT_BOUNDARY, sre_constants.AT_NON_BOUNDARY,
        sre_constants.AT_UNI_BOUNDARY, sre_constants.AT_UNI_NON_BOUNDARY,
        sre_constants.AT_LOC_BOUNDARY, sre_constants.AT_LOC_NON_BOUNDARY,
    }

    def parts(value: Any) -> Any:
        if isinstance(value, sre_parser.SubPattern):
            yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                yield from parts(item)

    def free(node: Any) -> bool:
        for op, value in node:
            if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                return False
            if op == sre_constants.AT and value not in boundaries:
                return False
            if not all(free(sub) for sub in parts(value)):
                return False
        return True

    return free(tree)


def _default_text() -> str:
    """The packaged rules.yaml (the only file the cleaning engine reads)."""
    return resources.files("transforms.clean").joinpath("rules.yaml").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """The packaged rules, compiled once per process."""
    return _build(_read_yaml(_default_text(), "rules.yaml"), "rules.yaml", ("rules.yaml",))


def load_rules(extra_path: str | Path | None = None) -> RuleSet:
    """Load the packaged rules, merged with a user rules file when extra_path is given."""
    if extra_path is None:
        return default_rules()
    path = Path(extra_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read rules file: {exc}") from exc
    base = _read_yaml(_default_text(), "rules.yaml")
    extra = _read_yaml(text, str(path))
    version = extra.get("version", 1)
    if version != 1:
        raise RulesError(f"{path}:1: unsupported rules format version {version!r} (expected 1)")
    return _build(_merge(base, extra, str(path)), "rules.yaml", ("rules.yaml", str(path)))
