"""Names on real-world text: blocked next words, bylines, scaling, national spellings, morphology,
scrape artefacts and in-article aliasing (issue 14; issue 17 item 3).

Every sentence here is written for this test; none is taken from a measured page.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import link_pairs
from transforms.names import Linker
from transforms.names.skeleton import convention_variant, skeleton_key


def _ids(linker: Linker, text: str) -> list[str]:
    return [e for _, e in link_pairs(linker, text)]


# ---------------------------------------------------------------- blocked next word (item 6)

BLOCKED = [
    ("Donald Trump spoke on Monday. Later, guests gathered at Trump Tower for dinner.", "donald-trump", 1),
    ("Donald Trump spoke on Monday. A lawyer for the Trump Organization declined to comment.", "donald-trump", 1),
    ("Muqtada al-Sadr called for calm. Fighters of the Sadr Army were seen on the streets.", "muqtada-al-sadr", 1),
    ("Nouri al-Maliki met envoys. The Maliki Brigade was disbanded last year.", "nouri-al-maliki", 1),
    ("Nouri al-Maliki met envoys. Then Maliki said he would stay.", "nouri-al-maliki", 2),
    # noun first (es, fr): a movement or city named after him
    ("Muqtada al-Sadr habló. El Movimiento Sadr ganó escaños.", "muqtada-al-sadr", 1),
    ("Moqtada al-Sadr a parlé. La Cité Sadr est en colère.", "muqtada-al-sadr", 1),
    # a capitalised noun after an article is no given name (German nouns, French M.)
    ("Kassem Soleimani wurde getötet. Der Tod des Generals Soleimani bewegte Bagdad.", "qasem-soleimani", 2),
    ("Le général Soleimani est mort. M. Soleimani était à Bagdad.", "qasem-soleimani", 2),
    ("Qasem Soleimani was killed. Zeinab Soleimani spoke at the funeral.", "qasem-soleimani", 1),
    # a sentence opener is no given name
    ("Nouri al-Maliki met envoys. Later Maliki said he would stay.", "nouri-al-maliki", 2),
    ("Kassem Soleimani wurde getötet. Laut Soleimani war alles bereit.", "qasem-soleimani", 2),
]


@pytest.mark.parametrize(("text", "eid", "n"), BLOCKED)
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


# ---------------------------------------------------------------- national spellings (items 1, 2)

# (sentence, entity that must be linked): each spelling is a national convention the rewrite table
# or the per-language names cover; none of these spellings is an English alias
NATIONAL = [
    ("Die Pilger zogen weiter nach Nadschaf.", "najaf"),  # de dsch
    ("Ein Anschlag in Nedschef wurde gemeldet.", "najaf"),  # de dsch + vowel drift
    ("Le cortège a quitté Nadjaf à l'aube.", "najaf"),  # fr dj
    ("Iraqi pilgrims walked from Najef on foot.", "najaf"),  # vowel drift a/e in one word (a regional word: support)
    ("Protests spread to Nasariya overnight.", "nasiriyah"),  # vowel drift i/a
    ("Los peregrinos llegaron a Náyaf el martes.", "najaf"),  # es y = j
    ("Hacılar Necef'e ulaştı.", "najaf"),  # tr exonym + dative
    ("Le général Ghassem Soleimani est arrivé.", "qasem-soleimani"),  # fr gh
    ("Kasım Süleymani'nin ölümünün yıldönümü.", "qasem-soleimani"),  # tr + genitive
    ("Kászem Szulejmáni tábornok meghalt.", "qasem-soleimani"),  # hu
    ("Der Besuch von Massud Radschawi wurde abgesagt.", "massoud-rajavi"),  # de dsch
    ("Mahmud Ahmadinedschad sprach in Teheran.", "mahmoud-ahmadinejad"),  # de dsch
    ("El líder Alí Jamenei habló el viernes.", "ali-khamenei"),  # es j = kh
    ("Ali Chamenei hielt eine Rede.", "ali-khamenei"),  # de ch = kh
    ("Abou Mahdi al-Mouhandis a été tué.", "abu-mahdi-al-muhandis"),  # fr ou
    ("Ebu Mehdi el-Mühendis öldürüldü.", "abu-mahdi-al-muhandis"),  # tr e-vowels, ü
    ("Mukteda es-Sadr taraftarlarına seslendi.", "muqtada-al-sadr"),  # tr es- article
    ("Haşdi Şabi güçleri sokaklara çıktı.", "popular-mobilization-forces"),  # tr
    ("Les combattants du Hachd al-Chaabi ont défilé.", "popular-mobilization-forces"),  # fr ch
    ("Die Volksmobilisierungskräfte marschierten.", "popular-mobilization-forces"),  # de calque
    ("Las Fuerzas de Movilización Popular desfilaron.", "popular-mobilization-forces"),  # es
    ("Les Gardiens de la révolution ont répondu.", "irgc"),  # fr
    ("Die Revolutionsgarden kündigten Vergeltung an.", "irgc"),  # de
    ("Devrim Muhafızları açıklama yaptı.", "irgc"),  # tr
    ("La Guardia Revolucionaria lanzó misiles.", "irgc"),  # es
    ("Kudüs Gücü komutanı öldürüldü.", "quds-force"),  # tr
    ("La Fuerza Quds opera en Irak.", "quds-force"),  # es
    ("Bedir Tugayları da katıldı.", "badr-organization"),  # tr
    ("L'État islamique a revendiqué l'attaque.", "islamic-state"),  # fr
    ("Der Islamische Staat verlor Gebiete.", "islamic-state"),  # de
    ("Demonstranten in Bagdads Zentrum.", "baghdad"),  # de genitive glued
    ("A tüntetők Bagdadban gyűltek össze.", "baghdad"),  # hu inessive glued
    ("Protestocular Bağdat'ta toplandı.", "baghdad"),  # tr locative after apostrophe
    ("Протестующие собрались в Багдаде.", "baghdad"),  # ru prepositional
    ("Οι διαδηλωτές στη Βαγδάτη.", "baghdad"),  # el
    ("Il corteo ha attraversato piazza Tahrir a Baghdad.", "tahrir-square"),  # it
    ("La manifestation sur la place Azadi à Téhéran.", "azadi-square"),  # fr
]


@pytest.mark.parametrize(("text", "eid"), NATIONAL)
def test_national_spellings_link(linker: Linker, text: str, eid: str) -> None:
    assert eid in _ids(linker, text), link_pairs(linker, text)


# spellings that look like one of the rewrites but are other names or plain words: must NOT link
NATIONAL_COUNTER = [
    "Die Schule in Nachbarschaft wurde geschlossen.",  # German sch words are no names
    "Der Schah reiste nach Paris.",  # Schah is not Shia / Sadr
    "Kasaba halkı Cuma günü toplandı.",  # Turkish word, not Qasem
    "Szeged és Pécs között.",  # Hungarian cities
    "Javier y Jorge llegaron a Jaén.",  # Spanish j names
    "Giorgio e Cecilia sono partiti.",  # Italian gi/ci names
    "Hussein Salami spoke for the Guards.",  # another Hussein
    "The Maliki school of law is followed in North Africa.",  # a school of law
    "Scholars of the mazhab Maliki met in Fez.",
    "Badr Hari won the kickboxing match.",  # a boxer
    "The protesters in Cairo filled Tahrir Square again.",  # Cairo's square
    "Bagdadi was the name of his grandfather.",  # nisba, not the city
    "The striker Bader scored twice.",  # a given name: vowel drift needs the whole word equal
    "The imam Hassan led the prayer.",  # Hassan is not Hussein (u/o are kept apart)
]


@pytest.mark.parametrize("text", NATIONAL_COUNTER)
def test_national_look_alikes_do_not_link(linker: Linker, text: str) -> None:
    assert link_pairs(linker, text) == []


# ---------------------------------------------------------------- morphology (item 3)

# (sentence, surface that must be the mention): offsets cover the NAME ONLY, never the suffix,
# the elided article or the clitic
MORPHOLOGY = [
    ("Protestocular Bağdat'ta toplandı.", "Bağdat"),
    ("Süleymani'nin cenazesi yarın İran'da.", "Süleymani"),  # (a regional word: support)
    ("Kerbela'daki törene katıldılar.", "Kerbela"),
    ("Le convoi d'Abou Mahdi al-Mouhandis.", "Abou Mahdi al-Mouhandis"),
    ("La guerre de l'Irak et le retour à Bagdad.", "Bagdad"),
    ("Il viaggio dell'ayatollah verso Kerbala.", "Kerbala"),
    ("A tüntetők Bagdadban gyűltek össze.", "Bagdad"),
    ("Die Straßen Teherans waren leer.", "Teheran"),
    ("Străzile Bagdadului erau pline.", "Bagdad"),  # ro genitive with the article
    ("Протестующие собрались в Багдаде.", "Багдад"),
    ("وصل الوفد إلى ببغداد مساء.", "بغداد"),
    ("وللحشد الشعبي دور كبير.", "حشد الشعبي"),  # li + al written لل: the article's lam is the clitic's
]


@pytest.mark.parametrize(("text", "surface"), MORPHOLOGY)
def test_inflected_names_link_with_the_name_as_surface(linker: Linker, text: str, surface: str) -> None:
    assert surface in [s for s, _ in link_pairs(linker, text)], link_pairs(linker, text)


def test_kataib_apostrophe_is_not_a_turkish_suffix(linker: Linker) -> None:
    assert _ids(linker, "Kata'ib Hezbollah fired rockets.") == ["kataib-hezbollah"]


# ---------------------------------------------------------------- scrape artefacts (item 4)

ARTEFACTS = [
    ("The fall of theSaddam Hussein government in 2003.", "saddam-hussein", "Saddam Hussein"),
    ("A memorial forQasem Soleimani was held.", "qasem-soleimani", "Qasem Soleimani"),
    ("Commander Abu Mahdi al- Muhandis was killed.", "abu-mahdi-al-muhandis", "Abu Mahdi al- Muhandis"),
    ("The deputy Abu Mahadi al-Muhandis was killed.", "abu-mahdi-al-muhandis", "Abu Mahadi al-Muhandis"),
    ("The general Qassem Soleimanii was killed.", "qasem-soleimani", "Qassem Soleimanii"),
]


@pytest.mark.parametrize(("text", "eid", "surface"), ARTEFACTS)
def test_scrape_artefacts_link(linker: Linker, text: str, eid: str, surface: str) -> None:
    assert (surface, eid) in link_pairs(linker, text)


ARTEFACT_COUNTER = [
    "He bought a McSadr burger.",  # glued after a capitalised word: not a surname
    "The schoolsMaliki entry of the glossary.",  # glued, but Maliki alone needs a full name
    "Abbas Abdel-Hussein was elected mayor.",  # fuzzy: the other words differ
    "Hassan Soleiman Nasser spoke.",  # one word close, but the rest of the name differs
]


@pytest.mark.parametrize("text", ARTEFACT_COUNTER)
def test_scrape_artefact_guards(linker: Linker, text: str) -> None:
    assert link_pairs(linker, text) == []


# ---------------------------------------------------------------- in-article aliasing (item 5)


def test_given_name_links_only_after_the_full_name(linker: Linker) -> None:
    text = "Qais spoke first. Then Qais al-Khazali arrived, and Qais said the talks were over."
    got = link_pairs(linker, text)
    assert got == [("Qais al-Khazali", "qais-al-khazali"), ("Qais", "qais-al-khazali")]


def test_given_name_followed_by_another_surname_is_someone_else(linker: Linker) -> None:
    text = "Christopher Stevens arrived. Chris Miller, his deputy, and Chris left later."
    assert [s for s, _ in link_pairs(linker, text)] == ["Christopher Stevens", "Chris"]


def test_ambiguous_surname_needs_a_full_name_or_a_title(linker: Linker) -> None:
    assert _ids(linker, "Maliki said on Monday that he would run.") == []
    assert _ids(linker, "Prime Minister Maliki said on Monday that he would run.") == ["nouri-al-maliki"]
    # the context supports it: a text about Iraq's politics, not about Islamic law
    assert _ids(linker, "In the Iraqi parliament, Maliki said his list would run.") == ["nouri-al-maliki"]
    assert _ids(linker, "In Iraq, the Maliki school of jurisprudence is rare.") == []
    text = "Nouri al-Maliki met envoys. Then Maliki said he would run."
    assert _ids(linker, text) == ["nouri-al-maliki", "nouri-al-maliki"]


def test_hussein_alone_is_the_imam_in_a_text_about_ashura(linker: Linker) -> None:
    text = "At Ashura the pilgrims in Karbala mourn Hussein and curse Yazid."
    assert _ids(linker, text).count("husayn-ibn-ali") == 1
    text = "At Ashura in Karbala, Abbas Abdel-Hussein guarded the shrine."
    assert "husayn-ibn-ali" not in _ids(linker, text)
    assert "husayn-ibn-ali" not in _ids(linker, "During Ashura in Karbala, King Hussein of Jordan sent a letter.")


def test_hussein_alone_follows_the_person_named_before(linker: Linker) -> None:
    text = "Saddam Hussein ruled Iraq. Hussein did not trust the jihadists."
    assert _ids(linker, text) == ["saddam-hussein", "saddam-hussein"]
    assert _ids(linker, "Hussein did not trust the jihadists.") == []
    assert "saddam-hussein" not in _ids(linker, "Saddam Hussein ruled Iraq. King Hussein of Jordan disagreed.")[1:]


def test_a_title_sees_the_entities_its_body_names(linker: Linker) -> None:
    title = "Maliki asks for help as the crisis grows"
    assert _ids(linker, title) == []
    got = linker.link(title, named={"nouri-al-maliki"})
    assert [(m.surface, m.entity_id) for m in got] == [("Maliki", "nouri-al-maliki")]
    # the body's entities are "before" the title, never next to it: no apposition, no proximity
    got = linker.link("The engineer speaks", named={"abu-mahdi-al-muhandis"})
    assert [m.entity_id for m in got] == ["abu-mahdi-al-muhandis"]


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("The Sunnah of the Prophet guides Muslims in prayer.", 1),
        ("Muslims say le Prophète et du Prophète in French.", 2),
        ("In Islam, the Prophet Jeremiah is honoured too.", 0),
        ("The Prophet Muhammad preached in Mecca.", 1),
        ("The prophet of the markets spoke of rates.", 0),
    ],
)
def test_the_prophet_alone_is_muhammad_in_a_text_about_islam(linker: Linker, text: str, n: int) -> None:
    assert _ids(linker, text).count("muhammad") == n


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("In Iran the supreme leader of the Islamic Republic, Ali Khamenei, spoke.", 1),
        ("Le guide suprême iranien, l'ayatollah Ali Khamenei, a parlé à Téhéran.", 1),
        ("أجهش المرشد الإيراني علي خامنئي بالبكاء في طهران", 1),
        ("In Iran the Supreme Leader met Ali Khamenei's envoy.", 2),
        ("In Iran, le guide suprême et Ali Khamenei.", 2),
    ],
)
def test_a_title_in_apposition_to_the_name_counts_once(linker: Linker, text: str, n: int) -> None:
    assert _ids(linker, text).count("ali-khamenei") == n


# ---------------------------------------------------------------- the convention table itself (item 2)


# (token as a national press writes it, English press spelling it must share a skeleton key with)
CONVENTIONS = [
    ("Nadschaf", "Najaf"),  # de dsch = j
    ("Dschafar", "Jafar"),  # de dsch = j
    ("Tschalabi", "Chalabi"),  # de tsch = ch
    ("Chamenei", "Khamenei"),  # de ch = kh (with sch present elsewhere: see Chasali)
    ("Kasım", "Qasim"),  # tr ı
    ("Recep", "Rejep"),  # tr c = j (detected by no Turkish letter: stays None, see below)
    ("Çelebi", "Chelebi"),  # tr ç = ch
    ("Şabi", "Shabi"),  # tr ş = sh
    ("Szulejmáni", "Suleymani"),  # hu sz = s, j = y
    ("Zsafar", "Zhafar"),  # hu zs = zh
    ("Csalabi", "Chalabi"),  # hu cs = ch
    ("Jamenei", "Khamenei"),  # es j = kh
    ("Náyaf", "Najaf"),  # es y between vowels = j
    ("Giafar", "Jafar"),  # it gi = j
    ("Sciita", "Shiita"),  # it sci = sh
    ("Xeque", "Sheque"),  # pt initial x = sh
]


@pytest.mark.parametrize(("written", "english"), CONVENTIONS)
def test_convention_respells_to_the_english_key(written: str, english: str) -> None:
    variant = convention_variant(written)
    if variant is None:  # no orthography detected: the token is tried as written only
        assert written in ("Recep", "Chamenei")
        return
    assert skeleton_key(variant) == skeleton_key(english)


# tokens no convention may touch: plain English spellings and words of other languages
NO_CONVENTION = ["Baghdad", "Soleimani", "Karbala", "Hezbollah", "Sadr", "Maliki", "Tehran", "Abadi"]


@pytest.mark.parametrize("token", NO_CONVENTION)
def test_english_spellings_have_no_convention_variant(token: str) -> None:
    assert convention_variant(token) is None


# ---------------------------------------------------------------- found on the samples after the merge

@pytest.mark.parametrize(
    ("text", "entity", "n"),
    [
        # a given name after another capitalised word is part of another name, even after "the"
        ("Qasem Soleimani was buried in Kerman. Marchers then closed the Ahmed Qasem road in the city.",
         "qasem-soleimani", 1),
        ("Qasem Soleimani was buried in Kerman. Later that week Qasem was praised in the press.", "qasem-soleimani", 2),
        # an ambiguous surname alone, without the full name earlier: linked beside his office only
        ("Tehran answered through its foreign ministry spokesman, Mousavi, on Sunday.", "abbas-mousavi", 1),
        ("Mousavi ran for president in 2009 and later lived under house arrest.", "abbas-mousavi", 0),
    ],
)
def test_given_names_and_office_supported_surnames(linker, text, entity, n):
    assert _ids(linker, text).count(entity) == n
