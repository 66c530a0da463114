"""Link names in a text to gazetteer entities.

One :class:`Linker` is built per gazetteer and reused; ``Linker(g).link(text)`` returns the
mentions of ``text`` sorted by offset. The stages, and the ``method`` each one records:

1. ``exact`` / ``arabic`` — every folded alias in ONE pyahocorasick pass over the folded text
   (``fold.py``); blockers ("Sadr City") and calques ride in the same automaton.
   ``acronym`` — acronyms by one case-sensitive regex over the original text.
   Overlaps are resolved longest-first, so "Kata'ib Hezbollah" beats "Hezbollah" and
   "Sadr City" (a blocker) beats "Sadr".
2. ``skeleton`` — capitalised name spans nobody claimed are cut into n-grams whose skeleton
   key (``skeleton.py``) is looked up; a hit is confirmed when the light keys are similar
   (rapidfuzz ratio) and no other entity of the same type is closer.
   ``fuzzy`` — multi-word spans with no skeleton hit are compared with the multi-word names
   (rapidfuzz), again confirmed within type.
3. ``coref`` — a surname alone links to the entity named in full earlier in the article, or
   to the gazetteer's unique holder of that surname; not when a given name precedes it
   (another person) or a word like City/Army follows it.
4. ``calque`` — word-for-word translations ("the engineer") with their context conditions;
   a calque standing in apposition to a mention of the same entity is not counted again.

Topical support (pages outside the topic): weak forms — acronyms of three letters or fewer, one
respelt word of at most six letters, aliases marked ``weak``, a regional figure's surname alone
without a full name earlier or a title — link only when the article also has a strong mention of
a topical entity, one of the gazetteer's ``topical_words``, or a strong mention of the same entity.

Aliases, acronyms and calques may carry `when:` conditions (``context.py``); those that
only look at the neighbouring text are tested before overlaps are resolved, those that need
the article's other mentions after stage 2.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no stubs
from rapidfuzz import fuzz, process

from ..records import Mention
from .context import Placed, PlacedIndex, holds, needs_article
from .fold import _UPPER, TR_SUFFIX, fold, fold_key, fold_with_map
from .gazetteer import Gazetteer, NameSpec
from .skeleton import consonant_count, convention_variant, light_token, skeleton_token

# Thresholds, measured on the generalisation variants and on the seeds' unclaimed names
# (tests/test_names_generalization.py): true variants score >= 80 on the light key; the
# closest wrong pairs (Hassan/Hussein, Gaza/Kazi) stay below 70.
SKELETON_MIN_RATIO = 72.0  # light-key ratio that confirms a skeleton hit
SHORT_SKELETON_MIN_RATIO = 90.0  # ... when the key has fewer than 3 consonants
SINGLE_WORD_MIN_RATIO = 85.0  # ... when the name is one word (Mileage is not Maliki)
MIN_SKELETON_CONSONANTS = 2
FUZZY_MIN_RATIO = 88.0  # light-key ratio for a multi-word fuzzy match
FUZZY_MIN_CHARS = 8  # ... of a name with a light key at least this long
FUZZY_WORD_MIN_RATIO = 75.0  # ... where only one word differs, and by at most this much
SHORT_RESPELT_MAX_CHARS = 6  # a respelt single word this short needs topical support (Terra, Sadly, Shader)
TYPE_MARGIN = 3.0  # another entity of the same type closer than this: ambiguous, no link
MAX_NGRAM = 8
VOWEL_DRIFT_MIN_RATIO = 100.0  # one word, 3+ consonants: equal once a/e/i are one vowel class
_LUMP = str.maketrans({"e": "a", "i": "a", "y": "a"})

SCORES = {"exact": 1.0, "arabic": 1.0, "acronym": 0.95, "calque": 0.9, "coref": 0.85}

_PRIORITY = {"blocker": 0, "alias": 1, "arabic": 1, "acronym": 1, "calque": 2, "surname": 3, "given": 4}
_ARABIC_CHAR = re.compile(r"[\u0600-\u06ff]")
_CLITICS = set("وفبلك")
_ARTICLE_BEFORE = re.compile(
    r"(?:^|[^\w'’])((?:al|el|ad|an|ar|as|ash|at|ath|adh|az|ul|ed|en|er|es|esh|et|ez)[-‐‑] ?|(?:al|el) )$", re.IGNORECASE
)
# the last character of what _ARTICLE_BEFORE matches ("$" also matches before a final newline)
_ARTICLE_LAST = "-‐‑ \n"
_CAP = rf"[{_UPPER}](?:\w|['’ʿʾ](?=\w))*"
_ART = r"(?:(?:[Aa]l|[Ee]l|[Aa][dnrstz]|[Aa]sh|[Uu]l|[Ee][dnrstz]|[Ee]sh)[-‐‑] ?)"
_NAME = rf"{_ART}?{_CAP}"
_CONNECTOR = r"(?:bin|ibn|bint|abu|abd|de|of|the|al|el|ul)"
_SPAN_RE = re.compile(
    # a name starts after a non-word character, or after an elided article (d'Abou, l'Irak, dell'Iran)
    rf"(?=[{_UPPER}])(?:(?<![\w'’])|(?<=(?<!\w)[dDlL]['’])|(?<=(?<!\w)[Qq]u['’])|(?<=ll['’])|(?<=gl['’]))"
    rf"{_NAME}(?:(?:[-‐‑](?:e|i|ye)[-‐‑ ]|(?:[ \t]+|[-‐‑])(?:{_CONNECTOR}[ \t]+){{0,2}}){_NAME})*"
)
_TOKEN_RE = re.compile(r"[^\W\d_](?:\w|['’ʿʾ](?=\w))*")
_VOWEL_END = set("aeiouyY")
_ARTICLE_TOKENS = {"al", "el", "ad", "an", "ar", "as", "ash", "at", "az", "ul", "ed", "es", "et", "ez", "er"}
# folding drops the article and marks; a mention still spans the whole written name: its article
# («بالنجف» → «النجف», the proclitic stays out) and its final hamza and tashkeel («كربلاءَ»)
_AR_MARKS = "\u064b-\u065f\u0670\u0640"
_AR_ARTICLE_BEFORE = re.compile(rf"(?:^|(?<=[\s\W\d_])|(?<=[وفبك]))(?:[ا\u0671][{_AR_MARKS}]*ل[{_AR_MARKS}]*)$")
_AR_TAIL = re.compile(rf"[{_AR_MARKS}\u0621]+")
# a Turkish case suffix after an apostrophe closing a name token (Süleymani'nin): not part of the name
_TR_TAIL = re.compile(rf"['’´ʼ]{TR_SUFFIX}$")
# inflections glued to a place name (Hungarian cases, German genitive, Romanian article) or to a person's name
# (German genitive): the mention covers the name only. Latin keys only, folded (no accents).
GLUED_SUFFIXES = {
    "PLACE": (
        "s",
        "ban",
        "ben",
        "ba",
        "be",
        "bol",
        "rol",
        "ra",
        "re",
        "nak",
        "nek",
        "val",
        "vel",
        "hoz",
        "hez",
        "on",
        "en",
        "tol",
        "ig",
        "ot",
        "et",
        "ert",
        "nal",
        "nel",
        # Romanian definite article and genitive on a city (Bagdadul, Teheranului)
        "ul",
        "ului",
    ),
    "PERSON": ("s",),
}
# Cyrillic and Greek case endings glued to a name ending in a consonant (Багдаде, Тегерана) or a vowel (Βαγδάτης)
_CYRILLIC_SUFFIXES = ("а", "у", "е", "ом", "ой", "ы", "и", "ю", "я", "ем")
_GREEK_SUFFIXES = ("ς", "ν")
# articles and honorifics that are not a given name ("Prophet Muhammad", "Imam Hussein")
_GIVEN_SKIP = {
    "al",
    "el",
    "as",
    "es",
    "ad",
    "an",
    "ar",
    "at",
    "az",
    "ash",
    "аль",
    "ас",
    "эль",
    "αλ",
    "ibn",
    "bin",
    "imam",
    "imame",
    "iman",
    "nabi",
    "peygamber",
    "profeta",
    "profetul",
    "prophete",
    "prophet",
    "пророк",
    "имам",
    "seyyed",
    "sayyid",
    "hz",
    "hazreti",
    "sheikh",
}
_TITLE_COMPLEMENT = re.compile(
    r"^\s*(?:of|de|du|des|del|della|di|da|do|der)\s+(?:(?:the|la|le|l'|el)\s*)?(?:[A-ZÀ-Þ][\w'’-]*\s*){1,3}(?=,)"
)
# words that join two mentions rather than put one in apposition to the other
_CONJUNCTIONS = {
    "and",
    "or",
    "et",
    "ou",
    "y",
    "o",
    "und",
    "oder",
    "e",
    "ve",
    "veya",
    "și",
    "sau",
    "en",
    "of",
    "و",
    "او",
    "أو",
}
_DETERMINER_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:the|der|die|das|des|dem|den|ein|eine|eines|einem|einen|le|la|les|du|de|del|el|los|las|il|lo|gli"
    r"|os|as|do|da|dos|het|een)[ \t]+$"
)
_PREV_WORD_HYPHEN = re.compile(r"(?<![\w-])([^\W\d_]\w*)$")
_PREV_WORD = re.compile(r"([^\W\d_][\w.'’-]*)[ \t]+$")
# used with .match(text, pos): no "^", which never matches at pos > 0
_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_]\w*)")


@dataclass(slots=True)
class _Cand:
    start: int
    end: int
    specs: list[int]  # indices into Linker._specs, in priority order
    method: str
    score: float


def _case_letters(s: str) -> str:
    """Letters of s without diacritics, case kept (for case-sensitive aliases)."""
    return "".join(c for c in unicodedata.normalize("NFD", s) if c.isalpha() and not unicodedata.combining(c))


# the same names are found again and again: what only depends on a surface is computed once for it
_cached_case_letters = lru_cache(maxsize=65536)(_case_letters)


@lru_cache(maxsize=65536)
def _has_upper(s: str) -> bool:
    """s has a capital letter (names have capitals)."""
    return any(ch.isupper() for ch in s)


def _finditer_at(rx: re.Pattern[str], at: re.Pattern[str], text: str) -> Iterable[re.Match[str]]:
    """`rx.finditer(text)`, trying rx only where `at` matches (it must match wherever rx can start,
    and rx never matches empty)."""
    pos = 0
    while (c := at.search(text, pos)) is not None:
        m = rx.match(text, c.start())
        if m is None:
            pos = c.start() + 1
        else:
            yield m
            pos = m.end()


def _arabic_word_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen an Arabic match over the article before it and the marks and hamza after it."""
    m = _AR_ARTICLE_BEFORE.search(text, max(0, start - 8), start)
    if m:
        start = m.start()
    t = _AR_TAIL.match(text, end)
    if t:
        end = t.end()
    return start, end


