"""Language identification with py3langid, whose model ships inside the package (nothing downloaded)."""

from __future__ import annotations

from functools import lru_cache

# Only the first few KB decide the language; classifying whole long articles costs time for nothing.
_SAMPLE_CHARS = 1200  # measured: 0.4 ms an article instead of 2.5 ms, same answers on the samples
_MIN_LETTERS = 20
# Most articles are told from their first few hundred characters: when the first _FIRST_CHARS
# already give one language a probability of _SURE, that answer stands and the rest of the sample
# is not read (the model's tables are large, so every byte read costs cache misses). Measured on
# 2,094 texts (synthetic corpus, seeds, real_dev, AEB and WCXB dev pages after cleaning): 97%
# stop early, every answer the same as from the whole sample (bench/clean_speed.py, BENCHMARKS.md).
_FIRST_CHARS = 500
_SURE = 0.9999

# py3langid 0.4 also answers with ISO 639-3 codes of varieties (Moroccan and Egyptian Arabic, ...).
# `articles.language` holds ISO 639-1 codes, so a variety counts for its macrolanguage, and their
# probabilities add up: MSA with a few Latin names splits between ar/ary/arz and must still be 'ar'.
_MACROLANGUAGE = {
    "ary": "ar",
    "arz": "ar",
    "sdh": "ku",
    "uzs": "uz",
    "gug": "gn",
    "fuv": "ff",
    "wuu": "zh",
    "yue": "zh",
}


# words seen with the state the walk entered them in (see _identifier); bounded, cleared when full
_WALK_CACHE_SIZE = 50_000


@lru_cache(maxsize=1)
def _identifier():
    from collections import Counter

    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]  # no stubs

    if not all(hasattr(LanguageIdentifier, a) for a in ("_raw_score", "_sparse_score")):
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    class WordWalk(LanguageIdentifier):  # type: ignore[misc]  # py3langid has no stubs
        """py3langid's identifier whose walk over the text's bytes goes a word at a time.

        py3langid counts byte n-grams by walking its automaton one byte at a time in Python
        (`visit_counts`). The walk through a word depends only on the state it enters the word in,
        so (state, word) -> (state after it, n-grams found) is remembered: the same n-grams in the
        same order, hence the same scores to the last bit, for a dictionary look-up per word."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._walk: dict[tuple[int, bytes], tuple[int, tuple[int, ...]]] = {}

        def _raw_score(self, text):
            walk = self._walk
            nm, rowbase, out = self.tk_nextmove, self._rowbase, self.tk_output
            state, found = 0, []
            words = text.split(b" ")
            last = len(words) - 1
            for i, word in enumerate(words):
                if i < last:
                    word += b" "
                key = (state, word)
                step = walk.get(key)
                if step is None:
                    s, feats = state, []
                    for byte in word:
                        s = nm[rowbase[s] + byte]
                        f = out[s]
                        if f >= 0:
                            feats.append(f)
                    step = (s, tuple(feats))
                    if len(walk) >= _WALK_CACHE_SIZE:
                        walk.clear()
                    walk[key] = step
                state = step[0]
                found.extend(step[1])
            if found:
                return self._sparse_score(Counter(found), self.nb_ptc)
            return super()._raw_score(text)  # no n-gram at all: py3langid's own answer

    return WordWalk.from_model_file(MODEL_FILE, norm_probs=True)


@lru_cache(maxsize=1)
def _columns() -> tuple[list[str], list[int], list[tuple[str, tuple[int, ...]]]] | None:
    """The identifier's score columns by answer: (codes answered by one column, those columns,
    [(macrolanguage, its columns)]); None when the installed py3langid has no `_decide`."""
    ident = _identifier()
    if not hasattr(ident, "_decide"):
        return None
    first: dict[str, int] = {}
    for col, code in enumerate(ident.nb_classes):
        first.setdefault(str(code), col)  # an aliased label's score is folded into its first column
    by_lang: dict[str, list[int]] = {}
    for code, col in first.items():
        by_lang.setdefault(_MACROLANGUAGE.get(code, code), []).append(col)
    single = [(lang, cols[0]) for lang, cols in by_lang.items() if len(cols) == 1]
    groups = [(lang, tuple(cols)) for lang, cols in by_lang.items() if len(cols) > 1]
    return [lang for lang, _ in single], [col for _, col in single], groups


def _has_letters(sample: str) -> bool:
    """At least _MIN_LETTERS letters; the count stops early (most texts start with words)."""
    head = sum(map(str.isalpha, sample[:64]))
    return head >= _MIN_LETTERS or head + sum(map(str.isalpha, sample[64:])) >= _MIN_LETTERS


def detect_language(text: str) -> tuple[str | None, float]:
    """Return (ISO 639-1 code, probability), or (None, 0.0) when the text has too few letters to tell.

    The first _FIRST_CHARS decide when they are sure (probability >= _SURE); otherwise, and for
    short texts, the answer is the one for the first _SAMPLE_CHARS."""
    sample = text[:_SAMPLE_CHARS]
    if not _has_letters(sample):
        return None, 0.0
    if len(sample) > _FIRST_CHARS:
        head = sample[:_FIRST_CHARS]
        if _has_letters(head):
            lang, prob = _detect_sample(head)
            if prob >= _SURE:
                return lang, prob
    return _detect_sample(sample)


def _detect_sample(sample: str) -> tuple[str | None, float]:
    """The language of a whole sample (with enough letters) and its probability."""
    columns = _columns()
    if columns is None:
        return _detect_ranked(sample)
    # The answer of _detect_ranked without ranking every language: one score per column, the
    # varieties of a macrolanguage added up in the order rank() lists them (best first).
    codes, cols, groups = columns
    scores = _identifier()._decide(sample).astype(float)  # a numpy array; rank() reads it as floats too
    totals = scores[cols]
    best = int(totals.argmax())
    lang, prob = codes[best], float(totals[best])
    ties = int((totals == prob).sum())
    for group, members in groups:
        total = 0.0
        for col in sorted(members, key=lambda c: (-scores[c], c)):
            total += float(scores[col])
        if total > prob:
            lang, prob, ties = group, total, 1
        elif total == prob:
            ties += 1
    if ties > 1:  # equal best scores: rank()'s order decides, as it always did
        return _detect_ranked(sample)
    return lang, min(1.0, prob)


def _detect_ranked(sample: str) -> tuple[str | None, float]:
    """detect_language through py3langid's public rank(): every language, best first."""
    totals: dict[str, float] = {}
    for code, prob in _identifier().rank(sample):
        lang = _MACROLANGUAGE.get(str(code), str(code))
        totals[lang] = totals.get(lang, 0.0) + float(prob)
    best = max(totals, key=lambda k: totals[k])
    return best, min(1.0, totals[best])
