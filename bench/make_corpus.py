"""Build a reproducible synthetic corpus with ground truth in the format of ../shared/gold/seeds.json.

usage: python bench/make_corpus.py --n 10000 --out bench/out/corpus10k [--seed 7]

Each article: a title line, sometimes a byline, noise lines of every kind placed between
paragraphs (ad banners, video-embed ids + `video`, doubled captions, share/read-more lines,
copyright, disclaimers), and body paragraphs built from entity-free filler sentences plus sentences
that name gazetteer entities in transliteration variants. Because names are inserted by the
generator, the mention counts are known exactly. Writes `<out>/articles/*.txt` and `<out>/gold.json`.
Names come from ../shared/reference/entities.csv (canonical names) through documented rewrites,
never from ../shared/external.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTITIES_CSV = REPO.parent / "shared" / "reference" / "entities.csv"

# Transliteration rewrites used to spell names differently (each applied with some probability).
REWRITES = [
    (r"Qa", "Ka"),
    (r"q", "k"),
    (r"ou", "u"),
    (r"ei", "ey"),
    (r"i\b", "y"),
    (r"ss", "s"),
    (r"s(?=e)", "ss"),
    (r"e", "i"),
    (r"dh", "z"),
    (r"Kh", "H"),
    (r"iyah\b", "iya"),
    (r"\bAbdul-", "Abd al-"),
    (r"\bal-", "el-"),
    (r"\bal-", "Al "),
    (r"a\b", "ah"),
]
# Entities whose plain-name spellings are safe to vary (persons and places with distinctive names).
VARY = {
    "qasem-soleimani",
    "adil-abdul-mahdi",
    "nouri-al-maliki",
    "haider-al-abadi",
    "qais-al-khazali",
    "hadi-al-amiri",
    "mahmoud-ahmadinejad",
    "abbas-mousavi",
    "nasiriyah",
    "karbala",
    "najaf",
    "basra",
    "kirkuk",
    "erbil",
    "muqtada-al-sadr",
    "ali-al-sistani",
    "abu-mahdi-al-muhandis",
}
# Filler sentences are combined from parts so paragraphs rarely repeat (as in real reporting).
SUBJECTS = [
    "Officials",
    "Local residents",
    "Students",
    "Doctors at the main hospital",
    "Shop owners",
    "Several lawmakers",
    "Human rights groups",
    "Tribal elders",
    "Young unemployed graduates",
    "Oil workers",
    "Teachers' unions",
    "Witnesses",
]
VERBS = [
    "said",
    "complained",
    "warned",
    "insisted",
    "told reporters",
    "argued",
    "confirmed",
    "feared",
    "denied",
    "admitted",
    "repeated",
    "claimed",
]
CLAUSES = [
    "the talks would continue next week",
    "the curfew had ruined their business",
    "the crisis could deepen without an agreement",
    "dozens were injured in the night's clashes",
    "the electoral law would be delayed again",
    "schools would stay closed for several days",
    "electricity cuts had grown longer this summer",
    "water supplies were running short",
    "the bridges would reopen only after the funerals",
    "new jobs had been promised many times before",
    "the security forces had fired tear gas at close range",
    "the cabinet reshuffle changed nothing",
    "fuel prices doubled within a month",
    "the airport remained open to commercial flights",
    "internet access was cut for most of the day",
    "a new committee would review the constitution",
    "several journalists were detained overnight",
    "the governor offered to resign",
    "farmers lost their harvest to the drought",
    "public salaries were paid three weeks late",
    "the port strike had cost millions",
    "the ceasefire was holding for now",
    "a tent camp had grown around the monument",
    "young volunteers cleaned the streets every morning",
    "funeral tents lined the avenue",
    "banks limited cash withdrawals",
    "the opposition called for early elections",
    "a mediation team arrived from the capital",
    "power stations were running at half capacity",
    "foreign embassies advised against travel",
]
TAILS = [
    "",
    " on Tuesday",
    " late on Sunday",
    " in a crowded square",
    " despite the unrest",
    " according to local media",
    " as the sun set",
    " after weeks of tension",
    " before the vote",
    " in a televised address",
    " outside the ministry",
    " during the funeral procession",
]


def filler(rng: random.Random, clauses: list[str]) -> str:
    """A sentence; `clauses` is the article's own shuffled pool, so an article never repeats a clause."""
    clause = clauses.pop() if clauses else rng.choice(CLAUSES)
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} that {clause}{rng.choice(TAILS)}."


