"""One builder per table, each returning a GX ExpectationSuite defined in code.

Every expectation carries `meta["detail"]`, a template over the failing row's columns that
`validate_batch` turns into a readable quarantine detail, and optionally `meta["severity"]`:
"notice" marks rows that are flagged but kept (non-English articles).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from expectations import runtime
from expectations.config import DEFAULT_ENTITY_TYPES, ValidationConfig

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

# The columns each table must have. validate_batch checks them before GX runs.
ARTICLE_COLUMNS = (
    "article_id",
    "source_name",
    "content_sha256",
    "archived_sha256",
    "title",
    "author",
    "published",
    "dateline_place",
    "language",
    "raw_text",
    "clean_text",
    "normalized_text",
)
MENTION_COLUMNS = ("article_id", "start_char", "end_char", "surface", "entity_id", "method", "score")
# where a mention's offsets point: body = clean_text, title, dateline_place
MENTION_FIELDS = ("body", "title", "dateline_place")
REMOVED_SPAN_COLUMNS = ("article_id", "start_char", "end_char", "rule", "text")
ENTITY_COLUMNS = ("entity_id", "canonical_name", "type", "aliases")

SHA256_HEX = r"^[0-9a-f]{64}$"
# ISO 639 code with optional subtags ("en", "ar", "zh-cn"); an empty string is not a detection.
LANGUAGE_CODE = r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$"


def _suite(name: str, columns: Sequence[str], expectations: list[Any]) -> ExpectationSuite:
    import great_expectations as gx

    # GX 1.x suites look up "the current project" when expectations are added, so a context
    # must exist first (DataContextRequiredError otherwise).
    runtime.gx_context()
    # Required columns are checked with pandas before GX runs (clearer errors, and GX is then
    # handed only the columns it reads); they are recorded here for the Data Docs.
    suite = gx.ExpectationSuite(name=name, meta={"required_columns": list(columns)})
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite


def _ts(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def articles_suite(cfg: ValidationConfig | None = None, today: dt.date | None = None) -> ExpectationSuite:
    """Suite for `articles`. Expects `published` as datetime64 and a `clean_len` helper column."""
    import great_expectations.expectations as gxe

    cfg = cfg or ValidationConfig()
    published_max = cfg.published_max(today)
    return _suite(
        "articles",
        ARTICLE_COLUMNS,
        [
            gxe.ExpectColumnValuesToNotBeNull(column="article_id", meta={"detail": "article_id is null"}),
            # detail for duplicates is written by validate_batch (it names the first occurrence)
            gxe.ExpectColumnValuesToBeUnique(column="article_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="content_sha256", meta={"detail": "content_sha256 is null"}),
            gxe.ExpectColumnValuesToMatchRegex(
                column="content_sha256",
                regex=SHA256_HEX,
                meta={"detail": "content_sha256 {content_sha256} is not a lowercase sha256 hex digest"},
            ),
            # ignore_row_if="neither": a missing archive hash must fail, not be skipped
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="content_sha256",
                column_B="archived_sha256",
                ignore_row_if="neither",
                meta={
                    "detail": "content_sha256 {content_sha256} does not match the sha256 of the "
                    "archived bytes {archived_sha256}"
                },
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="clean_text", meta={"detail": "clean_text is null"}),
            gxe.ExpectColumnValueLengthsToBeBetween(
                column="clean_text",
                min_value=cfg.min_clean_chars,
                max_value=cfg.max_clean_chars,
                meta={
                    "detail": "clean_text has {clean_len} characters; allowed "
                    f"{cfg.min_clean_chars}..{cfg.max_clean_chars}"
                },
            ),
            # detail (pattern, match and line) is written by validate_batch
            gxe.ExpectColumnValuesToNotMatchRegexList(column="clean_text", regex_list=list(cfg.noise_patterns)),
            gxe.ExpectColumnValuesToNotBeNull(column="language", meta={"detail": "language was not detected"}),
            gxe.ExpectColumnValuesToMatchRegex(
                column="language",
                regex=LANGUAGE_CODE,
                meta={"detail": "language {language} is not a language code"},
            ),
            # Non-English articles are recorded, not rejected: mostly=0 never fails, and the
            # unexpected rows become notices.
            gxe.ExpectColumnValuesToBeInSet(
                column="language",
                value_set=["en"],
                mostly=0.0,
                meta={"severity": "notice", "detail": "language is {language}, not English"},
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="published",
                min_value=_ts(cfg.published_min),
                max_value=_ts(published_max),
                meta={
                    "detail": "published {published} is outside "
                    f"{cfg.published_min.isoformat()}..{published_max.isoformat()}"
                },
            ),
        ],
    )


def _span_expectations(text_column: str, len_column: str, slice_column: str, value_column: str) -> list[Any]:
    """Offset checks shared by mentions (into their field's text) and removed_spans (into raw_text)."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="article_id", meta={"detail": "article_id is null"}),
        # A helper flag rather than value_set={"$PARAMETER": ids}: GX re-serialises the expectation
        # with its value set hundreds of times per run, which cost seconds for 10,000 ids.
        gxe.ExpectColumnValuesToBeInSet(
            column="article_in_batch",
            value_set=[True],
            meta={"detail": "article_id {article_id} is not among this batch's articles"},
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="start_char", meta={"detail": "start_char is null"}),
        gxe.ExpectColumnValuesToNotBeNull(column="end_char", meta={"detail": "end_char is null"}),
        gxe.ExpectColumnValuesToBeBetween(
            column="start_char", min_value=0, meta={"detail": "start_char {start_char} is negative"}
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="end_char",
            column_B="start_char",
            or_equal=False,
            meta={"detail": "end_char {end_char} is not after start_char {start_char}"},
        ),
        # rows whose article is missing are reported by the article_id check above
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=len_column,
            column_B="end_char",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta={
                "detail": "end_char {end_char} is past the end of " + text_column + " ({" + len_column + "} characters)"
            },
        ),
        gxe.ExpectColumnValuesToNotBeNull(column=value_column, meta={"detail": f"{value_column} is null"}),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A=value_column,
            column_B=slice_column,
            ignore_row_if="either_value_is_missing",
            meta={
                "detail": value_column
                + " {"
                + value_column
                + "} != "
                + text_column
                + "[{start_char}:{end_char}] {"
                + slice_column
                + "}"
            },
        ),
    ]


