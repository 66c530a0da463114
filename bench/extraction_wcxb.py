#!/usr/bin/env python3
"""Body and metadata extraction on WCXB's article pages: our HTML path against trafilatura alone.

usage: .venv/bin/python bench/extraction_wcxb.py [--wcxb DIR] [--limit N] [--workers 2]
                                                 [--show-misses FIELD] [--show-worst N] [--dump FILE]
                                                 [--compare EARLIER_DUMP]

Ours is what the ingest flow does with an HTML page (transforms.clean.clean_html_page: extract_html,
clean_article, then the metadata merge of prepare_document); the body is clean_text. The reference
is trafilatura 2.x alone, run in the same process on the same bytes right after ours:
`trafilatura.extract()` (defaults) for the body, `trafilatura.bare_extraction(with_metadata=True)`
for title, author and date.

Body metric (the benchmark's evaluate.py / README): \\w+ tokens, lower-cased, bag of words, F1 per
page, mean over pages.

Metadata metric: exact match after one normalisation applied to BOTH systems and to the truth:
- title: NFKC, case-folded, curly quotes and dashes made ASCII, white space collapsed;
- author: the same folding, then split into names on ",", ";", "&", " and ", "|" and compared as
  a set of names (order and separators of a multi-author byline do not count);
- date: the first 10 characters as YYYY-MM-DD (a "2024-05" truth counts as its own string);
- a page whose truth has no author (or no date, or no title) scores a match only when the system
  also gives none: inventing an author is a miss.
(The dev truth dates are 587 days, 123 "no date" and one month, "YYYY-MM", that no day matches.)
For author and date the script also prints the matches split by what the truth holds: on pages whose
truth names one, and how often a system gives none where the truth has none.

--compare reads a file an earlier run wrote with --dump and prints, per field, the pages this run
fixed and broke against it, and the pages whose body F1 changed.

Landing (unless --no-landing): every page also goes through prepare_document and the batch
validation suites, untimed; the script prints how many articles would land and why the others
would be quarantined (a `validate:expect_column_values_to_not_match_regex_list` is the residue
expectation).

Timing: seconds per page of each system, measured around the calls in the same worker, so the
worker count does not bias the ratio, and in alternating order (ours first on every other page),
so that neither always finds the caches warm; wall time and the worker's CPU time
(time.process_time, less sensitive to other processes on a loaded machine) are printed. The HTML path must stay
under 1.25x trafilatura with metadata (bare_extraction).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_WCXB = REPO.parent / "shared" / "external" / "wcxb" / "dev"
RESERVED = REPO.parent / "shared" / "eval" / "reserved_pages.txt"
_WORD_RE = re.compile(r"\w+")
_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})
_AUTHOR_SPLIT = re.compile(r"\s*(?:[,;&|]|\band\b)\s*", re.IGNORECASE)
FIELDS = ("title", "author", "date")


def word_f1(predicted: str, reference: str) -> float:
    """The benchmark's word F1: lower-cased \\w+ tokens as a bag of words."""
    pred = Counter(_WORD_RE.findall((predicted or "").lower()))
    ref = Counter(_WORD_RE.findall((reference or "").lower()))
    if not ref:
        return 1.0 if not pred else 0.0
    if not pred:
        return 0.0
    overlap = sum((pred & ref).values())
    p = overlap / sum(pred.values())
    r = overlap / sum(ref.values())
    return 2 * p * r / (p + r) if p + r else 0.0


def fold(text: object) -> str:
    """NFKC, case-folded, ASCII quotes and dashes, collapsed white space ('' for None)."""
    if text is None:
        return ""
    text = unicodedata.normalize("NFKC", str(text)).translate(_FOLD).casefold()
    return " ".join(text.split())


def norm(field: str, value: object) -> object:
    """The comparable form of one metadata value (see the module docstring)."""
    if value is None or not str(value).strip():
        return None
    if field == "date":
        return str(value).strip()[:10]
    if field == "author":
        return frozenset(n for n in _AUTHOR_SPLIT.split(fold(value)) if n)
    return fold(value)