class Linker:
    """Links names in texts to the entities of one gazetteer."""

    def __init__(self, gazetteer: Gazetteer):
        self.gazetteer = gazetteer
        self._types = {e.entity_id: e.type for e in gazetteer.entities}
        self._coref_policy = {e.entity_id: e.coref for e in gazetteer.entities}
        self._topical = {e.entity_id: e.topical for e in gazetteer.entities}
        words = sorted(gazetteer.topical_words, key=len, reverse=True)
        self._topical_re = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + ")", re.IGNORECASE) if words else None
        )
        self._titles = {t.rstrip(".") for t in gazetteer.titles}
        self._name_stop = set(gazetteer.name_stopwords)
        self._stop = self._name_stop | self._titles
        self._blocked_next = set(gazetteer.coref_blocked_if_followed_by)
        self._blocked_prev = set(gazetteer.coref_blocked_if_preceded_by)
        self._acronym_blocked_next = set(gazetteer.acronym_blocked_if_followed_by)
        self._specs: list[NameSpec] = gazetteer.all_names()
        self._specs += self._given_names()
        self._case: dict[int, str] = {}
        self._build_automaton()
        # every name as written in the gazetteer, folded: a skeleton hit on one of them is not a respelling
        self._exact_keys = {fold_key(sp.name) for sp in self._specs if sp.entity_id is not None}
        self._build_acronyms()
        self._build_skeletons()
        self._segment_cache: dict[tuple[str, ...], list[tuple[int, int, int, str, float]]] = {}
        # _local_ok of a name with no condition and not weak (or a surname) looks at its surface only
        self._context_free = [sp.kind == "surname" or (not sp.when and not sp.weak) for sp in self._specs]
        self._keep_cache: dict[tuple[tuple[int, ...], str, bool], tuple[int, ...]] = {}
        self._span_cache: dict[str, list[list[tuple[int, int, str]]]] = {}

    # ------------------------------------------------------------------ building

    def _given_names(self) -> list[NameSpec]:
        """Given names and kunyas of persons ("Qais", "Chris", "Abu Mahdi"), from their full names.

        They link only after the entity's full name in the same article (see _coref). A given name
        shared by two entities ("Ali"), or that is already a name of anything, is left out.
        """
        taken = {fold(sp.name) for sp in self._specs}
        found: dict[str, set[str]] = {}
        forms: dict[str, str] = {}
        for e in self.gazetteer.entities:
            if e.type != "PERSON":
                continue
            for sp in e.names:
                if sp.kind != "alias" or sp.when or sp.case_sensitive:
                    continue
                # a two-word name (articles aside): "Qais al-Khazali", "Chris Stevens", "Abu Mahdi al-Muhandis"
                words = [w for w in sp.name.replace("-", " ").split() if fold(w) not in _GIVEN_SKIP]
                kunya = fold(words[0]) in ("abu", "abou", "ebu")
                if len(words) != 2 + kunya or words[0].rstrip(".") in self._stop:
                    continue
                n = 2 if kunya else 1
                given = " ".join(words[:n])
                key = fold(given)
                if len(key.replace(" ", "")) < 4 or not words[n - 1][:1].isupper() and not _ARABIC_CHAR.search(given):
                    continue
                found.setdefault(key, set()).add(e.entity_id)
                forms.setdefault(key, given)
        return [
            NameSpec(forms[k], next(iter(eids)), "given")
            for k, eids in sorted(found.items())
            if len(eids) == 1 and k not in taken
        ]

    def _build_automaton(self) -> None:
        keys: dict[str, list[int]] = {}
        for i, spec in enumerate(self._specs):
            if spec.kind == "acronym":
                continue
            key = fold_key(spec.name)
            if not key:
                continue
            if spec.case_sensitive:
                self._case[i] = _case_letters(spec.name)
            keys.setdefault(key, []).append(i)
        self._auto = ahocorasick.Automaton()
        inflected: dict[str, tuple[list[int], int]] = {}
        for key, idx in keys.items():
            idx.sort(key=lambda i: _PRIORITY[self._specs[i].kind])
            arabic = bool(_ARABIC_CHAR.search(key))
            pattern = (key + " ") if arabic else (" " + key + " ")
            self._auto.add_word(pattern, (len(pattern), tuple(idx), arabic, 0))
            if not arabic:
                for suffix in self._glued_suffixes(key, idx):
                    if key + suffix not in keys:
                        inflected.setdefault(key + suffix, ([], len(suffix)))[0].extend(idx)
        for key, (idx, cut) in inflected.items():
            pattern = " " + key + " "
            self._auto.add_word(pattern, (len(pattern), tuple(idx), False, cut))
        self._auto.make_automaton()

    def _glued_suffixes(self, key: str, idx: list[int]) -> tuple[str, ...]:
        """Inflections that may be glued to the folded name `key` (see GLUED_SUFFIXES)."""
        specs = [self._specs[i] for i in idx if self._specs[i].kind in ("alias", "surname")]
        if not specs or len(specs) != len(idx) or any(s.when for s in specs) or len(key) < 4:
            return ()
        types = {self._types[s.entity_id] for s in specs if s.entity_id}
        last = key[-1]
        if "\u0400" <= last <= "\u04ff":
            return _CYRILLIC_SUFFIXES if last not in "аеиоуыэюяй" else ()
        if "\u0370" <= last <= "\u03ff":
            return _GREEK_SUFFIXES if last in "αεηιουω" else ()
        if not key.isascii() or len(types) != 1:
            return ()
        (etype,) = types
        if etype == "PERSON" and (len(key) < 5 or last in "sxz"):
            return ()
        return GLUED_SUFFIXES.get(etype, ())

    def _build_acronyms(self) -> None:
        forms: dict[str, list[int]] = {}
        for i, spec in enumerate(self._specs):
            if spec.kind == "acronym":
                forms.setdefault(spec.name, []).append(i)
        self._acronyms = forms
        if forms:
            alt = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
            self._acronym_re: re.Pattern[str] | None = re.compile(rf"(?<![\w.&-])(?:{alt})(?![\w&]|\.\w)")
            # where a match can start: the forms alone, which `re` finds by their first letters (the
            # pattern above starts with a lookbehind, so `re` would try it at every offset)
            self._acronym_at: re.Pattern[str] | None = re.compile(alt)
        else:
            self._acronym_re = self._acronym_at = None

    def _build_skeletons(self) -> None:
        """Index Latin aliases and surnames by skeleton key; light keys per type for confirmation."""
        self._skel: dict[str, list[tuple[str, str, int]]] = {}
        self._type_lights: dict[str, tuple[list[str], list[str]]] = {}
        multi: dict[int, list[tuple[str, str, int]]] = {}
        skeleton_ok = {e.entity_id for e in self.gazetteer.entities if e.skeleton}
        for i, spec in enumerate(self._specs):
            if spec.kind not in ("alias", "surname") or spec.entity_id is None:
                continue
            words = fold(spec.name).split()
            if not words or not all(w.isascii() for w in words):
                continue
            light = "".join(light_token(w) for w in words)
            lights, eids = self._type_lights.setdefault(self._types[spec.entity_id], ([], []))
            lights.append(light)
            eids.append(spec.entity_id)
            if spec.entity_id not in skeleton_ok:
                continue
            key = "".join(skeleton_token(w) for w in words)
            if consonant_count(key) >= MIN_SKELETON_CONSONANTS:
                self._skel.setdefault(key, []).append((spec.entity_id, light, i))
            if len(words) >= 2 and spec.kind == "alias":
                multi.setdefault(len(words), []).append((light, spec.entity_id, i))
        # fuzzy matching compares names with the same number of words ("Hussein Ali" is not
        # "Husayn ibn Ali" with a word lost)
        self._multi = multi
        self._multi_lights = {n: [m[0] for m in ms] for n, ms in multi.items()}

    # ------------------------------------------------------------------ linking

    def link(self, text: str, named: Iterable[str] = ()) -> list[Mention]:
        """Mentions of gazetteer entities in text, sorted by start offset.

        `named`: entity ids the same article already names elsewhere (link the body first, then
        pass its entities for the title and the dateline): a surname, given name or calque that
        needs an earlier full name finds it there ("Maliki asks for help" over a body that names
        Nouri al-Maliki).
        """
        if not text or not text.strip():
            return []
        cands = self._exact_candidates(text) + self._acronym_candidates(text)
        chosen = self._resolve_overlaps(cands)
        kind = {id(c): self._specs[c.specs[0]].kind for c in chosen}
        blocked = sorted((c.start, c.end) for c in chosen if kind[id(c)] == "blocker")
        covered = {(c.start, c.end) for c in chosen if kind[id(c)] not in ("surname", "given")}
        # a longer unseen spelling beats the exact names inside it ("Katta'ib Hezbollah");
        # `chosen` do not overlap, so their starts and ends are both sorted
        skeletal = []
        starts = [c.start for c in chosen]
        gone: set[int] = set()
        for sc, spec in self._skeleton_candidates(text, blocked, covered):
            k = bisect_left(starts, sc.start)
            if k > 0 and chosen[k - 1].end > sc.start:
                k -= 1
            inside = []
            while k < len(chosen) and chosen[k].start < sc.end:
                if id(chosen[k]) not in gone:
                    inside.append(chosen[k])
                k += 1
            if all(
                kind[id(c)] in ("surname", "given")
                or (sc.start <= c.start and c.end <= sc.end and c.end - c.start < sc.end - sc.start)
                for c in inside
            ):
                skeletal.append((sc, spec))
                gone.update(id(c) for c in inside)
        if gone:
            chosen = [c for c in chosen if id(c) not in gone]
        direct: list[Mention] = []
        weak: list[bool] = []
        pending: list[tuple[_Cand, NameSpec]] = []
        for c, spec in [(c, self._specs[c.specs[0]]) for c in chosen] + skeletal:
            if spec.kind == "blocker":
                continue
            if spec.kind in ("surname", "given", "calque") or needs_article(spec.when):
                pending.append((c, spec))
            else:
                direct.append(self._mention(text, c, spec))
                weak.append(self._weak(text, c, spec))
        # topical support: a strong mention of an entity tied to the region, here or in the rest
        # of the article; without it, weak forms ("Terra", "AQI", a given name Hilla) are not names
        support = (
            not (pending or any(weak))  # nothing to decide
            or any(not w and self._topical[m.entity_id] for m, w in zip(direct, weak, strict=True))
            or any(self._topical.get(e, False) for e in named)
            or (self._topical_re is not None and self._topical_re.search(text) is not None)
        )
        if not support:
            # a weak form still links after a strong mention of its own entity ("the United Nations ... the UN")
            own = {m.entity_id for m, w in zip(direct, weak, strict=True) if not w}
            direct = [m for m, w in zip(direct, weak, strict=True) if not w or m.entity_id in own]
        return self._resolve_pending(text, direct, pending, named, support)

    @staticmethod
    def _short_word(text: str, start: int, end: int) -> bool:
        """One short word: respelt, it reads as many things ("Terra", "Hilly", "Sadly"); a longer
        word ("Hizbulluh") or a name of two words ("Qassem Solleimani") does not."""
        words = [t for t in _TOKEN_RE.findall(text, start, end) if t.lower() not in _ARTICLE_TOKENS]
        return len(words) < 2 and sum(len(w) for w in words) <= SHORT_RESPELT_MAX_CHARS

    def _weak(self, text: str, c: _Cand, spec: NameSpec) -> bool:
        """A form that also reads as something else: it links only with topical support."""
        if spec.weak:
            return True
        if c.method in ("skeleton", "fuzzy"):
            return self._short_word(text, c.start, c.end)
        return c.method == "acronym" and sum(ch.isalpha() for ch in text[c.start : c.end]) <= 3

    def _mention(self, text: str, c: _Cand, spec: NameSpec, entity_id: str | None = None) -> Mention:
        eid = entity_id or spec.entity_id
        assert eid is not None  # noqa: S101 - narrows the type for mypy
        return Mention(c.start, c.end, text[c.start : c.end], eid, c.method, round(c.score, 4))

    def _exact_candidates(self, text: str) -> list[_Cand]:
        ft = fold_with_map(text)
        padded = " " + ft.text + " "
        # FoldedText.span_to_original, inlined: this loop runs for every alias found in every article
        fstarts, ostarts = ft.fold_starts, ft.orig_starts
        specs, keep_cache, context_free = self._specs, self._keep_cache, self._context_free
        out: list[_Cand] = []
        for end_i, (plen, idx, arabic, cut) in self._auto.iter(padded):
            start_i = end_i - plen + 1
            if arabic:
                fs, fe = start_i - 1, end_i - 1
                if not self._arabic_left_ok(padded, start_i):
                    continue
            else:
                fs, fe = start_i, end_i - 1 - cut
            k = bisect_right(fstarts, fs) - 1
            os_ = ostarts[k] + (fs - fstarts[k])
            k = bisect_right(fstarts, fe - 1) - 1
            oe = ostarts[k] + (fe - 1 - fstarts[k]) + 1
            if arabic:
                os_, oe = _arabic_word_span(text, os_, oe)
            elif os_ > 0 and text[os_ - 1] in _ARTICLE_LAST:
                m = _ARTICLE_BEFORE.search(text, max(0, os_ - 6), os_)
                if m:
                    os_ = m.start(1)
            surface = text[os_:oe]
            if not arabic and os_ > 0 and text[os_ - 1].isalpha():
                # glued to the word before ("theSaddam Hussein"): a full name, or a surname after
                # a lower-case word ("forSoleimani"), never after a capitalised one ("McSadr")
                lower_glue = text[os_ - 1].islower()
                idx = tuple(i for i in idx if specs[i].kind == "alias" or (lower_glue and specs[i].kind != "calque"))
            ck = (idx, surface, arabic)
            known = keep_cache.get(ck)
            if known is not None:
                keep = list(known)
            else:
                keep = [i for i in idx if self._local_ok(i, surface, text, os_, oe, arabic)]
                if all(context_free[i] for i in idx):
                    # the answer depends on the surface alone: the same for every text
                    if len(keep_cache) > 50_000:
                        keep_cache.clear()
                    keep_cache[ck] = tuple(keep)
            if keep:
                method = "arabic" if arabic else ("calque" if specs[keep[0]].kind == "calque" else "exact")
                out.append(_Cand(os_, oe, keep, method, SCORES[method]))
        return out

    @staticmethod
    def _arabic_left_ok(padded: str, start_i: int) -> bool:
        """Arabic names may follow a space or up to two proclitic letters (و ف ب ل ك)."""
        j = start_i - 1
        n = 0
        while j >= 0 and padded[j] in _CLITICS and n < 3:
            j -= 1
            n += 1
        return n <= 2 and (j < 0 or padded[j] == " ")

    def _local_ok(self, i: int, surface: str, text: str, start: int, end: int, arabic: bool = False) -> bool:
        spec = self._specs[i]
        if not arabic and spec.kind not in ("calque", "blocker", "acronym"):
            if not _has_upper(surface):
                return False  # "an islamic state", "the independent": names have capitals
            want = self._case.get(i)
            if want is not None and _cached_case_letters(surface) != want:
                return False
        if spec.kind == "surname":
            return True  # a surname's condition is a support for coreference, weighed in _coref
        if spec.weak and not arabic:
            nxt = _NEXT_WORD.match(text, end, min(len(text), end + 40))
            w = nxt.group(1) if nxt else ""
            if w[:1].isupper() and w not in self._stop and w not in self._blocked_next:
                return False  # a weak name that is also a given name, then a surname: "Hilla Becher"
        return holds(spec.when, text, start, end, local_only=True)

    def _acronym_candidates(self, text: str) -> list[_Cand]:
        if self._acronym_re is None or self._acronym_at is None:
            return []
        out = []
        for m in _finditer_at(self._acronym_re, self._acronym_at, text):
            idx = self._acronyms[m.group()]
            nxt = _NEXT_WORD.match(text, m.end(), min(len(text), m.end() + 40))
            if nxt and nxt.group(1) in self._acronym_blocked_next:
                continue  # "the UN Foundation", "an IS Bank": a thing named after it
            keep = [i for i in idx if holds(self._specs[i].when, text, m.start(), m.end(), local_only=True)]
            if keep:
                score = SCORES["acronym"] if len(m.group()) > 2 else 0.8
                out.append(_Cand(m.start(), m.end(), keep, "acronym", score))
        return out

    @staticmethod
    def _resolve_overlaps(cands: list[_Cand]) -> list[_Cand]:
        """Keep the longest candidates that do not overlap (earlier start wins a tie)."""
        cands.sort(key=lambda c: (-(c.end - c.start), c.start))
        if not cands:
            return []
        taken = bytearray(max(c.end for c in cands) + 1)  # one byte per character: linear
        kept: list[_Cand] = []
        for c in cands:
            if taken.find(1, c.start, c.end) >= 0:
                continue
            taken[c.start : c.end] = b"\x01" * (c.end - c.start)
            kept.append(c)
        kept.sort(key=lambda c: c.start)
        return kept

    # ------------------------------------------------------------------ skeleton and fuzzy

    def _skeleton_candidates(
        self, text: str, blocked: list[tuple[int, int]], covered: set[tuple[int, int]]
    ) -> list[tuple[_Cand, NameSpec]]:
        out: list[tuple[_Cand, NameSpec]] = []
        # the blockers are chosen candidates: they do not overlap
        for segment in self._free_segments(text, blocked, [s for s, _ in blocked], covered, disjoint=True):
            key = tuple(t for _, _, t in segment)
            hits = self._segment_cache.get(key)
            if hits is None:
                hits = self._match_segment(key)
                if len(self._segment_cache) > 200_000:
                    self._segment_cache.clear()
                self._segment_cache[key] = hits
            for i, j, spec_i, method, score in hits:
                start, end = segment[i][0], segment[j - 1][1]
                if text[end - 2 : end] in ("'s", "’s"):
                    end -= 2
                spec = self._specs[spec_i]
                surface = text[start:end]
                if spec.kind != "surname" and not holds(spec.when, text, start, end, local_only=True):
                    continue
                if spec.case_sensitive and not any(ch.isupper() for ch in surface):
                    continue
                out.append((_Cand(start, end, [spec_i], method, score), spec))
        return out

    def _free_segments(
        self,
        text: str,
        occupied: list[tuple[int, int]],
        occ_starts: list[int],
        covered: set[tuple[int, int]] | None = None,
        disjoint: bool = False,
    ) -> Iterable[list[tuple[int, int, str]]]:
        """Runs of capitalised name tokens outside the occupied spans (a span equal to a covered one is skipped).

        `disjoint`: no two occupied spans overlap (then a name span clear of them is looked up by its text)."""
        for m in _SPAN_RE.finditer(text):
            s0, e0 = m.span()
            if (covered and (s0, e0) in covered) or m.group() in self._stop:
                continue
            k = bisect_left(occ_starts, e0)
            # quick skip: an occupied span covers the whole name span
            if k > 0 and occupied[k - 1][0] <= s0 and occupied[k - 1][1] >= e0:
                continue
            if disjoint and (k == 0 or occupied[k - 1][1] <= s0):
                # nothing occupied in the span (the occupied spans do not overlap, so the last one
                # starting before its end ends last): its runs depend on its text alone
                for rel in self._span_runs(m.group()):
                    yield [(s0 + ts, s0 + te, tok) for ts, te, tok in rel]
                continue
            yield from self._runs(text, s0, e0, occupied, occ_starts)

    def _span_runs(self, span: str) -> list[list[tuple[int, int, str]]]:
        """The runs of name tokens of one name span with nothing occupied in it, offsets into the span."""
        runs = self._span_cache.get(span)
        if runs is None:
            runs = list(self._runs(span, 0, len(span), [], []))
            if len(self._span_cache) > 50_000:
                self._span_cache.clear()
            self._span_cache[span] = runs
        return runs

    def _runs(
        self, text: str, s0: int, e0: int, occupied: list[tuple[int, int]], occ_starts: list[int]
    ) -> Iterable[list[tuple[int, int, str]]]:
        """The runs of name tokens of the name span [s0, e0) of text, outside the occupied spans."""
        seg: list[tuple[int, int, str]] = []
        pending_article: int | None = None
        for t in _TOKEN_RE.finditer(text, s0, e0):
            ts, te = t.span()
            tok = t.group()
            tail = _TR_TAIL.search(tok) if "'" in tok or "’" in tok or "´" in tok or "ʼ" in tok else None
            if tail:
                tok = tok[: tail.start()]
                te = ts + len(tok)
            j = bisect_left(occ_starts, te)
            if j > 0 and occupied[j - 1][1] > ts:
                if seg:
                    yield seg
                seg, pending_article = [], None
                continue
            if tok.lower() in _ARTICLE_TOKENS and te < e0 and text[te] in "-‐‑ ":
                pending_article = ts
                continue
            if (
                (not seg and tok in self._stop and tok.rstrip(".") not in self._titles)
                or (len(tok) > 1 and tok.isupper())
                or _has_upper(tok[1:])
            ):
                # leading titles and stop words are not part of the name; acronyms are exact-only
                if seg:
                    yield seg
                seg, pending_article = [], None
                continue
            seg.append((pending_article if pending_article is not None else ts, te, tok))
            pending_article = None
        while seg and (seg[-1][2] in self._stop or seg[-1][2][:1].islower()):
            seg.pop()
        if seg:
            yield seg

    def _match_segment(self, toks: tuple[str, ...]) -> list[tuple[int, int, int, str, float]]:
        """Skeleton/fuzzy hits in a run of name tokens: (i, j, spec index, method, score)."""
        folded = [fold(t) for t in toks]
        skel = ["".join(skeleton_token(w) for w in f.split()) for f in folded]
        light = ["".join(light_token(w) for w in f.split()) for f in folded]
        n = len(toks)
        # the same tokens respelled from a national orthography (Nadschaf, Kasım, Szulejmáni), tried
        # when the token's own key finds nothing
        variants = [convention_variant(t) for t in toks]
        if any(v is not None for v in variants):
            vfolded = [fold(v) if v is not None else f for v, f in zip(variants, folded, strict=True)]
            vskel = ["".join(skeleton_token(w) for w in f.split()) for f in vfolded]
            vlight = ["".join(light_token(w) for w in f.split()) for f in vfolded]
        else:
            vskel = vlight = []
        # words that make a name of their own: not titles, not connectors
        n_names = sum(1 for t in toks if t[:1].isupper() and t.rstrip(".") not in self._titles)
        lower = [t[:1].islower() for t in toks]
        # a name n-gram neither starts nor ends with a stop word or a one- or two-letter word
        edge_bad = [len(t) <= 2 or (t in self._name_stop) for t in toks]
        taken = [False] * n
        hits: list[tuple[int, int, int, str, float]] = []
        for size in range(min(n, MAX_NGRAM), 0, -1):
            for i in range(0, n - size + 1):
                j = i + size
                if any(taken[i:j]):
                    continue
                if lower[i] or lower[j - 1]:
                    continue  # an n-gram neither starts nor ends with "of", "bin", "e"
                if size >= 2 and (edge_bad[i] or edge_bad[j - 1]):
                    continue  # "Photos By Sarah" is a byline, not Basra
                if size == 1 and consonant_count(skel[i]) < 3 and len(toks[i]) < 5:
                    continue  # "Days" is not Daesh
                if size == 1 and (n_names > 1 or len(toks[i]) < 4):
                    continue  # one word of a longer name is someone else's; short words collide
                hit = self._skeleton_hit("".join(skel[i:j]), "".join(light[i:j]), size == 1)
                if hit is None and vskel and any(v is not None for v in variants[i:j]):
                    hit = self._skeleton_hit("".join(vskel[i:j]), "".join(vlight[i:j]), size == 1)
                if hit is None and size >= 2 and len(toks[i]) > 1 and len(toks[j - 1]) > 1:
                    words = sum(len(f.split()) for f in folded[i:j])
                    hit = self._fuzzy_hit("".join(light[i:j]), words, [w for f in folded[i:j] for w in f.split()])
                if hit is not None:
                    spec_i, method, score = hit
                    hits.append((i, j, spec_i, method, score))
                    for k in range(i, j):
                        taken[k] = True
        return hits

    def _skeleton_hit(self, key: str, light: str, single: bool = False) -> tuple[int, str, float] | None:
        cands = self._skel.get(key)
        if not cands:
            return None
        best = max(cands, key=lambda c: fuzz.ratio(light, c[1]))
        ratio = fuzz.ratio(light, best[1])
        need = SKELETON_MIN_RATIO if consonant_count(key) >= 3 else SHORT_SKELETON_MIN_RATIO
        if single:
            need = max(need, SINGLE_WORD_MIN_RATIO)
        if ratio < need and single and consonant_count(key) >= 3:
            # vowel drift a/e/i in one word (Najef, Karbela, Nasariya: Persian, Turkish and French
            # vowelling): the same word once a, e and i are one class, u/o kept apart (Hassan/Hussein)
            lumped = fuzz.ratio(light.translate(_LUMP), best[1].translate(_LUMP))
            if lumped >= VOWEL_DRIFT_MIN_RATIO:
                ratio = max(ratio, need)
        if ratio < need or (light[-1:] in _VOWEL_END) != (best[1][-1:] in _VOWEL_END):
            return None  # Malik/Maliki, Hill/Hilla: a final vowel (nisba -i, ta marbuta) is part of the name
        if not self._type_confirms(light, best[0], ratio):
            return None
        return best[2], "skeleton", 0.95 * ratio / 100

    def _fuzzy_hit(self, light: str, words: int, tokens: list[str]) -> tuple[int, str, float] | None:
        """A typo in a long multi-word name: one word differs a little, the others have its light key."""
        choices = self._multi_lights.get(words)
        if len(light) < FUZZY_MIN_CHARS or not choices:
            return None
        res = process.extractOne(light, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_RATIO)
        if res is None:
            return None
        _, ratio, k = res
        _, eid, spec_i = self._multi[words][k]
        mine = [light_token(t) for t in tokens]
        theirs = [light_token(t) for t in fold(self._specs[spec_i].name).split()]
        differ = [(a, b) for a, b in zip(mine, theirs, strict=False) if a != b]
        if len(mine) != len(theirs) or len(differ) > 1:
            return None  # "Abbas Abdel-Hussein" is not "Husayn ibn Ali": the rest of the name must match
        if differ and (min(len(differ[0][0]), len(differ[0][1])) < 4 or fuzz.ratio(*differ[0]) < FUZZY_WORD_MIN_RATIO):
            return None
        if not self._type_confirms(light, eid, ratio):
            return None
        return spec_i, "fuzzy", 0.9 * ratio / 100

    def _type_confirms(self, light: str, eid: str, ratio: float) -> bool:
        """No other entity of the same type has a name as close as (ratio - TYPE_MARGIN)."""
        lights, eids = self._type_lights[self._types[eid]]
        for _, _score, k in process.extract(
            light, lights, scorer=fuzz.ratio, score_cutoff=ratio - TYPE_MARGIN, limit=None
        ):
            if eids[k] != eid:
                return False
        return True

    # ------------------------------------------------------------------ coreference and calques

    def _resolve_pending(
        self,
        text: str,
        direct: list[Mention],
        pending: list[tuple[_Cand, NameSpec]],
        named: Iterable[str] = (),
        support: bool = True,
    ) -> list[Mention]:
        if not pending:
            return sorted(direct, key=lambda m: m.start)  # nothing to resolve against the others
        placed = PlacedIndex(Placed(m.start, m.end, m.entity_id) for m in direct)
        for other in named:
            placed.add(Placed(-(10**9), -(10**9), other))  # named elsewhere in the article, far before this text
        out = list(direct)
        order = {"alias": 0, "arabic": 0, "acronym": 0, "surname": 1, "given": 1, "calque": 2}
        pending.sort(key=lambda p: (order.get(p[1].kind, 0), p[0].start))
        for c, spec in pending:
            if spec.kind in ("surname", "given"):
                held = {i for i in c.specs if holds(self._specs[i].when, text, c.start, c.end, placed)}
                eid = self._coref(text, c, placed, held, support)
                if eid is None:
                    continue
                m = Mention(
                    c.start,
                    c.end,
                    text[c.start : c.end],
                    eid,
                    "coref",
                    round(SCORES["coref"] * (c.score if c.method != "exact" else 1.0), 4),
                )
            else:
                ok = [i for i in c.specs if holds(self._specs[i].when, text, c.start, c.end, placed)]
                if not ok:
                    continue
                spec = self._specs[ok[0]]
                if spec.kind == "calque" and self._appositive(text, c, spec.entity_id, placed):
                    continue
                if not support and self._weak(text, c, spec):
                    continue
                m = self._mention(text, c, spec)
            out.append(m)
            placed.add(Placed(m.start, m.end, m.entity_id))
        out.sort(key=lambda m: m.start)
        return out

    def _coref(self, text: str, c: _Cand, placed: PlacedIndex, held: set[int], support: bool = True) -> str | None:
        """Entity that a lone surname refers to, or None."""
        surface = text[c.start : c.end]
        if not _ARABIC_CHAR.search(surface):
            if not surface[:1].isupper() and not (surface[:3].lower() in ("al-", "el-") and surface[3:4].isupper()):
                return None
            titled = False
            if c.start > 1 and text[c.start - 1] in "-‐‑":
                before = _PREV_WORD_HYPHEN.search(text, max(0, c.start - 30), c.start - 1)
                if before and before.group(1)[:1].isupper() and before.group(1) not in self._stop:
                    return None  # "Abdel-Hussein", "Mir-Mousavi": the end of a compound name ("pro-Sadr" is not)
            prev = _PREV_WORD.search(text, max(0, c.start - 40), c.start)
            if prev:
                w = prev.group(1).rstrip(".")
                if w in self._blocked_prev:
                    return None  # "Movimiento Sadr", "Ciudad Sadr": a thing named after the person
                noun = _DETERMINER_BEFORE.search(text, max(0, prev.start() - 12), prev.start()) is not None
                given = self._specs[c.specs[0]].kind == "given"
                if w[:1].isupper() and w not in self._stop and w.split("-")[-1] not in self._stop and (
                    given or not noun
                ):
                    # "Maryam Rajavi", "Mir-Hossein Mousavi": another person; but a capitalised word
                    # after an article is a noun ("des Generals Soleimani", "der Tod Soleimanis"). A given
                    # name stands first in a name: after any capitalised word it is part of another one
                    # ("the Mohammed Qasem highway")
                    return None
                titled = w in self._titles or prev.group(1) in self._titles
            nxt = _NEXT_WORD.match(text, c.end, min(len(text), c.end + 40))
            if nxt and nxt.group(1) in self._blocked_next:
                return None
            if nxt and self._specs[c.specs[0]].kind == "given" and nxt.group(1)[:1].isupper():
                return None  # "Qais Smith": a given name followed by another surname
        else:
            titled = False
        holders: list[str] = list(dict.fromkeys(eid for i in c.specs if (eid := self._specs[i].entity_id) is not None))
        earlier = placed.latest_before(holders, c.start)
        if earlier is not None:
            return earlier
        if self._specs[c.specs[0]].kind == "given":
            return None  # a given name or kunya alone: only after the full name
        respelt = c.method != "exact" and fold_key(surface) not in self._exact_keys
        respelt = respelt and self._short_word(text, c.start, c.end)
        if respelt or not support and not titled and any(self._topical[e] for e in holders):
            # a respelt surname ("Sadly", "Shader") only after the full name; an exact one of a
            # regional figure only in an article with topical support ("Souleymane" in a film review)
            return None
        # without a full name earlier: the unique holder, if the surname's own condition holds; for
        # an ambiguous surname (after_full) a title right before it, or its condition ("Maliki" in a
        # text about Iraq's politics, not about Islamic law)
        unique = self._coref_policy[holders[0]] == "unique" if len(holders) == 1 else False
        supported = {eid for i in held if self._specs[i].when and (eid := self._specs[i].entity_id)}
        if len(supported) == 1:
            return supported.pop()  # "Hussein" near Ashura and Karbala: the Imam, not Saddam
        if len(holders) == 1 and held and (unique or titled):
            # an ambiguous surname ("Maliki" is also a school of law) needs a full name earlier
            # or a title right before it ("Prime Minister Maliki")
            return holders[0]
        return None

    def _appositive(self, text: str, c: _Cand, eid: str | None, placed: PlacedIndex) -> bool:
        """A calque next to a mention of the same entity, separated by commas, spaces or titles."""
        if eid is None:
            return False
        for ps, pe in placed.spans(eid, c.start - 440, c.end + 41):
            if ps >= c.end and ps - c.end <= 40:
                gap = text[c.end : ps]
            elif pe <= c.start and c.start - pe <= 40:
                gap = text[pe : c.start]
            else:
                continue
            if ps >= c.end:
                # "the supreme leader of the Islamic Republic, Ali Khamenei": the title's complement
                gap = _TITLE_COMPLEMENT.sub("", gap, count=1)
            words = [w.rstrip(".") for w in re.split(r"[\s,]+", gap) if w]
            if all(w in self._titles for w in words):
                return True
            # "le guide suprême iranien, l'ayatollah Ali Khamenei": adjectives and elided titles
            if (
                len(words) <= 4
                and not re.search(r"[.;:!?()\[\]]", gap)
                and all(not w[:1].isupper() and w not in _CONJUNCTIONS for w in words)
                # set off by a comma ("le guide suprême iranien, l'ayatollah ..."), or uncased
                # Arabic adjectives ("المرشد الإيراني علي خامنئي"); not "the Leader met Khamenei"
                and ("," in gap or not any(w[:1].islower() for w in words))
            ):
                return True
        return False

    # ------------------------------------------------------------------ suggestions

    def unclaimed_names(self, text: str, mentions: list[Mention] | None = None) -> list[tuple[int, int, str]]:
        """Capitalised name spans that no mention claims: (start, end, surface), for suggestions."""
        ms = self.link(text) if mentions is None else mentions
        occupied = sorted((m.start, m.end) for m in ms)
        out = []
        for seg in self._free_segments(text, occupied, [s for s, _ in occupied]):
            start, end = seg[0][0], seg[-1][1]
            out.append((start, end, text[start:end]))
        return out
