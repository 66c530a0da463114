"""Throughput, time per stage, peak memory and incremental cost of ingestion.

usage:
  python bench/throughput.py engine --corpus bench/out/corpus10k/articles [--batch 1000]
      transforms + GX validation + landing, no Prefect, in this process
  python bench/throughput.py flow --corpus bench/out/corpus10k/articles [--batch 1000]
      the real `corpus ingest` (Prefect flow, temporary server) in a child process
  python bench/throughput.py add-one --home HOME
      one new article into an existing warehouse, through the flow
  python bench/throughput.py html [--pages 181]
      our HTML path (extract_html + clean_article) against trafilatura.extract alone, same pages
Every mode prints its figures and the command line; --home keeps the warehouse (default: a temp dir).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def peak_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


_WORKER: dict = {}


def _worker_init() -> None:
    from transforms.clean import load_rules
    from transforms.names import Linker, load_gazetteer

    gaz = load_gazetteer()
    _WORKER.update(gaz=gaz, linker=Linker(gaz), rules=load_rules())


def _clean_and_link(docs):
    """Pure transforms for one batch, in a worker process: (prepared batch, mentions, seconds)."""
    from transforms import pipeline

    t = time.perf_counter()
    prepared = pipeline.prepare_batch(docs, _WORKER["rules"])
    t_clean = time.perf_counter() - t
    t = time.perf_counter()
    mentions = pipeline.link_batch(prepared.articles, _WORKER["linker"], _WORKER["gaz"])
    return prepared, mentions, t_clean, time.perf_counter() - t


def run_engine(corpus: Path, home: Path, batch: int, workers: int) -> dict:
    """Read+archive and validate+land in this process; clean+link of later batches on `workers` processes."""
    from concurrent.futures import ProcessPoolExecutor

    import pandas as pd
    import pyarrow as pa

    from expectations import ValidationConfig, gx_context, validate_batch
    from transforms.names import load_gazetteer
    from transforms.sources import split_source
    from warehouse import Warehouse
    from warehouse.schema import LAKE_SCHEMAS

    t_start = time.perf_counter()
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    entity_ids = [e.entity_id for e in load_gazetteer().entities]
    cfg = ValidationConfig()
    gx_context()
    secs: dict[str, float] = defaultdict(float)
    n_new = n_bytes = 0

    def read(chunk):
        nonlocal n_bytes
        t = time.perf_counter()
        docs = []
        for f in chunk:
            data = f.read_bytes()
            n_bytes += len(data)
            w.archive(data, durable=False)
            docs.extend(split_source(f.name, data)[0])
        w.flush_archive()
        secs["read+archive"] += time.perf_counter() - t
        return docs

    def validate_and_land(no, prepared, mentions):
        t = time.perf_counter()
        for a in prepared.articles:
            a["archived_sha256"] = a["content_sha256"]
            a["run_id"] = "bench-engine"
        frames = {
            "articles": pd.DataFrame(prepared.articles).drop(columns=["_row", "headings", "near_duplicates"]),
            "mentions": pd.DataFrame(mentions).drop(columns=["_row"]),
            "removed_spans": pd.DataFrame(prepared.removed_spans).drop(columns=["_row"]),
        }
        report = validate_batch(frames, entity_ids, cfg)
        secs["validate"] += time.perf_counter() - t
        t = time.perf_counter()
        rejected = set(report.rejected_article_rows)
        keep = [a for i, a in enumerate(prepared.articles) if i not in rejected]
        rows = {a["_row"] for a in keep}
        now = pd.Timestamp.now(tz="UTC").to_pydatetime()
        for a in keep:
            a["ingested_at"] = now
        tables = {
            "articles": pa.Table.from_pylist(keep, schema=LAKE_SCHEMAS["articles"]),
            "mentions": pa.Table.from_pylist(
                [m for m in mentions if m["_row"] in rows], schema=LAKE_SCHEMAS["mentions"]
            ),
            "removed_spans": pa.Table.from_pylist(
                [r for r in prepared.removed_spans if r["_row"] in rows], schema=LAKE_SCHEMAS["removed_spans"]
            ),
        }
        landed = w.land_batch("bench-engine", no, tables)
        secs["land"] += time.perf_counter() - t
        return landed

    chunks = [files[b : b + batch] for b in range(0, len(files), batch)]
    with Warehouse(home).writer() as w, ProcessPoolExecutor(workers, initializer=_worker_init) as pool:
        w.start_run("bench-engine", None, str(corpus))
        pending = []
        for no, chunk in enumerate(chunks):
            pending.append((no, pool.submit(_clean_and_link, read(chunk))))
            if len(pending) > workers:
                n0, fut = pending.pop(0)
                prepared, mentions, tc, tl = fut.result()
                secs["clean (in workers)"] += tc
                secs["link (in workers)"] += tl
                n_new += validate_and_land(n0, prepared, mentions)
                print(f"  {n_new}/{len(files)} articles landed, {time.perf_counter() - t_start:.1f}s", file=sys.stderr)
        for n0, fut in pending:
            prepared, mentions, tc, tl = fut.result()
            secs["clean (in workers)"] += tc
            secs["link (in workers)"] += tl
            n_new += validate_and_land(n0, prepared, mentions)
        w.finish_run("bench-engine", {"n_new": n_new}, "completed", stage_seconds=secs)
    wall = time.perf_counter() - t_start
    return {
        "mode": "engine",
        "articles": len(files),
        "new": n_new,
        "mb": round(n_bytes / 1e6, 1),
        "workers": workers,
        "batch": batch,
        "wall_s": round(wall, 1),
        "articles_per_s": round(len(files) / wall, 1),
        "stage_s": {k: round(v, 2) for k, v in secs.items()},
        "peak_rss_mb_main": round(peak_rss_mb(), 0),
        "peak_rss_mb_worker": round(peak_rss_mb(children=True), 0),
    }


def _ingest_json(home: Path, inbox: Path, *extra: str) -> tuple[dict, float]:
    """Run the real `corpus ingest --json` in a child process; (its summary, wall seconds)."""
    t = time.perf_counter()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "corpus"), "ingest", "--home", str(home), "--inbox", str(inbox),
         "--json", *extra],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout), wall


def run_flow(corpus: Path, home: Path, batch: int, dask: bool = False) -> dict:
    n = sum(1 for p in corpus.iterdir() if p.is_file())
    summary, wall = _ingest_json(home, corpus, "--batch-size", str(batch), *(["--dask"] if dask else []))
    return {
        "mode": "flow",
        "dask": dask,
        "batch": batch,
        "articles": n,
        "new": summary["n_new"],
        "wall_s": round(wall, 1),
        "articles_per_s": round(n / wall, 1),
        "stage_s": summary["stage_seconds"],
        "peak_rss_mb": round(peak_rss_mb(children=True), 0),
    }


def run_add_one(home: Path) -> dict:

    inbox = Path(tempfile.mkdtemp(prefix="add-one-"))
    stamp = time.strftime("%H%M%S")  # short: a long digit run would look like a video-embed id
    sample = sorted((REPO / "samples" / "articles").iterdir())[2].read_text(encoding="utf-8")
    (inbox / f"new_{stamp}.txt").write_text(sample + f"\n\nUpdate {stamp}: one more paragraph.\n", encoding="utf-8")
    from warehouse import connect_readonly
    con = connect_readonly(home)
    before = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    con.close()
    summary, wall = _ingest_json(home, inbox)
    con = connect_readonly(home)
    in_flow = con.execute(
        "SELECT epoch(finished_at) - epoch(started_at) FROM runs WHERE run_id = ?", [summary["run_id"]]
    ).fetchone()[0]
    con.close()
    shutil.rmtree(inbox)
    return {
        "mode": "add-one",
        "corpus_articles": before,
        "new": summary["n_new"],
        "wall_s": round(wall, 2),
        "run_s_inside_flow": round(in_flow, 2),
        "stage_s": summary["stage_seconds"],
    }


def run_html(pages: int) -> dict:
    import trafilatura

    from transforms.clean import clean_article, extract_html

    html_dir = REPO.parent / "shared" / "external" / "aeb" / "html"
    docs = [gzip.decompress(p.read_bytes()) for p in sorted(html_dir.glob("*.html.gz"))[:pages]]
    t = time.perf_counter()
    for d in docs:
        trafilatura.extract(d)
    base = time.perf_counter() - t
    t = time.perf_counter()
    for d in docs:
        trafilatura.extract(d, with_metadata=True)
    base_meta = time.perf_counter() - t
    t = time.perf_counter()
    for d in docs:
        with contextlib.suppress(Exception):  # pages with no article are quarantined in the real flow
            clean_article(extract_html(d).text)
    ours = time.perf_counter() - t
    return {
        "mode": "html",
        "pages": len(docs),
        "trafilatura_s": round(base, 2),
        "trafilatura_with_metadata_s": round(base_meta, 2),
        "ours_s": round(ours, 2),
        "ratio": round(ours / base, 3),
        "ratio_vs_with_metadata": round(ours / base_meta, 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["engine", "flow", "add-one", "html"])
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--home", type=Path)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2, help="engine: processes for clean+link")
    ap.add_argument("--dask", action="store_true", help="flow: run clean+link on Dask (corpus ingest --dask)")
    ap.add_argument("--pages", type=int, default=181)
    a = ap.parse_args()
    tmp = None
    if a.mode in ("engine", "flow") and not a.corpus:
        ap.error("--corpus is required")
    if a.mode == "add-one" and not a.home:
        ap.error("--home is required")
    home = a.home
    if home is None and a.mode in ("engine", "flow"):
        tmp = Path(tempfile.mkdtemp(prefix="bench-home-"))
        home = tmp
    try:
        if a.mode == "engine":
            out = run_engine(a.corpus, home, a.batch, a.workers)
        elif a.mode == "flow":
            out = run_flow(a.corpus, home, a.batch, a.dask)
        elif a.mode == "add-one":
            out = run_add_one(home)
        else:
            out = run_html(a.pages)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    out["command"] = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    out["cpus"] = os.cpu_count()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
