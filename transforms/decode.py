"""Turn the raw bytes of an article into normalised text, or refuse them with a DecodeError.

Policy (the tests pin each point):
- a BOM wins: UTF-8, UTF-16 LE/BE and UTF-32 LE/BE with a BOM decode as such;
- otherwise strict UTF-8 is tried first (the common case, and fast);
- UTF-8 with a few invalid bytes stays UTF-8: only those bytes become U+FFFD, when the valid
  multi-byte characters outnumber the bad bytes (a legacy code page would garble every "’" of
  the article instead); the repair is recorded as ("invalid_utf8", number of bad sequences);
- UTF-16 without a BOM is recognised from the NUL byte in every other position;
- anything else goes to charset-normalizer; among its equally good guesses the usual news
  encodings win (cp1252 before cp1250, cp1256 before cp1006, ...), because short texts are
  ambiguous and a wrong Latin or Arabic code page silently corrupts names;
- the text is then normalised: leading BOM stripped, CRLF and lone CR turned into "\\n", NFC;
- lines holding C1 controls (U+0080-U+009F) are repaired with `repair_mojibake` before stray
  controls are dropped, even when no other repair is asked for: double-encoded UTF-8 keeps them
  inside its mojibake ("â\\x80\\x99" for "’") and cp1252 read as Latin-1 is made of them ("\\x92"),
  so stripping them first would lose the letters; `decode_document` records these repairs as
  ("mojibake", lines) with the others.

Refusals, each a DecodeError with a `reason`:
- "empty": no bytes, or only white space;
- "binary": a known binary signature (PNG, JPEG, GIF, PDF, ZIP, gzip, ELF, ...), or more than
  5% control characters;
- "nul_bytes": more than 2 NUL bytes and more than 1% of the text, but not binary otherwise: such text
  was damaged on the way (a wrong code page, a C buffer dump) and is not worth guessing at;
- "undecodable": no encoding decodes the bytes into plausible text.

Text that arrived already mis-decoded (mojibake: "â€™" or "‚Äô" for "’") is repaired by
`repair_mojibake` with ftfy, restricted to encoding fixes (no quote uncurling, no HTML
unescaping); `decode_document` applies it and records ("mojibake", number of lines repaired).

A few stray NUL bytes (at most 2, or at most 1% of the characters) in otherwise good text are dropped: they are
artefacts of C-string writers and copy-paste, carry no meaning, and would break downstream
tools (Parquet, regexes, terminals). Other stray control characters are dropped the same way.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from dataclasses import dataclass

from transforms.errors import DecodeError

__all__ = ["decode_bytes", "decode_document", "repair_mojibake", "Decoded"]


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded, normalised text and the repairs it needed, as (kind, count) pairs."""

    text: str
    encoding: str
    repairs: tuple[tuple[str, int], ...] = ()

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its LE BOM starts with the UTF-16 LE BOM.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_BINARY_SIGNATURES: tuple[bytes, ...] = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"%PDF-",
    b"PK\x03\x04",  # zip, docx, xlsx, epub
    b"\x1f\x8b",  # gzip
    b"\x7fELF",
    b"MZ\x90\x00",  # Windows executables
    b"BZh",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"RIFF",
    b"OggS",
    b"\x00\x00\x01\x00",  # ico
    b"SQLite format 3\x00",
    b"PAR1",  # Parquet
)

# Encodings preferred when charset-normalizer finds several equally plausible ones, in order.
_PREFERRED = (
    "utf_8",
    "cp1252",
    "cp1256",
    "cp1251",
    "cp1250",
    "iso8859_15",
    "latin_1",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1257",
    "iso8859_6",
    "koi8_r",
    "big5",
    "gb18030",
    "shift_jis",
    "euc_kr",
)
_RANK = {name: i for i, name in enumerate(_PREFERRED)}
_CHAOS_TIE = 0.02  # charset-normalizer "chaos" values closer than this count as equal
_MAX_CONTROL_RATIO = 0.05
_MAX_STRAY_NUL_RATIO = 0.01

