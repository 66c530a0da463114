"""What a validation run reports: per-expectation outcomes and per-row failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BatchSchemaError(Exception):
    """The batch as a whole cannot be validated: a table or column is missing or has the wrong type."""


class ExpectationRunError(BatchSchemaError):
    """GX raised while evaluating an expectation (usually a column of an unexpected type)."""


@dataclass
class RowFailure:
    """One record that failed one expectation; `expectation` is the quarantine reason."""

    article_id: str | None  # None only when the record's own article_id is null
    table: str
    expectation: str
    detail: str
    row_index: int | None = None  # 0-based position of the failing row in the frame passed in


@dataclass
class ExpectationOutcome:
    """The result of one expectation over one whole table."""

    suite: str
    expectation: str
    success: bool
    unexpected_count: int
    # 0-based positions of the unexpected rows (empty for table-level expectations)
    unexpected_rows: list[int] = field(default_factory=list)
    severity: str = "error"  # "error" rows are failures; "notice" rows are flagged but kept
    exception: str | None = None  # set when GX raised while evaluating the expectation


@dataclass
class BatchValidation:
    """Everything validate_batch found in one batch."""

    failures: list[RowFailure]
    results: list[ExpectationOutcome]
    # rows flagged but not rejected, e.g. non-English articles (expectation "language_is_english")
    notices: list[RowFailure] = field(default_factory=list)
    # raw GX ExpectationSuiteValidationResult per table, for build_data_docs
    gx_results: dict[str, Any] = field(default_factory=dict)

    # 0-based positions in the articles frame of the rows to quarantine: rows that failed an articles
    # expectation (for a duplicated article_id only the later copies), plus every row whose article_id
    # has a failing mention or removed span. The other rows can land.
    rejected_article_rows: set[int] = field(default_factory=set)

    @property
    def success(self) -> bool:
        """True when no row failed."""
        return not self.failures
