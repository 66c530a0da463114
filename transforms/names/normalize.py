"""Substitute canonical names for linked mentions ("translate-normalize")."""

from __future__ import annotations

from collections.abc import Iterable

from ..records import Mention
from .gazetteer import Gazetteer


def normalize_text(text: str, mentions: Iterable[Mention], gazetteer: Gazetteer) -> str:
    """text with every mention replaced by its entity's canonical name (overlaps: first wins)."""
    names = {e.entity_id: e.canonical_name for e in gazetteer.entities}
    parts: list[str] = []
    pos = 0
    for m in sorted(mentions, key=lambda m: (m.start, -m.end)):
        if m.start < pos or m.entity_id not in names:
            continue
        parts.append(text[pos : m.start])
        parts.append(names[m.entity_id])
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)
