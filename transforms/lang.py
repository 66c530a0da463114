"""Language identification with py3langid, whose model ships inside the package (nothing downloaded)."""

from __future__ import annotations

from functools import lru_cache

# Only the first few KB decide the language; classifying whole long articles costs time for nothing.
_SAMPLE_CHARS = 4000
_MIN_LETTERS = 20


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """Return (ISO 639-1 code, probability), or (None, 0.0) when the text has too few letters to tell."""
    sample = text[:_SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < _MIN_LETTERS:
        return None, 0.0
    code, prob = _identifier().classify(sample)
    return str(code), float(prob)
