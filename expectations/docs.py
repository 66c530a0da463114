"""GX Data Docs (static HTML) for the last validated batch."""

from __future__ import annotations

import copy
import logging
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SITE_NAME = "corpus"
DOCS_SAMPLE = 20  # unexpected values shown per expectation


def build_data_docs(
    validation_results: Mapping[str, Any] | Iterable[Any] | Any,
    docs_dir: Path,
    run_name: str | None = None,
) -> Path | None:
    """Write GX Data Docs for these validation results under `docs_dir`; return index.html or None.

    `validation_results` is BatchValidation.gx_results (table -> GX suite result), a list of
    suite results, or a BatchValidation. Best effort: any error is logged and None returned.
    Pages of earlier batches are removed so that the site shows the last batch only.
    """
    try:
        return _build(validation_results, Path(docs_dir), run_name)
    except Exception:  # noqa: BLE001  (docs are a by-product; they must never fail a run)
        log.warning("could not build GX Data Docs under %s", docs_dir, exc_info=True)
        return None


def _as_results(validation_results: Any) -> list[Any]:
    gx_results = getattr(validation_results, "gx_results", None)
    if gx_results is not None:
        validation_results = gx_results
    if isinstance(validation_results, Mapping):
        return list(validation_results.values())
    if isinstance(validation_results, Iterable):
        return list(validation_results)
    return [validation_results]


def _trimmed(suite_result: Any) -> Any:
    """A shallow copy of a suite result whose per-row lists are cut to a sample.

    COMPLETE results list every unexpected value; for clean_text those are whole article bodies,
    which would make the HTML as large as the batch.
    """
    trimmed = copy.copy(suite_result)
    trimmed.results = []
    for result in suite_result.results:
        result = copy.copy(result)
        details = dict(result.result or {})
        for key in ("unexpected_list", "unexpected_index_list", "partial_unexpected_list"):
            if isinstance(details.get(key), list):
                details[key] = [_short(v) for v in details[key][:DOCS_SAMPLE]]
        details.pop("partial_unexpected_counts", None)
        details.pop("unexpected_index_query", None)
        result.result = details
        trimmed.results.append(result)
    return trimmed


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 200:
        return value[:199] + "…"
    if isinstance(value, (list, tuple)):
        return type(value)(_short(v) for v in value)
    return value


def _build(validation_results: Any, docs_dir: Path, run_name: str | None) -> Path | None:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    results = _as_results(validation_results)
    if not results:
        return None
    docs_dir = docs_dir.resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("validations", "expectations"):
        shutil.rmtree(docs_dir / stale, ignore_errors=True)

    # A fresh in-memory context per build, so its stores (and the index) hold only this batch.
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        SITE_NAME,
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    run_id = RunIdentifier(run_name=run_name or "batch")
    for result in map(_trimmed, results):
        suite_name = result.suite_name
        suite_id = ExpectationSuiteIdentifier(name=suite_name)
        context.validation_results_store.store_validation_results(
            suite_validation_result=result,
            suite_validation_result_identifier=ValidationResultIdentifier(
                expectation_suite_identifier=suite_id, run_id=run_id, batch_identifier=suite_name
            ),
            expectation_suite_identifier=suite_id,
        )
    built = context.build_data_docs(site_names=[SITE_NAME])
    index = docs_dir / "index.html"
    if not index.exists():
        log.warning("GX Data Docs build reported %s but %s is missing", built, index)
        return None
    return index