def compare_runs(earlier: dict[str, dict], results: list[dict], truth: dict[str, dict]) -> list[str]:
    """Per field, the pages this run gets right and the earlier run (a --dump) got wrong, and the
    other way round; then the pages whose body F1 moved."""
    lines = []
    now = {r["id"]: r for r in results if r["id"] in earlier}
    for f in FIELDS:
        fixed, broken = [], []
        for pid, r in now.items():
            want = norm(f, truth[pid][f])
            was, got = norm(f, earlier[pid]["ours"][f]) == want, norm(f, r["ours"][f]) == want
            if got != was:
                (fixed if got else broken).append(pid)
        fixed_ids, broken_ids = " ".join(sorted(fixed)), " ".join(sorted(broken))
        lines.append(f"compare {f}: fixed {len(fixed)} {fixed_ids}; broken {len(broken)} {broken_ids}")
    moved = []
    for pid, r in now.items():
        f1 = word_f1(r["ours"]["body"], truth[pid]["body"])
        if abs(f1 - earlier[pid]["body_f1"]) > 1e-9:
            moved.append(f"{pid} {earlier[pid]['body_f1']:.3f}->{f1:.3f}")
    lines.append(f"compare body F1: {len(moved)} page(s) changed {' '.join(sorted(moved))}")
    return lines


