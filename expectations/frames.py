"""Schema checks and the helper columns the suites need, computed once per batch with pandas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from expectations.results import BatchSchemaError
from expectations.suites import ARTICLE_COLUMNS, ENTITY_COLUMNS, MENTION_COLUMNS, REMOVED_SPAN_COLUMNS

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "articles": ARTICLE_COLUMNS,
    "mentions": MENTION_COLUMNS,
    "removed_spans": REMOVED_SPAN_COLUMNS,
    "entities": ENTITY_COLUMNS,
}
INTEGER_COLUMNS = {"mentions": ("start_char", "end_char"), "removed_spans": ("start_char", "end_char")}
NUMERIC_COLUMNS = {"mentions": ("score",)}
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "articles": tuple(c for c in ARTICLE_COLUMNS if c != "published"),
    "mentions": ("article_id", "surface", "entity_id", "method"),
    "removed_spans": ("article_id", "rule", "text"),
    "entities": ("entity_id", "canonical_name", "type"),
}


def _first_bad(values: Iterable[Any], ok: type | tuple[type, ...]) -> Any:
    for value in values:
        if value is None or value is pd.NA or value is pd.NaT:
            continue
        if isinstance(value, float) and np.isnan(value):
            continue
        if not isinstance(value, ok):
            return value
    return None


def check_schema(table: str, df: pd.DataFrame) -> None:
    """Raise BatchSchemaError naming the table and column when `df` lacks a column or has a wrong type."""
    if not isinstance(df, pd.DataFrame):
        raise BatchSchemaError(f"table {table!r}: expected a pandas DataFrame, got {type(df).__name__}")
    required = REQUIRED_COLUMNS[table]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise BatchSchemaError(
            f"table {table!r} is missing column(s) {', '.join(missing)} "
            f"(required: {', '.join(required)}; present: {', '.join(map(str, df.columns))})"
        )
    if df.columns.duplicated().any():
        dupes = sorted(set(df.columns[df.columns.duplicated()]))
        raise BatchSchemaError(f"table {table!r} has duplicate column(s) {', '.join(map(str, dupes))}")
    if df.empty:
        return  # columns of an empty frame are often object dtype; nothing to mistype
    for column in INTEGER_COLUMNS.get(table, ()):
        dtype = df[column].dtype
        if not ptypes.is_integer_dtype(dtype):
            raise BatchSchemaError(f"table {table!r} column {column!r} must hold integers, not {dtype}")
    for column in NUMERIC_COLUMNS.get(table, ()):
        dtype = df[column].dtype
        if not (ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype)):
            raise BatchSchemaError(f"table {table!r} column {column!r} must be numeric, not {dtype}")
    for column in TEXT_COLUMNS.get(table, ()):
        series = df[column]
        if ptypes.is_string_dtype(series.dtype) and not ptypes.is_object_dtype(series.dtype):
            continue  # pandas string dtype: values are str or missing by construction
        if not ptypes.is_object_dtype(series.dtype) and series.notna().any():
            raise BatchSchemaError(f"table {table!r} column {column!r} must hold strings, not {series.dtype}")
        bad = _first_bad(series, str)
        if bad is not None:
            raise BatchSchemaError(
                f"table {table!r} column {column!r} must hold strings; found {type(bad).__name__} {bad!r}"
            )
    if table == "articles":
        published = df["published"]
        if not ptypes.is_datetime64_any_dtype(published.dtype):
            bad = _first_bad(published, (dt.date, pd.Timestamp))
            if bad is not None:
                raise BatchSchemaError(
                    f"table 'articles' column 'published' must hold dates or nulls; found {type(bad).__name__} {bad!r}"
                )
    if table == "entities":
        bad = _first_bad(df["aliases"], (list, tuple, np.ndarray))
        if bad is not None:
            raise BatchSchemaError(
                f"table 'entities' column 'aliases' must hold lists of strings; found {type(bad).__name__} {bad!r}"
            )


def _published_as_datetime(published: pd.Series) -> pd.Series:
    """`published` as datetime64 (GX compares it against datetime bounds); nulls stay NaT."""
    if ptypes.is_datetime64_any_dtype(published.dtype):
        if getattr(published.dt, "tz", None) is not None:
            return published.dt.tz_localize(None)
        return published
    # dates far outside datetime64's range are clamped to its ends so they still fail the bounds check
    values: list[pd.Timestamp | None] = []
    for value in published:
        if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
            values.append(None)
        elif isinstance(value, pd.Timestamp):
            values.append(value.tz_localize(None) if value.tzinfo else value)
        elif isinstance(value, dt.datetime):
            values.append(pd.Timestamp(value.replace(tzinfo=None)))
        else:
            values.append(pd.Timestamp(value.year, value.month, value.day))
    return pd.Series(pd.to_datetime(values), index=published.index, dtype="datetime64[s]")


def prepare_articles(df: pd.DataFrame) -> pd.DataFrame:
    """A positional-index copy of `articles` with `published` as datetime64 and `clean_len`."""
    frame = df.reset_index(drop=True)
    frame["published"] = _published_as_datetime(frame["published"])
    frame["clean_len"] = frame["clean_text"].str.len()
    return frame


def _texts_by_article(articles: pd.DataFrame, column: str) -> dict[str, str]:
    """article_id -> text for the first row of each id (a later duplicate is quarantined anyway)."""
    firsts = articles.drop_duplicates("article_id", keep="first")
    return {
        a: t
        for a, t in zip(firsts["article_id"], firsts[column], strict=True)
        if isinstance(a, str) and isinstance(t, str)
    }


def _slice_and_len(spans: pd.DataFrame, texts: Mapping[str, str]) -> tuple[list[int | None], list[str | None]]:
    lengths: list[int | None] = []
    slices: list[str | None] = []
    starts = spans["start_char"].tolist()
    ends = spans["end_char"].tolist()
    for article_id, start, end in zip(spans["article_id"].tolist(), starts, ends, strict=True):
        text = texts.get(article_id) if isinstance(article_id, str) else None
        if text is None:
            lengths.append(None)
            slices.append(None)
            continue
        lengths.append(len(text))
        if isinstance(start, (int, np.integer)) and isinstance(end, (int, np.integer)) and start >= 0:
            slices.append(text[start:end])
        else:
            slices.append(None)  # bad offsets are reported by their own expectations
    return lengths, slices


def prepare_spans(spans: pd.DataFrame, articles: pd.DataFrame, text_column: str, prefix: str) -> pd.DataFrame:
    """A positional-index copy of `spans` with `article_in_batch`, and `{prefix}_len` and
    `{prefix}_slice` taken from the article's text."""
    frame = spans.reset_index(drop=True)
    frame["article_in_batch"] = frame["article_id"].isin(batch_article_ids(articles))
    lengths, slices = _slice_and_len(frame, _texts_by_article(articles, text_column))
    frame[f"{prefix}_len"] = pd.array(lengths, dtype="Int64")
    frame[f"{prefix}_slice"] = pd.Series(slices, dtype=object)
    return frame


