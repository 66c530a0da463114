"""Out-of-domain precision of the name linker (issue 14, item 6): topical support for weak forms,
respelt surnames, things named after an organisation, and the gazetteer keys behind them.

Every sentence here is written for this test; none is taken from a measured page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import link_pairs
from transforms.names import Linker, load_gazetteer
from transforms.names.gazetteer import GazetteerError

# ---------------------------------------------------------------- weak forms need topical support

# (off-topic text: no link; the same weak form beside a strong regional mention: a link)
WEAK = [
    # a short acronym that is something else in another field
    (
        "The city's AQI reading passed 300 on Monday, the worst air this winter.",
        "The AQI cell claimed the bombing in Baghdad last spring.",
        ("AQI", "al-qaeda-in-iraq"),
    ),
    (
        "The PMU project funded her first photo book.",
        "The PMU took over the checkpoints around Karbala.",
        ("PMU", "popular-mobilization-forces"),
    ),
    # a microcontroller board, and the German acronym of the UN
    (
        "I soldered the sensor to an old UNO R3 and it worked at once.",
        "Die UNO verurteilte den Angriff in Bagdad.",
        ("UNO", "united-nations"),
    ),
    # a place name that is also a given name
    (
        "The exhibition shows work by the photographers Bernd and Hilla Becher.",
        "Militias regrouped near Hilla, south of Baghdad.",
        ("Hilla", "hillah"),
    ),
    # skeleton matches on brands and ordinary words; a vowel-drift spelling of a city
    (
        "Our favourite toothpaste now comes from Terra & Co. in a glass jar.",
        "Pilgrims walked from Baghdad to Nasariya for the holiday.",
        ("Nasariya", "nasiriyah"),
    ),
    (
        "Hilly ground made the last ten kilometres of the race hard.",
        "Pilgrims walked from Baghdad to Nasariya for the holiday.",
        ("Nasariya", "nasiriyah"),
    ),
]


@pytest.mark.parametrize(("off_topic", "on_topic", "link"), WEAK)
def test_weak_forms_link_only_with_topical_support(
    linker: Linker, off_topic: str, on_topic: str, link: tuple[str, str]
) -> None:
    assert link_pairs(linker, off_topic) == []
    assert link in link_pairs(linker, on_topic)


def test_a_non_regional_entity_gives_no_support(linker: Linker) -> None:
    # Donald Trump and the United Nations are named in full, but they say nothing about Iraq
    text = "Donald Trump spoke at the United Nations. Later the AQI index in New York rose."
    assert ("AQI", "al-qaeda-in-iraq") not in link_pairs(linker, text)


def test_a_weak_place_name_before_a_surname_is_a_given_name(linker: Linker) -> None:
    # even in an article about Iraq, "Hilla" followed by a surname is a person
    text = "The photographs of Baghdad were shown beside prints by Hilla Becher."
    assert ("Hilla", "hillah") not in link_pairs(linker, text)
    text = "Fighting spread to Hilla City and to the roads out of Baghdad."
    assert ("Hilla", "hillah") in link_pairs(linker, text)


def test_a_short_acronym_links_after_its_own_full_name(linker: Linker) -> None:
    # no regional support, but the full name of the same organisation came first
    text = "The United Nations met in Geneva. Later the UN said food prices rose."
    assert link_pairs(linker, text) == [("United Nations", "united-nations"), ("UN", "united-nations")]
    assert link_pairs(linker, "Later the UN said food prices rose in Geneva.") == []


def test_a_title_sees_the_support_of_its_body(linker: Linker) -> None:
    # the body is linked first; its regional entities support a weak form in the headline
    assert linker.link("Hilla braces for the pilgrims") == []
    assert [m.entity_id for m in linker.link("Hilla braces for the pilgrims", named=["karbala"])] == ["hillah"]


# ---------------------------------------------------------------- surnames alone


def test_a_respelt_surname_alone_needs_the_full_name(linker: Linker) -> None:
    # an ordinary word whose skeleton is a surname's: only after the full name
    assert link_pairs(linker, "Sadly, the ferry was cancelled and we stayed another night.") == []
    assert link_pairs(linker, "The old demo used a Shader pipeline that no longer compiles.") == []
    # a respelling right after the full name still links
    text = "Qasem Soleimani arrived. Later Solaimani met the commanders."
    assert ("Solaimani", "qasem-soleimani") in link_pairs(linker, text)


def test_a_regional_surname_alone_needs_topical_support(linker: Linker) -> None:
    assert link_pairs(linker, "The film follows Souleymane, a courier who delivers meals in Paris.") == []
    assert ("Soleimani", "qasem-soleimani") in link_pairs(linker, "Soleimani was killed near Baghdad airport.")
    # the surname of a figure not tied to the region needs no support
    assert link_pairs(linker, "President Trump said he would meet the governors.") == [("Trump", "donald-trump")]


# ---------------------------------------------------------------- things named after an entity


def test_a_programme_named_after_a_person_is_not_the_person(linker: Linker) -> None:
    assert link_pairs(linker, "Savers can open Trump Accounts for their children from July.") == []
    text = "Donald Trump spoke on Monday. Trump said savers would get new accounts."
    assert link_pairs(linker, text) == [("Donald Trump", "donald-trump"), ("Trump", "donald-trump")]


def test_a_foundation_named_after_an_acronym_is_not_the_organisation(linker: Linker) -> None:
    text = "A grant from the UN Foundation paid for the clinic in Baghdad."
    assert ("UN", "united-nations") not in link_pairs(linker, text)
    # a unit of the organisation still names it
    text = "Kata'ib Hezbollah and the PMF Brigade 30 held the road to Baghdad."
    assert ("PMF", "popular-mobilization-forces") in link_pairs(linker, text)


# ---------------------------------------------------------------- gazetteer keys

_MINIMAL = """version: "t"
entities:
  - id: x-town
    canonical_name: X Town
    type: PLACE
{extra}"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    topical: maybe\n", "topical must be true or false"),
        ("    aliases: [{name: Xtown, weak: 1}]\n", "weak must be true or false"),
    ],
)
def test_gazetteer_rejects_bad_support_keys(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(_MINIMAL.format(extra=extra), encoding="utf-8")
    with pytest.raises(GazetteerError, match=message):
        load_gazetteer(path)


def test_gazetteer_reads_support_keys(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    extra = "    topical: false\n    aliases: [{name: Xtown, weak: true}]\n"
    path.write_text(_MINIMAL.format(extra=extra), encoding="utf-8")
    g = load_gazetteer(path)
    (e,) = g.entities
    assert e.topical is False
    assert [n.weak for n in e.names if n.name == "Xtown"] == [True]
