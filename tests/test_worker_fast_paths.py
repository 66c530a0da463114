"""Issue 20: the workers' cheaper clean and link give the answers of the plain computations they replace.

Each shortcut (a regex tried only where a simpler one says it can match, a scan shared by the
candidates of one text, a cache keyed on a word or a name's surface) is held here to the plain
computation on generated inputs (our own words and sentences, shuffled at random). Their outputs on
whole corpora were compared with `bench/clean_speed.py --compare` and `bench/names_speed.py --compare`
(BENCHMARKS.md, issue 20).
"""

from __future__ import annotations

import importlib
import os
import random
import re
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.clean.rules import ResidueRule, _start_pattern
from transforms.names import Linker, load_gazetteer
from transforms.names import context as ctx
from transforms.names.matcher import _finditer_at

fold_mod = importlib.import_module("transforms.names.fold")  # `transforms.names.fold` is also a function

SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# our own words: names, articles, punctuation and scripts the shortcuts have to get right
WORDS = [
    "Iraq", "IRAQ", "imam", "Imams", "state of law", "Prophet", "islam", "Mohammed", "Baghdad", "al-", "el ",
    "as-", "ash-", "ul-", "Qais", "Karbala", "Saddam", "Hussein", "Maliki", "the", "and", "UN", "IS", "PMF",
    "U.N.", "IRGC", "Tahrir", "Square", "Cairo", "ministry", "spokesman", "Mousavi", "x", "ab",
    "بغداد", "والنجف", "بالحشد", "الإمام", "ـ", "’s", "'", "’", "-", "—", " ", "  ", ", ", ".", "\n", "\n\n",
    "İstanbul", "ſ", "K", "Ünal", "d'Irak", "Bağdat'ta", "theSaddam", "1234567890123456",
]


def _text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(WORDS) + rng.choice(["", " ", " ", ", "]) for _ in range(n))


@pytest.fixture(scope="module")
def linker() -> Linker:
    return Linker(load_gazetteer())


# ---- names: near_text conditions ------------------------------------------------------------------
NEAR_PATTERNS = [
    r"\b(?:Iraq|Imam|Imams|State of Law|prime minister)",  # the gazetteer's kind: answered from the scans
    r"\b(?:Saddam|Ba.ath|Tikrit)|بغداد",
    r"(?i)\bislam",
    r"\b(?:ab+|x)",  # no longest match: scanned in one block
    r"Imam\b",  # looks past its match: searched window by window
    r"(?=Iraq)Ir",
    r"\bx?",  # can match empty: window by window
]


@SETTINGS
@given(st.integers(0, 10**9), st.sampled_from(NEAR_PATTERNS), st.sampled_from([3, 40, 150, 300, 1500]))
def test_near_text_answers_as_a_search_of_each_window(seed: int, pattern: str, n: int) -> None:
    rng = random.Random(seed)
    text = _text(rng, rng.randint(0, 400))
    rx = re.compile(pattern, re.IGNORECASE)
    for _ in range(8):  # several candidates of one text share its scans
        start = rng.randint(0, len(text))
        end = min(len(text), start + rng.randint(0, 12))
        want = rx.search(text, max(0, start - n), start) is not None or rx.search(text, end, end + n) is not None
        assert ctx._near_text(pattern, text, start, end, n) == want


def test_patterns_that_look_past_their_match_are_not_answered_from_scans() -> None:
    assert ctx._starts_rx(r"\b(?:Iraq|Baghdad)", re.IGNORECASE) is not None
    for pattern in (r"Iraq\b", r"Iraq$", r"Iraq(?!i)", r"(?>a+)b", r"a++", r"\bx?", r"\b"):
        assert ctx._starts_rx(pattern, re.IGNORECASE) is None, pattern


# ---- names: folding ---------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(0, 10**9))
def test_folding_deletions_are_those_of_the_plain_regex(seed: int) -> None:
    rng = random.Random(seed)
    raw = _text(rng, rng.randint(0, 80))
    for t in (fold_mod._translate(raw), "".join(rng.choice("ae iul\x00\x01sdnrtzhوفبكلاي ") for _ in range(60))):
        assert list(fold_mod._delete_spans(t)) == [m.span() for m in fold_mod._DELETE_FAST_RE.finditer(t)]


def test_the_folding_table_as_a_list_maps_every_character_as_the_dict() -> None:
    every = "".join(chr(c) for c in range(0x3100) if not 0xD800 <= c < 0xE000) + "\U0001f600\u3042"
    assert every.translate(fold_mod._TABLE_LIST) == every.translate(fold_mod._TABLE)


# ---- names: acronyms, name spans and cached local checks -------------------------------------------
@SETTINGS
@given(st.integers(0, 10**9))
def test_acronyms_are_found_as_by_the_plain_regex(linker: Linker, seed: int) -> None:
    text = _text(random.Random(seed), 120)
    assert linker._acronym_re is not None and linker._acronym_at is not None
    got = [m.span() for m in _finditer_at(linker._acronym_re, linker._acronym_at, text)]
    assert got == [m.span() for m in linker._acronym_re.finditer(text)]


