"""CPU per article of each piece of work the ingest flow's own process does per batch (issue 20).

usage: python bench/flow_cpu.py --corpus DIR [--n 3000] [--batch 1000] [--repeat 3]

In this process, no Prefect run and no worker processes: the first N files of DIR are read into a fresh
temporary home with the real read task (`read_task.fn`: read, hash, archive, index, split, duplicate
look-up), cleaned and linked in-process (not timed), then each batch goes through the flow's own steps:
Prefect's walk of a task input (what the link task's resolved future costs), the worker hand-over
pickles, the validate task's parts (frames, helper columns, GX per table, lake tables), the land task,
the catalog look-up of known article ids. CPU is `time.process_time()` (user + system of this process),
so the figures hardly depend on the machine's load; the first batch of each step is a warm-up and is
not counted. The GX line "fixed" is the cost of validating a batch of 10 articles: what every batch
pays whatever its size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


class _Clock:
    """CPU seconds per named step, counted from the second batch on."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.counted = False

    def tick(self, name: str, start: float) -> float:
        now = time.process_time()
        if self.counted:
            self.cpu[name] += now - start
        return now


def _walk_seconds(value) -> float:
    """CPU seconds of Prefect's walk of one task input (`visit_collection`, as the task engine resolves it)."""
    from prefect.utilities.collections import visit_collection

    t = time.process_time()
    visit_collection(value, visit_fn=lambda x: x, return_data=True, max_depth=-1, remove_annotations=True)
    return time.process_time() - t


def _validate_parts(clock: _Clock, writer, arts, mentions, removed, entity_ids) -> None:
    """The validate task's body, step by step (flows.ingest.validate_task and expectations.validate_batch)."""
    from expectations import ValidationConfig, quarantine_rows
    from expectations import batch as gxb
    from expectations import frames as prep
    from flows import ingest

    t = time.process_time()
    stamped = [dict(a, archived_sha256=writer.verify_archived(a["content_sha256"]), run_id="bench") for a in arts]
    t = clock.tick("validate: stamp + verify archive", t)
    frames = ingest._frames(stamped, mentions, removed)
    t = clock.tick("validate: pandas frames", t)
    report = gxb.BatchValidation(failures=[], results=[])
    cfg = ValidationConfig()
    articles = prep.prepare_articles(frames["articles"])
    gxb._run_table("articles", articles, gxb._articles_suite(cfg.cache_key(), dt.date.today()), None, report)
    t = clock.tick("validate: GX articles (with helper columns)", t)
    ments = prep.prepare_mentions(frames["mentions"], articles)
    t = clock.tick("validate: mention helper columns", t)
    gxb._run_table("mentions", ments, gxb._mentions_suite(prep.entity_id_list(entity_ids)), None, report)
    t = clock.tick("validate: GX mentions", t)
    spans = prep.prepare_spans(frames["removed_spans"], articles, "raw_text", "raw")
    gxb._run_table("removed_spans", spans, gxb._removed_spans_suite(), None, report)
    t = clock.tick("validate: GX removed_spans (with helper columns)", t)
    ingest._landed_tables(stamped, mentions, removed, "bench")
    t = clock.tick("validate: lake tables (Arrow)", t)
    quarantine_rows(stamped, report)
    clock.tick("validate: quarantine rows", t)


def _gx_batch_seconds(batch, entity_ids, n: int, repeat: int) -> float:
    """CPU seconds of validate_batch on the first n articles of a batch (mean of `repeat`)."""
    from expectations import ValidationConfig, validate_batch
    from flows import ingest

    _docs, linked, mentions = batch
    arts = [dict(a, archived_sha256=a["content_sha256"], run_id="bench") for a in linked.articles[:n]]
    rows = {a["_row"] for a in arts}
    frames = ingest._frames(arts, [m for m in mentions if m["_row"] in rows],
                            [r for r in linked.removed_spans if r["_row"] in rows])
    validate_batch(frames, entity_ids, ValidationConfig())
    t = time.process_time()
    for _ in range(repeat):
        validate_batch(frames, entity_ids, ValidationConfig())
    return (time.process_time() - t) / repeat


