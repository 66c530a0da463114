"""Readable Latin transliteration of Arabic-script names, driven by the rule table ``translit.yaml``.

For names the gazetteer does not know: ``transliterate_arabic("عادل عبد المهدي")`` gives
``"Adil Abd al-Mahdi"``, whose :func:`~transforms.names.skeleton.skeleton_key` equals that of
"Adel Abdul Mahdi", so suggestions can cluster an Arabic spelling with its English ones. The
table's header documents the steps (whole words, prefixes, vowel patterns, letters); text that is
not Arabic script passes through unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

_ARABIC_RUN = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u200c]+")
# how the names folding unifies letters; used to look words and prefixes up in the table
_BARE = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك"})
_VOWEL_LETTERS = set("اأإآٱىو")  # letters that make the next و/ي a consonant (w/y)
_SHAPE = {
    "ا": "a",
    "و": "w",
    "ي": "y",
    "ی": "y",
    "ى": "A",
    "ة": "A",
    "أ": "A",
    "إ": "A",
    "آ": "A",
    "ٱ": "A",
}  # hamza on a seat (ء ئ ؤ) is a consonant


@dataclass(frozen=True, slots=True)
class _Pattern:
    shape: re.Pattern[str]
    after: int
    vowel: str


@dataclass(frozen=True, slots=True)
class TranslitTable:
    """The loaded rule table (see translit.yaml for what each part means)."""

    words: dict[str, str]
    lowercase: frozenset[str]
    prefixes: tuple[tuple[str, str], ...]  # longest first
    patterns: tuple[_Pattern, ...]
    initial: dict[str, str]
    initial_pairs: dict[str, str]
    final: dict[str, str]
    final_pairs: dict[str, str]
    glides: dict[str, tuple[str, str]]
    letters: dict[str, str]
    marks: dict[str, str]
    punctuation: dict[str, str]


def _bare(word: str) -> str:
    """Letters of a word without tashkeel, with alef forms, alef maqsura and ta marbuta unified."""
    return "".join(c for c in word if not ("\u064b" <= c <= "\u0652" or c == "\u0670")).translate(_BARE)


def parse_table(data: dict[str, Any]) -> TranslitTable:
    """Build a TranslitTable from the YAML mapping (raises ValueError on a malformed table)."""
    try:
        prefixes = sorted(((_bare(k), str(v)) for k, v in data["prefixes"].items()), key=lambda kv: -len(kv[0]))
        patterns = tuple(
            _Pattern(re.compile(p["shape"]), int(p["after"]), str(p["vowel"])) for p in data["vowel_patterns"]
        )
        glides = {k: (str(v[0]), str(v[1])) for k, v in data["glides"].items()}
        return TranslitTable(
            words={_bare(k): str(v) for k, v in data["words"].items()},
            lowercase=frozenset(data.get("lowercase") or ()),
            prefixes=tuple(prefixes),
            patterns=patterns,
            initial={k: str(v) for k, v in data["initial"].items()},
            initial_pairs={k: str(v) for k, v in data["initial_pairs"].items()},
            final={k: str(v) for k, v in data["final"].items()},
            final_pairs={k: str(v) for k, v in data["final_pairs"].items()},
            glides=glides,
            letters={k: str(v) for k, v in data["letters"].items()},
            marks={k: str(v) for k, v in data["marks"].items()},
            punctuation={k: str(v) for k, v in data["punctuation"].items()},
        )
    except (KeyError, TypeError, IndexError, re.error) as exc:
        raise ValueError(f"malformed transliteration table: {exc!r}") from exc


def default_table_path() -> Path:
    """Path of the packaged translit.yaml."""
    return Path(str(resources.files("transforms.names").joinpath("translit.yaml")))


@lru_cache(maxsize=4)
def load_table(path: str | None = None) -> TranslitTable:
    """Load the rule table (the packaged one by default)."""
    p = Path(path) if path else default_table_path()
    return parse_table(yaml.safe_load(p.read_text(encoding="utf-8")))


def _units(word: str) -> list[tuple[str, str]]:
    """A word as (letter, its tashkeel marks) pairs."""
    out: list[tuple[str, str]] = []
    for c in word:
        if ("\u064b" <= c <= "\u0652" or c == "\u0670") and out:
            out[-1] = (out[-1][0], out[-1][1] + c)
        elif not ("\u064b" <= c <= "\u0652" or c == "\u0670"):
            out.append((c, ""))
    return out


def _add_vowels(units: list[tuple[str, str]], t: TranslitTable) -> list[tuple[str, str]]:
    """Insert the vowel patterns' short vowels into an unvowelled word."""
    if any(m for _, m in units):
        return units  # the text is vowelled: trust it
    shape = "".join(_SHAPE.get(c, "C") for c, _ in units)
    out = list(units)
    for p in t.patterns:
        if p.shape.search(shape) and p.after < len(out):
            c, m = out[p.after]
            out[p.after] = (c, m + "\x00" + p.vowel)  # \x00: a guessed vowel, not a mark
    return out


