"""Split an inbox file's bytes into source documents (one per article); pure, no I/O.

Formats, chosen by file extension:
- `.txt` and anything unknown: the whole file is one plain-text article.
- `.html` / `.htm`: the whole file is one web page.
- `.json`: one object, or a list of objects; `.jsonl`: one object per line.
  Each object needs `text` (plain text) or `html`; optional `title`, `author`, `published`, `url`,
  `source_name`. Each object is its own article, hashed on its own bytes. A `.jsonl` record also
  knows where its bytes sit in the file (`span`, byte offsets): the archive keeps the file once and
  finds a record's bytes through that span, instead of one archive blob per record.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

TEXT_KINDS = {".html": "html", ".htm": "html"}
# json.loads turns an unpaired "\\udXXX" escape (half an emoji, cut off) into a lone surrogate, which
# cannot be encoded, stored in Parquet or written to DuckDB; such characters become U+FFFD.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Besides JSONDecodeError, json.loads raises RecursionError on deep nesting ([[[[...) and ValueError
# on integers over 4300 digits; either is a bad record, never a failed run.
_JSON_ERRORS = (ValueError, RecursionError)
JSON_META_KEYS = ("title", "author", "published", "url")


@dataclass(slots=True)
class SourceDoc:
    """One article's raw bytes plus what the container told us about it."""

    source_name: str
    raw: bytes  # the bytes archived and hashed: the file, or the JSON record
    kind: str  # "text" | "html" | "json-text" | "json-html"
    meta: dict[str, Any] = field(default_factory=dict)
    payload: bytes | None = None  # the article body when it differs from `raw` (JSON records)
    content_sha256: str = ""
    # where `raw` sits in the inbox file, as byte offsets [start, end), when it is a slice of it (.jsonl)
    span: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not self.content_sha256:
            self.content_sha256 = sha256_hex(self.raw)

    @property
    def body(self) -> bytes:
        """The bytes to decode as the article."""
        return self.raw if self.payload is None else self.payload


@dataclass(slots=True)
class SourceFailure:
    """A record of a file that could not be split; it becomes a quarantine row at stage 'parse'."""

    source_name: str
    data: bytes
    reason: str
    detail: str
    content_sha256: str = ""
    span: tuple[int, int] | None = None  # as SourceDoc.span

    def __post_init__(self) -> None:
        if not self.content_sha256:
            self.content_sha256 = sha256_hex(self.data)


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def file_kind(name: str) -> str:
    """The container kind of an inbox file, from its extension."""
    lower = name.lower()
    if lower.endswith(".jsonl"):
        return "jsonl"
    if lower.endswith(".json"):
        return "json"
    for ext, kind in TEXT_KINDS.items():
        if lower.endswith(ext):
            return kind
    return "text"


def split_source(name: str, data: bytes) -> tuple[list[SourceDoc], list[SourceFailure]]:
    """Turn one inbox file into documents, and failures for records that cannot be used."""
    kind = file_kind(name)
    if kind in ("text", "html"):
        return [SourceDoc(name, data, kind)], []
    if kind == "jsonl":
        docs, fails, _, _ = split_jsonl(name, data)
        if not docs and not fails:
            fails.append(SourceFailure(name, data, "empty", "the .jsonl file holds no records"))
        return docs, fails
    return _json_document(name, data)


_LINE_END = re.compile(rb"\r\n|\r|\n")  # the line ends of bytes.splitlines()
_NON_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")  # what bytes.strip() keeps


def split_jsonl(
    name: str, data: bytes, start: int = 0, lineno: int = 0, max_records: int | None = None
) -> tuple[list[SourceDoc], list[SourceFailure], int | None, int]:
    """Records of a .jsonl from byte `start` (after line `lineno`), at most `max_records` non-blank lines.

    Returns (docs, failures, where to resume or None at the end, the last line number read): a big file
    is split a batch at a time, so memory follows the batch size, not the number of records.
    """
    docs: list[SourceDoc] = []
    fails: list[SourceFailure] = []
    pos, n, size = start, 0, len(data)
    while pos < size:
        m = _LINE_END.search(data, pos)
        end, nxt = (m.start(), m.end()) if m else (size, size)
        lineno += 1
        pos_line, line = pos, data[pos:end]
        pos = nxt
        if not line.strip():
            continue
        _json_record(f"{name}#L{lineno}", line, docs, fails, (pos_line, end))
        n += 1
        if max_records is not None and n >= max_records and _NON_SPACE.search(data, pos):
            return docs, fails, pos, lineno  # only when a record follows: a resumed call always finds one
    return docs, fails, None, lineno


def _json_document(name: str, data: bytes) -> tuple[list[SourceDoc], list[SourceFailure]]:
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except _JSON_ERRORS as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return [], [SourceFailure(name, data, "bad_json", f"not valid UTF-8 JSON: {exc}")]
    docs: list[SourceDoc] = []
    fails: list[SourceFailure] = []
    if isinstance(value, list):
        if not value:
            fails.append(SourceFailure(name, data, "empty", "the JSON list holds no records"))
        for i, item in enumerate(value):
            raw = json.dumps(item, ensure_ascii=False, sort_keys=True).encode("utf-8")
            _json_object(f"{name}#{i}", raw, item, docs, fails)
    else:
        _json_object(name, data, value, docs, fails)
    return docs, fails


def _json_record(
    name: str, raw: bytes, docs: list[SourceDoc], fails: list[SourceFailure], span: tuple[int, int] | None = None
) -> None:
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except _JSON_ERRORS as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        fails.append(SourceFailure(name, raw, "bad_json", f"not valid UTF-8 JSON: {exc}", span=span))
        return
    _json_object(name, raw, value, docs, fails, span)


def _json_object(
    name: str, raw: bytes, value: Any, docs: list[SourceDoc], fails: list[SourceFailure],
    span: tuple[int, int] | None = None,
) -> None:
    if not isinstance(value, dict):
        fails.append(
            SourceFailure(name, raw, "bad_record", f"expected a JSON object, got {type(value).__name__}", span=span)
        )
        return
    value = {k: _valid_text(v) if isinstance(v, str) else v for k, v in value.items()}
    text, html = value.get("text"), value.get("html")
    meta = {k: value[k] for k in JSON_META_KEYS if isinstance(value.get(k), str) and value[k].strip()}
    source_name = value.get("source_name") if isinstance(value.get("source_name"), str) else name
    if isinstance(text, str) and text.strip():
        docs.append(SourceDoc(source_name, raw, "json-text", meta, text.encode("utf-8"), span=span))
    elif isinstance(html, str) and html.strip():
        docs.append(SourceDoc(source_name, raw, "json-html", meta, html.encode("utf-8"), span=span))
    else:
        fails.append(
            SourceFailure(source_name, raw, "missing_text", "the record has no non-empty 'text' or 'html' field",
                          span=span)
        )


def _valid_text(value: str) -> str:
    """A JSON string as encodable text: lone surrogates become U+FFFD (the raw bytes are archived as they were)."""
    return _LONE_SURROGATE.sub("\ufffd", value)
