"""One ephemeral GX context per process, and `validate(df, suite)` over a whole DataFrame."""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from typing import TYPE_CHECKING, Any

import pandas as pd

from expectations.results import BatchSchemaError, ExpectationOutcome, ExpectationRunError
from transforms.telemetry import turn_off_analytics

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context import AbstractDataContext

turn_off_analytics()  # no internet here, and GX would otherwise try to post usage statistics on import

# GX imports these at module level for three expectations our suites do not use (KL divergence and the KS
# test p-value metrics): about a third of the CPU of importing GX and building its context (2.6 -> 1.7 s,
# BENCHMARKS.md). They are imported lazily instead: the module object exists at once and its code runs on
# first attribute access, so anything that does use them still gets the real thing.
DEFERRED_IMPORTS = frozenset({"altair", "scipy", "scipy.stats"})


class _DeferredImports(importlib.abc.MetaPathFinder):
    """Imports DEFERRED_IMPORTS with importlib.util.LazyLoader (pure-Python packages only)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name not in DEFERRED_IMPORTS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer_unused_gx_imports() -> None:
    """Install the lazy importer (once) unless GX's optional dependencies are already imported."""
    if not any(isinstance(f, _DeferredImports) for f in sys.meta_path) and not DEFERRED_IMPORTS & sys.modules.keys():
        sys.meta_path.insert(0, _DeferredImports())


defer_unused_gx_imports()

DATASOURCE_NAME = "corpus_batch"

# COMPLETE is the only result format that lists every unexpected row's index. Skipping the
# value counts keeps it cheap when the unexpected values are whole article bodies.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": 0,
}

_lock = threading.RLock()
_context: AbstractDataContext | None = None
_datasource: Any = None
_batch_definitions: dict[str, Any] = {}


def memoize_expectation_type_names() -> None:
    """Cache GX's class-name -> expectation-type conversion (`camel_to_snake`, two regex substitutions).

    GX rebuilds every expectation's configuration, type name included, about 130 times per expectation
    per suite run: ~0.03 s of each batch's ~0.35 s of validation went to renaming the same dozen classes
    (issue 20). The function is pure (a string in, a string out), so a cache changes no result."""
    import great_expectations.expectations.expectation as gx_expectation

    if not hasattr(gx_expectation.camel_to_snake, "cache_info"):
        gx_expectation.camel_to_snake = functools.lru_cache(maxsize=512)(gx_expectation.camel_to_snake)


def gx_context() -> AbstractDataContext:
    """The process-wide ephemeral GX context, created on first use (importing GX takes seconds)."""
    global _context, _datasource
    with _lock:
        if _context is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            memoize_expectation_type_names()

            context = gx.get_context(mode="ephemeral")
            # tqdm bars on every run would flood the Prefect logs
            context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            # GX's SQL datasource fails on DuckDB, so every table is validated as a pandas DataFrame.
            _datasource = context.data_sources.add_pandas(DATASOURCE_NAME)
            _context = context
        return _context


def _batch_definition(asset_name: str) -> Any:
    """A whole-DataFrame batch definition for `asset_name`, created once and reused."""
    with _lock:
        if asset_name not in _batch_definitions:
            gx_context()
            asset = _datasource.add_dataframe_asset(asset_name)
            _batch_definitions[asset_name] = asset.add_batch_definition_whole_dataframe("whole")
        return _batch_definitions[asset_name]


def expectation_name(config: Any) -> str:
    """Stable readable name of an expectation, e.g. `expect_column_values_to_not_be_null(article_id)`."""
    meta = config.meta or {}
    if meta.get("name"):
        return str(meta["name"])
    kwargs = config.kwargs
    if "column" in kwargs:
        columns = [kwargs["column"]]
    elif "column_A" in kwargs:
        columns = [kwargs["column_A"], kwargs["column_B"]]
    elif "column_list" in kwargs:
        columns = list(kwargs["column_list"])
    else:
        columns = []
    return f"{config.type}({','.join(map(str, columns))})" if columns else str(config.type)


def suite_columns(suite: ExpectationSuite) -> list[str]:
    """The columns the suite's expectations read, in first-use order."""
    columns: dict[str, None] = {}
    for config in suite.expectation_configurations:
        kwargs = config.kwargs
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                columns[kwargs[key]] = None
        for column in kwargs.get("column_list") or ():
            columns[column] = None
    return list(columns)


def run_suite(
    df: pd.DataFrame, suite: ExpectationSuite, parameters: dict[str, Any] | None = None
) -> ExpectationSuiteValidationResult:
    """Run `suite` once over the whole of `df` and return GX's raw suite result."""
    batch_definition = _batch_definition(suite.name)
    with _lock:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
        return batch.validate(suite, result_format=RESULT_FORMAT, expectation_parameters=parameters or {})


def outcome_from_result(suite_name: str, result: ExpectationValidationResult) -> ExpectationOutcome:
    """Condense one GX expectation result into an ExpectationOutcome."""
    config = result.expectation_config
    if config is None:  # GX sets it on every result of a suite run
        raise ExpectationRunError(f"{suite_name}: GX returned a result without its expectation")
    info = result.exception_info or {}
    exception = None
    if info.get("raised_exception"):
        exception = str(info.get("exception_message") or info)
    details = result.result or {}
    rows = [int(i) for i in details.get("unexpected_index_list") or []]
    return ExpectationOutcome(
        suite=suite_name,
        expectation=expectation_name(config),
        success=bool(result.success),
        unexpected_count=int(details.get("unexpected_count") or 0),
        unexpected_rows=rows,
        severity=str((config.meta or {}).get("severity", "error")),
        exception=exception,
    )


def validate(
    df: pd.DataFrame, suite: ExpectationSuite, parameters: dict[str, Any] | None = None
) -> list[ExpectationOutcome]:
    """Validate the whole DataFrame against `suite` in one GX run; rows are reported by 0-based position.

    Raises ExpectationRunError when GX could not evaluate an expectation, naming it and the error.
    """
    outcomes, _ = validate_with_result(df, suite, parameters)
    return outcomes


def validate_with_result(
    df: pd.DataFrame, suite: ExpectationSuite, parameters: dict[str, Any] | None = None
) -> tuple[list[ExpectationOutcome], ExpectationSuiteValidationResult]:
    """`validate`, also returning GX's raw suite result (for Data Docs)."""
    columns = suite_columns(suite)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise BatchSchemaError(f"table {suite.name!r} is missing column(s) {', '.join(missing)}")
    # GX fingerprints (hashes) every column of the frame it is given; passing only the columns the
    # suite reads keeps whole article bodies it never checks (raw_text, normalized_text) out of that.
    frame = df[columns]
    # unexpected_index_list holds index labels; positions are what callers can use
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)
    result = run_suite(frame, suite, parameters)
    outcomes = [outcome_from_result(suite.name, r) for r in result.results]
    broken = [o for o in outcomes if o.exception]
    if broken:
        first = broken[0]
        raise ExpectationRunError(f"table {suite.name!r}: GX could not evaluate {first.expectation}: {first.exception}")
    return outcomes, result
