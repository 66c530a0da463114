"""Data Docs: one self-contained HTML page of the latest validated batch, readable offline.

GX's own site builder writes pages that load nine scripts and style sheets from CDNs (so offline they
render empty), link to expectation pages it never writes, and label our in-memory batches "Run Name
__none__" and "Data asset: None". This page is built from the same GX validation results instead:
inline CSS, no script, no external link, every link an anchor on the page. It shows the run, one row
per suite (the suite is the table: the data asset), the failed expectations first with a sample of the
unexpected values, then every expectation of every suite. Expectations marked `severity: notice` (the
non-English flag) are shown as notices with the rows they flagged, not as checks that pass "at least 0%
of the time".
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DOCS_SAMPLE = 20  # unexpected values shown per expectation
_OLD_GX_SITE = ("validations", "expectations", "static")  # what GX's site builder used to leave here

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:72rem;
padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de}
.meta{color:#57606a;margin:0 0 1rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:700}.notice{color:#9a6700;font-weight:600}
tr.failed{background:#ffebe9}tr.notice{background:#fff8c5}code,.sample{font-family:ui-monospace,monospace;
font-size:.85em;white-space:pre-wrap;word-break:break-word}.sample{color:#57606a}.none{color:#57606a}
"""

_PHRASES = {
    "expect_column_values_to_not_be_null": "{column} is never null",
    "expect_column_values_to_match_regex": "{column} matches {regex}",
    "expect_column_values_to_not_match_regex_list": "{column} matches none of {n_regex} noise patterns",
    "expect_column_values_to_be_in_set": "{column} is one of {value_set}",
    "expect_column_values_to_not_be_in_set": "{column} is none of {value_set}",
    "expect_column_values_to_be_between": "{column} is between {min_value} and {max_value}",
    "expect_column_values_to_be_unique": "{column} is unique",
    "expect_column_value_lengths_to_be_between": "the length of {column} is between {min_value} and {max_value}",
    "expect_compound_columns_to_be_unique": "{column_list} together are unique",
    "expect_column_pair_values_a_to_be_greater_than_b": "{column_A} is greater than {column_B}",
    "expect_column_pair_values_to_be_equal": "{column_A} equals {column_B}",
    "expect_table_columns_to_match_set": "the columns are {column_set}",
    "expect_table_row_count_to_be_between": "the row count is between {min_value} and {max_value}",
}


def build_data_docs(
    validation_results: Mapping[str, Any] | Iterable[Any] | Any,
    docs_dir: Path,
    run_name: str | None = None,
) -> Path | None:
    """Write the Data Docs page for these validation results as `docs_dir`/index.html and return it.

    `validation_results` is BatchValidation.gx_results (table -> GX suite result), a list of suite
    results, or a BatchValidation. Best effort: any error is logged and None returned.
    """
    try:
        return _build(validation_results, Path(docs_dir), run_name)
    except Exception:  # docs are a by-product; they must never fail a run (logged with the traceback)
        log.warning("could not build the Data Docs under %s", docs_dir, exc_info=True)
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


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:199] + "…"