def run(corpus: Path, n: int, batch_size: int, repeat: int) -> dict:
    from expectations import gx_context
    from flows import ingest
    from flows.workers import _gazetteer_and_linker, clean_docs, link_prepared
    from warehouse import Warehouse
    from warehouse.inbox import scan_inbox

    work = Path(tempfile.mkdtemp(prefix="flow-cpu-"))
    inbox = work / "inbox"
    inbox.mkdir()
    for e in sorted(os.scandir(corpus), key=lambda e: e.name)[:n]:
        os.link(e.path, inbox / e.name)
    gaz, linker = _gazetteer_and_linker(None, ())
    entity_ids = [e.entity_id for e in gaz.entities]
    gx_context()
    clock = _Clock()
    batches = []
    items, _ = scan_inbox(inbox)
    # as the flow does for its run (flows/batching.py: freed_per_batch): the objects alive before it (GX,
    # pandas, Prefect) are frozen, so the collector's passes during the run do not walk them
    gc.collect()
    gc.freeze()
    try:
        settings = ingest.Settings.from_env(home=str(work / "home"))
        with Warehouse(work / "home").writer() as writer:
            writer.start_run("bench", None, str(inbox))
            for i in range(0, len(items), batch_size):
                clock.counted = i > 0
                t = time.process_time()
                read = ingest.read_task.fn(writer, items[i:i + batch_size], i, 10**9, frozenset(), "bench",
                                           batch_size, None)
                clock.tick("read: read, hash, archive, index, split, duplicate look-up", t)
                prepared, _ = clean_docs(read.docs, None)
                linked, mentions = link_prepared(prepared, gaz, linker, None)
                batches.append((read.docs, linked, mentions))
            counted = sum(len(b[1].articles) for b in batches[1:])
            for no, (docs, linked, mentions) in enumerate(batches):
                clock.counted = no > 0
                if clock.counted:
                    clock.cpu["prefect: walk of a cleaned batch as a plain tuple (before)"] += _walk_seconds(
                        (linked, 0.0))
                    clock.cpu["prefect: walk of a cleaned batch in a Payload (now)"] += _walk_seconds(
                        ingest.Payload((linked, 0.0)))
                from_worker = pickle.dumps((linked, mentions, 0.0), pickle.HIGHEST_PROTOCOL)  # the worker's part
                t = time.process_time()
                pickle.dumps(docs, pickle.HIGHEST_PROTOCOL)
                cleaned = pickle.dumps((linked, 0.0), pickle.HIGHEST_PROTOCOL)
                t = clock.tick("hand-over: pickle documents, then the cleaned batch, to the workers", t)
                pickle.loads(cleaned)  # noqa: S301 - bytes pickled just above
                pickle.loads(from_worker)  # noqa: S301 - bytes pickled just above
                t = clock.tick("hand-over: unpickle the cleaned batch, then the linked batch and mentions", t)
                del cleaned, from_worker
                writer.known_article_ids(a["article_id"] for a in linked.articles)
                t = clock.tick("catalog: known article ids (split_fresh)", t)
                _validate_parts(clock, writer, linked.articles, mentions, linked.removed_spans, entity_ids)
                verdict = ingest.validate_task.fn(writer, no, "bench", linked.articles, mentions,  # not timed
                                                  linked.removed_spans, entity_ids, settings)
                t = time.process_time()
                ingest.land_task.fn(writer, "bench", no, verdict, [])
                clock.tick("land: one DuckLake transaction (articles, mentions, spans, results)", t)
        fixed = _gx_batch_seconds(batches[0], entity_ids, 10, repeat)
        full = _gx_batch_seconds(batches[0], entity_ids, batch_size, repeat)
    finally:
        gc.unfreeze()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "mode": "flow-cpu",
        "articles_counted": counted,
        "cpu_ms_per_article": {k: round(1000 * v / counted, 3) for k, v in clock.cpu.items()},
        "gx_validate_batch_s": {"10 articles (fixed part)": round(fixed, 3), f"{batch_size} articles": round(full, 3)},
        "mentions_per_article": round(sum(len(b[2]) for b in batches) / max(1, sum(len(b[1].articles)
                                                                                   for b in batches)), 1),
        "load_average_after": os.getloadavg(),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the GX fixed-cost measurement")
    a = ap.parse_args()
    out = run(a.corpus, a.n, a.batch, a.repeat)
    out["command"] = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
