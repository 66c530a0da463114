"""The five seed articles against ../shared/gold/seeds.json, judged as shared/eval/score.py judges."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from transforms.clean import clean_article

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLD_PATH = SHARED / "gold" / "seeds.json"
SEEDS = sorted((REPO / "samples" / "articles").glob("*.txt"))

if not GOLD_PATH.is_file():
    pytest.skip(
        f"gold file not found at {GOLD_PATH} (the shared folder sits next to the repo)", allow_module_level=True
    )

GOLD = json.loads(GOLD_PATH.read_text(encoding="utf-8"))

# Same folding as shared/eval/score.py: quotes, dashes and white space do not count.
FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-", "\u00a0": " "})


def fold(s: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", s).translate(FOLD)).strip()


@pytest.fixture(scope="module", params=SEEDS, ids=[p.name for p in SEEDS])
def seed(request: pytest.FixtureRequest) -> tuple[str, str, dict]:
    path: Path = request.param
    if path.name not in GOLD:
        pytest.skip(f"{path.name} has no gold entry")
    return path.name, path.read_text(encoding="utf-8"), GOLD[path.name]


def test_seeds_present() -> None:
    assert len(SEEDS) == 5


def test_noise_and_metadata_lines_gone(seed: tuple[str, str, dict]) -> None:
    _, raw, gold = seed
    lines = {fold(line) for line in clean_article(raw).clean_text.splitlines() if line.strip()}
    for line in gold.get("noise_lines", []) + gold.get("metadata_lines", []):
        assert fold(line) not in lines, line


def test_content_lines_kept(seed: tuple[str, str, dict]) -> None:
    _, raw, gold = seed
    body = fold(clean_article(raw).clean_text)
    for line in gold.get("content_lines", []):
        assert fold(line) in body, line


def test_metadata_fields(seed: tuple[str, str, dict]) -> None:
    _, raw, gold = seed
    result = clean_article(raw)
    got = {
        "title": result.title,
        "author": result.author,
        "published": result.published.isoformat() if result.published else None,
        "dateline_place": result.dateline_place,
    }
    expected = {key: None for key in got} | gold.get("metadata", {})
    assert {k: fold(v) if v else None for k, v in got.items()} == {
        k: fold(str(v)) if v else None for k, v in expected.items()
    }


def test_dateline_prefix_removed(seed: tuple[str, str, dict]) -> None:
    _, raw, gold = seed
    result = clean_article(raw)
    prefix = gold.get("dateline_prefix")
    datelines = [s.text for s in result.removed if s.rule == "dateline"]
    assert datelines == ([prefix] if prefix else [])


def test_headings_reported(seed: tuple[str, str, dict]) -> None:
    _, raw, gold = seed
    result = clean_article(raw)
    assert [fold(result.clean_text[a:b]) for a, b in result.headings] == [fold(h) for h in gold.get("headings", [])]


def test_near_duplicates_flagged(seed: tuple[str, str, dict]) -> None:
    _, raw, gold = seed
    result = clean_article(raw)
    found = [result.clean_text[a:b] for a, b in result.near_duplicates]
    starts = gold.get("near_duplicate_paragraph_starts", [])
    assert len(found) == len(starts)
    for paragraph, start in zip(found, starts, strict=True):
        assert fold(paragraph).startswith(fold(start))


def test_raw_rebuilds_from_clean_and_spans(seed: tuple[str, str, dict]) -> None:
    _, raw, _ = seed
    result = clean_article(raw)
    pieces, pos = [], 0
    for span in result.removed:
        assert span.start >= pos and span.end > span.start
        assert raw[span.start : span.end] == span.text
        pieces.append(raw[pos : span.start])
        pos = span.end
    pieces.append(raw[pos:])
    assert "".join(pieces) == result.clean_text
    # and the other way round: put the spans back into the clean text
    rebuilt, cursor, kept_pos = [], 0, 0
    for span in result.removed:
        take = span.start - cursor
        rebuilt.append(result.clean_text[kept_pos : kept_pos + take])
        kept_pos += take
        rebuilt.append(span.text)
        cursor = span.end
    rebuilt.append(result.clean_text[kept_pos:])
    assert "".join(rebuilt) == raw


def test_idempotent(seed: tuple[str, str, dict]) -> None:
    _, raw, _ = seed
    once = clean_article(raw)
    twice = clean_article(once.clean_text)
    assert twice.clean_text == once.clean_text
    assert twice.removed == []
