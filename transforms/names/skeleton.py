"""Transliteration-aware skeleton keys for names, in the spirit of the Europe Media Monitor.

The EMM's name normalisation (Steinberger & Pouliquen) rewrites a name with a table of
transliteration rules so that spellings of one name produced by different transliteration
habits and by machine translation end up with one key. Ours works on a *folded* name (see
``fold.py``: lower case, no diacritics, no apostrophes/ayn, no article al-/el-, hyphens as
spaces) one token at a time, and the key of a name is the concatenation of its tokens' keys,
so ``Ahmadi-Nejad`` and ``Ahmadinejad`` agree.

Rewrites, applied in this order to each token:

| # | rule                                     | examples (all give one key)                       |
|---|------------------------------------------|---------------------------------------------------|
| 1 | ``abd al/abdul/abdel/abdol/abdil`` → abd | Abd al-Mahdi, Abdul-Mahdi, Abdel Mahdi            |
| 2 | ``ibn/ben/bin`` → bn                     | Husayn ibn Ali, Hussein bin Ali                   |
| 3 | endings ``-iyyah -iyah -iya -iyeh -iye -ia -ieh`` → ``Y`` | Nasiriyah, Nasiriya, Nasiria, Nasiriyeh |
| 4 | final ``-ah -eh`` → vowel (the ta marbuta) | Hillah, Hilla; Karbalaa                        |
| 5 | ``kh`` → h                               | Khamenei, Hamenei                                 |
| 6 | ``gh q k c ck g`` → k                    | Qassem, Kassem, Ghasem; Bagdad, Baghdad           |
| 7 | ``dh z d ḍ`` → d; ``th`` → t             | Kadhim, Kazim, Kadim                              |
| 8 | ``sh ch`` → s                            | Hashd, Hasd                                       |
| 9 | ``zh dj j`` → j                          | Ahmadinezhad, Ahmadinejad                         |
|10 | ``ph`` → f; ``v w`` → w; ``x`` → ks      | Mousavi, Musawi                                   |
|11 | doubled letters → one                    | Qassem, Qasem; Hussein, Husein                    |
|12 | vowels dropped; initial vowel → ``V``; initial ``y``+vowel kept | Soleimani, Suleimani; Erbil, Irbil |
|13 | ``h`` after a vowel at the end of a word dropped (with 4)  | Mousavi/Musavih              |

Rules 6–12 cover the spec's q/k/gh, ou/u/o, ee/i/y, e/i, doubled letters, dh/z/d, kh/h. The
key keeps only consonant classes, so it is coarse on purpose: a skeleton hit is a *candidate*,
confirmed by :func:`light_key` similarity (``matcher.py``), which keeps the vowels as classes.

Counter-examples (must not collapse) are in ``tests/test_names_fold.py``: Hassan/Hussein
share a skeleton but not a light key; Sadr/Sadrist, Mahdi/Mehdi Army are guarded elsewhere.
"""

from __future__ import annotations

import re
from functools import lru_cache

import yaml

from .fold import fold

_ABD = re.compile(r"^abd(?:ul|el|al|ol|il|ou)?(?=[a-z]{3})|^abd(?:ul|el|al|ol|il|u)$")
_ENDING = re.compile(r"(?<=[a-z]{2})(?:iyy?[aeiu]h?|iy[aeiu]|ia|ieh|iah)$")
_FINAL_H = re.compile(r"(?<=[aeiou])h$")
_PAIRS = [
    ("kh", "h"),
    ("gh", "k"),
    ("ck", "k"),
    ("dh", "d"),
    ("th", "t"),
    ("sh", "s"),
    ("ch", "s"),
    ("zh", "j"),
    ("dj", "j"),
    ("ph", "f"),
    ("ou", "u"),
    ("ee", "i"),
    ("x", "ks"),
]
_SINGLE = str.maketrans({"q": "k", "c": "k", "g": "k", "z": "d", "v": "w", "o": "u", "e": "i", "y": "i"})
_DOUBLE = re.compile(r"([a-z])\1+")
_VOWELS = re.compile(r"[aeiouy]+")


def _rewrite_consonants(tok: str) -> str:
    """Rules 1-11 on one folded token (vowels still there)."""
    if tok in ("ibn", "ben", "bin", "bn"):
        return "bn"
    tok = _ABD.sub("abd", tok)
    tok = _ENDING.sub("Y", tok)
    tok = _FINAL_H.sub("", tok)
    for a, b in _PAIRS:
        if a in tok:
            tok = tok.replace(a, b)
    return tok


@lru_cache(maxsize=65536)
def skeleton_token(tok: str) -> str:
    """Skeleton key of one folded token."""
    if not tok.isascii():
        return tok  # Arabic script: folding already did the work
    initial_y = tok.startswith("y") and len(tok) > 1 and tok[1] in "aeiou"
    t = _rewrite_consonants(tok)
    t = t.translate(_SINGLE)
    t = _DOUBLE.sub(r"\1", t)
    lead = ""
    if initial_y:
        lead, t = "y", t[1:]
    elif t[:1] in ("a", "e", "i", "o", "u", "y"):
        lead = "V"
    return lead + _VOWELS.sub("", t)


@lru_cache(maxsize=65536)
def light_token(tok: str) -> str:
    """Light key of one folded token: consonant rewrites plus vowel classes (a / i / u)."""
    if not tok.isascii():
        return tok
    t = _rewrite_consonants(tok)
    t = t.replace("ai", "i").replace("ay", "i").replace("ei", "i").replace("ey", "i")
    t = t.translate(_SINGLE)
    return _DOUBLE.sub(r"\1", t)


@lru_cache(maxsize=1)
def _conventions() -> tuple[tuple[str, re.Pattern[str], tuple[tuple[str, str], ...]], ...]:
    """National spelling conventions (``conventions`` of translit.yaml): (lang, detect, rewrites)."""
    from .translit import default_table_path

    data = yaml.safe_load(default_table_path().read_text(encoding="utf-8"))
    return tuple(
        (str(c["lang"]), re.compile(c["detect"]), tuple((str(a), str(b)) for a, b in c["rewrite"]))
        for c in data.get("conventions") or ()
    )


@lru_cache(maxsize=65536)
def convention_variant(tok: str) -> str | None:
    """tok respelled from its national orthography into the English press habit, or None.

    ``Nadschaf`` → ``najaf`` (German), ``Kasım`` → ``kasim`` (Turkish), ``Szulejmáni`` →
    ``sulejmáni`` → ``sulyemáni`` (Hungarian), ``Jamenei`` → ``khamenei`` (Spanish).
    """
    low = tok.lower()
    for _lang, detect, rewrites in _conventions():
        if detect.search(low):
            for a, b in rewrites:
                low = low.replace(a, b)
            return low if low != tok.lower() else None
    return None


def skeleton_key(name: str) -> str:
    """Skeleton key of a name (any spelling, not yet folded)."""
    return "".join(skeleton_token(t) for t in fold(name).split())


def light_key(name: str) -> str:
    """Light key of a name: like the skeleton but keeping vowel classes, for fuzzy confirmation."""
    return "".join(light_token(t) for t in fold(name).split())


def consonant_count(key: str) -> int:
    """Number of consonant classes in a skeleton key (its information content)."""
    return sum(1 for c in key if c != "V")
