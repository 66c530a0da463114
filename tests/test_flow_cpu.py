"""Issue 20: the flow's own process does less per article (no Prefect walk of cleaned batches, one index
write per read batch, lake tables built column by column), with the same rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from flows import ingest
from tests.conftest import SAMPLES, copy_samples
from transforms.sources import split_source
from warehouse import archive
from warehouse.schema import LAKE_SCHEMAS


def _sample_docs():
    return [d for f in sorted(SAMPLES.iterdir()) for d in split_source(f.name, f.read_bytes())[0]]


def test_prefect_does_not_walk_the_rows_of_a_cleaned_batch_handed_to_link() -> None:
    """The link task gets the clean task's result through a future, and Prefect walks a resolved value for
    task inputs (`visit_collection`, every row and value): that walk cost ~0.2 ms of the flow's CPU per
    article. The cleaned batch must reach link as one opaque value, and link must still get the batch."""
    from prefect.utilities.collections import visit_collection

    docs = _sample_docs()
    cleaned = ingest.clean_task.fn(ingest.Payload(docs), 0, None)
    visited = []
    visit_collection(cleaned, visit_fn=lambda x: visited.append(x) or x, return_data=True, max_depth=-1,
                     remove_annotations=True)
    assert len(visited) <= 2, f"Prefect would visit {len(visited)} values of a batch of {len(docs)} documents"
    linked = ingest.link_task.fn(cleaned, 0, None, (), None)
    assert len(linked.prepared.articles) + len(linked.prepared.failures) == len(docs)
    assert all(a["normalized_text"] for a in linked.prepared.articles)


def test_a_read_batch_writes_the_archive_index_once_with_every_file(tmp_path: Path, monkeypatch) -> None:
    """archive/index.jsonl gets one line per new file, written in one append per read batch (it was an open
    and a read-back per file), before the batch is synced; reading the same files again adds no line."""
    from warehouse import Warehouse
    from warehouse.inbox import scan_inbox

    inbox = copy_samples(tmp_path / "inbox")
    items, _ = scan_inbox(inbox)
    opened: list[str] = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        if Path(path).name == archive.INDEX_FILE:
            opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(archive, "open", counting_open, raising=False)
    with Warehouse(tmp_path / "home").writer() as writer:
        writer.start_run("r1", None, str(inbox))
        ingest.read_task.fn(writer, items, 0, 10**8, frozenset(), "r1", None, None)
        assert len(opened) <= 2, f"{len(opened)} opens of the index for {len(items)} files"
        entries = list(archive.iter_index(writer.layout.archive))
        assert sorted(e["source_name"] for e in entries) == sorted(i.name for i in items)
        ingest.read_task.fn(writer, items, 1, 10**8, frozenset(), "r1", None, None)
    assert len(list(archive.iter_index(tmp_path / "home" / "archive"))) == len(items)


def test_lake_tables_built_by_column_equal_from_pylist() -> None:
    """_landed_tables builds each table column by column: the same table as pa.Table.from_pylist of the
    rows with ingested_at / run_id added (missing keys null, values cast to the lake's types)."""
    now = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
    keep = [{"_row": 0, "article_id": "a" * 32, "source_name": "x.txt", "clean_text": "Some text.",
             "published": dt.date(2026, 11, 1), "language_score": 0.9,
             "headings": [{"start_char": 0, "end_char": 4}], "repairs": [{"kind": "mojibake", "count": 2}]},
            {"_row": 2, "article_id": "b" * 32, "source_name": "y.txt", "clean_text": "More.", "published": None}]
    mentions = [{"_row": 0, "article_id": "a" * 32, "start_char": 0, "end_char": 4, "surface": "Some",
                 "entity_id": "e1", "method": "exact", "score": 1.0},
                {"_row": 1, "article_id": "c" * 32, "start_char": 0, "end_char": 1, "surface": "S"}]
    removed = [{"_row": 2, "article_id": "b" * 32, "start_char": 3, "end_char": 9, "rule": "r", "text": "xx"}]
    real_now = ingest._now
    try:
        ingest._now = lambda: now
        got = ingest._landed_tables(keep, mentions, removed, "run-1")
    finally:
        ingest._now = real_now
    rows = {0, 2}
    want = {
        "articles": pa.Table.from_pylist([dict(a, ingested_at=now) for a in keep], schema=LAKE_SCHEMAS["articles"]),
        "mentions": pa.Table.from_pylist([dict(m, run_id="run-1") for m in mentions if m["_row"] in rows],
                                         schema=LAKE_SCHEMAS["mentions"]),
        "removed_spans": pa.Table.from_pylist([dict(r, run_id="run-1") for r in removed],
                                              schema=LAKE_SCHEMAS["removed_spans"]),
    }
    for table, expected in want.items():
        assert got[table].equals(expected), table
    empty = ingest._landed_tables([], [], [], "run-1")
    assert all(empty[t].num_rows == 0 and empty[t].schema == LAKE_SCHEMAS[t] for t in want)


def test_the_validated_articles_frame_is_the_frame_pandas_builds_from_the_rows() -> None:
    """_frames builds the articles frame from one list per column (20 times faster than from the dicts):
    the same columns, dtypes and values."""
    import pandas as pd

    docs = _sample_docs()
    linked = ingest.link_task.fn(ingest.clean_task.fn(ingest.Payload(docs), 0, None), 0, None, (), None)
    arts = [dict(a, archived_sha256=a["content_sha256"], run_id="r") for a in linked.prepared.articles]
    frames = ingest._frames(arts, linked.mentions, linked.prepared.removed_spans)
    expected = pd.DataFrame(arts, columns=ingest._columns("articles", "archived_sha256"))
    pd.testing.assert_frame_equal(frames["articles"], expected)
    assert list(ingest._frames([], [], [])["articles"].columns) == list(expected.columns)


def test_gx_names_expectation_types_through_a_cache() -> None:
    """GX converts each expectation's class name to its type ~130 times per expectation per suite run; the
    conversion is cached (the same names as GX's own function, and a second batch hits the cache)."""
    import great_expectations.expectations.expectation as gx_expectation
    import pandas as pd
    from great_expectations.util import camel_to_snake

    from expectations import gx_context, removed_spans_suite, validate
    from expectations.frames import prepare_articles, prepare_spans

    gx_context()
    name = "ExpectColumnPairValuesAToBeGreaterThanB"
    expected = "expect_column_pair_values_a_to_be_greater_than_b"
    assert gx_expectation.camel_to_snake(name) == camel_to_snake(name) == expected
    articles = prepare_articles(pd.DataFrame({"article_id": ["a1"], "raw_text": ["Hello there"], "clean_text": ["x"],
                                              "published": [None]}))
    spans = prepare_spans(pd.DataFrame({"article_id": ["a1"], "start_char": [0], "end_char": [5], "rule": ["r"],
                                        "text": ["Hello"]}), articles, "raw_text", "raw")
    validate(spans, removed_spans_suite())
    hits = gx_expectation.camel_to_snake.cache_info().hits
    outcomes = validate(spans, removed_spans_suite())
    assert all(o.success for o in outcomes)
    assert gx_expectation.camel_to_snake.cache_info().hits > hits
