"""Throughput, time per stage, peak memory and incremental cost of ingestion.

usage:
  python bench/throughput.py engine --corpus bench/out/corpus10k/articles [--batch 1000]
      transforms + GX validation + landing, no Prefect, in this process
  python bench/throughput.py flow --corpus bench/out/corpus10k/articles [--batch 1000]
      the real `corpus ingest` (Prefect flow, temporary server) in a child process
  python bench/throughput.py flow --corpus DIR [--runner thread|process|dask] [--limit N]
      (--limit: only the first N files, linked into a temporary inbox) prints peak RSS of the process tree
  python bench/throughput.py marginal --corpus bench/out/corpus12k/articles [--small 2000] [--large 12000]
      `corpus ingest` with no flags on the first 2,000 and on 12,000 files (fresh homes): the marginal rate
      (10,000 / difference of walls) and the peak RSS of each run's whole process tree
  python bench/throughput.py add-one --home HOME [--repeat 5] [--served] [--settle]
      `corpus add FILE --now` of one new article into an existing warehouse; --served first starts
      `corpus serve` on HOME (its own Prefect server) so the run is handed to it; prints the median wall
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


def _role(p, root_pid: int) -> str:
    """What a process of the ingest tree is: main (the CLI), worker, server (Prefect's), search or other."""
    if p.pid == root_pid:
        return "main"
    try:
        cmd = " ".join(p.cmdline())
    except Exception:  # noqa: BLE001 - gone meanwhile
        return "other"
    if "spawn_main" in cmd or "dask" in cmd or "forkserver" in cmd:
        return "worker"
    if "warehouse.search" in cmd:
        return "search"  # the detached full-text index rebuild the run starts at its end
    if "prefect" in cmd or "uvicorn" in cmd or "server" in cmd:
        return "server"
    return "other"


def _tree_rss_mb(proc: subprocess.Popen, peak: list[float], stop: list[bool], detail: dict | None = None) -> None:
    """Sample the RSS of `proc` and all its descendants every 0.2 s; keep the largest sum in peak[0].

    `detail` (if given) gets, per role (main, worker, server, search, other): the largest RSS of one such process,
    the RSS of all of them at the tree's peak, and the CPU seconds (user + system) each used, last seen."""
    import psutil

    try:
        root = psutil.Process(proc.pid)
    except psutil.Error:
        return
    seen: dict[int, tuple[str, float]] = {}  # pid -> (role, cpu seconds)
    largest: dict[str, float] = defaultdict(float)
    while not stop[0] and proc.poll() is None:
        total, by_role = 0, defaultdict(float)
        try:
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    rss = p.memory_info().rss
                    # "other" is asked again: a process seen between its fork and its exec still shows
                    # its parent's command line (a spawned worker then counted as "other" for good)
                    role = seen[p.pid][0] if seen.get(p.pid, ("other",))[0] != "other" else _role(p, root.pid)
                    t = p.cpu_times()
                    seen[p.pid] = (role, t.user + t.system)
                    total += rss
                    by_role[role] += rss / 1e6
                    largest[role] = max(largest[role], rss / 1e6)
        except psutil.Error:
            break
        if total / 1e6 > peak[0] and detail is not None:
            detail["rss_mb_at_peak"] = {k: round(v) for k, v in by_role.items()}
        peak[0] = max(peak[0], total / 1e6)
        time.sleep(0.2)
    if detail is not None:
        cpu: dict[str, float] = defaultdict(float)
        for role, secs in seen.values():
            cpu[role] += secs
        detail["largest_rss_mb"] = {k: round(v) for k, v in largest.items()}
        detail["cpu_s"] = {k: round(v, 1) for k, v in cpu.items()}


def _run_measured(cmd: list[str], detail: dict | None = None, **kw) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run cmd; (completed process, wall seconds, peak RSS in MB of its whole process tree)."""
    import threading

    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    peak, stop = [0.0], [False]
    sampler = threading.Thread(target=_tree_rss_mb, args=(proc, peak, stop, detail), daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    stop[0] = True
    sampler.join(2)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), wall, peak[0]


def _ingest_json(home: Path, inbox: Path, *extra: str) -> tuple[dict, float]:
    """Run the real `corpus ingest --json` in a child process; (its summary, wall seconds)."""
    summary, wall, _ = _ingest_measured(home, inbox, *extra)
    return summary, wall


def _ingest_measured(home: Path, inbox: Path, *extra: str, detail: dict | None = None) -> tuple[dict, float, float]:
    """`corpus ingest --json` in a child process; (its summary, wall seconds, peak RSS MB of its process tree).

    `detail` gets RSS and CPU seconds per role (see _tree_rss_mb)."""
    proc, wall, peak = _run_measured(
        [str(Path(sys.executable).parent / "corpus"), "ingest", "--home", str(home), "--inbox", str(inbox),
         "--json", *extra], detail)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout), wall, peak


def _first_files(corpus: Path, n: int) -> Path:
    """A temporary folder holding the first n files of corpus (hard links; copies across file systems).

    Not symlinks: the inbox refuses links that leave it."""
    d = Path(tempfile.mkdtemp(prefix=f"first{n}-", dir=corpus.parent))
    for f in sorted(p for p in corpus.iterdir() if p.is_file())[:n]:
        try:
            os.link(f, d / f.name)
        except OSError:
            shutil.copy2(f, d / f.name)
    return d


def run_marginal(corpus: Path, small: int, large: int, extra: list[str]) -> dict:
    rows = {}
    for n in (small, large):
        inbox, home = _first_files(corpus, n), Path(tempfile.mkdtemp(prefix="bench-home-"))
        try:
            detail: dict = {}
            summary, wall, peak = _ingest_measured(home, inbox, *extra, detail=detail)
        finally:
            shutil.rmtree(inbox, ignore_errors=True)
            shutil.rmtree(home, ignore_errors=True)
        rows[n] = {"new": summary["n_new"], "wall_s": round(wall, 1), "articles_per_s": round(n / wall, 1),
                   "peak_rss_mb_tree": round(peak), "runner": summary.get("runner"),
                   "stage_s": summary["stage_seconds"], **detail}
    marginal = (large - small) / (rows[large]["wall_s"] - rows[small]["wall_s"])
    # CPU seconds per article between the two runs, per role: what the extra 10,000 cost, load-independent
    cpu_ms = {role: round(1000 * (rows[large]["cpu_s"].get(role, 0) - rows[small]["cpu_s"].get(role, 0))
                          / (large - small), 3) for role in rows[large].get("cpu_s", {})}
    return {"mode": "marginal", "runs": rows, "marginal_articles_per_s": round(marginal, 1),
            "marginal_cpu_ms_per_article": cpu_ms, "load_average_after": os.getloadavg()}


def run_flow(corpus: Path, home: Path, batch: int, dask: bool = False, runner: str | None = None,
             limit: int | None = None) -> dict:
    inbox = _first_files(corpus, limit) if limit else corpus
    try:
        n = sum(1 for p in inbox.iterdir() if p.is_file())
        extra = ["--batch-size", str(batch), *(["--dask"] if dask else []), *(["--runner", runner] if runner else [])]
        detail: dict = {}
        summary, wall, tree = _ingest_measured(home, inbox, *extra, detail=detail)
    finally:
        if limit:
            shutil.rmtree(inbox, ignore_errors=True)
    return {
        "mode": "flow",
        "dask": dask,
        "runner": summary.get("runner"),
        "batch": batch,
        "articles": n,
        "new": summary["n_new"],
        "wall_s": round(wall, 1),
        "articles_per_s": round(n / wall, 1),
        "stage_s": summary["stage_seconds"],
        "peak_rss_mb": round(peak_rss_mb(children=True), 0),
        "peak_rss_mb_tree": round(tree),
        **detail,
        "cpu_ms_per_article": {k: round(1000 * v / max(1, n), 3) for k, v in detail.get("cpu_s", {}).items()},
        "load_average_after": os.getloadavg(),
    }


def _serve(home: Path):
    """Start `corpus serve` on home (its own Prefect server on a free port); return it once it serves."""
    from flows import fastpath
    from flows.serve import free_port

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    log = open(home / "bench-serve.log", "wb")  # noqa: SIM115 - the process keeps it
    proc = subprocess.Popen([str(Path(sys.executable).parent / "corpus"), "serve", "--home", str(home), "--cron",
                             "0 0 1 1 *", "--port", str(free_port())], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    t = time.perf_counter()
    while time.perf_counter() - t < 300:
        if proc.poll() is not None:
            raise SystemExit(f"corpus serve exited {proc.returncode}: see {home / 'bench-serve.log'}")
        try:
            apis = fastpath.candidate_apis(home.resolve())
            if apis:
                fastpath._served_deployment(apis[-1], home.resolve())
                return proc, time.perf_counter() - t
        except fastpath.NoServer:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("corpus serve did not serve within 300 s")


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _wait_for_search_rebuild(home: Path, timeout: float = 600.0) -> float:
    """Block until no detached search-index rebuild runs for this home; the seconds waited."""
    from filelock import FileLock, Timeout

    t = time.perf_counter()
    while time.perf_counter() - t < timeout:
        try:
            with FileLock(str(home / ".search.lock"), timeout=1):
                if not (home / ".search.stale").exists():
                    break
        except Timeout:
            continue
        time.sleep(0.5)
    return time.perf_counter() - t


def run_add_one(home: Path, repeat: int = 1, served: bool = False, settle: bool = False) -> dict:
    import statistics


    sample = sorted((REPO / "samples" / "articles").iterdir())[2].read_text(encoding="utf-8")
    from warehouse import connect_readonly

    con = connect_readonly(home)
    before = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    con.close()
    serve, serve_start = (_serve(home) if served else (None, None))
    env = dict(os.environ)
    if not served:
        env["CORPUS_NO_SERVER"] = "1"  # a local run even if something serves this home
    from warehouse import search
    from warehouse.paths import HomeLayout

    walls, inside, via, cpus, settled = [], [], [], [], []
    base_rebuilds, delta_sizes, found, search_s = [], [], [], []
    try:
        for i in range(repeat):
            if settle:
                settled.append(round(_wait_for_search_rebuild(home), 1))
            d = Path(tempfile.mkdtemp(prefix="add-one-"))
            stamp = f"{time.strftime('%H%M%S')}{i}"  # short: a long digit run would look like a video-embed id
            word = "zq" + stamp.translate(str.maketrans("0123456789", "abcdefghij"))  # the index keeps letters only
            f = d / f"new_{stamp}.txt"
            f.write_text(sample + f"\n\nUpdate {stamp}: one more paragraph ({word}).\n", encoding="utf-8")
            cpu0 = _children_cpu()
            proc, wall, _ = _run_measured([str(Path(sys.executable).parent / "corpus"), "add", str(f), "--now",
                                           "--home", str(home)], env=env)
            cpus.append(round(_children_cpu() - cpu0, 2))
            shutil.rmtree(d)
            if proc.returncode:
                raise SystemExit(proc.stdout + proc.stderr[-3000:])
            run_id = proc.stdout.split("run ", 1)[1].split(":", 1)[0]
            via.append("served" if "ran by corpus serve" in proc.stdout else "local")
            con = connect_readonly(home)
            in_flow = con.execute(
                "SELECT epoch(finished_at) - epoch(started_at) FROM runs WHERE run_id = ?", [run_id]).fetchone()[0]
            con.close()
            walls.append(round(wall, 2))
            inside.append(round(in_flow, 2))
            # the full-text index right after the add: a base rebuild started? the article found? (issue 20)
            base_rebuilds.append((home / ".search.stale").exists())
            delta = search.read_meta(search.delta_path(HomeLayout(home))) or {}
            delta_sizes.append(int(delta.get("articles", 0)))
            t = time.perf_counter()
            found.append(len(search.search(home, word)) == 1)
            search_s.append(round(time.perf_counter() - t, 3))
    finally:
        if serve is not None:
            serve.terminate()
            serve.wait(120)
    refresh = _time_search_refresh(home)
    return {
        "mode": "add-one",
        "served": served,
        "corpus_articles": before,
        "walls_s": walls,
        "median_wall_s": statistics.median(walls),
        "run_s_inside_flow": inside,
        # user+sys CPU of `corpus add` and the children it waited for (its temporary Prefect server), not the
        # serving process: a figure that does not depend on the machine's load
        "cpu_s": cpus,
        "median_cpu_s": statistics.median(cpus) if cpus else None,
        "ran": via,
        # --settle: seconds waited before each add for the detached search-index rebuild the previous add
        # started (above 5,000 articles every run that landed something starts one: ~40 s of one core at 100k)
        "waited_for_search_rebuild_s": settled if settle else None,
        "serve_ready_after_s": round(serve_start, 1) if serve_start else None,
        # after each add: did it start a rebuild of the base index (it should not while the delta is small),
        # the articles in the delta index, the new article found by `corpus search` at once, the search's time
        "base_rebuild_started": base_rebuilds,
        "delta_articles": delta_sizes,
        "searchable_at_once": found,
        "search_s": search_s,
        # the index refresh a run ends with, timed alone on this home (wall, CPU of this process)
        "search_refresh": refresh,
        "load_average_after": os.getloadavg(),
    }


def _time_search_refresh(home: Path, repeat: int = 3) -> dict:
    """Time search.refresh, what each run that landed articles ends with (here: the delta rebuilt again)."""
    from warehouse import Warehouse, search

    walls, cpus, did = [], [], []
    with Warehouse(home).writer() as w, w.connect() as con:
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            did.append(search.refresh(w.layout, con, w.session.name))
            walls.append(round(time.perf_counter() - t, 3))
            cpus.append(round(time.process_time() - c, 3))
    return {"walls_s": walls, "cpu_s": cpus, "did": did}


def run_search_delta(home: Path, sizes: list[int]) -> dict:
    """The cost of a delta index of about each of `sizes` articles over the home's base (issue 20): the delta
    against an older snapshot of the same lake, written to a scratch home (the home's files are not touched)."""
    from warehouse import Warehouse, search
    from warehouse.paths import HomeLayout

    scratch = Path(tempfile.mkdtemp(prefix="delta-cost-"))
    (scratch / "search.duckdb").symlink_to(home.resolve() / "search.duckdb")  # the base's BM25 statistics
    rows = []
    try:
        with Warehouse(home).writer() as w, w.connect() as con:
            name = w.session.name
            snap, lake_id = search._lake_state(con, name)
            for size in sizes:
                since = snap
                while since > 0:  # the latest snapshot with at least `size` articles changed since
                    since -= 1
                    n = con.execute("SELECT count(DISTINCT article_id) FROM ducklake_table_changes(?, 'main', "
                                    "'articles', ?, ?)", [name, since + 1, snap]).fetchone()[0]
                    if n >= size:
                        break
                t, c = time.perf_counter(), time.process_time()
                changes = search.changed_since(con, name, since, snap)
                k = search.build_delta(HomeLayout(scratch), con, name, {"snapshot": str(since)}, changes, snap, lake_id)
                rows.append({"articles": k, "wall_s": round(time.perf_counter() - t, 3),
                             "cpu_s": round(time.process_time() - c, 3)})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"mode": "search-delta", "deltas": rows, "delta_bound": search.delta_bound(
        int(search.read_meta(home / "search.duckdb")["articles"])), "load_average_after": os.getloadavg()}


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
    ap.add_argument("mode", choices=["engine", "flow", "marginal", "add-one", "search-delta", "html"])
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--home", type=Path)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2, help="engine: processes for clean+link")
    ap.add_argument("--dask", action="store_true", help="flow: run clean+link on Dask (corpus ingest --dask)")
    ap.add_argument("--pages", type=int, default=181)
    ap.add_argument("--runner", choices=["thread", "process", "dask"], help="flow/marginal: corpus ingest --runner")
    ap.add_argument("--limit", type=int, help="flow: only the first N files of --corpus")
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--large", type=int, default=12000)
    ap.add_argument("--repeat", type=int, default=1, help="add-one: how many articles, one run each")
    ap.add_argument("--served", action="store_true", help="add-one: through a `corpus serve` started on --home")
    ap.add_argument("--sizes", type=int, nargs="+", default=[5, 100, 500, 2000],
                    help="search-delta: about how many articles in each delta timed")
    ap.add_argument("--settle", action="store_true",
                    help="add-one: before each add, wait for the search-index rebuild the previous one started")
    a = ap.parse_args()
    tmp = None
    if a.mode in ("engine", "flow", "marginal") and not a.corpus:
        ap.error("--corpus is required")
    if a.mode in ("add-one", "search-delta") and not a.home:
        ap.error("--home is required")
    home = a.home
    if home is None and a.mode in ("engine", "flow"):
        tmp = Path(tempfile.mkdtemp(prefix="bench-home-"))
        home = tmp
    try:
        if a.mode == "engine":
            out = run_engine(a.corpus, home, a.batch, a.workers)
        elif a.mode == "flow":
            out = run_flow(a.corpus, home, a.batch, a.dask, a.runner, a.limit)
        elif a.mode == "marginal":
            out = run_marginal(a.corpus, a.small, a.large, ["--runner", a.runner] if a.runner else [])
        elif a.mode == "add-one":
            out = run_add_one(home, a.repeat, a.served, a.settle)
        elif a.mode == "search-delta":
            out = run_search_delta(home, a.sizes)
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
