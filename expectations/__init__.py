"""Great Expectations suites for the corpus tables, and helpers to validate a whole batch.

Importing this package is cheap: GX itself (~4 s to import) is loaded on first use, and the
ephemeral GX context and the suites are built once per process and reused.
"""

from __future__ import annotations

from transforms.telemetry import turn_off_analytics

# Set before GX is first imported: there is no internet, and callers should not need to know.
turn_off_analytics()

from expectations.batch import validate_batch  # noqa: E402
from expectations.config import DEFAULT_ENTITY_TYPES, DEFAULT_NOISE_PATTERNS, ValidationConfig  # noqa: E402
from expectations.docs import build_data_docs  # noqa: E402
from expectations.quarantine import quarantine_rows  # noqa: E402
from expectations.results import (  # noqa: E402
    BatchSchemaError,
    BatchValidation,
    ExpectationOutcome,
    ExpectationRunError,
    RowFailure,
)
from expectations.runtime import gx_context, validate  # noqa: E402
from expectations.suites import (  # noqa: E402
    articles_suite,
    entities_suite,
    mentions_suite,
    removed_spans_suite,
)

__all__ = [
    "DEFAULT_ENTITY_TYPES",
    "DEFAULT_NOISE_PATTERNS",
    "BatchSchemaError",
    "BatchValidation",
    "ExpectationOutcome",
    "ExpectationRunError",
    "RowFailure",
    "ValidationConfig",
    "articles_suite",
    "build_data_docs",
    "entities_suite",
    "gx_context",
    "mentions_suite",
    "quarantine_rows",
    "removed_spans_suite",
    "validate",
    "validate_batch",
]
