"""Suggest clusters of spellings of names that no gazetteer entity claims (pure; no I/O).

1. **Candidates** (:class:`CandidateCollector`): over the whole corpus, the capitalised name
   spans that no mention claims (``Linker.unclaimed_names``), grouped by their folded form
   (``fold.py``: "Hamid al-Kaabi" and "Hamid Al-Kaabi" are one spelling), with counts and the
   sentence of the first occurrence. Leading words that the corpus also writes in lower case
   ("Yesterday", "Spokesman") are cut off, and one-word spans that are ordinary words are dropped.
2. **Blocking** (:func:`block_keys`): each spelling is filed under its *coarse key*, the
   skeleton key (``skeleton.py``) without ``w h y`` (the letters transliterations add and drop
   most: Ghazwan/Ghazouan, Mashhadani/Mashadani), and under that key with one letter deleted.
   Only spellings sharing a block are compared, so the cost grows with the block sizes, not
   with the square of the number of spellings.
3. **Confirmation** (:func:`same_name`): light keys (vowel classes kept) compared with
   rapidfuzz, word by word when both names have as many words, so that one differing given
   name (Hassan/Hussein Jaburi) keeps two people apart.
4. **Clustering** (:func:`cluster_spellings`): confirmed pairs are merged best first
   (union-find), never joining two spellings that a decision rejected as a pair. One-word
   spellings then join the one cluster whose last words they match, as surnames.

A cluster's id is a hash of its members' folded spellings, so it is the same in every run
over the same corpus, and names exactly the spellings a person was shown.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from rapidfuzz import fuzz

from ..records import Mention
from .fold import fold
from .skeleton import light_key, light_token, skeleton_token

# Thresholds, set on the hand-made variants in tests/test_suggest.py (never on the OFAC bench).
WORD_MIN_RATIO = 70.0  # two words with one coarse key: light-key ratio (Hassan/Hussein is 60)
WORD_MIN_RATIO_OTHER_KEY = 85.0  # ... with different coarse keys (Salwa/Salma is 80)
NAME_MIN_RATIO = 80.0  # whole names with as many words, light keys run together
SPLIT_MIN_RATIO = 88.0  # whole names with different word counts (Abdul-Jabbar / Abduljabbar)
MIN_DELETION_KEY = 4  # coarse keys this long are also filed with one letter deleted
MAX_BLOCK = 400  # a deletion block larger than this is too common a key to mean anything
MAX_EXAMPLE_CHARS = 240

_DROP_COARSE = str.maketrans("", "", "whyV")
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z'’]+(?![\w'’])")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s|\n\s*\n")  # hard-wrapped lines are not sentence ends
_POSSESSIVE = re.compile(r"['’]s$")
_WORD = re.compile(r"\S+")
_ACRONYM = re.compile(r"(?<![\w'’])[A-Z0-9]{2,6}(?![\w'’])")


# ----------------------------------------------------------------------------- keys


def words_of(name: str) -> list[str]:
    """Folded words of a name (article al-/el- and apostrophes gone)."""
    return fold(name).split()


def coarse_token(word: str) -> str:
    """Coarse key of one folded word: its skeleton without w, h, y and the initial-vowel mark."""
    return skeleton_token(word).translate(_DROP_COARSE)


def coarse_key(name: str) -> str:
    """Coarse key of a name: its words' coarse keys run together."""
    return "".join(coarse_token(w) for w in words_of(name))


def block_keys(name: str) -> set[str]:
    """Blocking keys of a name: the coarse key, and it with one letter deleted when long enough."""
    return block_keys_of(coarse_key(name))


def block_keys_of(key: str) -> set[str]:
    """A coarse key and, when long enough, its one-letter deletions."""
    if not key:
        return set()
    keys = {key}
    if len(key) >= MIN_DELETION_KEY:
        keys |= {key[:i] + key[i + 1 :] for i in range(len(key))}
    return keys


