"""The cheaper cleaning of issue 20 gives the answers of the plain computation it replaces.

The near-duplicate check prunes pairs with exact necessary conditions (an upper bound of
partial_ratio from LCS lengths); these tests hold it to the plain filter chain run on every pair,
on generated paragraphs (our own sentences, reworded at random).
"""

from __future__ import annotations

import os
import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from transforms.clean import _near_duplicates, _partial_ratio_bound, load_rules
from transforms.clean.lines import Line, split_lines

SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SENTENCES = [
    "The committee met on Monday to discuss the budget for the coming year.",
    "Farmers in the northern valley said the rains had come late again this spring.",
    "A spokesman for the ministry declined to comment on the report.",
    "The new bridge over the river will open to traffic next month, officials said.",
    "Residents complained that the power cuts lasted for most of the afternoon.",
    "Teachers gathered outside the school to ask for higher wages and better books.",
    "The museum reopened its doors after two years of careful restoration work.",
    "Prices at the central market rose sharply during the holiday week.",
    "Several roads were closed after the storm brought down trees and power lines.",
    "The festival drew visitors from across the region despite the cold weather.",
]


def _plain_near_duplicates(lines: list[Line], threshold: int = 80, min_words: int = 12) -> list[tuple[int, int]]:
    """The whole filter chain on every pair, without shortcuts: the reference."""
    paras = []
    for line in lines:
        s = line.stripped
        if s.count(" ") + 1 < min_words:
            continue
        bits = {hash(w) & 1023 for w in set(s.lower().split())}
        content = {w for w in re.findall(r"\w+", s.lower()) if len(w) > 3}
        paras.append((line, bits, content))
    out = []
    for j in range(1, len(paras)):
        line_j, bits_j, words_j = paras[j]
        for i in range(j):
            _, bits_i, words_i = paras[i]
            if 2 * len(bits_i & bits_j) < min(len(bits_i), len(bits_j)):
                continue
            if len(words_i & words_j) < 0.6 * min(len(words_i), len(words_j)):
                continue
            a, b = sorted((paras[i][0].stripped, line_j.stripped), key=len)
            if fuzz.ratio(a, b) < 50:
                continue
            if fuzz.partial_ratio(a, b) >= threshold:
                lead = len(line_j.text) - len(line_j.text.lstrip())
                out.append((line_j.start + lead, line_j.start + lead + len(line_j.stripped)))
                break
    return out


def _reword(sentence: str, rng: random.Random) -> str:
    """Drop, double or swap a few words, so the sentence still reads close to the original."""
    words = sentence.split()
    for _ in range(rng.randint(0, 4)):
        k = rng.randrange(len(words))
        op = rng.random()
        if op < 0.4 and len(words) > 4:
            del words[k]
        elif op < 0.7:
            words.insert(k, words[k])
        else:
            m = rng.randrange(len(words))
            words[k], words[m] = words[m], words[k]
    return " ".join(words)


def _article(rng: random.Random) -> str:
    paras: list[str] = []
    for _ in range(rng.randint(2, 12)):
        roll = rng.random()
        if paras and roll < 0.35:  # a reworded repeat of an earlier paragraph, whole or in part
            earlier = rng.choice(paras).split(". ")
            cut = rng.randint(1, len(earlier))
            paras.append(". ".join(_reword(s, rng) for s in earlier[:cut]))
        elif roll < 0.45:  # twelve words and more, none longer than three letters
            paras.append(" ".join(rng.choice(["a", "an", "the", "of", "to", "and", "we", "as"]) for _ in range(14)))
        else:
            paras.append(" ".join(rng.sample(SENTENCES, rng.randint(1, 5))))
    return "\n\n".join(paras) + "\n"


