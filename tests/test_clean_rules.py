"""Each cleaning rule on small inputs: lines it removes, and counter-examples that must survive."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from transforms.clean import clean_article, load_rules
from transforms.clean.rules import RulesError
from transforms.errors import TransformError

BEFORE = (
    "The protesters gathered again in the central square on Friday, demanding that the "
    "government resign and that early elections be called before the summer."
)
AFTER = (
    "Security forces used tear gas to disperse the crowd, and several people were taken to "
    "hospital with injuries, according to local health officials."
)


def cleaned_between(line: str) -> tuple[str, list[str]]:
    """Clean `line` placed between two body paragraphs; return clean_text and the rules that fired."""
    raw = f"{BEFORE}\n\n{line}\n\n{AFTER}\n"
    result = clean_article(raw)
    return result.clean_text, [s.rule for s in result.removed]


NOISE = [
    ("ad_banner", "728 x 90"),
    ("ad_banner", "300x250"),
    ("ad_banner", "[970 X 250]"),
    ("ad_banner", "Advertisement"),
    ("ad_banner", "- ADVERTISEMENT -"),
    ("ad_banner", "Story continues below advertisement"),
    ("ad_banner", "إعلان"),
    ("video_embed", "6119771925001 ef78fd9b-e792-44be-bf0e-63bf66e2b5b7 9f7ba1f3-c72a-414b-9114-2ff6faac6b62"),
    ("video_embed", "5812345678001 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
    ("video_label", "video"),
    ("video_label", "Watch video"),
    ("image_caption", "Iraq protests (Credit: AP)"),
    ("image_caption", "Demonstrators in Basra (Photo: Reuters)"),
    ("image_caption", "Photo: Hadi Mizban"),
    ("image_credit", "Protesters on the Jumhuriya bridge. Getty Images"),
    ("image_credit", "A man waves a flag in Tahrir Square. REUTERS/Thaier al-Sudani"),
    ("image_credit", "Ahmad al-Rubaye/AFP"),
    ("share_follow", "Share"),
    ("share_follow", "Share this article"),
    ("share_follow", "Facebook Twitter WhatsApp Email"),
    ("share_follow", "Follow us on Twitter"),
    ("share_follow", "Subscribe to our newsletter"),
    ("share_follow", "Sign up for the daily briefing"),
    ("share_follow", "شارك"),
    ("share_follow", "شارك المقال"),
    ("read_more", "Read more: Iraq's parliament approves new election law"),
    ("read_more", "READ MORE"),
    ("read_more", "See also: Who are the Popular Mobilisation Forces?"),
    ("read_more", "Related articles"),
    ("read_more", "اقرأ أيضا: البرلمان العراقي يقر قانون الانتخابات"),
    ("read_more", "اقرأ أيضاً:"),
    ("copyright", "© 2020 Example News. All rights reserved."),
    ("copyright", "Copyright 2019 The Daily Example"),
    ("copyright", "All rights reserved."),
    ("tags", "Tags: Iraq, Iran, protests"),
    ("tags", "Filed under: Middle East"),
    ("publisher_disclaimer", "The author's point of view may not coincide with the position of the publisher."),
    ("publisher_disclaimer", "The author’s point of view may not coincide with the position of the publisher."),
    (
        "publisher_disclaimer",
        "The views expressed in this article are the author's own and do not necessarily reflect "
        "the editorial policy of this site.",
    ),
    ("publisher_disclaimer", "المقال يعبر عن رأي كاتبه ولا يعبر بالضرورة عن رأي الموقع"),
    ("affiliate_disclosure", "This story includes affiliate links; see our policy page for details."),
    ("affiliate_disclosure", "If you buy a kettle through a link on this page, we may earn a small commission."),
    ("affiliate_disclosure", "Things you order through our shop links earn us a commission at no cost to you."),
    ("affiliate_disclosure", "Our kettle guide is in the Amazon Associates scheme: we earn from qualifying purchases."),
    ("affiliate_disclosure", "We may be compensated when you click on the offers below."),
    ("affiliate_disclosure", "River Times earns commissions from some of the partners listed below."),
]


@pytest.mark.parametrize(("rule", "line"), NOISE, ids=[f"{r}:{line[:30]}" for r, line in NOISE])
def test_noise_line_is_removed(rule: str, line: str) -> None:
    clean, rules = cleaned_between(line)
    assert rule in rules
    assert line not in clean
    assert clean == f"{BEFORE}\n\n{AFTER}\n"  # paragraphs stay separated by one blank line


SURVIVES = [
    "The video showed security forces firing live ammunition at protesters on the bridge.",
    "Witnesses said 300 x 250 metres of the square had been cleared by the early afternoon.",
    "Sectarian politics",
    "By the end of 2019, more than 400 people had been killed in the protests.",
    "He said the advertisement campaign by the ministry had been a waste of public money.",
    "Photographs taken on the day show the bridge full of people.",
    "The agency shared the report with its partners in Baghdad and Erbil.",
    "Read the statement carefully, he told reporters, because every word of it matters.",
    "Copyright law in Iraq dates back to 1971 and has rarely been enforced by the courts.",
    "The views of the protesters do not reflect those of the parties in parliament, he said.",
    "Iran's influence",
    "She is a correspondent for the protesters' own radio station, she told us, and proud of it.",
    "قال المتظاهرون إنهم سيواصلون الاعتصام في ساحة التحرير حتى تحقيق مطالبهم.",
    "2019",
    "Estate agents in Basra earn a commission of two percent on each house they sell, he said.",
    "The electoral commission said turnout was the lowest since 2005.",
    "Our reporter asked whether the militia's affiliates in Baghdad had been warned.",
]


@pytest.mark.parametrize("line", SURVIVES, ids=[line[:30] for line in SURVIVES])
def test_content_line_survives(line: str) -> None:
    clean, rules = cleaned_between(line)
    assert rules == []
    assert f"\n{line}\n" in clean


def test_video_label_after_embed_goes_with_it() -> None:
    raw = f"{BEFORE}\n\n6119566297001 60ae1f16-d2a6-4b80-8391-d8c5eb453190\nvideo\n\nAir strikes\n{AFTER}\n"
    result = clean_article(raw)
    assert result.clean_text == f"{BEFORE}\n\nAir strikes\n{AFTER}\n"
    assert {s.rule for s in result.removed} == {"video_embed"}
    assert [result.clean_text[a:b] for a, b in result.headings] == ["Air strikes"]


def test_duplicated_caption_line() -> None:
    raw = f"{BEFORE}\n\nCrowds on the bridge at dusk\nCrowds on the bridge at dusk\n\n{AFTER}\n"
    result = clean_article(raw)
    assert result.clean_text == f"{BEFORE}\n\nCrowds on the bridge at dusk\n\n{AFTER}\n"
    assert [s.rule for s in result.removed] == ["duplicate_line"]


# --- metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "title", "author"),
    [
        ("How the protests changed Iraq\n\nBy Jane Doe\n\n", "How the protests changed Iraq", "Jane Doe"),
        ("Why Iran is losing Iraq\n\nAnalysis by PMOI/MEK\n\n", "Why Iran is losing Iraq", "PMOI/MEK"),
        (
            "Baghdad burns again\n\nWritten by Ali al-Sudani and Mark Smith\n\n",
            "Baghdad burns again",
            "Ali al-Sudani and Mark Smith",
        ),
        ("Advertisement\n\nA new prime minister for Iraq\n\n", "A new prime minister for Iraq", None),
        ("A new prime minister for Iraq\n\n", "A new prime minister for Iraq", None),
        ("By John Smith | Reuters\n\n", None, "John Smith"),
        ("بقلم: أحمد الربيعي\n\n", None, "أحمد الربيعي"),
    ],
    ids=["title+byline", "analysis-by", "written-by-two", "ad+title", "title-only", "byline-agency", "arabic-byline"],
)
def test_title_and_byline(header: str, title: str | None, author: str | None) -> None:
    result = clean_article(f"{header}{BEFORE}\n\n{AFTER}\n")
    assert (result.title, result.author) == (title, author)
    assert result.clean_text == f"{BEFORE}\n\n{AFTER}\n"


@pytest.mark.parametrize(
    "raw",
    [
        f"By the end of 2019, more than 400 people had been killed in the protests.\n\n{AFTER}\n",
        f"Sectarian politics\n{BEFORE}\n\n{AFTER}\n",  # a heading glued to the first paragraph
        f"{BEFORE}\n\n{AFTER}\n",
    ],
    ids=["by-the-end-of", "heading-on-top", "plain"],
)
def test_no_title_or_byline(raw: str) -> None:
    result = clean_article(raw)
    assert (result.title, result.author) == (None, None)
    assert result.clean_text == raw


@pytest.mark.parametrize(
    ("first", "place", "date", "rest"),
    [
        (
            "Iraq, January 21, 2020—Since January 19, demonstrations",
            "Iraq",
            dt.date(2020, 1, 21),
            "Since January 19, demonstrations",
        ),
        ("BAGHDAD, Dec. 1, 2019 (Reuters) - Iraqi protesters", "BAGHDAD", dt.date(2019, 12, 1), "Iraqi protesters"),
        ("LONDON (AP) — The British government", "LONDON", None, "The British government"),
        ("Basra, 12 January 2020: Oil workers", "Basra", dt.date(2020, 1, 12), "Oil workers"),
    ],
    ids=["place-date-emdash", "caps-agency", "caps-only", "day-month-year"],
)
def test_dateline(first: str, place: str, date: dt.date | None, rest: str) -> None:
    tail = " went on strike this week over unpaid wages and the killing of protesters in the south."
    result = clean_article(f"{first}{tail}\n\n{AFTER}\n")
    assert (result.dateline_place, result.published) == (place, date)
    assert result.clean_text == f"{rest}{tail}\n\n{AFTER}\n"
    assert [s.rule for s in result.removed] == ["dateline"]


@pytest.mark.parametrize(
    "label", ["Published:", "Updated:", "Last updated:", "Last Updated on", "Last modified:"],
)
def test_a_labelled_date_line_under_the_headline_is_metadata(label: str) -> None:
    result = clean_article(f"Gates open on the north bank\n\n{label} April 21, 2025\n\n{BEFORE}\n\n{AFTER}\n")
    assert result.title == "Gates open on the north bank"
    assert result.published == dt.date(2025, 4, 21)
    assert result.clean_text == f"{BEFORE}\n\n{AFTER}\n"


@pytest.mark.parametrize(
    "first",
    [
        "Since January 19, 2020 - the day the talks failed - protesters have blocked the roads",
        "On January 21, 2020 protesters blocked the roads",
        "Yesterday, January 21, 2020 - protesters blocked the roads",
        "Iraq, Iran and Syria - the three countries - met to talk about water",
        "ISIS — the group that once held a third of Iraq — lost its last town",
    ],
    ids=["since", "on-date", "yesterday", "list-of-places", "acronym-dash"],
)
def test_not_a_dateline(first: str) -> None:
    raw = f"{first} and more than a hundred people were arrested across the country.\n\n{AFTER}\n"
    result = clean_article(raw)
    assert result.removed == []
    assert result.published is None


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("Patrick Cockburn is a correspondent for The Independent in the Middle East", "Patrick Cockburn"),
        ("Emma Sky is a senior fellow at Yale University's Jackson Institute.", "Emma Sky"),
        ("— Hassan Hassan is the editor of a Washington-based magazine", "Hassan Hassan"),
    ],
)
def test_author_bio(line: str, author: str) -> None:
    result = clean_article(f"{BEFORE}\n\n{AFTER}\n\n{line}\n")
    assert result.author == author
    assert result.clean_text == f"{BEFORE}\n\n{AFTER}\n"
    assert [s.rule for s in result.removed] == ["author_bio"]


@pytest.mark.parametrize("label", ["By", "Written by", "Words by:", "Author:"])
def test_a_byline_label_and_the_name_on_the_next_line_are_the_byline(label: str) -> None:
    result = clean_article(f"Gates open on the north bank\n\n{label}\nMara Quell\n\n{BEFORE}\n\n{AFTER}\n")
    assert (result.title, result.author) == ("Gates open on the north bank", "Mara Quell")
    assert result.clean_text == f"{BEFORE}\n\n{AFTER}\n"
    assert {s.rule for s in result.removed} == {"byline", "title"}


def test_a_byline_label_below_the_article_names_the_author_once() -> None:
    raw = f"By Jane Doe\n\n{BEFORE}\n\n{AFTER}\n\nWritten by\n\nMara Quell\n"
    result = clean_article(raw)
    assert result.author == "Jane Doe"  # the header's byline wins; the box below is still removed
    assert result.clean_text.rstrip("\n") == f"{BEFORE}\n\n{AFTER}"


def test_a_byline_label_followed_by_a_sentence_stays() -> None:
    raw = f"{BEFORE}\n\nWritten by\nthe people of the north bank, the petition asks for new gates.\n\n{AFTER}\n"
    result = clean_article(raw)
    assert result.author is None
    assert "Written by\nthe people" in result.clean_text


def test_author_bio_does_not_override_byline() -> None:
    raw = f"By Jane Doe\n\n{BEFORE}\n\nJohn Roe is a columnist for The Example Times.\n"
    result = clean_article(raw)
    assert result.author == "Jane Doe"
    assert "John Roe" not in result.clean_text


def test_near_duplicate_is_flagged_not_removed() -> None:
    first = (
        "But during the past two months, this alliance weakened when security forces and militias "
        "fired on protesters, who protested about the lack of jobs and services."
    )
    again = (
        "During the past two months, the alliance has weakened, when security forces and militias "
        "have shot protesters protesting the lack of jobs and services."
    )
    raw = f"{first}\n\n{BEFORE}\n\n{again}\n"
    result = clean_article(raw)
    assert result.clean_text == raw
    assert [raw[a:b] for a, b in result.near_duplicates] == [again]


# --- rules as data ----------------------------------------------------------------------------


def test_user_rules_add_replace_and_disable(tmp_path: Path) -> None:
    extra = tmp_path / "rules.yaml"
    extra.write_text(
        "version: 1\n"
        "rules:\n"
        "  - name: sponsor_line\n"
        "    patterns: ['brought to you by .{1,60}']\n"
        "  - name: ad_banner\n"
        "    enabled: false\n"
        "residue:\n"
        "  - name: residue_ad_size\n"
        "    enabled: false\n",
        encoding="utf-8",
    )
    rules = load_rules(extra)
    result = clean_article(f"{BEFORE}\n\nBrought to you by Example Bank\n\n728 x 90\n\n{AFTER}\n", rules)
    assert [s.rule for s in result.removed] == ["sponsor_line"]
    assert "728 x 90" in result.clean_text
    assert load_rules() is load_rules()  # the default rules are compiled once


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("rules:\n  - name: x\n  patterns: ['a']\n", 3),
        ("rules:\n  - name: x\n    patterns: ['(unclosed']\n", 2),
        ("rules:\n  - name: Bad Name\n    patterns: ['a']\n", 2),
        ("rules:\n  - name: ok\n    patterns: ['a']\n    colour: red\n", 2),
        ("rules:\n  - name: title\n    patterns: ['a']\n", 2),
    ],
    ids=["yaml-syntax", "bad-regex", "bad-name", "unknown-key", "reserved-name"],
)
def test_bad_rules_file_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    extra = tmp_path / "bad.yaml"
    extra.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as err:
        load_rules(extra)
    assert isinstance(err.value, TransformError)
    assert f"{extra}:{line}" in str(err.value)


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError):
        load_rules(tmp_path / "nope.yaml")


def test_metadata_pattern_needs_its_group(tmp_path: Path) -> None:
    extra = tmp_path / "meta.yaml"
    extra.write_text("metadata:\n  byline: ['By (?P<name>.+)']\n", encoding="utf-8")
    with pytest.raises(RulesError, match="author"):
        load_rules(extra)