# C0 controls except tab, LF, VT, FF, CR; plus DEL and the C1 block.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\x80-\x9f]")
_C0_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_C1_RE = re.compile(r"[\x80-\x9f]")
_NEWLINE_RE = re.compile(r"\r\n?")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")
# ftfy 6's badness pattern matches at most 7 characters (sre_parse width (1, 7)).
_BADNESS_REACH = 6
# What ftfy's fix_text would look at beyond one badness search of the whole text: its "^[ÃÂ] "
# pattern at the start of any line (fix_text works line by line) and surrogates.
_FTFY_EXTRA_RE = re.compile("(?m)^[\u00c3\u00c2]|[\ud800-\udfff]")


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode raw article bytes to normalised text; return (text, encoding name).

    Invalid bytes in mostly-UTF-8 data become U+FFFD; mojibake is not repaired here (see
    decode_document)."""
    text, encoding, _bad, _fixed = _decode_checked(data)
    return text, encoding


def decode_document(data: bytes, repair: bool = True) -> Decoded:
    """decode_bytes, then (when `repair`) mojibake repair, with every repair recorded."""
    text, encoding, bad, fixed = _decode_checked(data)
    repairs: list[tuple[str, int]] = []
    if bad:
        repairs.append(("invalid_utf8", bad))
    if repair:
        text, more = repair_mojibake(text)
        fixed += more
    if fixed:
        repairs.append(("mojibake", fixed))
    return Decoded(text, encoding, tuple(repairs))


@functools.lru_cache(maxsize=1)
def _ftfy_config():
    from ftfy import TextFixerConfig

    # Encoding fixes only: the rest of ftfy (quotes, HTML entities, widths, line breaks) would
    # change text that is not broken.
    return TextFixerConfig(
        unescape_html=False,
        remove_terminal_escapes=False,
        fix_latin_ligatures=False,
        fix_character_width=False,
        uncurl_quotes=False,
        fix_line_breaks=False,
        remove_control_chars=False,
        normalization=None,
        explain=False,
    )


def _non_ascii_stretches(text: str) -> str:
    """The parts of `text` within _BADNESS_REACH characters of a non-ASCII character, joined by
    newlines. Every match of ftfy's badness pattern holds a non-ASCII character and is at most
    _BADNESS_REACH + 1 characters long, with no look-around, so it lies whole in one part: no
    match is lost, and one found across a join only sends the text on to ftfy, which decides."""
    parts: list[str] = []
    start = end = -1
    for m in _NON_ASCII_RE.finditer(text):
        a, b = max(0, m.start() - _BADNESS_REACH), m.end() + _BADNESS_REACH
        if start >= 0 and a <= end:
            end = b
            continue
        if start >= 0:
            parts.append(text[start:end])
        start, end = a, b
    if start >= 0:
        parts.append(text[start:end])
    return "\n".join(parts)


def repair_mojibake(text: str) -> tuple[str, int]:
    """Repair text that was mis-decoded before it reached us; (text, number of lines changed)."""
    if not text or text.isascii():
        return text, 0
    from ftfy.badness import is_bad  # imported lazily: only non-ASCII text needs ftfy

    # With _ftfy_config, fix_text changes only a line that ftfy's badness test flags, or that
    # holds C1 controls (flagged too) or surrogates; its line-start pattern is checked per line.
    # One search of the non-ASCII stretches spares the per-line fixing of text that has none.
    near = _non_ascii_stretches(text)
    if not is_bad(near) and not _FTFY_EXTRA_RE.search(near):
        return text, 0
    fixed = _fix_text(text)
    if fixed == text:
        return text, 0
    before, after = text.split("\n"), fixed.split("\n")
    if len(before) != len(after):
        return fixed, max(1, abs(len(before) - len(after)))
    return fixed, sum(a != b for a, b in zip(before, after, strict=True))


def _fix_text(text: str) -> str:
    """`ftfy.fix_text(text, _ftfy_config())`, without handing ftfy the ASCII lines.

    fix_text fixes each line (up to `max_decode_length` characters) on its own, and leaves an
    ASCII line as it is (all it repairs is non-ASCII with this configuration); most lines of an
    article with a few curly quotes are ASCII, so only the others go to ftfy, split as it splits."""
    import ftfy  # imported lazily: only non-ASCII text needs it

    config = _ftfy_config()
    out: list[str] = []
    pos, n = 0, len(text)
    while pos < n:
        cut = text.find("\n", pos) + 1 or n
        cut = min(cut, pos + config.max_decode_length)
        segment = text[pos:cut]
        out.append(segment if segment.isascii() else ftfy.fix_text(segment, config))
        pos = cut
    return "".join(out)


def _decode_checked(data: bytes) -> tuple[str, str, int, int]:
    """(normalised text, encoding, number of invalid UTF-8 sequences replaced, number of lines
    whose C1-control mojibake was repaired)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected bytes, got {type(data).__name__}", reason="undecodable")
    data = bytes(data)
    if not data.strip():
        raise DecodeError("the file is empty or holds only white space", reason="empty")
    try:
        text, encoding, bad = _decode(data)
    except DecodeError:
        raise
    except Exception as exc:  # a codec bug must not escape as anything but a DecodeError
        raise DecodeError(f"could not decode the bytes: {exc!r}", reason="undecodable") from exc
    text, fixed = _normalise(text, encoding)
    return text, encoding, bad, fixed