def test_near_duplicates_equal_the_plain_chain_on_generated_articles() -> None:
    rules = load_rules()
    rng = random.Random(20)
    flagged = 0
    for _ in range(300):
        lines = split_lines(_article(rng))
        expected = _plain_near_duplicates(lines)
        assert _near_duplicates(lines, rules) == expected
        flagged += len(expected)
    assert flagged > 50  # the generator does produce near-duplicates, so the test can tell


_TEXT = st.text(alphabet="ab c", min_size=1, max_size=150)


@SETTINGS
@given(_TEXT, _TEXT)
def test_partial_ratio_bound_is_an_upper_bound(x: str, y: str) -> None:
    a, b = sorted((x, y), key=len)
    assert _partial_ratio_bound(a, b) + 1e-9 >= fuzz.partial_ratio(a, b)


@SETTINGS
@given(
    st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=4),
    st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=6),
    st.integers(0, 2**32),
)
def test_partial_ratio_bound_on_sentences(left: list[str], right: list[str], seed: int) -> None:
    rng = random.Random(seed)
    x = " ".join(_reword(s, rng) for s in left)
    y = " ".join(right)
    a, b = sorted((x, y), key=len)
    assert _partial_ratio_bound(a, b) + 1e-9 >= fuzz.partial_ratio(a, b)


NOISY_LINES = [
    "Advertisement",
    "  728 x 90",
    "Share this article",
    "The clip 1234567890123 was shown on the screen of the town hall (Credit: City Archive/Staff)",
    "  The clip 1234567890123 was shown on the screen of the town hall (Credit: City Archive/Staff)",
    "asset 0b6e2c1a-9f3d-4c2e-8a1b-5d4e3f2a1b0c",
    "",
    *SENTENCES,
]


def test_line_memo_gives_the_answers_of_a_fresh_pass() -> None:
    """The per-article memo of line rules and residue matches (kept between cleaning passes)
    answers as a fresh computation, for the same line text at other offsets too."""
    from transforms.clean.lines import mark_noise_lines, mark_residue

    rules = load_rules()
    rng = random.Random(4)
    memo: tuple[dict, dict] = ({}, {})
    for _ in range(40):
        text = "\n".join(rng.choice(NOISY_LINES) for _ in range(rng.randint(1, 12)))
        results = []
        for use in (None, memo):
            lines = split_lines(text)
            removed: dict[int, str] = {}
            partial: list[tuple[int, int, str]] = []
            mark_noise_lines(lines, rules, removed, use[0] if use else None)
            mark_residue(lines, removed, partial, rules, use[1] if use else None)
            results.append((removed, sorted(partial)))
        assert results[0] == results[1]
    assert memo[0] and memo[1]


LANGUAGE_TEXTS = [
    "The committee met on Monday to discuss the budget for the coming year, officials said.",
    "Le comité s'est réuni lundi pour discuter du budget de l'année prochaine, selon les responsables.",
    "Der Ausschuss traf sich am Montag, um über den Haushalt für das kommende Jahr zu beraten.",
    "اجتمعت اللجنة يوم الاثنين لمناقشة ميزانية العام المقبل، حسبما قال مسؤولون في بغداد.",
    "اجتمعت اللجنة يوم الاثنين في Basra مع وفد من Reuters لمناقشة ميزانية العام المقبل.",
    "کمیته روز دوشنبه برای بررسی بودجه سال آینده تشکیل جلسه داد.",
    "Комитет собрался в понедельник, чтобы обсудить бюджет на следующий год.",
    "委员会周一开会讨论明年的预算，官员们表示会议进展顺利。",
    "Komite, gelecek yılın bütçesini görüşmek üzere pazartesi günü toplandı.",
    "ab 12 cd",
    "",
]


