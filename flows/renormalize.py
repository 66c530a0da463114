"""The renormalize flow: re-link every stored article with the current gazetteer.

After a gazetteer change (an `corpus entities accept`, an edited CORPUS_GAZETTEER), the stored
`mentions` and `normalized_text` are out of date. This flow streams the articles from the lake
(never the inbox or the archive), links their `clean_text`, `title` and `dateline_place` again,
one task per batch, and replaces the whole `articles` and `mentions` tables in one atomic step
(WarehouseWriter.rewrite_tables); every other article column is kept as it was. It holds the
writer lock for the whole run, re-syncs `entities`, and records a `runs` row like an ingest does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.batching import bounded_window
from flows.ingest import _flow_run_name, _gazetteer_and_linker, _run_id, _str, gazetteer_overlays, sync_entities_task
from flows.settings import Settings
from transforms import pipeline
from transforms.errors import CorpusError
from warehouse import Warehouse
from warehouse.schema import LAKE_SCHEMAS


class RenormalizeError(CorpusError):
    """Re-linking produced rows that break the contract; nothing was replaced."""


@task(name="relink", task_run_name="relink-batch-{batch_no}", cache_policy=NO_CACHE)
def relink_task(articles: pa.Table, batch_no: int, run_id: str, gazetteer_path: str | None,
                overlays: tuple[tuple[str, str], ...]) -> tuple[pa.Table, pa.Table, int]:
    """Re-link one batch: (articles with a new normalized_text, its mentions, number of texts changed)."""
    gaz, linker = _gazetteer_and_linker(gazetteer_path, overlays)
    ids = articles.column("article_id").to_pylist()
    columns = [column for _, column in pipeline.LINKED_FIELDS]  # body, title and dateline are all re-linked
    values = {c: articles.column(c).to_pylist() for c in columns}
    rows = [{"article_id": a, "_row": i, **{c: values[c][i] for c in columns}} for i, a in enumerate(ids)]
    for r in rows:
        r["clean_text"] = r["clean_text"] or ""
    mentions = pipeline.link_batch(rows, linker, gaz)
    where = dict(pipeline.LINKED_FIELDS)
    for m in mentions:
        if rows[m["_row"]][where[m["field"]]][m["start_char"] : m["end_char"]] != m["surface"]:
            raise RenormalizeError(
                f"article {m['article_id']}: {m['field']} mention {m['surface']!r} does not slice its text"
            )
        del m["_row"]
        m["run_id"] = run_id
    old = articles.column("normalized_text").to_pylist()
    new = [r["normalized_text"] for r in rows]
    changed = sum(1 for a, b in zip(old, new, strict=True) if a != b)
    col = articles.schema.get_field_index("normalized_text")
    out = articles.set_column(col, "normalized_text", pa.array(new, pa.string()))
    return out, pa.Table.from_pylist(mentions, schema=LAKE_SCHEMAS["mentions"]), changed


@flow(name="renormalize", log_prints=False)
def renormalize_flow(home: str | None = None, batch_size: int | None = None) -> dict[str, Any]:
    """Re-link the whole stored corpus with the current gazetteer; returns the run summary."""
    settings = Settings.from_env(home=home, batch_size=batch_size)
    logger = get_run_logger()
    run_id = _run_id()
    gaz_path = _str(settings.gazetteer_path)
    overlays = gazetteer_overlays(settings)
    stats: dict[str, Any] = {"n_articles": 0, "n_changed": 0, "n_mentions": 0}
    t0 = time.perf_counter()
    with Warehouse(settings.home).writer(settings.lock_timeout) as writer:
        writer.start_run(run_id, _flow_run_name(), "(renormalize)")
        try:
            gaz, _ = _gazetteer_and_linker(gaz_path, overlays)  # a broken gazetteer fails before any work
            sync_entities_task(writer, gaz_path, overlays)
            with writer.connect() as con:
                (stats["n_mentions_before"],) = con.execute("SELECT count(*) FROM mentions").fetchone() or (0,)
            columns = list(LAKE_SCHEMAS["articles"].names)

            def submitted() -> Iterator[Any]:
                stream = writer.iter_table("articles", columns, settings.batch_size)
                for batch_no, table in enumerate(stream):
                    yield relink_task.submit(table.cast(LAKE_SCHEMAS["articles"]), batch_no, run_id, gaz_path,
                                             overlays)

            def finish(future: Any) -> dict[str, pa.Table]:
                arts, ments, changed = future.result()
                stats["n_articles"] += arts.num_rows
                stats["n_changed"] += changed
                stats["n_mentions"] += ments.num_rows
                logger.info("re-linked %d article(s) so far, %d changed", stats["n_articles"], stats["n_changed"])
                return {"articles": arts, "mentions": ments}

            writer.rewrite_tables(run_id, (finish(f) for f in bounded_window(submitted(), settings.max_in_flight)))
            seconds = {"relink": time.perf_counter() - t0}
            writer.finish_run(run_id, {"n_seen": stats["n_articles"]}, "completed", stage_seconds=seconds)
        except BaseException as exc:
            writer.finish_run(run_id, {"n_seen": stats["n_articles"]}, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
    return {"run_id": run_id, "home": str(settings.home), "gazetteer_version": gaz.version,
            "seconds": round(time.perf_counter() - t0, 3), **stats}