# The text each mention `field` points into, by articles column; a frame without `field` is all body.
MENTION_FIELD_COLUMNS = {"body": "clean_text", "title": "title", "dateline_place": "dateline_place"}


def prepare_mentions(mentions: pd.DataFrame, articles: pd.DataFrame) -> pd.DataFrame:
    """A positional-index copy of `mentions` with `field` (default body), `article_in_batch`, and
    `field_len` and `field_slice` taken from the text of the mention's field."""
    frame = mentions.reset_index(drop=True)
    if "field" not in frame.columns:
        frame["field"] = "body"
    in_batch = set(batch_article_ids(articles))
    frame["article_in_batch"] = frame["article_id"].isin(in_batch)
    by_field = {f: _texts_by_article(articles, col) for f, col in MENTION_FIELD_COLUMNS.items()}
    lengths: list[int | None] = []
    slices: list[str | None] = []
    for article_id, field, start, end in zip(frame["article_id"].tolist(), frame["field"].tolist(),
                                             frame["start_char"].tolist(), frame["end_char"].tolist(), strict=True):
        texts = by_field.get(field) if isinstance(field, str) else None
        if texts is None or article_id not in in_batch:
            lengths.append(None)  # reported by the field and article_id checks
            slices.append(None)
            continue
        text = texts.get(article_id, "")  # a mention in an empty title is past its end
        lengths.append(len(text))
        if isinstance(start, (int, np.integer)) and isinstance(end, (int, np.integer)) and start >= 0:
            slices.append(text[start:end])
        else:
            slices.append(None)
    frame["field_len"] = pd.array(lengths, dtype="Int64")
    frame["field_slice"] = pd.Series(slices, dtype=object)
    return frame


def batch_article_ids(articles: pd.DataFrame) -> list[str]:
    """The distinct non-null article ids of the batch."""
    return sorted({a for a in articles["article_id"].tolist() if isinstance(a, str)})


def entity_id_list(entity_ids: Sequence[str]) -> tuple[str, ...]:
    """Distinct entity ids, sorted, as a hashable key."""
    return tuple(sorted(set(entity_ids)))
