"""A longer fuzz run of the decoder, the cleaner, the name matcher and the batch pipeline (not in CI).

Hypothesis drives each target with many generated inputs (CI runs the same kinds of properties
at <= 200 examples in tests/test_properties_pipeline.py and tests/test_clean_properties.py).
Prints what ran, how long it took, and each failure with its shrunk input; exits 1 on any failure.

    .venv/bin/python bench/fuzz.py                      # 3000 examples per target
    .venv/bin/python bench/fuzz.py --examples 20000 --targets decode,match
    .venv/bin/python bench/fuzz.py --big                # also a 100 MB file through read_task (memory)
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.errors import DecodeError, TransformError

SENTENCES = [
    "The provincial council met on Monday to discuss the water shortage in the southern districts.",
    "Kassem Suleimani's men met Adel Abdul Mahdi in Nasiria; the engineer was there too.",
    "قال مسؤولون في بغداد إن الحكومة ستعلن عن خطة جديدة للكهرباء الأسبوع المقبل.",
    "Café owners complained about the curfew — “we close at nine now,” one said.",
    "BAGHDAD (Reuters) -",
    "By John Smith",
    "Advertisement",
    "Share this article",
    "Read more: https://example.org/x",
    "728 x 90",
    "",
    "   ",
]
NAME_PIECES = ["Qasem Soleimani", "Soleimani", "Kata'ib Hezbollah", "Hezbollah Brigades", "PMF", "Hashd",
               "Abu Mahdi al-Muhandis", "the engineer", "Muqtada al-Sadr", "Sadr", "Baghdad", "بغداد",
               "قاسم سليماني", "IS", "ISIS", "al-", "Mr. ", "’s", "-", "\n", " ", ", ", "é", "\u200f", "\u0640"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "cp1256",
             "cp1251", "latin-1", "iso8859-6", "koi8-r", "gb18030", "shift_jis", "mac_roman"]

articles = st.lists(st.sampled_from(SENTENCES), max_size=12).map("\n".join)
texts = st.one_of(st.text(max_size=400), articles,
                  st.lists(st.one_of(st.sampled_from(SENTENCES), st.text(max_size=30)), max_size=12).map("\n".join))
raw_bytes = st.one_of(
    st.binary(max_size=2000),
    st.tuples(texts, st.sampled_from(ENCODINGS)).map(lambda p: p[0].encode(p[1], errors="ignore")),
    st.tuples(articles, st.sampled_from(["\r\n", "\r", "\n"])).map(lambda p: p[0].replace("\n", p[1]).encode()),
    st.tuples(st.binary(max_size=8), articles).map(lambda p: p[0] + p[1].encode("utf-8")),
    articles.map(lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le")),
)
escaped = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(), max_size=40)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), escaped)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(["text", "html", "title", "published", "url",
                                                              "source_name", "author"]) | st.text(max_size=5),
                                             inner, max_size=5), max_leaves=15)
json_bytes = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"text": st.one_of(articles, escaped)}, optional={
        "title": escaped, "published": escaped, "source_name": escaped, "html": escaped})
    .map(lambda r: json.dumps(r).encode()),
    st.lists(json_values.map(json.dumps) | st.text(max_size=20), max_size=6).map(lambda ls: "\n".join(ls).encode()),
    st.integers(1, 50_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(4000, 5000).map(lambda n: b'{"text": "x", "n": 1' + b"0" * n + b"}"),
)
TAGS = ["<p>", "</p>", "<div>", "</div>", "<article>", "</article>", "<script>", "</script>", "<!--", "-->",
        "<br/>", "<table><tr><td>", "</td></tr></table>", "<h1>", "</h1>", "<", ">", "&amp;", "&#0;",
        "<![CDATA[", "<?xml ?>", "<meta charset='cp1256'>", "<title>", "</title>"]
html = st.lists(st.one_of(st.sampled_from(TAGS), st.sampled_from(SENTENCES), st.text(max_size=20)),
                max_size=60).map("".join)


# ---- targets: each returns a hypothesis test function -------------------------------------------
def target_decode() -> Callable[..., None]:
    from transforms.decode import decode_bytes

    @given(raw_bytes)
    def decode(data: bytes) -> None:
        try:
            text, encoding = decode_bytes(data)
        except DecodeError as exc:
            assert exc.reason in ("empty", "binary", "nul_bytes", "undecodable"), exc.reason
            return
        assert text.strip() and encoding
        assert "\r" not in text and "\x00" not in text
        text.encode("utf-8")  # no lone surrogates: Parquet must be able to store it
        # decoding is a fixed point on its own output: a re-saved copy is the same article
        assert decode_bytes(text.encode("utf-8"))[0] == text

    return decode


def target_clean() -> Callable[..., None]:
    from transforms.clean import clean_article, load_rules

    rules = load_rules()

    @given(texts)
    def clean(raw: str) -> None:
        try:
            out = clean_article(raw, rules=rules)
        except TransformError:
            return
        kept, pos = [], 0
        for span in sorted(out.removed, key=lambda s: s.start):
            assert raw[span.start : span.end] == span.text
            kept.append(raw[pos : span.start])
            pos = span.end
        kept.append(raw[pos:])
        assert "".join(kept) == out.clean_text, "kept text plus removed spans must rebuild raw_text"
        assert clean_article(out.clean_text, rules=rules).clean_text == out.clean_text, "not idempotent"

    return clean


def target_match() -> Callable[..., None]:
    from transforms.names import Linker, load_gazetteer, normalize_text

    gaz = load_gazetteer()
    linker = Linker(gaz)

    @given(st.lists(st.one_of(st.sampled_from(NAME_PIECES), st.text(max_size=8)), max_size=40).map("".join))
    def match(text: str) -> None:
        mentions = linker.link(text)
        last = 0
        for m in mentions:
            assert 0 <= m.start < m.end <= len(text) and text[m.start : m.end] == m.surface
            assert m.start >= last and 0.0 <= m.score <= 1.0
            last = m.end
        normalize_text(text, mentions, gaz)

    return match


def target_html() -> Callable[..., None]:
    from transforms.clean import extract_html

    @given(html)
    def extract(page: str) -> None:
        try:
            out = extract_html(page)
        except TransformError as exc:
            assert exc.reason
            return
        assert out.text.strip()

    return extract


def target_pipeline() -> Callable[..., None]:
    from transforms.clean import load_rules
    from transforms.pipeline import prepare_batch
    from transforms.sources import split_source

    rules = load_rules()
    suffixes = [".txt", ".html", ".json", ".jsonl", ".bin"]

    @given(st.lists(st.tuples(st.sampled_from(suffixes), st.one_of(raw_bytes, html.map(str.encode), json_bytes)),
                    max_size=4))
    def pipeline(files: list[tuple[str, bytes]]) -> None:
        docs = []
        for i, (suffix, data) in enumerate(files):
            got, fails = split_source(f"f{i}{suffix}", data)
            docs.extend(got)
            assert all(f.reason for f in fails)
        batch = prepare_batch(docs, rules)
        assert len(batch.articles) + len(batch.failures) == len(docs)
        assert all(f.stage in ("decode", "clean") for f in batch.failures)
        for a in batch.articles:  # everything that lands must be storable text
            for key in ("source_name", "raw_text", "clean_text", "title", "author", "url"):
                if isinstance(a.get(key), str):
                    a[key].encode("utf-8")

    return pipeline


TARGETS: dict[str, Callable[[], Callable[..., None]]] = {
    "decode": target_decode, "clean": target_clean, "match": target_match, "html": target_html,
    "pipeline": target_pipeline,
}


def run_big(mb: int = 100) -> bool:
    """A file of `mb` MB through read_task: quarantined too_large, archived, peak Python memory small."""
    import tempfile
    import tracemalloc

    from flows.ingest import read_task
    from warehouse import Warehouse
    from warehouse.inbox import InboxItem

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.txt"
        line = b"A line of a very large text dump that no one should read into memory at once.\n"
        block = (line * (2**20 // len(line) + 1))[: 2**20]
        with open(big, "wb") as fh:
            for _ in range(mb):
                fh.write(block)
        t = time.perf_counter()
        with Warehouse(Path(tmp) / "home").writer() as writer:
            tracemalloc.start()  # after opening the warehouse: measure read_task alone
            out = read_task.fn(writer, [InboxItem(str(big), "big.txt", big.stat().st_size)], 0, 20 * 2**20,
                               set(), "fuzz-run")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        reasons = [(q["stage"], q["reason"]) for q in out.quarantine]
        ok = reasons == [("read", "too_large")] and peak < 16 * 2**20
        print(f"  big     {mb} MB file: {reasons}, peak traced memory {peak / 2**20:.1f} MB, "
              f"{time.perf_counter() - t:.1f}s -> {'ok' if ok else 'FAIL'}")
        return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", "3000")))
    ap.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}")
    ap.add_argument("--seed", type=int, default=None, help="hypothesis seed, for a repeatable run")
    ap.add_argument("--big", action="store_true", help="also push a 100 MB file through read_task")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {unknown}; choose from {list(TARGETS)}")
    cfg = settings(max_examples=args.examples, deadline=None, database=None, derandomize=False,
                   suppress_health_check=list(HealthCheck), print_blob=True)
    print(f"fuzz: {args.examples} examples per target, targets {names}, seed {args.seed}")
    failures = 0
    for name in names:
        test = cfg(TARGETS[name]())
        if args.seed is not None:
            from hypothesis import seed

            test = seed(args.seed)(test)
        t = time.perf_counter()
        try:
            test()
            print(f"  {name:8} {args.examples} examples, {time.perf_counter() - t:.1f}s -> ok")
        except Exception as exc:  # noqa: BLE001 - report every failure, go on to the next target
            failures += 1
            print(f"  {name:8} FAILED after {time.perf_counter() - t:.1f}s: {type(exc).__name__}: {exc}")
            for note in getattr(exc, "__notes__", []):
                print(f"           {note[:600]}")
            print("".join(traceback.format_exception_only(type(exc), exc))[:600])
    if args.big and not run_big():
        failures += 1
    print(f"fuzz: {failures} failing target(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