def _fmt(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(map(str, value)) if isinstance(value, (set, frozenset)) else [str(v) for v in value]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return "none" if value is None else str(value)


def describe(expectation_type: str, kwargs: Mapping[str, Any]) -> str:
    """A readable sentence for an expectation: "language is one of {en}", "start_char is between 0 and none"."""
    args = {k: _fmt(v) for k, v in kwargs.items()}
    args["n_regex"] = str(len(kwargs.get("regex_list") or []))
    phrase = _PHRASES.get(expectation_type)
    if phrase is not None:
        try:
            text = phrase.format_map(args)
        except KeyError:
            text = None
        if text is not None:
            mostly = kwargs.get("mostly")
            if isinstance(mostly, (int, float)) and 0 < mostly < 1:
                text += f", for at least {mostly:.0%} of the rows"
            return text
    shown = ", ".join(f"{k}={v}" for k, v in args.items() if k not in ("batch_id", "n_regex", "mostly"))
    return expectation_type.removeprefix("expect_").replace("_", " ") + (f" ({shown})" if shown else "")


def _rows(suite_result: Any) -> list[dict[str, Any]]:
    rows = []
    for r in suite_result.results:
        cfg = r.expectation_config
        meta = dict(getattr(cfg, "meta", None) or {})
        kwargs = dict(getattr(cfg, "kwargs", None) or {})
        details = dict(r.result or {})
        exc = getattr(r, "exception_info", None) or {}
        raised = bool(exc.get("raised_exception")) if isinstance(exc, Mapping) else False
        notice = meta.get("severity") == "notice"
        unexpected = details.get("unexpected_count")
        sample = details.get("partial_unexpected_list") or details.get("unexpected_list") or []
        if notice:
            status = "notice"
            kwargs.pop("mostly", None)  # a notice flags rows; "at least 0% of the time" says nothing
        else:
            status = "passed" if r.success and not raised else "failed"
        rows.append(
            {
                "status": status,
                "type": cfg.type,
                "text": (f"rows where {describe(cfg.type, kwargs)} does not hold are flagged and kept"
                         if notice else describe(cfg.type, kwargs)),
                "element_count": details.get("element_count"),
                "unexpected": unexpected,
                "unexpected_percent": details.get("unexpected_percent"),
                "sample": [_short(v) for v in list(sample)[:DOCS_SAMPLE]],
                "exception": (exc.get("exception_message") if raised else None),
            }
        )
    return rows


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _unexpected_cell(row: dict[str, Any]) -> str:
    if row["exception"]:
        return f'<span class="fail">error:</span> <code>{_e(row["exception"])}</code>'
    n = row["unexpected"]
    if n is None:
        return '<span class="none">table-level</span>'
    pct = row["unexpected_percent"]
    text = f"{n}" + (f" ({pct:.1f}%)" if isinstance(pct, (int, float)) and n else "")
    if row["sample"]:
        text = _e(text) + '<div class="sample">' + "<br>".join(_e(v) for v in row["sample"]) + "</div>"
    return text


def _status_cell(status: str) -> str:
    label = {"passed": "✔ passed", "failed": "✘ failed", "notice": "⚑ notice"}[status]
    css = {"passed": "ok", "failed": "fail", "notice": "notice"}[status]
    return f'<span class="{css}">{label}</span>'


def render(results: list[Any], run_name: str | None, built_at: dt.datetime | None = None) -> str:
    """The page as a string (no file access)."""
    built_at = built_at or dt.datetime.now(dt.UTC)
    suites = [(res.suite_name, _rows(res)) for res in results]
    total = sum(len(rows) for _, rows in suites)
    failed = [(name, r) for name, rows in suites for r in rows if r["status"] == "failed"]
    notices = [(name, r) for name, rows in suites for r in rows if r["status"] == "notice" and r["unexpected"]]
    n_checks = total - sum(r["status"] == "notice" for _, rows in suites for r in rows)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>corpus Data Docs</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Data Docs: the latest validated batch</h1>",
        f'<p class="meta">run <code id="run-name">{_e(run_name or "(not named)")}</code> · built '
        f'{_e(built_at.strftime("%Y-%m-%d %H:%M:%S UTC"))} · Great Expectations suites, one per table</p>',
        f'<p id="verdict" class="{"fail" if failed else "ok"}">'
        + (f"{len(failed)} of {n_checks} expectations failed" if failed else f"all {n_checks} expectations passed")
        + "</p>",
        "<h2>Suites</h2>",
        "<table id='suites'><tr><th>suite (table)</th><th>rows checked</th><th>expectations</th>"
        "<th>passed</th><th>failed</th><th>notices</th></tr>",
    ]
    for name, rows in suites:
        n_rows = max((r["element_count"] or 0 for r in rows), default=0)
        n_fail = sum(r["status"] == "failed" for r in rows)
        n_note = sum(r["status"] == "notice" for r in rows)
        parts.append(
            f'<tr class="{"failed" if n_fail else ""}"><td><a href="#suite-{_e(name)}">{_e(name)}</a></td>'
            f'<td class="n">{n_rows}</td><td class="n">{len(rows) - n_note}</td>'
            f'<td class="n">{len(rows) - n_fail - n_note}</td><td class="n">{n_fail}</td>'
            f'<td class="n">{sum((r["unexpected"] or 0) for r in rows if r["status"] == "notice")}</td></tr>'
        )
    parts.append("</table>")
    parts.append("<h2 id='failures'>Failures</h2>")
    if failed:
        parts.append("<table><tr><th>suite</th><th>expectation</th><th>unexpected rows (sample)</th></tr>")
        for name, r in failed:
            parts.append(
                f'<tr class="failed"><td>{_e(name)}</td><td>{_e(r["text"])}<br><code>{_e(r["type"])}</code></td>'
                f"<td>{_unexpected_cell(r)}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append('<p class="ok">none</p>')
    if notices:
        parts.append("<h2 id='notices'>Notices (rows flagged and kept)</h2><table>"
                     "<tr><th>suite</th><th>notice</th><th>rows flagged (sample)</th></tr>")
        for name, r in notices:
            parts.append(
                f'<tr class="notice"><td>{_e(name)}</td><td>{_e(r["text"])}</td>'
                f"<td>{_unexpected_cell(r)}</td></tr>"
            )
        parts.append("</table>")
    for name, rows in suites:
        parts.append(f'<h2 id="suite-{_e(name)}">Suite {_e(name)}</h2>')
        parts.append("<table><tr><th>status</th><th>expectation</th><th>unexpected rows</th></tr>")
        for r in sorted(rows, key=lambda r: {"failed": 0, "notice": 1, "passed": 2}[r["status"]]):
            parts.append(
                f'<tr class="{r["status"] if r["status"] != "passed" else ""}"><td>{_status_cell(r["status"])}</td>'
                f'<td>{_e(r["text"])}<br><code>{_e(r["type"])}</code></td><td>{_unexpected_cell(r)}</td></tr>'
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _build(validation_results: Any, docs_dir: Path, run_name: str | None) -> Path | None:
    results = _as_results(validation_results)
    if not results:
        return None
    docs_dir = docs_dir.resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    for stale in _OLD_GX_SITE:
        shutil.rmtree(docs_dir / stale, ignore_errors=True)
    index = docs_dir / "index.html"
    tmp = docs_dir / ".index.html.tmp"
    tmp.write_text(render(results, run_name), encoding="utf-8")
    tmp.replace(index)  # a reader never sees half a page
    return index
