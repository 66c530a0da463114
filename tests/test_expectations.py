"""Suites and validate_batch against real GX: each kind of bad record is caught, good rows pass."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re

import pandas as pd
import pytest

import expectations as ex
from expectations.config import DEFAULT_NOISE_PATTERNS

TODAY = dt.date(2024, 6, 1)
ENTITY_IDS = ["qasem-soleimani", "baghdad", "iraq"]

PARAGRAPH = (
    "Protesters gathered again on Tuesday in the main square, where security forces had opened fire "
    "the week before. Officials promised an inquiry, and residents said they would keep coming back "
    "until the promises were kept and the people responsible were named in public."
)


def _article(article_id: str, lead: str, noise: str = "728 x 90\n") -> tuple[dict, list[tuple], list[tuple]]:
    """One valid article: raw text = noise line + clean text; mentions of names found in `lead`."""
    clean = f"{lead} {PARAGRAPH}"
    raw = noise + clean
    sha = hashlib.sha256(raw.encode()).hexdigest()
    mentions = []
    for surface, entity_id in (("Qasem Soleimani", "qasem-soleimani"), ("Baghdad", "baghdad"), ("Iraq", "iraq")):
        for m in re.finditer(re.escape(surface), clean):
            mentions.append((article_id, m.start(), m.end(), surface, entity_id, "exact", 1.0))
    spans = [(article_id, 0, len(noise), "ad_size", noise)]
    row = {
        "article_id": article_id,
        "source_name": f"{article_id}.txt",
        "content_sha256": sha,
        "archived_sha256": sha,
        "title": f"Title of {article_id}",
        "author": None,
        "published": dt.date(2020, 1, 21),
        "dateline_place": "Baghdad",
        "language": "en",
        "raw_text": raw,
        "clean_text": clean,
        "normalized_text": clean,
    }
    return row, mentions, spans


def good_batch() -> dict[str, pd.DataFrame]:
    """Three valid articles with mentions and removed spans, plus the entities they link to."""
    rows, mentions, spans = [], [], []
    for article_id, lead in (
        ("art-1", "Qasem Soleimani was killed near Baghdad airport."),
        ("art-2", "Iraq mourned as crowds filled the streets of Baghdad."),
        ("art-3", "The funeral of Qasem Soleimani drew crowds across Iraq."),
    ):
        row, m, s = _article(article_id, lead)
        rows.append(row)
        mentions += m
        spans += s
    return {
        "articles": pd.DataFrame(rows),
        "mentions": pd.DataFrame(
            mentions, columns=["article_id", "start_char", "end_char", "surface", "entity_id", "method", "score"]
        ),
        "removed_spans": pd.DataFrame(spans, columns=["article_id", "start_char", "end_char", "rule", "text"]),
        "entities": pd.DataFrame(
            [
                ("qasem-soleimani", "Qasem Soleimani", "PERSON", ["Soleimani"]),
                ("baghdad", "Baghdad", "PLACE", []),
                ("iraq", "Iraq", "PLACE", ["Irak"]),
            ],
            columns=["entity_id", "canonical_name", "type", "aliases"],
        ),
    }


def run(batch: dict[str, pd.DataFrame], cfg: ex.ValidationConfig | None = None) -> ex.BatchValidation:
    return ex.validate_batch(batch, ENTITY_IDS, cfg, today=TODAY)


def _set(df: pd.DataFrame, article_id: str, column: str, value) -> None:
    df.loc[df.index[df["article_id"] == article_id][0], column] = value


def _first_mention(batch, article_id: str) -> int:
    mentions = batch["mentions"]
    return int(mentions.index[mentions["article_id"] == article_id][0])


# ---------------------------------------------------------------------------------------------
# each kind of bad record: (name, how to spoil art-2, expected expectation, text in the detail)


def residual_banner(b):
    _set(b["articles"], "art-2", "clean_text", "728 x 90\n" + b["articles"]["clean_text"][1])
    # keep the mentions consistent, so the banner is the only problem
    b["mentions"].loc[b["mentions"]["article_id"] == "art-2", ["start_char", "end_char"]] += 9


def empty_text(b):
    _set(b["articles"], "art-2", "clean_text", "")


def mention_off_by_one(b):
    i = _first_mention(b, "art-2")
    b["mentions"].loc[i, ["start_char", "end_char"]] += 1


def unknown_entity(b):
    b["mentions"].loc[_first_mention(b, "art-2"), "entity_id"] = "no-such-entity"


def sha_mismatch(b):
    _set(b["articles"], "art-2", "archived_sha256", hashlib.sha256(b"other bytes").hexdigest())


def published_1850(b):
    _set(b["articles"], "art-2", "published", dt.date(1850, 3, 1))


def removed_span_wrong(b):
    spans = b["removed_spans"]
    spans.loc[spans["article_id"] == "art-2", "end_char"] -= 1


def mention_past_end(b):
    i = _first_mention(b, "art-2")
    b["mentions"].loc[i, "end_char"] = 10_000


def mention_of_unknown_article(b):
    b["mentions"].loc[_first_mention(b, "art-2"), "article_id"] = "art-404"


def language_missing(b):
    _set(b["articles"], "art-2", "language", None)


def published_next_year(b):
    _set(b["articles"], "art-2", "published", TODAY + dt.timedelta(days=365))


def uuid_left_in_text(b):
    text = b["articles"]["clean_text"][1]
    _set(b["articles"], "art-2", "clean_text", text + "\nef78fd9b-e792-44be-bf0e-63bf66e2b5b7")


def credit_caption(b):
    text = b["articles"]["clean_text"][1]
    _set(b["articles"], "art-2", "clean_text", text + "\nIraq protests (Credit: AP)")


def embed_id(b):
    text = b["articles"]["clean_text"][1]
    _set(b["articles"], "art-2", "clean_text", text + "\n6119771925001")


BAD_RECORDS = [
    (
        "residual_banner",
        residual_banner,
        "expect_column_values_to_not_match_regex_list(clean_text)",
        "noise pattern '728 x 90' (line: '728 x 90'",
    ),
    ("empty_text", empty_text, "expect_column_value_lengths_to_be_between(clean_text)", "0 characters"),
    (
        "mention_off_by_one",
        mention_off_by_one,
        "expect_column_pair_values_to_be_equal(surface,field_slice)",
        "surface 'Baghdad' != the 'body' text[46:53] 'aghdad.'",
    ),
    (
        "unknown_entity",
        unknown_entity,
        "expect_column_values_to_be_in_set(entity_id)",
        "entity_id 'no-such-entity' is not a known entity",
    ),
    (
        "sha_mismatch",
        sha_mismatch,
        "expect_column_pair_values_to_be_equal(content_sha256,archived_sha256)",
        "does not match the sha256 of the archived bytes",
    ),
    (
        "published_1850",
        published_1850,
        "expect_column_values_to_be_between(published)",
        "published 1850-03-01 is outside 1990-01-01..2024-06-03",
    ),
    (
        "published_next_year",
        published_next_year,
        "expect_column_values_to_be_between(published)",
        "published 2025-06-01",
    ),
    (
        "removed_span_wrong",
        removed_span_wrong,
        "expect_column_pair_values_to_be_equal(text,raw_slice)",
        "text '728 x 90\\n' != raw_text[0:8] '728 x 90'",
    ),
    (
        "mention_past_end",
        mention_past_end,
        "expect_column_pair_values_a_to_be_greater_than_b(field_len,end_char)",
        "end_char 10000 is past the end of the 'body' text",
    ),
    (
        "mention_of_unknown_article",
        mention_of_unknown_article,
        "expect_column_values_to_be_in_set(article_in_batch)",
        "article_id 'art-404' is not among this batch's articles",
    ),
    (
        "language_missing",
        language_missing,
        "expect_column_values_to_not_be_null(language)",
        "language was not detected",
    ),
    (
        "uuid_left_in_text",
        uuid_left_in_text,
        "expect_column_values_to_not_match_regex_list(clean_text)",
        "'ef78fd9b-e792-44be-bf0e-63bf66e2b5b7'",
    ),
    (
        "credit_caption",
        credit_caption,
        "expect_column_values_to_not_match_regex_list(clean_text)",
        "(line: 'Iraq protests (Credit: AP)'",
    ),
    ("embed_id", embed_id, "expect_column_values_to_not_match_regex_list(clean_text)", "'6119771925001'"),
]


def test_good_batch_has_no_failures():
    report = run(good_batch())
    assert report.failures == []
    assert report.rejected_article_rows == set()
    assert report.results and all(r.success for r in report.results)
    assert {r.suite for r in report.results} == {"articles", "mentions", "removed_spans", "entities"}


@pytest.mark.parametrize(("spoil", "expectation", "detail"), [b[1:] for b in BAD_RECORDS],
                         ids=[b[0] for b in BAD_RECORDS])
def test_bad_record_is_reported_against_its_article(spoil, expectation, detail):
    batch = good_batch()
    spoil(batch)
    report = run(batch)

    matching = [f for f in report.failures if f.expectation == expectation]
    assert matching, f"no failure for {expectation}; got {report.failures}"
    assert detail in matching[0].detail
    # the bad record is pinned to its article (a mention of an unknown article keeps its own id),
    # and the good articles of the batch produce no failure at all
    assert {f.article_id for f in report.failures} <= {"art-2", "art-404"}
    outcome = next(r for r in report.results if r.expectation == expectation)
    assert not outcome.success and outcome.unexpected_count >= 1
    if "art-404" not in {f.article_id for f in report.failures}:
        assert report.rejected_article_rows == {1}


def test_duplicate_article_id_fails_only_the_later_copy():
    batch = good_batch()
    articles = batch["articles"]
    batch["articles"] = pd.concat([articles, articles.iloc[[0]]], ignore_index=True)  # art-1 again, row 3

    report = run(batch)

    dupes = [f for f in report.failures if f.expectation == "expect_column_values_to_be_unique(article_id)"]
    assert [(f.article_id, f.row_index) for f in dupes] == [("art-1", 3)]
    assert "row 3 repeats row 0" in dupes[0].detail
    assert report.rejected_article_rows == {3}
    assert all(f.row_index == 3 for f in report.failures if f.table == "articles")


def test_non_english_article_is_flagged_not_rejected():
    batch = good_batch()
    _set(batch["articles"], "art-3", "language", "ar")
    report = run(batch)
    assert report.failures == []
    assert [(n.article_id, n.expectation) for n in report.notices] == [
        ("art-3", "expect_column_values_to_be_in_set(language)")
    ]
    assert "'ar', not English" in report.notices[0].detail


def test_null_published_is_allowed():
    batch = good_batch()
    batch["articles"]["published"] = [None, pd.NaT, dt.date(2019, 5, 1)]
    assert run(batch).failures == []


def test_published_as_datetime64_column_is_accepted():
    batch = good_batch()
    batch["articles"]["published"] = pd.to_datetime(["2020-01-21", None, "1850-01-01"])
    failures = run(batch).failures
    assert [(f.article_id, f.expectation) for f in failures] == [
        ("art-3", "expect_column_values_to_be_between(published)")
    ]


def test_articles_without_mentions_or_spans_are_fine():
    batch = good_batch()
    batch["mentions"] = batch["mentions"].iloc[0:0]
    batch["removed_spans"] = pd.DataFrame(columns=["article_id", "start_char", "end_char", "rule", "text"])
    report = run(batch)
    assert report.failures == []
    assert all(r.unexpected_count == 0 for r in report.results if r.suite == "mentions")


def test_entity_with_unknown_type_is_reported():
    batch = good_batch()
    batch["entities"].loc[1, "type"] = "CITY"
    failures = run(batch).failures
    assert [(f.table, f.expectation, f.article_id) for f in failures] == [
        ("entities", "expect_column_values_to_be_in_set(type)", None)
    ]
    assert "type 'CITY' of 'baghdad'" in failures[0].detail
    cfg = ex.ValidationConfig(entity_types=("PERSON", "ORG", "PLACE", "CITY"))
    assert run(batch, cfg).failures == []


def test_length_bounds_come_from_config():
    batch = good_batch()
    assert run(batch, ex.ValidationConfig(min_clean_chars=10_000)).rejected_article_rows == {0, 1, 2}


def test_caller_frames_are_not_modified():
    batch = good_batch()
    before = {k: v.copy() for k, v in batch.items()}
    run(batch)
    for name, frame in batch.items():
        pd.testing.assert_frame_equal(frame, before[name])


# ---------------------------------------------------------------------------------------------
# batch-level failures


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("articles", "archived_sha256"),
        ("articles", "clean_text"),
        ("mentions", "surface"),
        ("removed_spans", "end_char"),
        ("entities", "type"),
    ],
)
def test_missing_column_raises_batch_schema_error(table, column):
    batch = good_batch()
    batch[table] = batch[table].drop(columns=[column])
    with pytest.raises(ex.BatchSchemaError, match=rf"table '{table}' is missing column\(s\) {column}\b"):
        run(batch)


def test_float_offsets_raise_batch_schema_error():
    batch = good_batch()
    batch["mentions"]["start_char"] = batch["mentions"]["start_char"].astype(float)
    with pytest.raises(ex.BatchSchemaError, match="table 'mentions' column 'start_char' must hold integers"):
        run(batch)


def test_non_date_published_raises_batch_schema_error():
    batch = good_batch()
    batch["articles"]["published"] = ["2020-01-21", None, None]
    with pytest.raises(ex.BatchSchemaError, match="'published' must hold dates"):
        run(batch)


def test_missing_articles_table_raises():
    batch = good_batch()
    del batch["articles"]
    with pytest.raises(ex.BatchSchemaError, match="no 'articles' table"):
        run(batch)


# ---------------------------------------------------------------------------------------------
# noise patterns: ad sizes only as whole lines; ordinary prose survives


PROSE_THAT_MUST_PASS = [
    "The site sold a 300 x 250 banner to the ministry, officials said.",
    "Screens of 728 x 90 pixels were banned.\nThe ban began in 2019.",
    "In 1979 the revolution began; by 2003 the regime had fallen and 45 people died on 28 November.",
    "Credit Suisse declined to comment (credit where it is due, said one analyst).",
    "The budget of 1,500,000,000 dinars was approved by 329 members.",
    "Call the office on 07901 234 567 for details.",
    "Call 07901234567 or +9647901234567 for details.",
]
NOISE_THAT_MUST_FAIL = [
    "Some text.\n728 x 90\nMore text.",
    "Some text.\n  300x250  \nMore text.",
    "970 × 250\nText after the ad.",
    "Photo caption (Credit: Reuters) and text.",
    "(photo credit: AFP) a caption.",
    "Watch: 6119771925001",
    "id 9f7ba1f3-c72a-414b-9114-2ff6faac6b62 left over",
]


@pytest.mark.parametrize("text", PROSE_THAT_MUST_PASS)
def test_prose_is_not_flagged_as_noise(text):
    assert not any(re.search(p, text) for p in DEFAULT_NOISE_PATTERNS)


@pytest.mark.parametrize("text", NOISE_THAT_MUST_FAIL)
def test_noise_is_flagged(text):
    assert any(re.search(p, text) for p in DEFAULT_NOISE_PATTERNS)


def test_ad_size_inside_a_sentence_passes_the_suite():
    batch = good_batch()
    text = batch["articles"]["clean_text"][0]
    _set(batch["articles"], "art-1", "clean_text", text + " The 300 x 250 ad slot was empty.")
    assert run(batch).failures == []


# ---------------------------------------------------------------------------------------------
# the building blocks


def test_validate_helper_reports_row_positions():
    df = pd.DataFrame(
        {
            "entity_id": ["a", None, "a", "b"],
            "canonical_name": ["A", "B", None, "B"],
            "type": ["PERSON", "ORG", "PLACE", "GOD"],
            "aliases": [[], [], [], []],
        },
        index=[10, 11, 12, 13],
    )
    outcomes = {o.expectation: o for o in ex.validate(df, ex.entities_suite())}
    assert outcomes["expect_column_values_to_not_be_null(entity_id)"].unexpected_rows == [1]
    assert outcomes["expect_column_values_to_be_unique(entity_id)"].unexpected_rows == [0, 2]
    assert outcomes["expect_column_values_to_not_be_null(canonical_name)"].unexpected_rows == [2]
    assert outcomes["expect_column_values_to_be_in_set(type)"].unexpected_rows == [3]
    assert all(o.suite == "entities" for o in outcomes.values())


def test_suites_are_gx_expectation_suites():
    from great_expectations.core import ExpectationSuite

    for suite in (
        ex.articles_suite(ex.ValidationConfig()),
        ex.mentions_suite(ENTITY_IDS),
        ex.removed_spans_suite(),
        ex.entities_suite(),
    ):
        assert isinstance(suite, ExpectationSuite)
        assert suite.expectations


def test_data_docs_are_built(tmp_path):
    batch = good_batch()
    mention_off_by_one(batch)
    report = run(batch)
    index = ex.build_data_docs(report.gx_results, tmp_path / "docs")
    assert index == (tmp_path / "docs" / "index.html").resolve()
    page = index.read_text(encoding="utf-8")
    for suite in ("articles", "entities", "mentions", "removed_spans"):
        assert f'id="suite-{suite}"' in page


def test_data_docs_never_raise(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert ex.build_data_docs(copy.copy(run(good_batch()).gx_results), blocker / "docs") is None
