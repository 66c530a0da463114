"""Measurement only: cluster the OFAC SDN spellings of Middle-East entries as `corpus entities suggest` does.

usage: python bench/suggest_ofac.py [--dir ../shared/external/names/ofac_sdn_2022] [--show N]

Never copy names from this list into the gazetteer, the rules or the tests (see
../shared/external/README.md): it is a yardstick, and the clustering thresholds were not tuned on it.

Items are the distinct spellings (primary name and every a.k.a./f.k.a.) of each entry flagged
`middle_east_related`, written as running text the way bench/names_ofac.py does ("SURNAME, Given"
becomes "Given Surname", capitals become title case). The gold clustering puts the spellings of
one entry together; scores are pairwise precision, recall and F1 over items. Beside ours, in the
same run: OpenRefine's "fingerprint" key collision (lower case, punctuation and control characters
removed, diacritics folded, whitespace tokens sorted and de-duplicated) and the union of both.

Many a.k.a.s are not spelling variants at all (acronyms, translations, company forms, other
names), so recall is bounded well below 1 for any spelling-based method.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from clustering_scores import pairwise_scores  # noqa: E402
from names_ofac import running_text  # noqa: E402

from transforms.names import fold  # noqa: E402
from transforms.names.suggest import Spelling, cluster_spellings  # noqa: E402

_PUNCT_CTRL = re.compile(r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~\x00-\x08\x0a-\x1f\x7f]")


def fingerprint(s: str) -> str:
    """OpenRefine's fingerprint keyer (FingerprintKeyer.java): trim, lower, strip punctuation, sort tokens, fold."""
    s = _PUNCT_CTRL.sub("", s.strip().lower())
    key = " ".join(sorted(set(s.split())))
    return "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))


def load_items(folder: Path) -> dict[str, tuple[str, str]]:
    """item id -> (entry number, spelling as running text), Middle-East entries only."""
    entries = json.loads((folder / "derived_sdn_alias_groups.json").read_text(encoding="utf-8"))
    items: dict[str, tuple[str, str]] = {}
    for e in entries:
        if not e.get("middle_east_related"):
            continue
        individual = e.get("sdn_type") == "individual"
        for raw in [e["primary"]] + [a["name"] for a in e["aliases"]]:
            text = running_text(raw, individual)
            if text:
                items.setdefault(f"{e['ent_num']}|{text}", (e["ent_num"], text))
    return items


def ours(items: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Item -> cluster by transforms.names.suggest (spellings equal after folding are one)."""
    spellings: dict[str, Spelling] = {}
    for _, text in items.values():
        key = fold(text)
        if key and key not in spellings:
            spellings[key] = Spelling(key, text, count=1)
    where = {s.key: c.cluster_id for c in cluster_spellings(list(spellings.values())) for s in c.members}
    return {i: where.get(fold(text), "\x01" + i) for i, (_, text) in items.items()}


def union(a: dict[str, str], b: dict[str, str]) -> dict[str, str]:
    """Clusters of items linked by either clustering (connected components)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for tag, assign in (("a", a), ("b", b)):
        for item, c in assign.items():
            parent[find(item)] = find(tag + c)
    return {item: find(item) for item in a}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=str(REPO.parent / "shared" / "external" / "names" / "ofac_sdn_2022"))
    ap.add_argument("--show", type=int, default=0, help="print N wrong merges and N missed pairs of ours")
    a = ap.parse_args()
    items = load_items(Path(a.dir))
    gold = {i: ent for i, (ent, _) in items.items()}
    n_entries = len(set(gold.values()))
    print(f"{len(items)} spellings of {n_entries} Middle-East SDN entries")
    t = time.perf_counter()
    mine = ours(items)
    t_mine = time.perf_counter() - t
    t = time.perf_counter()
    fp = {i: fingerprint(text) for i, (_, text) in items.items()}
    t_fp = time.perf_counter() - t
    rows = [("skeleton blocks + fuzzy (ours)", mine, t_mine), ("fingerprint key collision", fp, t_fp),
            ("ours ∪ fingerprint", union(mine, fp), t_mine + t_fp)]
    # the list repeats identical spellings in different entries (branches of one charity): every
    # spelling method must put those together, so the second view scores only pairs of different spellings
    folded = {i: fold(text) for i, (_, text) in items.items()}
    print(f"{'method':34} {'precision':>9} {'recall':>7} {'F1':>6} | {'P diff':>6} {'R diff':>6} {'F1 diff':>7} "
          f"{'clusters':>8} {'seconds':>8}")
    for name, assign, secs in rows:
        p, r, f = pairwise_scores(assign, gold)
        pd_, rd, fd = pairwise_scores(assign, gold, same=lambda x, y: folded[x] == folded[y])
        print(f"{name:34} {p:9.3f} {r:7.3f} {f:6.3f} | {pd_:6.3f} {rd:6.3f} {fd:7.3f} "
              f"{len(set(assign.values())):8d} {secs:8.2f}")
    if a.show:
        by_cluster: dict[str, list[str]] = {}
        for i, c in mine.items():
            by_cluster.setdefault(c, []).append(i)
        wrong = [[items[i][1] + f" ({gold[i]})" for i in ms] for ms in by_cluster.values()
                 if len({gold[i] for i in ms}) > 1]
        print("\nwrong merges (spelling (entry)):")
        for ms in wrong[: a.show]:
            print("  " + " | ".join(ms))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
