"""Properties of cleaning and decoding on generated input (hypothesis)."""

from __future__ import annotations

import contextlib
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.clean import clean_article
from transforms.decode import decode_bytes
from transforms.errors import DecodeError, TransformError
from transforms.records import CleanResult

SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Lines of the kinds the cleaner has to tell apart, so that generated articles hit its rules.
LINE_KINDS = [
    "",
    "",
    "  ",
    "The protesters gathered again in the central square on Friday, demanding that the government resign.",
    "Security forces used tear gas, and several people were taken to hospital, officials said.",
    "By the end of 2019, more than 400 people had been killed in the protests across the south.",
    "Sectarian politics",
    "Iran's influence",
    "How Iran's regime failed to derail Iraq's nationwide protests",
    "By Jane Doe",
    "Analysis by PMOI/MEK",
    "728 x 90",
    "Advertisement",
    "Iraq protests (Credit: AP)",
    "6119771925001 ef78fd9b-e792-44be-bf0e-63bf66e2b5b7",
    "video",
    "Read more: Iraq's parliament approves a new election law",
    "Share",
    "إعلان",
    "اقرأ أيضا: البرلمان العراقي يقر قانون الانتخابات",
    "Iraq, January 21, 2020—Since January 19, demonstrations against the ruling system took a new leap.",
    "BAGHDAD (Reuters) - Iraqi protesters blocked roads in the capital and the south on Sunday morning.",
    "January 21, 2020",
    "Patrick Cockburn is a correspondent for The Independent in the Middle East",
    "The author's point of view may not coincide with the position of the publisher.",
    "During the past two months, the alliance weakened when security forces fired on protesters, officials said.",
    "During the past two months, the alliance has weakened, as security forces fired on protesters, officials said.",
]

articles = st.lists(st.sampled_from(LINE_KINDS), max_size=30).map("\n".join)
texts = st.one_of(
    articles,
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(LINE_KINDS), st.text(max_size=60)), max_size=20).map("\n".join),
    st.lists(st.sampled_from(LINE_KINDS), max_size=15).map("\r\n".join),
)


def rebuild(raw: str, result: CleanResult) -> str:
    """The clean text with the removed spans put back at their raw offsets."""
    out, cursor, kept = [], 0, 0
    for span in result.removed:
        take = span.start - cursor
        out.append(result.clean_text[kept : kept + take])
        kept += take
        out.append(span.text)
        cursor = span.end
    out.append(result.clean_text[kept:])
    return "".join(out)


@SETTINGS
@given(texts)
def test_spans_rebuild_raw(raw: str) -> None:
    result = clean_article(raw)
    pos = 0
    for span in result.removed:
        assert pos <= span.start < span.end <= len(raw)
        assert raw[span.start : span.end] == span.text
        pos = span.end
    assert (
        "".join(raw[a:b] for a, b in _kept(len(raw), [(s.start, s.end) for s in result.removed])) == result.clean_text
    )
    assert rebuild(raw, result) == raw


@SETTINGS
@given(texts)
def test_idempotent(raw: str) -> None:
    once = clean_article(raw)
    twice = clean_article(once.clean_text)
    assert twice.clean_text == once.clean_text
    assert twice.removed == []


@SETTINGS
@given(texts)
def test_offsets_slice_to_lines(raw: str) -> None:
    result = clean_article(raw)
    for start, end in result.headings + result.near_duplicates:
        piece = result.clean_text[start:end]
        assert piece and piece == piece.strip() and "\n" not in piece


@SETTINGS
@given(st.one_of(st.text(max_size=300), articles, st.binary(max_size=50).map(lambda b: b.decode("latin-1"))))
def test_clean_raises_only_transform_errors(raw: str) -> None:
    with contextlib.suppress(TransformError):  # a typed refusal is fine; anything else fails the test
        clean_article(raw)


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=400),
        st.text(max_size=200).map(lambda t: t.encode("utf-8")),
        st.text(max_size=200).map(lambda t: t.encode("utf-16")),
        st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=200).map(
            lambda t: t.encode("cp1252", errors="ignore")
        ),
    )
)
def test_decode_raises_only_decode_errors(data: bytes) -> None:
    try:
        text, encoding = decode_bytes(data)
    except DecodeError:
        return
    assert isinstance(text, str) and text.strip() and encoding
    assert "\r" not in text and "\x00" not in text


def _kept(n: int, cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, pos = [], 0
    for s, e in cuts:
        out.append((pos, s))
        pos = e
    out.append((pos, n))
    return out
