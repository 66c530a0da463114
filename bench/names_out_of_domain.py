"""Measurement only: false links on pages outside the topic (issue 14, item 6).

usage: python bench/names_out_of_domain.py [--home bench/out/ood_home] [--skip-ingest] [--judgements FILE]

Every entity of the gazetteer is tied to the Middle East, and the AEB pages
(../shared/external/aeb/html/) and the WCXB dev articles (../shared/external/wcxb/dev/html/)
are mostly about other things, so a link found there is suspect. The script decompresses both
sets into a scratch inbox under bench/out/ (as `aeb_<name>.html` and `wcxb_<name>.html`), runs
the real `corpus ingest` into a fresh scratch home, then prints every link with 60 characters of
context on each side (from the text of the mention's field: body, title or dateline_place).

Hand judgements live in bench/ood_judgements.yaml, one entry per (page, entity, surface):
`source_name`, `entity_id`, `surface`, `verdict` (true/false) and a short `note`; surfaces and
page names only, never page text. The script counts the links judged false, prints
"N false links judged by hand over P pages = X per 1000 pages" (target: at most 1), and lists
the links not judged yet. `--skip-ingest` re-reads an existing scratch home.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
OUT = REPO / "bench" / "out"
JUDGEMENTS = REPO / "bench" / "ood_judgements.yaml"
SETS = {"aeb": SHARED / "external" / "aeb" / "html", "wcxb": SHARED / "external" / "wcxb" / "dev" / "html"}
CONTEXT = 60
for key, value in (("GX_ANALYTICS_ENABLED", "false"), ("DO_NOT_TRACK", "1"),
                   ("PREFECT_SERVER_ANALYTICS_ENABLED", "false")):
    os.environ.setdefault(key, value)


def fill_inbox(inbox: Path) -> int:
    """Decompress every page of both sets into `inbox`; the number of pages."""
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    n = 0
    for prefix, folder in SETS.items():
        for gz in sorted(folder.glob("*.html.gz")):
            (inbox / f"{prefix}_{gz.name[:-3]}").write_bytes(gzip.decompress(gz.read_bytes()))
            n += 1
    return n


def ingest(inbox: Path, home: Path) -> dict:
    """Run the real `corpus ingest --json` into a fresh `home`; its summary."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    from throughput import _ingest_json  # bench/ is on sys.path: the scripts run as `python bench/NAME.py`

    return _ingest_json(home, inbox)[0]


def links(home: Path) -> tuple[list[dict], int, int]:
    """(every mention with its page and context, pages landed, pages quarantined)."""

    from warehouse import connect_readonly
    with connect_readonly(home) as con:
        has_field = "field" in {r[0] for r in con.execute("DESCRIBE mentions").fetchall()}
        field = "m.field" if has_field else "'body'"
        rows = con.execute(
            f"""SELECT a.source_name, m.entity_id, m.surface, m.method, m.start_char, m.end_char,
                       {field} AS field, a.clean_text, a.title, a.dateline_place
                FROM mentions m JOIN articles a USING (article_id)
                ORDER BY a.source_name, field, m.start_char"""
        ).fetchall()
        n_pages = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        n_held = con.execute(
            "SELECT count(DISTINCT source_name) FROM quarantine WHERE resolved_at IS NULL").fetchone()[0]
    out = []
    for source, entity, surface, method, start, end, fld, body, title, dateline in rows:
        text = {"body": body, "title": title, "dateline_place": dateline}.get(fld or "body") or ""
        left = text[max(0, start - CONTEXT):start].replace("\n", " ")
        right = text[end:end + CONTEXT].replace("\n", " ")
        out.append({"source_name": source, "entity_id": entity, "surface": surface, "method": method,
                    "field": fld or "body", "context": f"{left}[[{text[start:end]}]]{right}"})
    return out, n_pages, n_held


def load_judgements(path: Path) -> dict[tuple[str, str, str], dict]:
    """(source_name, entity_id, surface) -> judgement entry."""
    if not path.exists():
        return {}
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = {}
    for e in entries:
        verdict = e.get("verdict")
        if not isinstance(verdict, bool):
            raise SystemExit(f"{path}: verdict must be true or false in {e}")
        out[(e["source_name"], e["entity_id"], e["surface"])] = e
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=OUT / "ood_home")
    ap.add_argument("--judgements", type=Path, default=JUDGEMENTS)
    ap.add_argument("--skip-ingest", action="store_true")
    args = ap.parse_args()
    if not args.skip_ingest:
        n_files = fill_inbox(OUT / "ood_inbox")
        summary = ingest(OUT / "ood_inbox", args.home)
        print(f"ingested {n_files} pages: {summary.get('n_new')} landed, {summary.get('n_quarantined')} quarantined")
    found, n_pages, n_held = links(args.home)
    judged = load_judgements(args.judgements)
    print(f"{len(found)} link(s) on {n_pages} landed page(s) ({n_held} quarantined):")
    false_n, true_n, unjudged = 0, 0, []
    for link in found:
        key = (link["source_name"], link["entity_id"], link["surface"])
        verdict = judged.get(key, {}).get("verdict")
        mark = {True: "ok   ", False: "FALSE", None: "?    "}[verdict]
        print(f"{mark} {link['source_name']} {link['field']} {link['entity_id']} ({link['method']}): {link['context']}")
        if verdict is None:
            unjudged.append(link)
        elif verdict:
            true_n += 1
        else:
            false_n += 1
    by_entity = Counter(link["entity_id"] for link in found)
    print("links per entity: " + ", ".join(f"{e} {n}" for e, n in by_entity.most_common()))
    stale = set(judged) - {(x["source_name"], x["entity_id"], x["surface"]) for x in found}
    if stale:
        print(f"{len(stale)} judged link(s) no longer found (fixed or changed):")
        for key in sorted(stale):
            print(f"  {key[0]} {key[1]} {key[2]!r} (was {'true' if judged[key]['verdict'] else 'false'})")
    if unjudged:
        print(f"{len(unjudged)} link(s) not judged yet:")
        for x in unjudged:
            surface = json.dumps(x["surface"], ensure_ascii=False)
            print(f"  - {{source_name: {x['source_name']}, entity_id: {x['entity_id']}, surface: {surface}}}")
    pages = sum(1 for folder in SETS.values() for _ in folder.glob("*.html.gz"))  # landed, held or duplicate
    rate = 1000 * false_n / pages if pages else 0.0
    false_keys = {(x["source_name"], x["entity_id"], x["surface"]) for x in found
                  if judged.get((x["source_name"], x["entity_id"], x["surface"]), {}).get("verdict") is False}
    print(f"{false_n} false links judged by hand over {pages} pages = {rate:.1f} per 1000 pages "
          f"({len(false_keys)} distinct page/entity/surface; {true_n} judged true, {len(unjudged)} not judged; "
          "target: at most 1 per 1000 pages)")
    print("command: python bench/names_out_of_domain.py" + (" --skip-ingest" if args.skip_ingest else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
