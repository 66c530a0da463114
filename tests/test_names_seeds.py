"""Seed gate for the names engine: mention counts per (article, entity) as ../shared/eval/score.py counts them.

The cleaned body is rebuilt from the gold without the cleaning engine: drop the gold's noise and
metadata lines and the dateline prefix.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from transforms.names import Linker, load_gazetteer

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT.parent / "shared" / "gold" / "seeds.json"
ARTICLES = ROOT / "samples" / "articles"

# floors only ever go up
MIN_PRECISION = 0.98
MIN_F1 = 0.98

pytestmark = pytest.mark.skipif(not GOLD.exists(), reason="shared gold not available")


def gold() -> dict:
    return json.loads(GOLD.read_text(encoding="utf-8"))


def cleaned_body(name: str, g: dict) -> str:
    """Raw seed minus the gold's noise lines, metadata lines and dateline prefix."""
    raw = (ARTICLES / name).read_text(encoding="utf-8")
    drop = {line.strip() for line in g.get("noise_lines", []) + g.get("metadata_lines", [])}
    body = "\n".join(line for line in raw.splitlines() if line.strip() not in drop)
    prefix = g.get("dateline_prefix")
    if prefix:
        body = body.replace(prefix, "", 1)
    return body


@pytest.fixture(scope="module")
def linker() -> Linker:
    return Linker(load_gazetteer())


def score(linker: Linker) -> tuple[int, int, int, dict[str, dict[str, tuple[int, int]]]]:
    data = gold()
    listed = set(data.get("_entities") or [])
    docs = {k: v for k, v in data.items() if not k.startswith("_")}
    for g in docs.values():
        listed |= set(g.get("mentions", {}))
    tp = fp = fn = 0
    wrong: dict[str, dict[str, tuple[int, int]]] = {}
    for name, g in sorted(docs.items()):
        found = Counter(m.entity_id for m in linker.link(cleaned_body(name, g)) if m.entity_id in listed)
        gm = g.get("mentions", {})
        d_tp = sum(min(gm.get(e, 0), found.get(e, 0)) for e in listed)
        tp += d_tp
        fp += sum(found.values()) - d_tp
        fn += sum(gm.values()) - d_tp
        w = {e: (gm.get(e, 0), found.get(e, 0)) for e in listed if gm.get(e, 0) != found.get(e, 0)}
        if w:
            wrong[name] = w
    return tp, fp, fn, wrong


def test_seed_mentions_precision_and_f1(linker: Linker) -> None:
    tp, fp, fn, wrong = score(linker)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    assert p >= MIN_PRECISION and f1 >= MIN_F1, f"P={p:.4f} R={r:.4f} F1={f1:.4f} gold vs found: {wrong}"


def test_seed_mentions_slice_to_surface(linker: Linker) -> None:
    data = gold()
    for name, g in data.items():
        if name.startswith("_"):
            continue
        body = cleaned_body(name, g)
        for m in linker.link(body):
            assert body[m.start : m.end] == m.surface
            assert 0.0 <= m.score <= 1.0
