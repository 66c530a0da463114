"""Measurement only: name linking on real text, per language group (issue 14, item 1).

usage: python bench/names_real_dev.py [--dev ../shared/eval/real_dev] [--home bench/out/real_dev_home]
                                     [--by-language] [-v]

Ingests `DEV/articles/` with the real `corpus ingest` into a fresh scratch home, then scores it
with `../shared/eval/score.py --json` once over every article and once per language group
(English, Arabic, other Latin-script languages, other scripts; languages from `DEV/sources.json`),
each time on a gold file filtered to that group and written to bench/out/. Prints P/R/F1 per
group (`--by-language`: and per language code) and the articles that were quarantined. `-v`
also prints the (entity: gold, found) differences per article.

The excerpts are third-party text kept for measurement: never copy their text, names-as-found or
expected counts into the repo (gazetteer, rules, tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
OUT = REPO / "bench" / "out"
for key, value in (("GX_ANALYTICS_ENABLED", "false"), ("DO_NOT_TRACK", "1"),
                   ("PREFECT_SERVER_ANALYTICS_ENABLED", "false")):
    os.environ.setdefault(key, value)

# ISO 639-1 codes of languages written in the Latin script (the ones the desk reads, and neighbours)
LATIN_SCRIPT = {
    "fr", "es", "de", "it", "pt", "tr", "hu", "id", "ms", "ro", "nl", "pl", "cs", "sk", "sv", "da", "no", "nb",
    "fi", "et", "lv", "lt", "hr", "sl", "sq", "ca", "gl", "eu", "vi", "az", "uz", "tl", "sw", "so", "ha",
}
GROUPS = ("English", "Arabic", "other Latin-script", "other scripts")


def language_group(lang: str) -> str:
    """The reporting group of a language code."""
    lang = (lang or "").lower()
    if lang == "en":
        return "English"
    if lang == "ar":
        return "Arabic"
    return "other Latin-script" if lang in LATIN_SCRIPT else "other scripts"


def ingest(articles: Path, home: Path) -> dict:
    """Run the real `corpus ingest --json` into a fresh `home`; its summary."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    inbox = home.parent / (home.name + "-inbox")  # ingest consumes its inbox: give it a copy
    if inbox.exists():
        shutil.rmtree(inbox)
    shutil.copytree(articles, inbox)
    from throughput import _ingest_json  # bench/ is on sys.path: the scripts run as `python bench/NAME.py`

    return _ingest_json(home, inbox)[0]


def score(home: Path, gold: dict, group: str) -> dict:
    """score.py --json over `gold` (written to bench/out/); its output."""
    slug = group.replace(" ", "_").replace("-", "_").lower()
    path = OUT / f"real_dev_gold_{slug}.json"
    path.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(SHARED / "eval" / "score.py"), "--home", str(home), "--gold",
                           str(path), "--json"], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"score.py failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def quarantined(home: Path) -> list[tuple[str, str, str]]:
    """(source_name, stage, reason) of every quarantined article."""

    from warehouse import connect_readonly
    with connect_readonly(home) as con:
        return con.execute(
            "SELECT source_name, stage, reason FROM quarantine WHERE resolved_at IS NULL ORDER BY source_name"
        ).fetchall()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=Path, default=SHARED / "eval" / "real_dev")
    ap.add_argument("--home", type=Path, default=OUT / "real_dev_home")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--by-language", action="store_true", help="also one row per language code")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sources = json.loads((args.dev / "sources.json").read_text(encoding="utf-8"))
    gold = json.loads((args.dev / "gold.json").read_text(encoding="utf-8"))
    docs = {k: v for k, v in gold.items() if not k.startswith("_")}
    # the whole set's entity list in every group file, so a found mention counts the same way everywhere
    listed = set(gold.get("_entities") or [])
    for g in docs.values():
        listed |= set(g.get("mentions", {}))
    summary = ingest(args.dev / "articles", args.home)
    lang = {n: sources.get(n, {}).get("language", "") for n in docs}
    rows = []
    for group in ("all", *GROUPS):
        names = [n for n in docs if group == "all" or language_group(lang[n]) == group]
        if names:
            rows.append((group, len(names), score(args.home, {"_entities": sorted(listed),
                                                              **{n: docs[n] for n in names}}, group)))
    if args.by_language:
        for code in sorted(set(lang.values()), key=lambda c: (GROUPS.index(language_group(c)), c)):
            names = [n for n in docs if lang[n] == code]
            rows.append((f"  {code}", len(names), score(args.home, {"_entities": sorted(listed),
                                                                    **{n: docs[n] for n in names}}, f"lang {code}")))
    print(f"real_dev: {len(docs)} articles, {summary.get('n_new')} landed, {summary.get('n_quarantined')} quarantined")
    print(f"{'group':<20} {'articles':>8} {'P':>6} {'R':>6} {'F1':>6} {'tp':>5} {'fp':>4} {'fn':>4}")
    for group, n, out in rows:
        per = out["per_article"].values()
        tp, fp, fn = (sum(d[k] for d in per) for k in ("tp", "fp", "fn"))
        print(f"{group:<20} {n:>8} {out['mention_precision']:>6.3f} {out['mention_recall']:>6.3f} "
              f"{out['mention_f1']:>6.3f} {tp:>5} {fp:>4} {fn:>4}")
    held = quarantined(args.home)
    print(f"quarantined: {len(held)}")
    for name, stage, reason in held:
        print(f"  {name}  stage={stage} reason={reason}")
    if args.verbose:
        for name, d in rows[0][2]["per_article"].items():
            if d["wrong"]:
                print(f"{name} [{sources.get(name, {}).get('language')}]: (gold, found) {d['wrong']}")
    flags = (" --by-language" if args.by_language else "") + (" -v" if args.verbose else "")
    print(f"command: python bench/names_real_dev.py{flags}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