@SETTINGS
@given(st.integers(0, 10**9))
def test_name_runs_looked_up_by_span_text_are_those_computed_in_place(linker: Linker, seed: int) -> None:
    rng = random.Random(seed)
    text = _text(rng, 150)
    spans = []
    for _ in range(rng.randint(0, 6)):
        s = rng.randint(0, len(text))
        spans.append((s, min(len(text), s + rng.randint(1, 20))))
    spans.sort()
    blocked: list[tuple[int, int]] = []
    for s, e in spans:  # disjoint, as the chosen blockers are
        if not blocked or s >= blocked[-1][1]:
            blocked.append((s, e))
    starts = [s for s, _ in blocked]
    plain = list(linker._free_segments(text, blocked, starts))
    assert list(linker._free_segments(text, blocked, starts, disjoint=True)) == plain
    assert list(linker._free_segments(text, blocked, starts, disjoint=True)) == plain  # from the cache


def test_a_conditioned_name_is_judged_in_each_text_not_from_an_earlier_one(linker: Linker) -> None:
    """Aliases with context conditions are never answered from the surface cache: the same name
    links in one text and not in the next, whatever came before."""
    texts = [
        "Pilgrims prayed in Karbala. The Prophet was remembered by every Muslim at the mosque.",
        "The Prophet Jeremiah appears in the old play staged downtown last night.",
        "Officials met in Tahrir Square in Baghdad after the vote.",
        "Crowds filled Tahrir Square in Cairo as Egypt voted.",
        "Mohammed was praised in the sermon about Islam and the Quran.",
        "Mohammed Smith scored twice for the home team on Sunday.",
    ]
    fresh = [Linker(load_gazetteer()).link(t) for t in texts]
    assert fresh[0] != [] and fresh[2] != []  # the conditions hold in these
    for _ in range(2):  # in both orders, twice: a context leaking through a cache would show
        assert [linker.link(t) for t in texts] == fresh
        assert [linker.link(t) for t in reversed(texts)] == list(reversed(fresh))


# ---- cleaning: residue rules ------------------------------------------------------------------------
RESIDUE = [r"(?<![+\d])\d{3,}\b", r"\b[0-9a-f]{2}-\d\b", r"(?i)\bab+c?", r"(?<=[ (])x\w*", r"(?<!a)b|ab",
           r"(?<![\]\\])z+"]


@SETTINGS
@given(st.integers(0, 10**9), st.sampled_from(RESIDUE))
def test_residue_rules_find_what_their_pattern_finds(seed: int, pattern: str) -> None:
    rng = random.Random(seed)
    rule = ResidueRule("x", re.compile(pattern), at=_start_pattern(re.compile(pattern)))
    assert rule.at is not None
    for _ in range(20):
        text = "".join(rng.choice("0123456789abcxz-+ (]\\AB") for _ in range(rng.randint(0, 40)))
        assert [m.span() for m in rule.finditer(text)] == [m.span() for m in rule.pattern.finditer(text)]
        assert rule.search(text) == (rule.pattern.search(text) is not None)


def test_a_residue_pattern_is_shortened_only_when_that_keeps_its_matches() -> None:
    def start(p: str) -> str | None:
        at = _start_pattern(re.compile(p))
        return at.pattern if at else None

    assert start(r"(?<![+\d])\d{13,}\b") == r"\d{13,}\b"
    assert start(r"(?i)\bcredit") == r"(?i)credit"
    assert start(r"(?<=(a))(b)\1") is None  # a group inside the lookbehind: the numbering would change
    assert start(r"\bx?") is None  # can match empty
    assert start(r"(?m)^\d+$") is None  # nothing to strip


# ---- cleaning: language and mojibake -----------------------------------------------------------------
LANG_WORDS = WORDS + ["le", "gouvernement", "dit", "que", "der", "Regierung", "sagte", "el", "gobierno", "dijo",
                      "الحكومة", "قالت", "hükümet", "açıkladı", "правительство", "заявило", "ΚΥΒΕΡΝΗΣΗ"]


@lru_cache(maxsize=1)
def _plain_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@SETTINGS
@given(st.integers(0, 10**9))
def test_the_word_walk_scores_languages_to_the_bit(seed: int) -> None:
    import numpy as np

    from transforms import lang

    rng = random.Random(seed)
    plain = _plain_identifier()
    ours = lang._identifier()
    assert type(ours) is not type(plain)  # the word walk is in use
    for _ in range(5):
        text = " ".join(rng.choice(LANG_WORDS) for _ in range(rng.randint(0, 120)))
        assert np.array_equal(ours._decide(text), plain._decide(text))


@SETTINGS
@given(st.integers(0, 10**9))
def test_mojibake_repair_line_by_line_is_ftfys(seed: int) -> None:
    import ftfy

    from transforms.decode import _fix_text, _ftfy_config

    rng = random.Random(seed)
    parts = ["plain words ", "caf\u00c3\u00a9 ", "it\u00e2\u0080\u0099s ", "\u201cquoted\u201d ", "\u00a0", "\x85",
             "na\u00efve ", "\n", "\n\n", "\u00c3", "ok"]
    text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 60)))
    assert _fix_text(text) == ftfy.fix_text(text, _ftfy_config())
