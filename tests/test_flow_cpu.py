"""Issue 20: the flow's own process does less per article (no Prefect walk of cleaned batches, one index
write per read batch, GX's expectation type names cached), with the same rows."""

from __future__ import annotations

from pathlib import Path

from flows import ingest
from tests.conftest import SAMPLES, copy_samples
from transforms.sources import split_source
from warehouse import archive


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