def test_language_answers_as_the_ranked_languages() -> None:
    """_detect_sample reads the score columns directly; its answers (code and probability) are
    those of adding up py3langid's rank() as before, on whole texts and on slices of them."""
    from transforms.lang import _detect_ranked, _detect_sample

    rng = random.Random(9)
    texts = [*LANGUAGE_TEXTS, " ".join(LANGUAGE_TEXTS), " ".join(SENTENCES)]
    texts += [t[rng.randrange(len(t)) :][: rng.randint(5, 80)] for t in texts if t for _ in range(10)]
    for text in texts:
        if sum(map(str.isalpha, text)) >= 20:
            assert _detect_sample(text) == _detect_ranked(text), text


def test_language_of_the_first_characters_is_that_of_the_sample() -> None:
    """detect_language stops after the first _FIRST_CHARS when they are sure; the language is the
    one of the whole sample, and a mixed text still gets the answer of the whole sample."""
    from transforms.lang import _FIRST_CHARS, _SAMPLE_CHARS, _detect_ranked, detect_language

    for text in LANGUAGE_TEXTS[:9]:
        long = " ".join(text for _ in range(60))
        assert len(long) > _SAMPLE_CHARS
        assert detect_language(long)[0] == _detect_ranked(long[:_SAMPLE_CHARS])[0]
    # a head that is not sure (two languages) is not the answer: the whole sample decides
    mixed = " ".join(LANGUAGE_TEXTS[k % 3] for k in range(20))
    assert _detect_ranked(mixed[:_FIRST_CHARS])[1] < 0.9999
    assert detect_language(mixed) == _detect_ranked(mixed[:_SAMPLE_CHARS])


def test_whole_text_search_is_used_only_for_patterns_a_line_edge_cannot_change() -> None:
    from transforms.clean.rules import _line_context_free

    for pattern, free in [
        (r"\d{13,}", True),
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}\b", True),
        (r"(?i)\(\s*credits?\s*:[^()\n]{0,120}\)", True),
        (r"(?<![+\d])\d{13,}", False),
        (r"(?m)^\d{3} x \d{2}$", False),
        (r"\AREF\d{4}", False),
        (r"ab(?=c)", False),
        (r"x(?:y|(?:z(?!w))+)", False),
    ]:
        assert _line_context_free(re.compile(pattern)) is free, pattern


def test_residue_whole_text_search_finds_what_the_lines_find(tmp_path) -> None:
    """mark_residue given the whole text skips only rules that match nowhere in it: the marks
    are those of a search line by line, with anchored and plain user patterns."""
    from transforms.clean.lines import mark_residue

    extra = tmp_path / "rules.yaml"
    extra.write_text(
        "residue:\n"
        "  - name: residue_ref_at_line_start\n"
        "    pattern: '\\AREF\\d{4}'\n"
        "  - name: residue_tag\n"
        "    pattern: 'zz\\d{5}zz'\n",
        encoding="utf-8",
    )
    rules = load_rules(extra)
    assert [r.whole_text for r in rules.residue][-2:] == [False, True]
    pool = [*NOISY_LINES, "REF1234 was the number on the second file", "the tag zz12345zz stays in the text"]
    rng = random.Random(11)
    marked = 0
    for _ in range(60):
        text = "\n".join(rng.choice(pool) for _ in range(rng.randint(1, 10)))
        results = []
        for whole in (None, text):
            lines = split_lines(text)
            removed: dict[int, str] = {}
            partial: list[tuple[int, int, str]] = []
            mark_residue(lines, removed, partial, rules, {}, whole)
            results.append((removed, sorted(partial)))
        assert results[0] == results[1]
        marked += len(results[0][1])
    assert marked > 20


def test_the_near_duplicate_signature_is_the_same_in_every_process():
    """The paragraph signature must not depend on Python's per-process string hash seed: the same article
    cleaned by two runs (or two worker processes) must be flagged the same way."""
    import subprocess
    import sys

    code = (
        "from transforms.clean import _Para; from transforms.clean.lines import split_lines;"
        "line = split_lines('Rain fell on the quiet harbour town all through the long grey night.')[0];"
        "print(sorted(_Para(line, set()).bits()))"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1
