"""Measurement only: how many OFAC SDN a.k.a. spellings of gazetteer entities link to the right entity.

usage: python bench/names_ofac.py [--dir ../shared/external/names/ofac_sdn_2022] [-v]

Never copy names from this list into the gazetteer, the rules or the tests (see
../shared/external/README.md): it is a yardstick for unseen spellings.

Each listed alias is linked as a standalone text, after undoing the list's typography only:
"SURNAME, Given" becomes "Given Surname" and capitals become title case ("Al-" → "al-"),
since running text is what the engine reads; a lone acronym (2-5 capitals) is kept. An alias
counts as right when some mention of the expected entity is found and no mention of another
gazetteer entity is.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transforms.names import Linker, load_gazetteer  # noqa: E402

# SDN entry number -> gazetteer entity (the entries were picked by their primary names)
ENTRIES = {
    "10481": "qasem-soleimani",
    "11461": "abu-mahdi-al-muhandis",
    "11462": "kataib-hezbollah",
    "28283": "asaib-ahl-al-haq",
    "28004": "qais-al-khazali",
    "10391": "irgc",
    "10465": "quds-force",
    "4697": "hezbollah",
    "8759": "islamic-state",
    "6366": "al-qaeda",
}


def running_text(name: str, individual: bool) -> str:
    """An SDN name as it would be written in an article."""
    if individual and "," in name:
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}"
    if re.fullmatch(r"[A-Z]{2,5}", name.strip()):
        return name.strip()  # an acronym stays in capitals
    words = []
    for w in re.split(r"(\s+)", name):
        if w.isupper() and len(w) > 1:
            w = "-".join(p[:1] + p[1:].lower() for p in w.split("-"))
            w = re.sub(r"(?<=['’])([A-Z])", lambda m: m.group(1).lower(), w)
        words.append(w)
    out = "".join(words)
    return re.sub(r"\b(Al|El|Ad|As|An)-(?=[A-Z])", lambda m: m.group(1).lower() + "-", out).strip()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=str(REPO.parent / "shared" / "external" / "names" / "ofac_sdn_2022"))
    ap.add_argument("-v", action="store_true", help="print every alias that fails")
    a = ap.parse_args()
    groups = {e["ent_num"]: e for e in json.loads((Path(a.dir) / "derived_sdn_alias_groups.json").read_text())}
    linker = Linker(load_gazetteer())
    total = right = 0
    for num, eid in ENTRIES.items():
        e = groups.get(num)
        if e is None:
            print(f"{num}: not in this list")
            continue
        individual = e.get("sdn_type") == "individual"
        ok = n = 0
        for al in e["aliases"]:
            text = running_text(al["name"], individual)
            ids = {m.entity_id for m in linker.link(text)}
            good = eid in ids and not (ids - {eid})
            n += 1
            ok += good
            if a.v and not good:
                print(f"   miss {eid}: {text!r} -> {sorted(ids)}")
        total += n
        right += ok
        print(f"{eid:28s} {ok:3d}/{n:<3d} aliases link right ({e['primary']})")
    print(f"OFAC SDN aliases of gazetteer entities linking to the right entity: {right}/{total} = {right / total:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