def _letters(units: list[tuple[str, str]], t: TranslitTable) -> str:
    """Letter-by-letter transliteration of one word (no table word, no prefix)."""
    parts: list[str] = []
    n = len(units)
    i = 0
    if n >= 2 and not units[0][1] and units[0][0] + units[1][0] in t.initial_pairs:
        parts.append(t.initial_pairs[units[0][0] + units[1][0]] + _marks(units[1][1], "", t))
        i = 2
    end = n
    if n >= 4 and not units[-1][1] and not units[-2][1] and units[-2][0] + units[-1][0] in t.final_pairs:
        end = n - 2
    for k in range(i, end):
        c, m = units[k]
        prev_c = units[k - 1][0] if k else ""
        next_c = units[k + 1][0] if k + 1 < n else ""
        if c in t.glides and k > 0:
            consonant, vowel = t.glides[c]
            next_is_vowel = next_c in _VOWEL_LETTERS or next_c in t.glides or bool(m.replace("\u0651", ""))
            if k == n - 1 and c in t.final:
                out = t.final[c]
            else:
                out = consonant if (prev_c in _VOWEL_LETTERS or next_is_vowel) else vowel
        elif k == 0 and c in t.initial:
            out = t.initial[c]
        elif k == n - 1 and c in t.final:
            out = t.final[c]
        else:
            out = t.letters.get(c, t.punctuation.get(c, c))
        parts.append(_marks(m, out, t))
    if end < n:
        parts.append(t.final_pairs[units[-2][0] + units[-1][0]])
    return "".join(parts)


def _marks(marks: str, letter: str, t: TranslitTable) -> str:
    """A letter followed by its marks: shadda doubles it, vowels follow it; guessed vowels come last."""
    written, *guessed = marks.split("\x00")
    out = letter
    for c in written:
        v = t.marks.get(c, "")
        out = out + letter if v == "*" else out + v
    return out + "".join(guessed)


def _word(word: str, t: TranslitTable) -> str:
    """Transliteration of one Arabic-script word."""
    bare = _bare(word)
    if bare in t.words:
        return t.words[bare]
    for prefix, latin in t.prefixes:
        if bare.startswith(prefix) and len(bare) - len(prefix) >= 2:
            rest = _units(word)[len(prefix) :]
            rest_word = "".join(c + m for c, m in rest)
            return latin + _capitalise(_word(rest_word, t), t)
    return _capitalise(_letters(_add_vowels(_units(word), t), t), t)


def _capitalise(word: str, t: TranslitTable) -> str:
    if word in t.lowercase or word.startswith("al-"):
        return word
    for k, c in enumerate(word):
        if c.isalpha():
            return word[:k] + c.upper() + word[k + 1 :]
    return word


def transliterate_arabic(text: str, table: TranslitTable | None = None) -> str:
    """Latin transliteration of the Arabic-script words in text; other characters are kept."""
    t = table or load_table()
    # tatweel and the Persian zero-width non-joiner sit inside words: drop them first
    text = text.replace("\u0640", "").replace("\u200c", "")

    def run(m: re.Match[str]) -> str:
        words = re.split(r"([^\u0621-\u064a\u064b-\u0652\u0670\u0671-\u06d3]+)", m.group())
        out = []
        for w in words:
            if not w:
                continue
            if re.match(r"[\u0621-\u064a\u0671-\u06d3]", w) or re.match(r"[\u064b-\u0652\u0670]", w):
                out.append(_word(w, t))
            else:
                out.append("".join(t.punctuation.get(c, c) for c in w))
        return "".join(out)

    return _ARABIC_RUN.sub(run, text)
