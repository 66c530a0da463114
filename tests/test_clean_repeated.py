"""clean_article: a second copy of a section of the article is removed as `repeated_section`."""

from __future__ import annotations

from pathlib import Path

from transforms.clean import clean_article, load_rules

PARAS = [
    "The river rose another metre overnight, and the council opened two more shelters in the old market hall "
    "for families from the streets nearest the quay, where the water reached the doors of the shops and the "
    "fire brigade spent the night pumping out cellars in the old town.",
    "Farmers on the eastern bank said their fields had been under water since Tuesday and feared for the "
    "harvest, which was due to start at the end of the month; several of them asked the ministry for help "
    "with the cost of replanting in the spring and for a delay on their loan payments.",
    "Engineers were checking the dam upstream every three hours, the regional water authority said on "
    "Thursday, and no damage had been found so far, although the reservoir was fuller than at any time "
    "since the records began forty years ago, and more rain is expected over the weekend.",
    "Schools in the lower town will stay closed until the water level falls below the warning mark again, "
    "the education office said in a statement, and pupils will be taught in the sports hall on the hill "
    "for the rest of the week, with buses leaving from the station square every morning.",
]


def test_a_second_copy_of_the_article_is_removed_with_its_rule() -> None:
    first = "\n\n".join(PARAS)
    raw = f"Floods in the valley\n\n{first}\n\nShare this story\n\n{PARAS[1]}\n\n{PARAS[2]}\n\n{PARAS[3]}\n"
    result = clean_article(raw)
    assert result.clean_text.count(PARAS[2]) == 1
    copies = [s for s in result.removed if s.rule == "repeated_section"]
    assert copies and all(raw[s.start : s.end] == s.text for s in result.removed)
    assert "".join(s.text for s in copies).count(PARAS[3]) == 1
    assert result.clean_text.startswith(first)  # the first copy stays whole
    again = clean_article(result.clean_text)
    assert again.clean_text == result.clean_text  # idempotent


def test_one_repeated_paragraph_is_kept() -> None:
    raw = "\n\n".join([*PARAS, "A word from the mayor", PARAS[0]]) + "\n"
    result = clean_article(raw)
    assert result.clean_text.count(PARAS[0]) == 2
    assert not [s for s in result.removed if s.rule == "repeated_section"]


def test_a_short_repeated_run_is_kept_and_the_setting_turns_it_off(tmp_path: Path) -> None:
    # a schedule: the same labels every day, one of them a long line
    chore = "Fill the sandbags at the depot behind the fire station and carry them down to the quay"
    day = ["Morning", "Walk to the lock gates", chore, "Noon", PARAS[3], "Evening", chore + " again"]
    raw = "\n\n".join([*PARAS[:3], "Monday", *day, "Tuesday", *day]) + "\n"
    assert clean_article(raw).clean_text.count("Walk to the lock gates") == 2
    copy = "\n\n".join([*PARAS, "Print version", *PARAS[:3]]) + "\n"
    extra = tmp_path / "rules.yaml"
    extra.write_text("version: 1\nsettings:\n  repeated_section_min_chars: 0\n", encoding="utf-8")
    assert clean_article(copy, rules=load_rules(extra)).clean_text.count(PARAS[1]) == 2
    assert clean_article(copy).clean_text.count(PARAS[1]) == 1
