"""validate_batch: check all tables of one ingest batch and map failures back to article ids."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from expectations import frames as prep
from expectations import suites
from expectations.config import ValidationConfig
from expectations.results import BatchSchemaError, BatchValidation, ExpectationOutcome, RowFailure
from expectations.runtime import validate_with_result

TABLES = ("articles", "mentions", "removed_spans", "entities")
_MAX_SHOWN = 80  # characters of a value shown in a detail


@functools.lru_cache(maxsize=8)
def _articles_suite(cfg_key: tuple, today: dt.date) -> Any:
    return suites.articles_suite(ValidationConfig(*cfg_key), today=today)


@functools.lru_cache(maxsize=8)
def _mentions_suite(entity_ids: tuple[str, ...]) -> Any:
    return suites.mentions_suite(entity_ids)


@functools.lru_cache(maxsize=1)
def _removed_spans_suite() -> Any:
    return suites.removed_spans_suite()


@functools.lru_cache(maxsize=8)
def _entities_suite(entity_types: tuple[str, ...]) -> Any:
    return suites.entities_suite(entity_types)


def _shown(value: Any) -> str:
    """A value as it appears in a detail: strings quoted and shortened, dates as ISO, nulls as null."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, float) and math.isnan(value):
        return "null"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        if len(value) > _MAX_SHOWN:
            value = value[: _MAX_SHOWN - 1] + "…"
        return repr(value)
    return str(value)


class _Shown(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _template_detail(template: str, row: pd.Series) -> str:
    return template.format_map(_Shown({k: _shown(v) for k, v in row.items()}))


def _noise_detail(text: str, patterns: Sequence[str]) -> str:
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            line_start = text.rfind("\n", 0, match.start()) + 1
            line_end = text.find("\n", match.end())
            line = text[line_start : line_end if line_end >= 0 else len(text)].strip()
            return (
                f"clean_text matches noise pattern {_shown(match.group(0).strip())} "
                f"(line: {_shown(line)}; at char {match.start()}; regex {pattern!r})"
            )
    return "clean_text matches a noise pattern"


def _row_failures(
    table: str,
    frame: pd.DataFrame,
    outcome: ExpectationOutcome,
    config: Any,
) -> list[RowFailure]:
    """RowFailures for the unexpected rows of one expectation, each with a readable detail."""
    if not outcome.unexpected_rows:
        return []
    kwargs = config.kwargs
    meta = config.meta or {}
    has_article = "article_id" in frame.columns
    rows = outcome.unexpected_rows

    if config.type == "expect_column_values_to_be_unique":
        # Keep the first occurrence of each value; only later copies fail.
        column = kwargs["column"]
        values = frame[column]
        first_row: dict[Any, int] = {}
        for i in sorted(values.index[values.duplicated(keep=False) & values.notna()]):
            first_row.setdefault(values.iat[i], i)
        failures = []
        for i in sorted(rows):
            value = values.iat[i]
            first = first_row.get(value, i)
            if first == i:
                continue
            failures.append(
                RowFailure(
                    article_id=frame["article_id"].iat[i] if has_article else None,
                    table=table,
                    expectation=outcome.expectation,
                    detail=f"{column} {_shown(value)} is duplicated in this batch: "
                    f"row {i} repeats row {first}, which is kept",
                    row_index=i,
                )
            )
        return failures

    failures = []
    for i in rows:
        row = frame.iloc[i]
        if config.type == "expect_column_values_to_not_match_regex_list":
            detail = _noise_detail(str(row[kwargs["column"]]), kwargs["regex_list"])
        elif meta.get("detail"):
            detail = _template_detail(str(meta["detail"]), row)
        else:
            detail = f"{outcome.expectation} failed"
        article_id = row["article_id"] if has_article else None
        failures.append(
            RowFailure(
                article_id=article_id if isinstance(article_id, str) else None,
                table=table,
                expectation=outcome.expectation,
                detail=detail,
                row_index=int(i),
            )
        )
    return failures


def _run_table(
    table: str, frame: pd.DataFrame, suite: Any, parameters: dict[str, Any] | None, report: BatchValidation
) -> None:
    outcomes, raw = validate_with_result(frame, suite, parameters)
    report.results.extend(outcomes)
    report.gx_results[table] = raw
    for outcome, result in zip(outcomes, raw.results, strict=True):
        if outcome.success and outcome.severity == "error":
            continue
        failures = _row_failures(table, frame, outcome, result.expectation_config)
        (report.notices if outcome.severity == "notice" else report.failures).extend(failures)


def validate_batch(
    frames: Mapping[str, pd.DataFrame],
    entity_ids: Sequence[str],
    cfg: ValidationConfig | None = None,
    *,
    today: dt.date | None = None,
) -> BatchValidation:
    """Validate one batch's tables with one GX run per table.

    `frames` must hold "articles"; "mentions", "removed_spans" and "entities" are
    validated when present. Raises BatchSchemaError for batch-level problems (unknown table,
    missing column, wrongly typed column); row-level problems come back as RowFailures.
    """
    cfg = cfg or ValidationConfig()
    today = today or dt.date.today()
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise BatchSchemaError(f"unknown table(s) {', '.join(unknown)}; expected some of {', '.join(TABLES)}")
    if "articles" not in frames:
        raise BatchSchemaError("the batch has no 'articles' table")
    for table in TABLES:
        if table in frames:
            prep.check_schema(table, frames[table])

    report = BatchValidation(failures=[], results=[])
    articles = prep.prepare_articles(frames["articles"])
    _run_table("articles", articles, _articles_suite(cfg.cache_key(), today), None, report)

    if "mentions" in frames:
        mentions = prep.prepare_mentions(frames["mentions"], articles)
        suite = _mentions_suite(prep.entity_id_list(entity_ids))
        _run_table("mentions", mentions, suite, None, report)
    if "removed_spans" in frames:
        spans = prep.prepare_spans(frames["removed_spans"], articles, "raw_text", "raw")
        _run_table("removed_spans", spans, _removed_spans_suite(), None, report)
        report.results.append(residue_outcome(frames["removed_spans"]))
    if "entities" in frames:
        entities = frames["entities"].reset_index(drop=True)
        _run_table("entities", entities, _entities_suite(tuple(cfg.entity_types)), None, report)

    report.rejected_article_rows = _rejected_article_rows(articles, report.failures)
    return report


RESIDUE_STEPPED_IN = "residue_removed_by_cleaning"


def residue_outcome(removed_spans: pd.DataFrame) -> ExpectationOutcome:
    """How often cleaning had to step in on this batch: the number of residue spans it removed
    (rules residue_* of the cleaning rules: long ids, UUIDs, ad sizes, credit captions). Recorded as
    a notice in validation_results; it never fails, it is what the noise expectation no longer
    has to refuse."""
    rules = removed_spans["rule"] if "rule" in removed_spans.columns else pd.Series([], dtype=object)
    count = int(rules.astype("string").str.startswith("residue_").fillna(False).sum())
    return ExpectationOutcome(
        suite="removed_spans", expectation=RESIDUE_STEPPED_IN, success=True, unexpected_count=count, severity="notice"
    )


def _rejected_article_rows(articles: pd.DataFrame, failures: Sequence[RowFailure]) -> set[int]:
    rejected = {f.row_index for f in failures if f.table == "articles" and f.row_index is not None}
    child_ids = {f.article_id for f in failures if f.table in ("mentions", "removed_spans") and f.article_id}
    if child_ids:
        hit = articles["article_id"].isin(child_ids).to_numpy().nonzero()[0]
        rejected.update(int(i) for i in hit)
    return rejected