def same_name(a: str, b: str) -> float | None:
    """How alike two spellings are (0-100) when they look like one name, else None."""
    if _ACRONYM.search(a) or _ACRONYM.search(b):
        return None  # acronyms are not transliterated: only the same letters are the same
    wa, wb = words_of(a), words_of(b)
    if not wa or not wb:
        return None
    if len(wa) == len(wb):
        return _same_words(wa, wb, NAME_MIN_RATIO)
    # a split or joined word (Abdul-Jabbar / Abduljabbar), not a word more (Abu Karim Saadi / Karim Saadi):
    # joining neighbouring words of the longer name must give the shorter one, word for word
    long_, short = (wa, wb) if len(wa) > len(wb) else (wb, wa)
    if len(long_) > 8:
        return None
    best = None
    for joined in _joinings(long_, len(short)):
        score = _same_words(joined, short, SPLIT_MIN_RATIO)
        if score is not None and (best is None or score > best):
            best = score
    return best


def _same_words(wa: Sequence[str], wb: Sequence[str], need_whole: float) -> float | None:
    """Score of two names with as many words, or None when a word or the whole differs too much."""
    la = [light_token(w) for w in wa]
    lb = [light_token(w) for w in wb]
    whole = fuzz.ratio("".join(la), "".join(lb))
    if whole < need_whole:
        return None
    for x, y, lx, ly in zip(wa, wb, la, lb, strict=True):
        need = WORD_MIN_RATIO if coarse_token(x) == coarse_token(y) else WORD_MIN_RATIO_OTHER_KEY
        if fuzz.ratio(lx, ly) < need:
            return None
    return whole


def _joinings(words: Sequence[str], k: int) -> Iterator[list[str]]:
    """Every way to join neighbouring words so that k words remain."""
    n = len(words)
    for cuts in combinations(range(1, n), k - 1):
        bounds = (0, *cuts, n)
        yield ["".join(words[bounds[i] : bounds[i + 1]]) for i in range(k)]


# ----------------------------------------------------------------------------- candidates


@dataclass
class Spelling:
    """One folded spelling of an unclaimed name, with how it was written and where."""

    key: str  # folded form (words joined by one space)
    text: str  # the most frequent written form
    count: int = 0
    n_articles: int = 0
    example: str = ""  # the sentence of its first occurrence
    example_article: str = ""
    forms: dict[str, int] = field(default_factory=dict)  # written form -> count

    @property
    def n_words(self) -> int:
        return len(self.key.split())


@dataclass
class _Raw:
    count: int = 0
    articles: set[str] = field(default_factory=set)
    example: str = ""
    example_article: str = ""


def sentence_around(text: str, start: int, end: int, limit: int = MAX_EXAMPLE_CHARS) -> str:
    """The sentence that holds text[start:end], cut to about `limit` characters around it."""
    left = 0
    for m in _SENTENCE_END.finditer(text, max(0, start - limit), start):
        left = m.end()
    stop = _SENTENCE_END.search(text, end)
    right = stop.start() + 1 if stop else len(text)
    s, e = left, right
    if e - s > limit:
        half = (limit - (end - start)) // 2
        s, e = max(left, start - half), min(right, end + half)
    snippet = " ".join(text[s:e].split())
    return ("…" if s > left else "") + snippet + ("…" if e < right else "")


