"""Scraper residue inside kept lines becomes removed spans, and validation reads the same patterns."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from expectations.batch import RESIDUE_STEPPED_IN, residue_outcome
from expectations.config import DEFAULT_NOISE_PATTERNS
from transforms.clean import clean_article, load_rules

BODY = (
    "The council met on Tuesday to vote on the new water budget, and the mayor said the plan "
    "would be finished before the rains."
)
TAIL = "Residents of the eastern district asked for more pumps, the council's minutes show."

RESIDUE = [
    # a 17-digit reference number inside a sentence
    ("residue_long_id", "The filing carries the number 40512345678901234 on its cover", "40512345678901234"),
    # a millisecond timestamp inside an image URL
    (
        "residue_long_id",
        "The map is at https://img.example.org/maps/district_1701234567890.png in full size",
        "https://img.example.org/maps/district_1701234567890.png",
    ),
    # a product id inside a link
    (
        "residue_long_id",
        "Pumps sold out (shop.example.com/item?id=4006381333931) within days",
        "shop.example.com/item?id=4006381333931",
    ),
    (
        "residue_uuid",
        "Asset 3f2b1c4d-5e6f-4a1b-9c8d-7e6f5a4b3c2d was shown twice",
        "3f2b1c4d-5e6f-4a1b-9c8d-7e6f5a4b3c2d",
    ),
    (
        "residue_credit_caption",
        "The new pumping station (credit: City Water Board) opened in May",
        "(credit: City Water Board)",
    ),
]


@pytest.mark.parametrize(("rule", "line", "residue"), RESIDUE, ids=[r[0] + str(i) for i, r in enumerate(RESIDUE)])
def test_residue_becomes_a_removed_span(rule: str, line: str, residue: str) -> None:
    raw = f"{BODY}\n\n{line}, the report said.\n\n{TAIL}\n"
    result = clean_article(raw)
    spans = [s for s in result.removed if s.rule == rule]
    assert len(spans) == 1
    span = spans[0]
    assert raw[span.start : span.end] == span.text
    assert span.text.strip() == residue
    assert residue not in result.clean_text
    # the rest of the line stays, without a double space
    assert line.replace(residue, "").split()[0] in result.clean_text
    assert "  " not in result.clean_text
    # what is left passes the validation noise patterns, and cleaning again changes nothing
    assert not any(re.search(p, result.clean_text) for p in DEFAULT_NOISE_PATTERNS)
    assert clean_article(result.clean_text).clean_text == result.clean_text


def test_phone_numbers_and_years_stay() -> None:
    raw = f"{BODY}\n\nCall 07901234567 or +9647901234567 about the 2019 plan and its 1,500,000 dinars.\n\n{TAIL}\n"
    result = clean_article(raw)
    assert result.clean_text == raw


def test_a_line_of_residue_only_goes_whole() -> None:
    raw = f"{BODY}\n\n(Credit: City Water Board)\n\n{TAIL}\n"
    result = clean_article(raw)
    assert "Credit" not in result.clean_text
    assert result.clean_text == f"{BODY}\n\n{TAIL}\n"


def test_validation_reads_the_cleaning_rules_patterns() -> None:
    assert tuple(r.pattern.pattern for r in load_rules().residue) == DEFAULT_NOISE_PATTERNS
    assert len(DEFAULT_NOISE_PATTERNS) >= 4


def test_residue_outcome_counts_residue_spans() -> None:
    spans = pd.DataFrame(
        {"article_id": ["a", "a", "b"], "rule": ["residue_long_id", "title", "residue_credit_caption"]}
    )
    outcome = residue_outcome(spans)
    assert outcome.expectation == RESIDUE_STEPPED_IN
    assert outcome.success and outcome.unexpected_count == 2 and outcome.severity == "notice"