def run_page(job: tuple[str, str, str | None, bool, bool]) -> dict:
    """Both systems on one page: bodies, metadata and seconds of each."""
    import trafilatura

    from bench.landing import prepare_page
    from transforms.clean import clean_html_page
    from transforms.errors import TransformError

    page_id, path, url, check_landing, ours_first = job
    data = gzip.decompress(Path(path).read_bytes())

    def run_ours() -> tuple[dict, float, float]:
        cpu, started = time.process_time(), time.perf_counter()
        try:
            page = clean_html_page(data, url=url)
            found = {"body": page.clean_text, "title": page.title, "author": page.author, "date": page.published}
        except TransformError:
            found = {"body": "", "title": None, "author": None, "date": None}
        return found, time.perf_counter() - started, time.process_time() - cpu

    def run_reference() -> tuple[object, float, float]:
        cpu, started = time.process_time(), time.perf_counter()
        doc = trafilatura.bare_extraction(data, url=url, with_metadata=True)
        return doc, time.perf_counter() - started, time.process_time() - cpu

    # Every other page runs trafilatura first: whichever runs second on the same bytes finds
    # caches warm (lxml, regexes, trafilatura's own lru_caches), a bias the alternation cancels.
    if ours_first:
        ours, ours_s, ours_cpu = run_ours()
        doc, meta_s, meta_cpu = run_reference()
    else:
        doc, meta_s, meta_cpu = run_reference()
        ours, ours_s, ours_cpu = run_ours()
    started = time.perf_counter()
    body = trafilatura.extract(data, url=url) or ""
    body_s = time.perf_counter() - started
    ref = {
        "body": body,
        "title": getattr(doc, "title", None),
        "author": getattr(doc, "author", None),
        "date": getattr(doc, "date", None),
    }
    prepared = prepare_page(f"{page_id}.html", data, url) if check_landing else None
    seconds = (ours_s, meta_s, body_s, ours_cpu, meta_cpu)
    return {"id": page_id, "ours": ours, "trafilatura": ref, "seconds": seconds, "prepared": prepared}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wcxb", type=Path, default=DEFAULT_WCXB, help="split folder (html/, ground-truth/)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N pages (quick iterations)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--show-misses", choices=FIELDS, help="list pages where ours misses this field")
    ap.add_argument("--show-worst", type=int, default=0, help="list the N pages with our lowest body F1")
    ap.add_argument("--dump", type=Path, help="write each page's metadata (ours, trafilatura, truth) as JSON lines")
    ap.add_argument("--no-landing", action="store_true", help="skip the prepare_document + validation check")
    ap.add_argument("--compare", type=Path, help="an earlier run's --dump file: list pages fixed and broken per field")
    a = ap.parse_args()
    if not (a.wcxb / "ground-truth").is_dir():
        print(f"error: {a.wcxb} has no ground-truth/ folder", file=sys.stderr)
        return 2
    reserved = set()
    if RESERVED.exists():
        reserved = {ln.strip() for ln in RESERVED.read_text().splitlines() if ln.strip() and not ln.startswith("#")}
    truth: dict[str, dict] = {}
    jobs = []
    for gt_file in sorted((a.wcxb / "ground-truth").glob("*.json")):
        item = json.loads(gt_file.read_text(encoding="utf-8"))
        if item.get("_internal", {}).get("page_type", {}).get("primary", "article") != "article":
            continue
        if item.get("url") in reserved:
            continue
        gt = item["ground_truth"]
        truth[gt_file.stem] = {
            "body": gt.get("main_content") or "",
            "title": gt.get("title"),
            "author": gt.get("author"),
            "date": gt.get("publish_date"),
        }
        html = str(a.wcxb / "html" / f"{gt_file.stem}.html.gz")
        jobs.append((gt_file.stem, html, item.get("url"), not a.no_landing, len(jobs) % 2 == 0))
    if a.limit:
        jobs = jobs[: a.limit]
    started = time.perf_counter()
    if a.workers > 1:
        with Pool(a.workers) as pool:
            results = pool.map(run_page, jobs, chunksize=4)
    else:
        results = [run_page(job) for job in jobs]
    wall = time.perf_counter() - started
    n = len(results)
    figures: dict[str, dict[str, float]] = {}
    for system in ("ours", "trafilatura"):
        row = {"body F1": statistics.mean(word_f1(r[system]["body"], truth[r["id"]]["body"]) for r in results)}
        for field in FIELDS:
            hits = sum(norm(field, r[system][field]) == norm(field, truth[r["id"]][field]) for r in results)
            row[field] = hits / n
        figures[system] = row
    if a.dump:
        with a.dump.open("w", encoding="utf-8") as out:
            for r in results:
                row = {"id": r["id"], "body_f1": word_f1(r["ours"]["body"], truth[r["id"]]["body"])}
                for system in ("ours", "trafilatura"):
                    row[system] = {f: None if r[system][f] is None else str(r[system][f]) for f in FIELDS}
                row["truth"] = {f: truth[r["id"]][f] for f in FIELDS}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if a.compare:
        try:
            earlier = {row["id"]: row for row in map(json.loads, a.compare.read_text(encoding="utf-8").splitlines())}
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: cannot read {a.compare} as a --dump file: {exc}", file=sys.stderr)
            return 2
        for line in compare_runs(earlier, results, truth):
            print(line)
    if a.show_misses:
        f = a.show_misses
        for r in results:
            got, want = r["ours"][f], truth[r["id"]][f]
            if norm(f, got) != norm(f, want):
                ok = "T" if norm(f, r["trafilatura"][f]) == norm(f, want) else " "
                print(f"  {r['id']} {ok} ours={got!r}  truth={want!r}")
    if a.show_worst:
        worst = sorted((word_f1(r["ours"]["body"], truth[r["id"]]["body"]), r["id"]) for r in results)
        for f1, pid in worst[: a.show_worst]:
            print(f"  {pid} body F1 {f1:.3f}")
    ours_s, meta_s, body_s, ours_cpu, meta_cpu = (sum(r["seconds"][i] for r in results) for i in range(5))
    print(f"pages: {n} article pages  wall: {wall:.1f}s with {a.workers} worker(s)")
    print(f"{'system':<44}{'body F1':>9}{'title':>8}{'author':>8}{'date':>8}")
    labels = {
        "ours": "ours (clean_html_page: extract+clean+meta)",
        "trafilatura": "trafilatura extract / bare_extraction",
    }
    for system, row in figures.items():
        print(
            f"{labels[system]:<44}{row['body F1']:>9.4f}{row['title']:>8.3f}{row['author']:>8.3f}{row['date']:>8.3f}"
        )
    # The same author and date matches split by what the truth holds: on pages whose truth names
    # one (where a system can only be right by finding it), and on pages whose truth has none (where
    # it is right only by giving none). The headline figures above count both.
    for field in ("author", "date"):
        parts = []
        for system in ("ours", "trafilatura"):
            named = [r for r in results if norm(field, truth[r["id"]][field]) is not None]
            hits = sum(norm(field, r[system][field]) == norm(field, truth[r["id"]][field]) for r in named)
            named_ids = {r["id"] for r in named}
            silent = sum(norm(field, r[system][field]) is None for r in results if r["id"] not in named_ids)
            parts.append(
                f"{system} {hits}/{len(named)} = {hits / max(1, len(named)):.3f} where the truth names one, "
                f"{silent}/{n - len(named)} none where it has none"
            )
        print(f"{field}: " + "; ".join(parts))
    print(
        f"time per page: ours {1000 * ours_s / n:.1f} ms, trafilatura bare_extraction(with_metadata) "
        f"{1000 * meta_s / n:.1f} ms, trafilatura extract {1000 * body_s / n:.1f} ms; "
        f"ours / bare_extraction = {ours_s / meta_s:.2f}x"
    )
    print(
        f"CPU time per page: ours {1000 * ours_cpu / n:.1f} ms, trafilatura bare_extraction(with_metadata) "
        f"{1000 * meta_cpu / n:.1f} ms; ours / bare_extraction = {ours_cpu / meta_cpu:.2f}x (CPU)"
    )
    if not a.no_landing:
        from bench.landing import landing

        landed, reasons, stepped_in = landing([r["prepared"] for r in results])
        shown = ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "none"
        print(f"landing: {landed}/{n} articles would land; quarantined: {shown}; residue spans removed: {stepped_in}")
    print("command: .venv/bin/python bench/extraction_wcxb.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
