"""decode_bytes: encodings it must recognise, normalisation, and the inputs it must refuse."""

from __future__ import annotations

import codecs
import unicodedata

import pytest

from transforms.decode import decode_bytes
from transforms.errors import DecodeError

ENGLISH = "Café society — “quoted” naïve façade. The protesters’ demands were clear.\n"
ARABIC = "قال رئيس الوزراء العراقي إن الحكومة ستستقيل بعد الاحتجاجات في بغداد.\n"


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        (ENGLISH.encode("utf-8"), ENGLISH, "utf-8"),
        (codecs.BOM_UTF8 + ENGLISH.encode("utf-8"), ENGLISH, "utf-8-sig"),
        (codecs.BOM_UTF16_LE + ENGLISH.encode("utf-16-le"), ENGLISH, "utf-16-le"),
        (codecs.BOM_UTF16_BE + ENGLISH.encode("utf-16-be"), ENGLISH, "utf-16-be"),
        (codecs.BOM_UTF16_LE + ARABIC.encode("utf-16-le"), ARABIC, "utf-16-le"),
        (codecs.BOM_UTF32_LE + ENGLISH.encode("utf-32-le"), ENGLISH, "utf-32-le"),
        (ENGLISH.encode("utf-16-le"), ENGLISH, "utf-16-le"),  # no BOM: NULs in every other byte
        (ENGLISH.encode("cp1252"), ENGLISH, "cp1252"),
        ("Café “x”".encode("cp1252"), "Café “x”", "cp1252"),  # short and ambiguous
        (ARABIC.encode("cp1256"), ARABIC, "cp1256"),
        ("إعلان".encode("cp1256"), "إعلان", "cp1256"),  # one word of Arabic
        (ARABIC.encode("utf-8"), ARABIC, "utf-8"),
    ],
    ids=[
        "utf8",
        "utf8-bom",
        "utf16le-bom",
        "utf16be-bom",
        "utf16le-bom-arabic",
        "utf32le-bom",
        "utf16le-no-bom",
        "cp1252",
        "cp1252-short",
        "cp1256",
        "cp1256-one-word",
        "utf8-arabic",
    ],
)
def test_decodes_known_encodings(data: bytes, text: str, encoding: str) -> None:
    got, enc = decode_bytes(data)
    assert got == text
    assert enc.replace("_", "-") == encoding


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"one\r\ntwo\rthree\n", "one\ntwo\nthree\n"),
        (b"\xef\xbb\xbf\xef\xbb\xbfdouble bom", "double bom"),  # concatenated files repeat BOMs
        ("Cafe\u0301".encode(), "Café"),  # NFD -> NFC
        (
            b"good text\x00 with one stray NUL byte in the middle of a sentence.",
            "good text with one stray NUL byte in the middle of a sentence.",
        ),
        (
            b"bell\x07 and escape\x1b dropped from a long enough line of ordinary text here.",
            "bell and escape dropped from a long enough line of ordinary text here.",
        ),
        (b"\ttabs\tand\x0cform feeds stay\n", "\ttabs\tand\x0cform feeds stay\n"),
    ],
    ids=["newlines", "double-bom-stripped", "nfc", "stray-nul-dropped", "stray-controls-dropped", "tab-ff-kept"],
)
def test_normalises(data: bytes, text: str) -> None:
    got, _ = decode_bytes(data)
    assert got == text
    assert unicodedata.is_normalized("NFC", got)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t\r\n  ", "empty"),
        (codecs.BOM_UTF8 + b"  \n", "empty"),
        (codecs.BOM_UTF16_LE + " \n".encode("utf-16-le"), "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "binary"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(64), "binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "binary"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "binary"),
        (bytes(range(0, 32)) * 20, "binary"),
        (b"text" + b"\x00\x01\x02\x03" * 50 + b"more text", "binary"),
        (b"a" * 50 + b"\x00\x00\x00" + b"b" * 50, "nul_bytes"),  # 3% NULs: damaged, not stray
        (codecs.BOM_UTF8 + b"\xff\xfe\xfa bad", "undecodable"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "undecodable"),  # lone surrogate
    ],
    ids=[
        "empty",
        "whitespace",
        "bom-only",
        "utf16-whitespace",
        "png",
        "elf",
        "pdf",
        "gzip",
        "control-bytes",
        "embedded-binary",
        "many-nuls",
        "bad-after-utf8-bom",
        "bad-utf16",
    ],
)
def test_refuses(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode_bytes(data)
    assert err.value.reason == reason
    assert str(err.value)  # a message for people


def test_refuses_non_bytes() -> None:
    with pytest.raises(DecodeError):
        decode_bytes("already text")  # type: ignore[arg-type]


def test_utf8_is_tried_first_even_when_latin_decoding_would_succeed() -> None:
    data = "Ağa Khan – Şırnak".encode()
    assert decode_bytes(data) == ("Ağa Khan – Şırnak", "utf-8")
