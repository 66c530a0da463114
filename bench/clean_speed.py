"""Cost of the cleaning stage per article, and a check that cleaning's output has not changed.

usage:
  python bench/clean_speed.py --corpus bench/out/corpus10k/articles [--limit 5000] [--profile 30]
      ms per article of the cleaning stage (pipeline.prepare_batch: decode, clean_article, language),
      wall (perf_counter) and CPU (process_time: the machine is shared, CPU time moves less with the
      load), then each part alone: decode, clean_article, its near-duplicate check, language id
  python bench/clean_speed.py --corpus DIR [--corpus DIR ...] --dump FILE
      write what cleaning produced for every document (removed spans, near_duplicates, headings,
      clean text, metadata, language) as JSON lines, one per document
  python bench/clean_speed.py --corpus DIR [--corpus DIR ...] --compare FILE
      the same, compared with an earlier --dump: counts the differences by field and prints the
      documents that differ, exit 1 if any (`--allow language_score`: except in that field)

A --corpus is any directory of inbox files (.txt, .html, .json, .jsonl; `.gz` files are
decompressed first, as the AEB pages are stored): the synthetic corpus, ../shared/seeds,
../shared/external/aeb/html, samples/articles. One process, no workers: these are the costs of the
code itself, not of the runner.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import hashlib
import json
import os
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.dumps import read_dump, write_dump  # noqa: E402


def load_docs(dirs: list[Path], limit: int | None) -> list:
    """Every document of the inbox files under `dirs`, in file-name order."""
    from transforms.sources import split_source

    docs: list = []
    for d in dirs:
        if not d.is_dir():
            raise SystemExit(f"error: {d} is not a directory")
        for path in sorted(p for p in d.iterdir() if p.is_file()):
            data, name = path.read_bytes(), path.name
            if name.endswith(".gz"):
                data, name = gzip.decompress(data), name[:-3]
            docs.extend(split_source(f"{d.parent.name}/{d.name}/{name}", data)[0])
            if limit and len(docs) >= limit:
                return docs[:limit]
    return docs


def fingerprint(doc, rules) -> dict:
    """What cleaning produced for one document (a failure is an output too)."""
    from transforms import pipeline
    from transforms.errors import TransformError

    try:
        row, removed = pipeline.prepare_document(doc, rules)
    except TransformError as exc:
        return {"doc": doc.source_name, "error": f"{type(exc).__name__}:{exc.reason}"}
    return {
        "doc": doc.source_name,
        "removed": [[r["start_char"], r["end_char"], r["rule"]] for r in removed],
        "near_duplicates": [[d["start_char"], d["end_char"]] for d in row["near_duplicates"]],
        "headings": [[h["start_char"], h["end_char"]] for h in row["headings"]],
        "clean_sha": hashlib.sha256(row["clean_text"].encode("utf-8")).hexdigest()[:16],
        "title": row["title"],
        "author": row["author"],
        "published": str(row["published"]) if row["published"] else None,
        "dateline_place": row["dateline_place"],
        "language": row["language"],
        "language_score": round(float(row["language_score"]), 6),
    }


def timed(docs: list, rules) -> dict:
    """ms per article of prepare_batch, then of its parts, wall and CPU."""
    from transforms import clean as clean_mod
    from transforms import pipeline
    from transforms.clean import clean_article
    from transforms.decode import decode_document
    from transforms.lang import detect_language

    pipeline.prepare_batch(docs[:20], rules)  # warm-up: the language model, the rules
    n = len(docs)

    def per_article(fn) -> tuple[float, float]:
        w, c = time.perf_counter(), time.process_time()
        fn()
        return (time.perf_counter() - w) * 1000 / n, (time.process_time() - c) * 1000 / n

    out = {"stage": per_article(lambda: pipeline.prepare_batch(docs, rules))}
    texts = [decode_document(d.body, repair=d.kind not in ("html", "json-html")).text for d in docs]
    out["decode"] = per_article(
        lambda: [decode_document(d.body, repair=d.kind not in ("html", "json-html")) for d in docs]
    )
    # the near-duplicate check alone, on the lines clean_article ends with
    near = clean_mod._near_duplicates
    seen: list = []
    clean_mod._near_duplicates = lambda lines, r: seen.append(lines) or near(lines, r)  # type: ignore[attr-defined]
    try:
        cleaned = [clean_article(t, rules) for t in texts]
    finally:
        clean_mod._near_duplicates = near  # type: ignore[attr-defined]
    out["clean_article (text path)"] = per_article(lambda: [clean_article(t, rules) for t in texts])
    out["  of which near-duplicates"] = per_article(lambda: [near(lines, rules) for lines in seen])
    out["language"] = per_article(lambda: [detect_language(c.clean_text) for c in cleaned])
    return {k: (round(w, 3), round(c, 3)) for k, (w, c) in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, action="append", required=True, help="a directory of inbox files")
    ap.add_argument("--limit", type=int, help="at most this many documents")
    ap.add_argument("--dump", type=Path, help="write the outputs as JSON lines")
    ap.add_argument("--compare", type=Path, help="compare the outputs with an earlier --dump")
    ap.add_argument("--allow", action="append", metavar="FIELD", help="--compare: a field allowed to differ")
    ap.add_argument("--profile", type=int, metavar="N", help="print the N costliest calls (cProfile)")
    a = ap.parse_args()
    if (a.dump or a.compare) and os.environ.get("PYTHONHASHSEED") != "0":
        # near_duplicates' word signature uses hash(): outputs compare only under one hash seed
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})  # noqa: S606  # re-runs this script itself with one hash seed; no shell
    from transforms.clean import load_rules

    rules = load_rules()
    docs = load_docs(a.corpus, a.limit)
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    if a.dump or a.compare:
        rows = [fingerprint(d, rules) for d in docs]
        if a.dump:
            return write_dump(a.dump, rows, command)
        before = read_dump(a.compare)
        allowed = set(a.allow or ())
        by_field: dict[str, int] = {}
        differ = []
        for r in rows:
            old = before.get(r["doc"]) or {}
            keys = sorted(k for k in set(old) | set(r) if old.get(k) != r.get(k))
            for k in keys:
                by_field[k] = by_field.get(k, 0) + 1
            if set(keys) - allowed:
                differ.append(r["doc"])
                if len(differ) <= 20:
                    print(f"  differs: {r['doc']}: {', '.join(keys)}", file=sys.stderr)
        missing = sorted(set(before) - {r["doc"] for r in rows})
        out = {"documents": len(rows), "differ": len(differ), "differ_by_field": by_field, "allowed": sorted(allowed)}
        print(json.dumps({**out, "not_in_this_run": len(missing), "command": command}))
        return 1 if differ else 0
    if a.profile:
        from transforms import pipeline

        prof = cProfile.Profile()
        prof.enable()
        pipeline.prepare_batch(docs, rules)
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(a.profile)
    out = {"documents": len(docs), "ms_per_article_wall_cpu": timed(docs, rules), "command": command}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