def mentions_suite(entity_ids: Sequence[str]) -> ExpectationSuite:
    """Suite for `mentions`; needs helper columns `field`, `article_in_batch`, `field_len` and `field_slice`
    (offsets are into the text of the mention's field: clean_text, title or dateline_place)."""
    import great_expectations.expectations as gxe

    return _suite(
        "mentions",
        MENTION_COLUMNS,
        [
            gxe.ExpectColumnValuesToNotBeNull(column="field", meta={"detail": "field is null"}),
            gxe.ExpectColumnValuesToBeInSet(
                column="field",
                value_set=list(MENTION_FIELDS),
                meta={"detail": "field {field} is not one of " + "/".join(MENTION_FIELDS)},
            ),
            *_span_expectations("the {field} text", "field_len", "field_slice", "surface"),
            gxe.ExpectColumnValuesToNotBeNull(column="entity_id", meta={"detail": "entity_id is null"}),
            gxe.ExpectColumnValuesToBeInSet(
                column="entity_id",
                value_set=sorted(set(entity_ids)),
                meta={"detail": "entity_id {entity_id} is not a known entity"},
            ),
        ],
    )


def removed_spans_suite() -> ExpectationSuite:
    """Suite for `removed_spans`; needs helper columns `article_in_batch`, `raw_len` and `raw_slice`."""
    return _suite(
        "removed_spans",
        REMOVED_SPAN_COLUMNS,
        _span_expectations("raw_text", "raw_len", "raw_slice", "text"),
    )


def entities_suite(entity_types: Sequence[str] = DEFAULT_ENTITY_TYPES) -> ExpectationSuite:
    """Suite for `entities`."""
    import great_expectations.expectations as gxe

    return _suite(
        "entities",
        ENTITY_COLUMNS,
        [
            gxe.ExpectColumnValuesToNotBeNull(column="entity_id", meta={"detail": "entity_id is null"}),
            gxe.ExpectColumnValuesToBeUnique(
                column="entity_id", meta={"detail": "entity_id {entity_id} is not unique"}
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="canonical_name", meta={"detail": "canonical_name of {entity_id} is null"}
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="type", meta={"detail": "type of {entity_id} is null"}),
            gxe.ExpectColumnValuesToBeInSet(
                column="type",
                value_set=sorted(set(entity_types)),
                meta={"detail": "type {type} of {entity_id} is not one of " + "/".join(sorted(entity_types))},
            ),
        ],
    )
