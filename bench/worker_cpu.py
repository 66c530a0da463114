"""CPU per article of a process runner's worker (flows/workers.py): its whole job on each batch, by part.

usage: python bench/worker_cpu.py --corpus bench/out/corpus10k/articles [--n 2000] [--batch 1000] [--profile 30]

In one process, without the pool: for each batch of --batch documents, what a worker does and what
crosses the pipe, each part timed in CPU seconds (process_time; the machine is shared, CPU time moves
less with the load than wall time):
  unpickle docs      the clean call's arguments (the batch of source documents)
  clean              decode, clean, language (`workers.clean_docs`)
  pickle cleaned     its answer (the PreparedBatch)
  unpickle link in   the link call's arguments (`WorkerPool.link`: only the columns linking reads)
  link               `workers.link_rows`
  pickle link out    its answer (normalized texts and mentions)
and the KB per article of each message. The first 1,000 documents warm the caches up as earlier
batches would in a running worker, and are not counted. The flow process's side of the hand-over
(pickling the calls, unpickling the answers) is printed apart, as `flow side`.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pickle
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, action="append", required=True, help="a directory of inbox files")
    ap.add_argument("--n", type=int, default=2000, help="documents timed (after 1,000 of warm-up)")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--profile", type=int, metavar="N", help="print the N costliest calls of clean and link")
    a = ap.parse_args()
    from clean_speed import load_docs

    from flows import workers

    docs = load_docs(a.corpus, a.n + 1000)
    warm, docs = docs[:1000], docs[1000:]
    if not docs:
        raise SystemExit("error: fewer than 1,001 documents in the corpus")
    workers._warm(None, None, ())
    columns = workers.link_columns()
    for i in range(0, len(warm), a.batch):
        prepared, _ = workers.clean_docs(warm[i : i + a.batch], None)
        workers.link_rows([tuple(r.get(c) for c in columns) for r in prepared.articles], None, (), None)
    parts = ["unpickle docs", "clean", "pickle cleaned", "unpickle link in", "link", "pickle link out"]
    cpu = dict.fromkeys([*parts, "flow side"], 0.0)
    size = dict.fromkeys(["docs", "cleaned", "link in", "link out"], 0)
    prof = cProfile.Profile() if a.profile else None
    clock = time.process_time
    dumps, loads = pickle.dumps, pickle.loads

    def timed(part: str, fn, *args):
        t = clock()
        out = fn(*args)
        cpu[part] += clock() - t
        return out

    def work(fn, *args):
        if prof:
            prof.enable()
        try:
            return fn(*args)
        finally:
            if prof:
                prof.disable()

    for i in range(0, len(docs), a.batch):
        batch = docs[i : i + a.batch]
        msg = timed("flow side", dumps, (batch, None), pickle.HIGHEST_PROTOCOL)
        size["docs"] += len(msg)
        args = timed("unpickle docs", loads, msg)
        answer = timed("clean", work, workers.clean_docs, *args)
        msg = timed("pickle cleaned", dumps, answer, pickle.HIGHEST_PROTOCOL)
        size["cleaned"] += len(msg)
        prepared, _ = timed("flow side", loads, msg)
        t = clock()
        rows = [tuple(r.get(c) for c in columns) for r in prepared.articles]
        msg = dumps((rows, None, (), None), pickle.HIGHEST_PROTOCOL)
        cpu["flow side"] += clock() - t
        size["link in"] += len(msg)
        args = timed("unpickle link in", loads, msg)
        answer = timed("link", work, workers.link_rows, *args)
        msg = timed("pickle link out", dumps, answer, pickle.HIGHEST_PROTOCOL)
        size["link out"] += len(msg)
        t = clock()
        normalized, _mentions, _ = loads(msg)
        [dict(r, normalized_text=n) for r, n in zip(prepared.articles, normalized, strict=True)]
        cpu["flow side"] += clock() - t
    n = len(docs)
    per = {k: round(v * 1000 / n, 3) for k, v in cpu.items()}
    out = {
        "documents": n,
        "worker_cpu_ms_per_article": {**{k: per[k] for k in parts}, "total": round(sum(per[k] for k in parts), 3)},
        "flow_side_cpu_ms_per_article": per["flow side"],
        "kb_per_article": {k: round(v / n / 1024, 2) for k, v in size.items()},
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
    }
    if prof:
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(a.profile)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