def _decode(data: bytes) -> tuple[str, str, int]:
    """Pick the encoding and decode, refusing binary data; the int counts replaced bad bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(name), name, 0
            except UnicodeDecodeError as exc:
                raise DecodeError(
                    f"the bytes start with a {name} byte-order mark but do not decode as {name}: {exc}",
                    reason="undecodable",
                ) from exc
    for signature in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise DecodeError(f"binary data, not text (file signature {signature[:8]!r})", reason="binary")
    nuls = data.count(0)
    if nuls:
        utf16 = _decode_utf16_without_bom(data, nuls)
        if utf16 is not None:
            return (*utf16, 0)
    try:
        return data.decode("utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    mostly = _mostly_utf8(data)
    if mostly is not None:
        return mostly
    return (*_decode_detected(data), 0)


def _mostly_utf8(data: bytes) -> tuple[str, str, int] | None:
    """UTF-8 with a few invalid bytes: the text with those bytes as U+FFFD, or None.

    It is UTF-8 when its valid multi-byte characters outnumber the invalid sequences and those
    are few (at most 1 in 200 bytes): text in a legacy code page has almost no valid multi-byte
    UTF-8 sequences, since its accented letters stand alone."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    if bad <= 0 or bad * 200 > len(data):
        return None
    multibyte = sum(1 for c in text if ord(c) > 127) - text.count("\ufffd")
    if multibyte < bad:
        return None
    return text, "utf-8", bad


def _decode_utf16_without_bom(data: bytes, nuls: int) -> tuple[str, str] | None:
    """Recognise BOM-less UTF-16 by its NULs in every other byte; None if it is not that."""
    if len(data) < 4 or len(data) % 2 or nuls < len(data) // 4:
        return None
    even_nuls = data[0::2].count(0)
    odd_nuls = data[1::2].count(0)
    half = len(data) // 2
    if odd_nuls > 0.6 * half and even_nuls < 0.1 * half:
        name = "utf-16-le"
    elif even_nuls > 0.6 * half and odd_nuls < 0.1 * half:
        name = "utf-16-be"
    else:
        return None
    try:
        return data.decode(name), name
    except UnicodeDecodeError:
        return None


