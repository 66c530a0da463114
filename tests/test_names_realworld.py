"""Names on real-world text: blocked next words, bylines, scaling, national spellings, morphology,
scrape artefacts and in-article aliasing (issue 14; issue 17 item 3).

Every sentence here is written for this test; none is taken from a measured page.
"""

from __future__ import annotations

import time

import pytest

from transforms.names import Linker, load_gazetteer


@pytest.fixture(scope="module")
def linker() -> Linker:
    return Linker(load_gazetteer())


def _links(linker: Linker, text: str) -> list[tuple[str, str]]:
    ms = linker.link(text)
    for m in ms:
        assert text[m.start : m.end] == m.surface
    return [(m.surface, m.entity_id) for m in ms]


def _ids(linker: Linker, text: str) -> list[str]:
    return [e for _, e in _links(linker, text)]


# ---------------------------------------------------------------- blocked next word (item 6)

BLOCKED = [
    ("Donald Trump spoke on Monday. Later, guests gathered at Trump Tower for dinner.", "donald-trump", 1),
    ("Donald Trump spoke on Monday. A lawyer for the Trump Organization declined to comment.", "donald-trump", 1),
    ("Muqtada al-Sadr called for calm. Fighters of the Sadr Army were seen on the streets.", "muqtada-al-sadr", 1),
    ("Nouri al-Maliki met envoys. The Maliki Brigade was disbanded last year.", "nouri-al-maliki", 1),
    ("Nouri al-Maliki met envoys. Then Maliki said he would stay.", "nouri-al-maliki", 2),
]


@pytest.mark.parametrize("text,eid,n", BLOCKED)
def test_surname_followed_by_a_blocking_word_names_a_thing(linker: Linker, text: str, eid: str, n: int) -> None:
    assert _ids(linker, text).count(eid) == n


BYLINES = [
    "By Sarah Jones, Staff Writer\n\nThe talks resumed on Monday.",
    "Story by Sarah\n\nThe talks resumed on Monday.",
    "BY SARAH JONES\n\nThe talks resumed on Monday.",
    "Photo: Basim Hamid / Reuters\n\nThe talks resumed.",
    "Photos By Sarah Miller for the newspaper.",
    "Words By Sarah\n\nThe talks resumed on Monday.",
]


@pytest.mark.parametrize("text", BYLINES)
def test_byline_names_are_not_places(linker: Linker, text: str) -> None:
    assert _ids(linker, text) == []


def test_byline_guard_keeps_real_place_after_by(linker: Linker) -> None:
    assert _ids(linker, "The convoy was stopped by Basra police on the road.") == ["basra"]


# ---------------------------------------------------------------- scaling (issue 17 item 3)


def _dense(n_chars: int) -> str:
    block = (
        "Qasem Soleimani and Abu Mahdi al-Muhandis met in Baghdad; Soleimani then flew to Tehran. "
        "The Popular Mobilization Forces (PMF) and Kata'ib Hezbollah marched; Muhandis spoke. "
        "Sulaymani, Kazem Aldani, Hashd, the engineer and Sadr were named near Karbala. "
    )
    return (block * (n_chars // len(block) + 1))[:n_chars]


@pytest.mark.slow
def test_linking_a_name_dense_text_is_linear(linker: Linker) -> None:
    small, big = _dense(100_000), _dense(1_000_000)
    linker.link(small)  # warm the caches
    t0 = time.perf_counter()
    n_small = len(linker.link(small))
    t_small = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_big = len(linker.link(big))
    t_big = time.perf_counter() - t0
    assert n_big >= 9 * n_small
    # linear would be 10x; quadratic code takes 100x
    assert t_big < 25 * t_small + 0.5, (t_small, t_big)
