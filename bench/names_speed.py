"""Normalization throughput of the names engine (link + normalize_text), one core.

usage: python bench/names_speed.py [--mb 4] [--dense MB]
       python bench/names_speed.py --corpus DIR [--corpus DIR ...] [--limit N] [--profile 30]
       python bench/names_speed.py --corpus DIR [--corpus DIR ...] --dump FILE | --compare FILE

The text is the seed articles repeated with light changes (so the per-span caches see new
names too) up to the requested size; prints MB/s. Target: >= 2 MB/s.
--dense MB also links ONE article of that size made only of the seeds' name-dense lines glued
together (issue 17: linking must stay linear in the size of one article).

With --corpus (any directory of inbox files, as for bench/clean_speed.py): the documents are cleaned
first (not timed), then linked as the pipeline links a batch (`pipeline.link_batch`: body, title and
dateline, normalized_text); prints the CPU (process_time) and wall ms per article of linking.
--dump writes every document's mentions (field, offsets, entity, method, score) and a hash of its
normalized_text as JSON lines; --compare checks them against an earlier --dump (exit 1 if any differ).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.dumps import read_dump, write_dump  # noqa: E402
from transforms.names import Linker, load_gazetteer, normalize_text  # noqa: E402


def corpus(mb: float) -> list[str]:
    """Seed articles, with shuffled paragraphs and some made-up capitalised names, up to mb MB."""
    seeds = [p.read_text(encoding="utf-8") for p in sorted((REPO / "samples" / "articles").glob("*.txt"))]
    rng = random.Random(1)
    syll = ["ka", "ri", "mo", "sa", "lem", "dar", "hu", "fa", "zi", "bad", "nor", "tal"]
    docs, size = [], 0
    while size < mb * 1_000_000:
        paras = rng.choice(seeds).split("\n\n")
        rng.shuffle(paras)
        name = (
            "".join(rng.choice(syll) for _ in range(3)).title()
            + " "
            + "".join(rng.choice(syll) for _ in range(3)).title()
        )
        doc = "\n\n".join(paras).replace("the Iraqi ruling elite", f"{name} and the ruling elite")
        docs.append(doc)
        size += len(doc.encode("utf-8"))
    return docs


def prepared(dirs: list[Path], limit: int | None) -> list[dict]:
    """The cleaned article rows of the inbox files under dirs, each with its document's name."""
    sys.path.insert(0, str(REPO / "bench"))
    from clean_speed import load_docs

    from transforms import pipeline
    from transforms.clean import load_rules

    rules = load_rules()
    rows = []
    for doc in load_docs(dirs, limit):
        batch = pipeline.prepare_batch([doc], rules)
        for row in batch.articles:
            row["_doc"] = doc.source_name
            rows.append(row)
    return rows


def on_corpus(a: argparse.Namespace) -> int:
    """--corpus: link CPU per article, or --dump / --compare the mentions."""
    from transforms import pipeline

    g = load_gazetteer()
    linker = Linker(g)
    rows = prepared(a.corpus, a.limit)
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    if a.dump or a.compare:
        out = []
        for row in rows:
            ms = pipeline.link_batch([row], linker, g)
            out.append({
                "doc": row["_doc"],
                "mentions": [[m["field"], m["start_char"], m["end_char"], m["entity_id"], m["method"], m["score"]]
                             for m in ms],
                "normalized_sha": hashlib.sha256(row["normalized_text"].encode("utf-8")).hexdigest()[:16],
            })
        if a.dump:
            return write_dump(a.dump, out, command)
        before = read_dump(a.compare)
        differ = [r["doc"] for r in out if before.get(r["doc"]) != r]
        for doc in differ[:20]:
            print(f"  differs: {doc}", file=sys.stderr)
        missing = len(set(before) - {r["doc"] for r in out})
        mentions = sum(len(r["mentions"]) for r in out)
        print(json.dumps({"documents": len(out), "mentions": mentions, "differ": len(differ),
                          "not_in_this_run": missing, "command": command}))
        return 1 if differ else 0
    pipeline.link_batch([dict(r) for r in rows[:50]], linker, g)  # warm-up
    rows = [dict(r) for r in rows]
    prof = cProfile.Profile() if a.profile else None
    w, c = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    n_mentions = len(pipeline.link_batch(rows, linker, g))
    if prof:
        prof.disable()
    w, c = time.perf_counter() - w, time.process_time() - c
    if prof:
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(a.profile)
    n = max(1, len(rows))
    print(json.dumps({"documents": len(rows), "mentions": n_mentions,
                      "link_ms_per_article_wall_cpu": [round(w * 1000 / n, 3), round(c * 1000 / n, 3)],
                      "command": command}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=4.0)
    ap.add_argument("--dense", type=float, default=0.0, help="also link one name-dense article of this many MB")
    ap.add_argument("--corpus", type=Path, action="append", help="a directory of inbox files (see above)")
    ap.add_argument("--limit", type=int, help="--corpus: at most this many documents")
    ap.add_argument("--dump", type=Path, help="--corpus: write the mentions as JSON lines")
    ap.add_argument("--compare", type=Path, help="--corpus: compare the mentions with an earlier --dump")
    ap.add_argument("--profile", type=int, metavar="N", help="--corpus: print the N costliest calls (cProfile)")
    a = ap.parse_args()
    if a.corpus:
        return on_corpus(a)
    if a.dump or a.compare:
        raise SystemExit("error: --dump and --compare need --corpus")
    g = load_gazetteer()
    t0 = time.perf_counter()
    linker = Linker(g)
    build = time.perf_counter() - t0
    docs = corpus(a.mb)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    t0 = time.perf_counter()
    mentions = 0
    for d in docs:
        ms = linker.link(d)
        normalize_text(d, ms, g)
        mentions += len(ms)
    dt = time.perf_counter() - t0
    print(f"linker build {build * 1000:.0f} ms; {len(docs)} articles, {nbytes / 1e6:.2f} MB, {mentions} mentions")
    print(f"normalization throughput: {nbytes / 1e6 / dt:.2f} MB/s (target >= 2 MB/s)")
    if a.dense:
        lines = [ln for d in docs[:50] for ln in d.splitlines() if len(linker.link(ln)) >= 2]
        one = " ".join(lines)
        one = (one * int(a.dense * 1_000_000 / max(1, len(one)) + 1))[: int(a.dense * 1_000_000)]
        t0 = time.perf_counter()
        n = len(linker.link(one))
        dt = time.perf_counter() - t0
        print(f"one name-dense article of {len(one) / 1e6:.1f} M chars: {n} mentions in {dt:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
