"""clean_article: a table-of-contents label left alone on a line is page furniture."""

from __future__ import annotations

import pytest

from transforms.clean import clean_article

INTRO = "The harbour reopened on Monday after a week of storms had kept the fishing fleet in port."
BODY = "Boat owners said the losses would take the rest of the season to recover, the union said."


@pytest.mark.parametrize("label", ["Table of Contents", "Contents:", "In this article", "On this page [hide]"])
def test_contents_label_is_removed(label: str) -> None:
    result = clean_article(f"{INTRO}\n\n{label}\n\n{BODY}\n")
    assert result.clean_text == f"{INTRO}\n\n{BODY}\n"
    assert [s.rule for s in result.removed] == ["page_chrome"]


def test_a_sentence_about_contents_stays() -> None:
    line = "The contents of the report were leaked to the press on Friday."
    assert line in clean_article(f"{INTRO}\n\n{line}\n\n{BODY}\n").clean_text