class CandidateCollector:
    """Collects unclaimed name spans over many articles; `spellings()` gives the candidates."""

    def __init__(self, linker, known_keys: Iterable[str] = ()):
        self.linker = linker
        gaz = linker.gazetteer
        # titles and stop words (Iraqi, Minister, Monday) are never the first or last word of a new name
        self._stop = {w.rstrip(".") for w in set(gaz.titles) | set(gaz.name_stopwords)}
        self.known = set(known_keys)  # folded names the gazetteer already has (e.g. just accepted)
        self._raw: dict[str, _Raw] = {}
        self._lower: set[str] = set()
        self.n_articles = 0

    def add(self, article_id: str, text: str, mentions: Sequence[Mention] | None = None) -> None:
        """Add one article's unclaimed names (mentions: the stored ones; None links the text)."""
        if not text:
            return
        self.n_articles += 1
        self._lower.update(w.lower() for w in _LOWER_WORD.findall(text))
        for start, end, surface in self.linker.unclaimed_names(text, list(mentions) if mentions is not None else None):
            raw = self._raw.setdefault(surface, _Raw())
            raw.count += 1
            raw.articles.add(article_id)
            if not raw.example:
                raw.example = sentence_around(text, start, end)
                raw.example_article = article_id

    def _trim(self, surface: str) -> str:
        """The span without leading ordinary words, titles and stop words at either end
        ("Yesterday Hamid al-Kaabi" -> "Hamid al-Kaabi", "Iraqi Prime Minister" -> "")."""
        words = [w for w in _WORD.findall(surface.strip()) if w]
        words = [_POSSESSIVE.sub("", w) for w in words]
        while words and (self._is_stop(words[0]) or (len(words) > 1 and self._ordinary(words[0]))):
            words.pop(0)
        while words and self._is_stop(words[-1]):
            words.pop()
        return " ".join(words)

    def _is_stop(self, word: str) -> bool:
        return word.rstrip(".,;:") in self._stop

    def _ordinary(self, word: str) -> bool:
        w = word.lower().strip(",.;:")
        return w in self._lower

    def unclaimed_keys(self) -> set[str]:
        """Folded forms of every unclaimed span seen, known names included."""
        return {fold(self._trim(surface)) for surface in self._raw}

    def spellings(self) -> list[Spelling]:
        """Candidate spellings, one per folded form, most frequent first."""
        out: dict[str, Spelling] = {}
        arts: dict[str, set[str]] = {}
        for surface, raw in self._raw.items():
            text = self._trim(surface)
            key = fold(text)
            if not key or key in self.known or not any(c.isalpha() for c in key):
                continue
            if len(key.split()) == 1 and (self._ordinary(text) or len(key) < 2):
                continue  # "Officials", "Later": a sentence starts with an ordinary word; "U" of "U.S."
            sp = out.get(key)
            if sp is None:
                sp = out[key] = Spelling(key, text, example=raw.example, example_article=raw.example_article)
                arts[key] = set()
            sp.count += raw.count
            sp.forms[text] = sp.forms.get(text, 0) + raw.count
            arts[key] |= raw.articles
        for key, sp in out.items():
            sp.n_articles = len(arts[key])
            sp.text = max(sp.forms.items(), key=lambda kv: (kv[1], kv[0]))[0]
        return sorted(out.values(), key=lambda s: (-s.count, s.key))


def known_keys(gazetteer) -> set[str]:
    """The folded names the gazetteer already holds: a spelling with one of these keys is not proposed."""
    return {fold(n.name) for n in gazetteer.all_names()}


def collect_candidates(docs: Iterable[tuple[str, str, Sequence[Mention] | None]], linker, gazetteer
                       ) -> CandidateCollector:
    """A collector fed with (article_id, clean_text, mentions or None) documents, skipping the gazetteer's
    own names: what `corpus entities suggest` runs (flows/entities.py); `.spellings()` are the candidates."""
    c = CandidateCollector(linker, known_keys(gazetteer))
    for aid, text, mentions in docs:
        c.add(aid, text, mentions)
    return c


# ----------------------------------------------------------------------------- clustering


@dataclass
class Cluster:
    """Spellings that look like one unknown entity; `surnames` are one-word spellings seen alone."""

    cluster_id: str
    names: list[Spelling]
    surnames: list[Spelling] = field(default_factory=list)

    @property
    def members(self) -> list[Spelling]:
        return self.names + self.surnames

    @property
    def count(self) -> int:
        return sum(s.count for s in self.members)

    @property
    def n_articles(self) -> int:
        return max((s.n_articles for s in self.members), default=0)

    @property
    def n_spellings(self) -> int:
        return len(self.members)

    @property
    def best_name(self) -> str:
        """The most frequent full-name spelling, on a tie the one most like the others (the default canonical name)."""
        pool = self.names or self.surnames

        def centrality(s: Spelling) -> float:
            return sum(fuzz.ratio(light_key(s.text), light_key(o.text)) for o in pool)

        return max(pool, key=lambda s: (s.count, centrality(s), s.text)).text


def cluster_id(keys: Iterable[str]) -> str:
    """Stable id of a set of folded spellings."""
    digest = hashlib.sha1("\n".join(sorted(set(keys))).encode("utf-8"), usedforsecurity=False).hexdigest()
    return "c" + digest[:8]


def _by_count(s: Spelling) -> tuple[int, str]:
    return -s.count, s.key


class _Groups:
    """Union-find that merges two groups only when most cross pairs look alike (average linkage)
    and none of them was rejected, so a chain of close pairs (A ~ B ~ C, A far from C) does not snowball."""

    def __init__(self, keys: Sequence[str], apart: dict[str, set[str]], alike):
        self.parent = {k: k for k in keys}
        self.members = {k: {k} for k in keys}
        self.apart = {k: set(apart.get(k, ())) for k in keys}
        self.alike = alike

    def find(self, k: str) -> str:
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.apart[ra] & self.members[rb]:
            return False
        cross = [self.alike(x, y) for x in self.members[ra] for y in self.members[rb]]
        if 2 * sum(cross) < len(cross):
            return False
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra] |= self.members.pop(rb)
        self.apart[ra] |= self.apart.pop(rb)
        return True


