"""Normalization throughput of the names engine (link + normalize_text), one core.

usage: python bench/names_speed.py [--mb 4] [--dense MB]

The text is the seed articles repeated with light changes (so the per-span caches see new
names too) up to the requested size; prints MB/s. Target: >= 2 MB/s.
--dense MB also links ONE article of that size made only of the seeds' name-dense lines glued
together (issue 17: linking must stay linear in the size of one article).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=4.0)
    ap.add_argument("--dense", type=float, default=0.0, help="also link one name-dense article of this many MB")
    a = ap.parse_args()
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
