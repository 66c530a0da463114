#!/usr/bin/env python3
"""Article-body extraction on the aeb benchmark: our HTML path against trafilatura's default.

usage: .venv/bin/python bench/extraction_aeb.py [--aeb DIR] [--workers 2] [--show-worst N]

Ours is what the ingest flow does with an HTML page: extract_html(), then clean_article() on the
extracted text; the body is clean_text. The reference is trafilatura.extract() with its defaults,
run in the same process on the same pages. Metric (as the benchmark's evaluate.py): tokens are
\\w+, 4-gram shingles with counts, tp/fp/fn normalised per page, precision and recall averaged
over pages, F1 from the two averages.

Landing: every page also goes through prepare_document and the batch validation suites (untimed,
see bench/landing.py); the script prints how many of the pages would land and why the others
would be quarantined.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_AEB = REPO.parent / "shared" / "external" / "aeb"
_TOKEN_RE = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """Counts of the n-gram shingles of \\w+ tokens (as the benchmark's _all_shingles)."""
    tokens = _TOKEN_RE.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def match(true: str, pred: str) -> tuple[float, float, float]:
    """Per-page tp, fp, fn over shingles, normalised to sum 1."""
    t, p = shingles(true), shingles(pred)
    tp = sum(min(t[k], p[k]) for k in t.keys() & p.keys())
    fp = sum(p.values()) - tp
    fn = sum(t.values()) - tp
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def scores(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Precision and recall averaged over pages, and F1 from the two averages."""

    def precision(tp: float, fp: float, fn: float) -> float:
        if fp == fn == 0:
            return 1.0
        return 0.0 if tp == fp == 0 else tp / (tp + fp)

    def recall(tp: float, fp: float, fn: float) -> float:
        if fp == fn == 0:
            return 1.0
        return 0.0 if tp == fn == 0 else tp / (tp + fn)

    p = statistics.mean(precision(*r) for r in rows if r[0] + r[1] > 0)
    r = statistics.mean(recall(*r) for r in rows if r[0] + r[2] > 0)
    return p, r, 2 * p * r / (p + r)


def run_page(args: tuple[str, str, str | None, str]) -> tuple[str, dict[str, tuple[float, float, float]], float, tuple]:
    """Both extractors on one page: (page id, {system: (tp, fp, fn)}, seconds in our path, prepare_page)."""
    import trafilatura

    from bench.landing import prepare_page
    from transforms.clean import clean_article, extract_html
    from transforms.errors import TransformError

    page_id, path, url, truth = args
    data = gzip.decompress(Path(path).read_bytes())
    started = time.perf_counter()
    try:
        ours = clean_article(extract_html(data, url=url).text).clean_text
    except TransformError:
        ours = ""
    elapsed = time.perf_counter() - started
    reference = trafilatura.extract(data.decode("utf-8", "replace"), url=url) or ""
    prepared = prepare_page(f"{page_id}.html", data, url)
    return page_id, {"ours": match(truth, ours), "trafilatura": match(truth, reference)}, elapsed, prepared


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aeb", type=Path, default=DEFAULT_AEB, help="benchmark folder (html/, ground-truth.json)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--show-worst", type=int, default=0, help="list the N pages where ours loses most F1")
    a = ap.parse_args()
    truth = json.loads((a.aeb / "ground-truth.json").read_text(encoding="utf-8"))
    jobs = [
        (pid, str(a.aeb / "html" / f"{pid}.html.gz"), item.get("url"), item.get("articleBody", ""))
        for pid, item in sorted(truth.items())
    ]
    started = time.perf_counter()
    with Pool(a.workers) as pool:
        results = pool.map(run_page, jobs, chunksize=4)
    wall = time.perf_counter() - started
    per_system: dict[str, list[tuple[float, float, float]]] = {"ours": [], "trafilatura": []}
    for _pid, rows, _, _prep in results:
        for name, row in rows.items():
            per_system[name].append(row)
    figures = {name: scores(rows) for name, rows in per_system.items()}
    if a.show_worst:

        def f1(row: tuple[float, float, float]) -> float:
            tp, fp, fn = row
            return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

        deltas = sorted((f1(r["ours"]) - f1(r["trafilatura"]), pid) for pid, r, _, _ in results)
        for delta, pid in deltas[: a.show_worst]:
            print(f"  {pid}  F1 ours - trafilatura = {delta:+.3f}")
    ours_seconds = sum(t for _, _, t, _ in results)
    print(
        f"pages: {len(results)}  wall: {wall:.1f}s with {a.workers} workers  "
        f"our path: {1000 * ours_seconds / len(results):.1f} ms/page"
    )
    for name in ("ours", "trafilatura"):
        p, r, f = figures[name]
        label = "ours (extract_html + clean_article)" if name == "ours" else "trafilatura.extract() default"
        print(f"{label:<38} precision={p:.4f} recall={r:.4f} F1={f:.4f}")
    from bench.landing import landing

    landed, reasons, stepped_in = landing([prep for _, _, _, prep in results])
    shown = ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "none"
    print(
        f"landing: {landed}/{len(results)} pages would land; quarantined: {shown}; "
        f"residue spans removed: {stepped_in}"
    )
    print("command: .venv/bin/python bench/extraction_aeb.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
