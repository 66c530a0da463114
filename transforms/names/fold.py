"""Fold text for name matching, keeping a map from folded offsets back to the original.

Folding (for matching only; the article text is never changed):

| what                                   | example                        | folded            |
|----------------------------------------|--------------------------------|-------------------|
| case                                   | ``BAGHDAD``                    | ``baghdad``       |
| Latin diacritics                       | ``Hewlêr``, ``Baghdād``        | ``hewler``        |
| apostrophes and ayn/hamza marks        | ``Kata’ib``, ``Shiʿa``, ``Qa'ida`` | ``kataib``    |
| possessive 's / s'                     | ``Soleimani's``, ``Brigades’`` | ``soleimani``     |
| hyphen, dashes, punctuation → space    | ``Abdul-Mahdi``                | ``abdul mahdi``   |
| runs of white space → one space        | ``Abdul \n Mahdi``             | ``abdul mahdi``   |
| Arabic article before a name           | ``al-Sadr``, ``Al Qaeda``, ``as-Sadr`` | ``sadr``  |
| Arabic tashkeel, tatweel               | ``مُقتَدى``, ``بـغداد``          | ``مقتدى``, ``بغداد`` |
| Arabic alef forms, hamza seats         | ``أ إ آ ؤ ئ`` (NFD)            | ``ا ا ا و ي``     |
| ta marbuta, alef maqsura, Persian ya/kaf | ``ة ى ی ک``                  | ``ه ي ي ك``       |
| Arabic article with its proclitics     | ``البصرة``, ``بالنجف``, ``للحشد`` | ``بصره``, ``نجف``, ``حشد`` |
| zero-width joiners/non-joiners         | ``خامنه‌ای``                    | ``خامنه ای`` (ZWNJ → space) |

Articles: ``al``/``el`` are dropped before a hyphen or a space, the assimilated forms
``ad- an- ar- as- ash- at- ath- adh- az- il- ul-`` only before a hyphen (``an``/``as`` are English
words). Every kept character keeps its original offset, so a match in the folded text maps
back to an exact slice of the original (see :class:`FoldedText`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

DEL = "\x00"  # marker of a character that folding deletes
HYPH = "\x01"  # marker of a hyphen, so that articles before a hyphen can be recognised

_APOSTROPHES = "'’‘`´ʿʾʼʻ′ʹ"
_HYPHENS = "-‐‑‒–—―−"
# alef wasla and the wavy-hamza alefs do not decompose under NFD, so they are listed here
_ARABIC_MAP = {
    "ة": "ه",
    "ى": "ي",
    "ی": "ي",
    "ک": "ك",
    "ۀ": "ه",
    "ە": "ه",
    "ێ": "ي",
    "ء": DEL,
    "ـ": DEL,
    "ٱ": "ا",
    "ٲ": "ا",
    "ٳ": "ا",
    "ٵ": "ا",
}


def _build_table() -> dict[int, str]:
    """Map every BMP character below U+3000 to exactly one folded character (or a marker)."""
    table: dict[int, str] = {}
    for cp in range(0x3000):
        ch = chr(cp)
        if ch in _APOSTROPHES:
            out = DEL
        elif ch in _HYPHENS:
            out = HYPH
        elif ch in _ARABIC_MAP:
            out = _ARABIC_MAP[ch]
        elif ch in "\u200c\u200d\u00ad\u200b\ufeff":
            out = " " if ch == "\u200c" else DEL
        else:
            cat = unicodedata.category(ch)
            if cat.startswith("Z") or cat == "Cc":
                out = " "
            elif cat in ("Mn", "Me"):
                out = DEL
            elif cat.startswith("P") or cat.startswith("S"):
                out = " "
            else:
                base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
                base = base.lower()
                if not base:
                    out = DEL
                else:
                    out = base[0]  # one char out per char in; 'ß'→'s', 'æ'→'a' are close enough
                    out = _ARABIC_MAP.get(out, out)
        if out != ch:
            table[cp] = out
    return table


_TABLE = _build_table()
_TABLE.update({ord("ı"): "i", ord("ł"): "l", ord("Ł"): "l", ord("đ"): "d", ord("Đ"): "d", ord("ø"): "o", ord("Ø"): "o"})
# the same table as a list indexed by code point (str.translate looks a list up faster than a dict; a
# code point past its end raises IndexError, a LookupError, and stays as it is, as one missing from the dict)
_TABLE_LIST = [_TABLE.get(cp, chr(cp)) for cp in range(max(_TABLE) + 1)]

# Apostrophes that separate words rather than join a name's syllables (Kata'ib, Qa'ida):
# French / Italian elision before a capitalised name (d'Abou, l'Irak, dell'Iran, all'Iraq, qu'Ali),
# and a Turkish case suffix after a capitalised name (Bağdat'ta, Süleymani'nin, Necef'teki).
# They fold to a space instead of vanishing, so the name stands alone in the folded text.
_UPPER = "A-ZÀ-ÖØ-Þ" + "".join(chr(c) for c in range(0x100, 0x250) if chr(c).isupper())
_APOS = "'’´ʼ`"
TR_SUFFIX = (
    r"(?:[yn][ıiuü]n?|[ıiuü]n|[ıü]|[yns]?[ae]|n?[dt][ae]n?|n?[dt][ae]ki(?:n[ie]|l[ae]r)?|y?l[ae]|[dt][ıiuü]r|l[ae]r[ıi]?(?:n?[dt][ae]n?)?"
    r"|[yn]?[ıiuü]n[ae]|[yn]?[ıiuü]nd[ae]n?|n?[dt][ae]y[ıi]z|y?d[ıi]|[yn]?[ıiuü]yl[ae]|c[ıi]l[ae]r)"
)
_APOS_RE = re.compile(f"[{_APOS}]")
_ELIDED = re.compile(
    r"(?<![^\W\d_])(?:[dDlL]|[Qq]u|[DdAaNnSsCc]ol?l|[DdAaNnSs]ell|[DdAaNnSs]all|[DdAaNnSs]egl|[DdAaNnSs]agl|[Aa]gl)$"
)
_TR_AFTER = re.compile(rf"{TR_SUFFIX}(?![^\W\d_])")
_WORD_BEFORE = re.compile(r"[^\W\d_]+$")
_HIGH_RE = re.compile("[^\x00-\u2fff]")

_AR = "[\u0620-\u064a\u0671-\u06d3]"  # Arabic-script letters
_D = "\x00"
# not inside a word: no letter before, even with up to three deleted marks in between («عبدُالمهدي»)
_AR_WORD_START = "".join(f"(?<!{_AR}{_D * k})" for k in range(4))
# a stray space after the hyphen ("al- Muhandis", a scrape artefact) goes with the article;
# Turkish writes the assimilated article with e (es-Sadr, eş-Şabi, et-Tikriti)
_LATIN_ART = r"(?:al|el)(?:\x01 ?| )|(?:ad|an|ar|as|ash|at|ath|adh|az|il|ul|ud|ur|us|ut|uz|ed|en|er|es|esh|et|ez)\x01 ?"
_DELETE_RE = re.compile(
    # possessive 's (apostrophe already turned into DEL) and plain deleted marks
    r"\x00s(?![a-z0-9])|\x00+"
    # Latin-script article before a name
    rf"|(?<![a-z0-9\x00])(?:{_LATIN_ART})(?=[a-z])"
    # Arabic article with optional proclitics wa/fa + bi/ka/li, or li+al assimilated (لل); tashkeel
    # and tatweel (already DEL) may sit between its letters and before the noun («وَبِالـنجف»)
    rf"|(?=[وفبكلا]){_AR_WORD_START}(?:[وف]{_D}*)?(?:(?:[بكل]{_D}*)?ا{_D}*ل|ل{_D}*ل){_D}*(?={_AR}{_D}*{_AR})"
    # runs of white space: keep the first
    r"|(?<=[ \x01]) +| +(?=\x01)"
)
# for long texts: the same without collapsing white space, which costs one Python step per
# comma; names are matched with keys folded the same way (see fold_key)
_DELETE_FAST_RE = re.compile(_DELETE_RE.pattern.rsplit("|(?<=", 1)[0])
# Where a match of _DELETE_FAST_RE can start: a deleted mark, a Latin article's first letters, a
# letter of an Arabic article or proclitic (a superset of its starts). Every branch starts with a
# literal, so `re` skips to the next candidate in C; _DELETE_FAST_RE itself starts with lookbehinds
# and is tried at every offset of the text.
_DELETE_AT = re.compile(
    r"\x00|a(?:l |[a-z]{1,2}\x01)|e(?:l |[a-z]{1,2}\x01)|i[a-z]{1,2}\x01|u[a-z]{1,2}\x01|"
    + "|".join("وفبكلا")
)


def _delete_spans(t: str) -> Iterator[tuple[int, int]]:
    """The spans of `_DELETE_FAST_RE.finditer(t)`, found by trying it only where a match can start."""
    pos = 0
    search, match = _DELETE_AT.search, _DELETE_FAST_RE.match
    while (c := search(t, pos)) is not None:
        m = match(t, c.start())
        if m is None:
            pos = c.start() + 1
        else:
            yield m.span()
            pos = m.end()  # its matches are never empty


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A folded string with the original offsets of its kept segments."""

    text: str
    original: str
    fold_starts: tuple[int, ...]  # start of each kept segment in `text`
    orig_starts: tuple[int, ...]  # start of the same segment in `original`

    def to_original(self, i: int) -> int:
        """Original offset of folded offset i (i < len(text))."""
        k = bisect_right(self.fold_starts, i) - 1
        return self.orig_starts[k] + (i - self.fold_starts[k])

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of the folded span [start, end), end exclusive."""
        return self.to_original(start), self.to_original(end - 1) + 1


def _word_apostrophes(s: str) -> list[int]:
    """Offsets of the apostrophes of s that separate words (elision, Turkish suffix)."""
    out = []
    for m in _APOS_RE.finditer(s):
        i = m.start()
        if i == 0 or i + 1 >= len(s) or not s[i - 1].isalpha():
            continue
        nxt = s[i + 1]
        if nxt.isupper():
            if _ELIDED.search(s, max(0, i - 5), i):
                out.append(i)  # d'Abou, l'Irak, dell'Iran
        elif nxt.islower() and _TR_AFTER.match(s, i + 1):
            w = _WORD_BEFORE.search(s, max(0, i - 40), i)
            if w and w.group()[:1].isupper() and (w.start() == 0 or not s[w.start() - 1].isalpha()):
                out.append(i)  # Bağdat'ta, Süleymani'nin
    return out


def _translate(s: str) -> str:
    t = s.translate(_TABLE_LIST)
    if any(a in s for a in _APOS):
        cut = _word_apostrophes(s)
        if cut:
            chars = list(t)
            for i in cut:
                chars[i] = " "
            t = "".join(chars)
    if not t.isascii() and _HIGH_RE.search(t):
        # characters above the table (CJK, symbols): lower-case them one for one
        t = "".join(c if ord(c) < 0x3000 or len(c.lower()) != 1 else c.lower() for c in t)
    return t


# a scrape artefact: a word glued to the capitalised name after it ("theSaddam Hussein",
# "forQasem Soleimani", "LeaderHadi al-Amiri"); folding inserts a word break there
_GLUE_POINT = re.compile(r"[a-z][A-Z][a-z]")
_GLUED_WORD = re.compile(r"(?<![^\W\d_])[A-Z]?[a-z]{2,}$")


def _glued(s: str) -> list[int]:
    """Offsets where a capitalised name starts glued to a word before it (theSaddam, LeaderHadi)."""
    out = []
    for m in _GLUE_POINT.finditer(s):
        if _GLUED_WORD.search(s, max(0, m.start() - 40), m.start() + 1):
            out.append(m.start() + 1)
    return out


def fold_with_map(s: str, collapse_spaces: bool = False) -> FoldedText:
    """Fold s and keep the offset map back to s (white space runs kept unless collapse_spaces)."""
    t = _translate(s)
    pieces: list[str] = []
    fstarts: list[int] = []
    ostarts: list[int] = []
    pos = flen = 0
    glued = _glued(s)
    gi = 0

    def break_before(g: int) -> None:
        """Copy t[pos:g] and a word break that maps to the glued name's first letter at g."""
        nonlocal pos, flen
        if g <= pos:
            return
        pieces.append(t[pos:g] + " ")
        fstarts.append(flen)
        ostarts.append(pos)
        flen += g - pos + 1
        pieces.append("")
        fstarts.append(flen)
        ostarts.append(g)
        pos = g

    spans = (m.span() for m in _DELETE_RE.finditer(t)) if collapse_spaces else _delete_spans(t)
    for a, b in spans:
        while gi < len(glued) and glued[gi] < a:
            break_before(glued[gi])
            gi += 1
        if a > pos:
            pieces.append(t[pos:a])
            fstarts.append(flen)
            ostarts.append(pos)
            flen += a - pos
        pos = b
    for g in glued[gi:]:
        break_before(g)
    if pos < len(t) or not fstarts:
        pieces.append(t[pos:])
        fstarts.append(flen)
        ostarts.append(pos)
    text = "".join(pieces).replace(HYPH, " ")
    return FoldedText(text, s, tuple(fstarts), tuple(ostarts))


def fold_key(s: str) -> str:
    """Folded form of a name as the automaton sees it in a text: `fold_with_map` of it, trimmed.

    Punctuation between words stays as extra spaces ("Donald J. Trump" → "donald j  trump"),
    exactly as in the folded article text.
    """
    return fold_with_map(s).text.strip()


def fold(s: str) -> str:
    """Folded form of s, trimmed and with single spaces (for aliases and keys)."""
    t = _DELETE_RE.sub("", _translate(s)).replace(HYPH, " ")
    return " ".join(t.split())