def _decode_detected(data: bytes) -> tuple[str, str]:
    """Decode with charset-normalizer, preferring common news encodings among ties."""
    from charset_normalizer import from_bytes  # imported lazily: only non-UTF-8 input needs it

    has_nul = 0 in data
    candidates = []
    for match in from_bytes(data):
        name = codecs.lookup(match.encoding).name.replace("-", "_")
        if not has_nul and (name.startswith("utf_16") or name.startswith("utf_32")):
            continue  # wide encodings without a single NUL are coincidences on short input
        candidates.append((match.chaos, name, match))
    if not candidates:
        raise DecodeError("no encoding decodes these bytes into plausible text", reason="undecodable")
    best_chaos = min(c[0] for c in candidates)
    ties = [c for c in candidates if c[0] <= best_chaos + _CHAOS_TIE]
    # charset-normalizer drops encodings that decode to the same text as one it already has
    # (cp1252 hides behind cp1250 on short input), so rank each distinct decoding by the best
    # preferred encoding that produces it.
    best: tuple[int, float, str] | None = None
    for chaos, name, match in ties:
        decoded = str(match)
        rank, label = _RANK.get(name, len(_RANK)), name
        for preferred in _PREFERRED[:rank]:
            if _decodes_to(data, preferred, decoded):
                rank, label = _RANK[preferred], preferred
                break
        if best is None or (rank, chaos) < best[:2]:
            best = (rank, chaos, label)
    assert best is not None  # noqa: S101 - narrows the type for mypy: the loop always sets it
    _rank, chaos, name = best
    if chaos > 0.5:
        raise DecodeError(
            f"the bytes do not look like text in any encoding (best guess {name})",
            reason="undecodable",
        )
    try:
        return data.decode(name), name
    except UnicodeDecodeError as exc:
        raise DecodeError(f"detected {name} but decoding failed: {exc}", reason="undecodable") from exc


def _decodes_to(data: bytes, encoding: str, text: str) -> bool:
    """True when data decodes strictly under encoding to exactly text."""
    try:
        return data.decode(encoding) == text
    except (UnicodeDecodeError, LookupError):
        return False


def _normalise(text: str, encoding: str) -> tuple[str, int]:
    """Strip BOM, unify newlines, repair C1 mojibake, drop stray controls, NFC; refuse binary-looking
    text. Returns the text and the number of lines whose mojibake was repaired here."""
    text = text.lstrip("\ufeff")  # a file concatenated from BOM-headed parts may carry several
    text = _NEWLINE_RE.sub("\n", text)
    if not text.strip():
        raise DecodeError("the text holds only white space", reason="empty")
    fixed = 0
    if _C1_RE.search(text) and len(_C0_RE.findall(text)) <= _MAX_CONTROL_RATIO * len(text):
        # Double-encoded UTF-8 ("â\x80\x99" for "’") and cp1252 read as Latin-1 ("\x92") keep C1
        # controls inside their mojibake: repaired first, or stripping them would lose the letters.
        text, fixed = _repair_c1_lines(text)
    controls = _CONTROL_RE.findall(text)
    if controls:
        n_nul = controls.count("\x00")
        if len(controls) > _MAX_CONTROL_RATIO * len(text):
            raise DecodeError(
                f"binary data, not text: {len(controls)} control characters in {len(text)} (decoded as {encoding})",
                reason="binary",
            )
        if n_nul > max(2, _MAX_STRAY_NUL_RATIO * len(text)):
            raise DecodeError(
                f"{n_nul} NUL bytes in {len(text)} characters: the text was damaged in transit",
                reason="nul_bytes",
            )
        text = _CONTROL_RE.sub("", text)
        if not text.strip():
            raise DecodeError("the text holds only control characters", reason="empty")
    return unicodedata.normalize("NFC", text), fixed


def _repair_c1_lines(text: str) -> tuple[str, int]:
    """repair_mojibake on the lines that hold a C1 control; (text, number of lines repaired)."""
    lines = text.split("\n")
    fixed = 0
    for i, line in enumerate(lines):
        if _C1_RE.search(line):
            repaired, n = repair_mojibake(line)
            if n:
                lines[i] = repaired
                fixed += 1
    return ("\n".join(lines), fixed) if fixed else (text, 0)
