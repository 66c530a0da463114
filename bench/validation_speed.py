"""Time validate_batch on a synthetic batch (default 10,000 articles of ~5 KB, ~20 mentions and
~5 removed spans each). Target: 10 s or less on the 2-core CI machine.

    python bench/validation_speed.py [--articles N] [--bad-every K]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENTITIES = [
    ("qasem-soleimani", "Qasem Soleimani", "PERSON"),
    ("adil-abdul-mahdi", "Adil Abdul-Mahdi", "PERSON"),
    ("muqtada-al-sadr", "Muqtada al-Sadr", "PERSON"),
    ("baghdad", "Baghdad", "PLACE"),
    ("iraq", "Iraq", "PLACE"),
    ("kataib-hezbollah", "Kata'ib Hezbollah", "ORG"),
]
WORDS = (
    "the protesters gathered in the square on Tuesday while security forces watched from the bridge "
    "and officials promised reforms that many residents said would never come before the elections"
).split()
NOISE_LINES = ["728 x 90", "Iraq protests (Credit: AP)", "6119771925001 ef78fd9b-e792-44be-bf0e-63bf66e2b5b7"]


def _paragraphs(rng: random.Random, n: int) -> list[tuple[str, list[tuple[int, int, str, str]]]]:
    """A pool of ~500-character paragraphs, each with two entity names at known offsets."""
    pool = []
    for _ in range(n):
        parts: list[str] = []
        mentions = []
        length = 0
        for slot in range(3):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 30)))
            if slot:
                entity_id, name, _ = rng.choice(ENTITIES)
                mentions.append((length, length + len(name), name, entity_id))
                parts.append(name)
                length += len(name)
                words = " " + words
            parts.append(words)
            length += len(words)
        pool.append(("".join(parts) + ".", mentions))
    return pool


def make_batch(n_articles: int = 10_000, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Synthetic, entirely valid batch: articles, mentions, removed_spans and entities frames."""
    rng = random.Random(seed)
    pool = _paragraphs(rng, 200)
    articles, mentions, spans = [], [], []
    for n in range(n_articles):
        chosen = [rng.choice(pool) for _ in range(10)]
        clean_parts, raw_parts = [], []
        clean_len = raw_len = 0
        article_id = f"a{n:07d}"
        for k, (text, para_mentions) in enumerate(chosen):
            if k % 2 == 0:  # a removed noise line before every other paragraph: 5 per article
                noise = rng.choice(NOISE_LINES) + "\n"
                spans.append((article_id, raw_len, raw_len + len(noise), "noise_line", noise))
                raw_parts.append(noise)
                raw_len += len(noise)
            sep = "\n\n" if k else ""
            for start, end, surface, entity_id in para_mentions:
                offset = clean_len + len(sep)
                mentions.append((article_id, offset + start, offset + end, surface, entity_id, "exact", 1.0))
            clean_parts.append(sep + text)
            raw_parts.append(sep + text)
            clean_len += len(sep) + len(text)
            raw_len += len(sep) + len(text)
        clean_text = "".join(clean_parts)
        raw_text = "".join(raw_parts)
        sha = hashlib.sha256(raw_text.encode()).hexdigest()
        articles.append(
            {
                "article_id": article_id,
                "source_name": f"{n:03d}_{sha[:16]}.txt",
                "content_sha256": sha,
                "archived_sha256": sha,
                "title": f"Title {n}",
                "author": None,
                "published": dt.date(2020, 1, 1) + dt.timedelta(days=n % 1500),
                "dateline_place": "Baghdad",
                "language": "en" if n % 10 else "ar",
                "raw_text": raw_text,
                "clean_text": clean_text,
                "normalized_text": clean_text,
            }
        )
    return {
        "articles": pd.DataFrame(articles),
        "mentions": pd.DataFrame(
            mentions, columns=["article_id", "start_char", "end_char", "surface", "entity_id", "method", "score"]
        ),
        "removed_spans": pd.DataFrame(spans, columns=["article_id", "start_char", "end_char", "rule", "text"]),
        "entities": pd.DataFrame(
            [(e, name, t, [name]) for e, name, t in ENTITIES],
            columns=["entity_id", "canonical_name", "type", "aliases"],
        ),
    }


def spoil(batch: dict[str, pd.DataFrame], every: int) -> int:
    """Break every `every`-th article by shifting its first mention by one; return how many."""
    mentions = batch["mentions"]
    firsts = mentions.drop_duplicates("article_id").index[::every]
    mentions.loc[firsts, "end_char"] += 1
    return len(firsts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--bad-every", type=int, default=0, help="spoil every K-th article's first mention")
    args = parser.parse_args()

    t0 = time.perf_counter()
    batch = make_batch(args.articles)
    spoiled = spoil(batch, args.bad_every) if args.bad_every else 0
    t1 = time.perf_counter()
    import expectations

    entity_ids = batch["entities"]["entity_id"].tolist()
    expectations.gx_context()  # GX import and context set-up: paid once per process
    t2 = time.perf_counter()
    report = expectations.validate_batch(batch, entity_ids)
    t3 = time.perf_counter()
    report = expectations.validate_batch(batch, entity_ids)
    t4 = time.perf_counter()

    sizes = {name: len(df) for name, df in batch.items()}
    mb = batch["articles"]["clean_text"].str.len().sum() / 1e6
    print(f"batch: {sizes} ({mb:.1f} M chars of clean_text); built in {t1 - t0:.1f} s")
    print(f"GX import + context: {t2 - t1:.1f} s (once per process)")
    print(f"validation, first batch: {t3 - t2:.2f} s (includes building the suites)")
    print(f"validation, next batch:  {t4 - t3:.2f} s")
    print(f"failures: {len(report.failures)} (spoiled {spoiled}); notices: {len(report.notices)}")
    failed = [r for r in report.results if not r.success]
    for r in failed:
        print(f"  {r.suite}: {r.expectation}: {r.unexpected_count} unexpected")


if __name__ == "__main__":
    main()