TEMPLATES = [
    "In a statement, {PERSON} said the demands of the protesters were legitimate.",
    "Demonstrators in {PLACE} burned tyres and blocked the main road.",
    "{ORG} denied any role in the attacks on the protesters.",
    "Observers noted that {PERSON} had met officials in {PLACE} earlier that month.",
    "Reports said fighters of {ORG} were deployed around {PLACE}.",
]
MEDIA = {"the-independent", "foreign-affairs", "le-point"}
HEADINGS = ["Background", "What happens next", "Regional reactions", "A divided street"]
NOISE = {
    "ad": lambda r: r.choice(["728 x 90", "300x250", "Advertisement", "ADVERTISEMENT", "970 x 250"]),
    "caption": lambda r: (
        r.choice(["Iraq protests", "Protesters in the square", "A burned checkpoint"])
        + f" (Credit: {r.choice(['AP', 'Reuters', 'AFP', 'Getty Images'])})"
    ),
    "share": lambda r: r.choice(
        ["Share this article", "Follow us on Twitter", "Subscribe to our newsletter", "Share on Facebook"]
    ),
    "readmore": lambda r: "Read more: " + r.choice(["Protests spread south", "Why the talks failed"]),
    "copyright": lambda r: (
        f"© {r.randint(2015, 2021)} {r.choice(['Example News', 'Daily Wire Service'])}. All rights reserved."
    ),
    "disclaimer": lambda r: "The author's point of view may not coincide with the position of the publisher.",
}


def load_entities() -> list[dict[str, str]]:
    with open(ENTITIES_CSV, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def variant(name: str, eid: str, rng: random.Random) -> str:
    """A spelling of `name`: canonical, or rewritten by one or two transliteration rules."""
    if eid not in VARY or rng.random() < 0.4:
        return name
    out = name
    for pat, rep in rng.sample(REWRITES, 2):
        cand = re.sub(pat, rep, out, count=1)
        if cand[:1].isupper() and len(cand) >= 4:
            out = cand
    return out


def make_article(i: int, ents: list[dict[str, str]], rng: random.Random) -> tuple[str, dict]:
    by_type: dict[str, list[dict[str, str]]] = {}
    for e in ents:
        by_type.setdefault(e["type"], []).append(e)
    # media outlets are left out: the ORG templates ("X denied any role…") make no sense for them
    by_type["ORG"] = [e for e in by_type["ORG"] if e["entity_id"] not in MEDIA]
    chosen = {t: rng.sample(v, min(3, len(v))) for t, v in by_type.items()}
    mentions: dict[str, int] = {}
    content: list[str] = []
    noise: list[str] = []
    meta_lines: list[str] = []
    lines: list[str] = []
    title = f"Protest report number {i}: {rng.choice(['tension rises', 'talks stall', 'crowds return'])}"
    lines += [title, ""]
    meta_lines.append(title)
    meta = {"title": title}
    if rng.random() < 0.5:
        author = rng.choice(["Sarah Collins", "Omar Haddad", "Lena Fischer"])
        lines += [f"By {author}", ""]
        meta_lines.append(f"By {author}")
        meta["author"] = author
    clauses = rng.sample(CLAUSES, len(CLAUSES))
    n_par = rng.randint(6, 10)
    for p in range(n_par):
        sents = []
        for _ in range(rng.randint(4, 8)):
            if rng.random() < 0.45:
                tpl = rng.choice(TEMPLATES)
                for t in ("PERSON", "PLACE", "ORG"):
                    while "{" + t + "}" in tpl:
                        e = rng.choice(chosen[t])
                        tpl = tpl.replace("{" + t + "}", variant(e["canonical_name"], e["entity_id"], rng), 1)
                        mentions[e["entity_id"]] = mentions.get(e["entity_id"], 0) + 1
                sents.append(tpl)
            else:
                sents.append(filler(rng, clauses))
        par = " ".join(sents)
        if p > 0 and rng.random() < 0.2:
            lines.append(rng.choice(HEADINGS))
        lines += [par, ""]
        content.append(par)
        if rng.random() < 0.5:
            kind = rng.choice(list(NOISE))
            if kind == "disclaimer":
                continue
            line = NOISE[kind](rng)
            noise.append(line)
            lines += [line, ""]
            if kind == "caption":
                lines.insert(len(lines) - 1, line)
        if rng.random() < 0.1:
            ids = (uuid.UUID(int=rng.getrandbits(128)), uuid.UUID(int=rng.getrandbits(128)))
            vid = f"{rng.randint(6_000_000_000_000, 6_999_999_999_999)} {ids[0]} {ids[1]}"
            noise += [vid, "video"]
            lines += [vid, "video", ""]
    if rng.random() < 0.3:
        d = NOISE["disclaimer"](rng)
        noise.append(d)
        lines += [d, ""]
    text = "\n".join(lines).rstrip() + "\n"
    gold = {
        "noise_lines": sorted(set(noise)),
        "metadata_lines": meta_lines,
        "content_lines": content,
        "metadata": meta,
        "mentions": mentions,
    }
    return text, gold


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    ents = load_entities()
    arts = a.out / "articles"
    arts.mkdir(parents=True, exist_ok=True)
    gold: dict = {
        "_about": f"synthetic corpus, seed {a.seed}, n {a.n}; made by bench/make_corpus.py",
        "_entities": sorted(e["entity_id"] for e in ents),
    }
    for i in range(a.n):
        text, g = make_article(i, ents, rng)
        name = f"syn_{i:06d}.txt"
        (arts / name).write_text(text, encoding="utf-8")
        gold[name] = g
    (a.out / "gold.json").write_text(json.dumps(gold, ensure_ascii=False, indent=0), encoding="utf-8")
    print(f"wrote {a.n} articles to {arts} and ground truth to {a.out / 'gold.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