def candidate_pairs(spellings: Sequence[Spelling]) -> list[tuple[float, str, str]]:
    """Confirmed pairs (score, key, key) among spellings that share a block, best first."""
    blocks: dict[str, list[str]] = {}
    full: set[str] = set()
    for s in spellings:
        full.add(coarse_key(s.text))
        for b in block_keys(s.text):
            blocks.setdefault(b, []).append(s.key)
    text = {s.key: s.text for s in spellings}
    seen: set[tuple[str, str]] = set()
    pairs: list[tuple[float, str, str]] = []
    for b, keys in blocks.items():
        if len(keys) < 2 or (len(keys) > MAX_BLOCK and b not in full):
            continue
        for i, a in enumerate(keys):
            for c in keys[i + 1 :]:
                p = (a, c) if a < c else (c, a)
                if p in seen:
                    continue
                seen.add(p)
                score = same_name(text[p[0]], text[p[1]])
                if score is not None:
                    pairs.append((score, p[0], p[1]))
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    return pairs


def cluster_spellings(spellings: Sequence[Spelling],
                      rejected_pairs: Iterable[tuple[str, str]] = ()) -> list[Cluster]:
    """Cluster spellings (every spelling ends in exactly one cluster), largest total count first.

    rejected_pairs: pairs of folded spellings that must never share a cluster.
    """
    apart: dict[str, set[str]] = {}
    for a, b in rejected_pairs:
        apart.setdefault(a, set()).add(b)
        apart.setdefault(b, set()).add(a)
    by_key = {s.key: s for s in spellings}
    pairs = candidate_pairs(spellings)
    alike_pairs = {(a, b) for _, a, b in pairs}

    def alike(x: str, y: str) -> bool:
        if (x, y) in alike_pairs or (y, x) in alike_pairs:
            return True
        return same_name(by_key[x].text, by_key[y].text) is not None

    groups = _Groups(list(by_key), apart, alike)
    for _score, a, b in pairs:
        groups.union(a, b)
    comps: dict[str, list[str]] = {}
    for k in by_key:
        comps.setdefault(groups.find(k), []).append(k)
    multi = [ks for ks in comps.values() if any(by_key[k].n_words > 1 for k in ks)]
    single = [ks for ks in comps.values() if all(by_key[k].n_words == 1 for k in ks)]
    # one-word groups join the one multi-word cluster whose last words they match (surnames)
    last_words: dict[str, list[int]] = {}
    for i, ks in enumerate(multi):
        for k in ks:
            if by_key[k].n_words > 1:
                last_words.setdefault(coarse_token(k.split()[-1]), []).append(i)
    surnames: dict[int, list[str]] = {}
    for ks in single:
        targets = {i for k in ks for i in last_words.get(coarse_token(k), ())}
        ok = len(targets) == 1
        if ok:
            (i,) = targets
            last = {k.split()[-1] for k in multi[i] if by_key[k].n_words > 1}
            ok = all(any(same_name(s, w) is not None for w in last) for s in ks) and not any(
                apart.get(s, set()) & set(multi[i]) for s in ks)
        if ok:
            surnames.setdefault(i, []).extend(ks)
        else:
            multi.append(ks)
    clusters = []
    for i, ks in enumerate(multi):
        sur = surnames.get(i, [])
        names = [by_key[k] for k in ks]
        clusters.append(Cluster(cluster_id(ks + sur), sorted(names, key=_by_count),
                                sorted((by_key[k] for k in sur), key=_by_count)))
    clusters.sort(key=lambda c: (-c.count, c.cluster_id))
    return clusters


def suggest_clusters(spellings: Sequence[Spelling], rejected_pairs: Iterable[tuple[str, str]] = (),
                     min_count: int = 1, min_spellings: int = 2) -> list[Cluster]:
    """Ranked clusters worth showing: at least min_spellings spellings and min_count occurrences."""
    return [c for c in cluster_spellings(spellings, rejected_pairs)
            if c.n_spellings >= min_spellings and c.count >= min_count]
