"""Arabic-script articles (issue 11): language, Arabic name linking with its traps, transliteration.

(a) an Arabic article of our own, as UTF-8 and as windows-1256 bytes, through the real ingest flow;
(b) generated Arabic spellings of the gazetteer's Arabic names (clitics, alef/ya/ta marbuta forms,
    tashkeel, tatweel) must link to the right entity, never to a wrong one;
(c) the English seeds are guarded by tests/test_names_seeds.py, which must stay green.
"""

from __future__ import annotations

import random
import re
import socket
from collections import Counter
from pathlib import Path

import pytest

from transforms.lang import detect_language
from transforms.names import Linker, fold, load_gazetteer, skeleton_key
from transforms.names.translit import transliterate_arabic
from warehouse import connect_readonly

# Modern Standard Arabic news prose written for this test. The title line, the «إعلان» banner,
# the «اقرأ أيضا:» line (which names Trump) and «شارك» are removed by the cleaning rules.
ARTICLE = """\
غضب في الشارع العراقي بعد مقتل سليماني والمهندس

بغداد - أسفرت غارة أمريكية بطائرة مسيّرة قرب مطار بغداد الدولي فجر الجمعة عن مقتل قائد فيلق القدس \
الإيراني قاسم سليماني ونائب رئيس هيئة الحشد الشعبي أبو مهدي المهندس، إلى جانب عدد من مرافقيهما.

وقال مسؤول في كتائب حزب الله إن الفصيل سيرد على الهجوم في الوقت والمكان المناسبين، فيما دعا رئيس \
الوزراء المستقيل عادل عبد المهدي إلى ضبط النفس وتجنيب العراق حربا بالوكالة.

إعلان

وخرجت مواكب تشييع حاشدة في بغداد وكربلاء، قبل أن يُنقل الجثمانان إلى مقبرة وادي السلام بالنجف. \
وردد المشيعون هتافات ضد الولايات المتحدة، ورفع بعضهم صورا لسليماني.

وفي مدينة الصدر شرقي العاصمة، قال سكان إن عناصر مسلحة انتشرت في الشوارع، بينما أعلن التيار الصدري \
تعليق مشاركته في الاحتجاجات. ويرى محللون أن جيش المهدي، الذي جُمّد نشاطه قبل أكثر من عقد، قد يعود \
إلى الواجهة إذا تصاعدت المواجهة.

اقرأ أيضا: ترامب يهدد بفرض عقوبات على العراق

وفي الجنوب، احتشد متظاهرون بالنجف وكربلاء مطالبين بخروج القوات الأجنبية، في حين صوّت مجلس النواب \
على قرار يلزم الحكومة بإنهاء وجودها على الأراضي العراقية.

شارك
"""

# what the article's clean text must link to, mention by mention (the dateline «بغداد -» counts)
EXPECTED_MENTIONS = Counter(
    {
        "baghdad": 3,  # dateline, «مطار بغداد», «في بغداد»
        "quds-force": 1,
        "qasem-soleimani": 2,  # «قاسم سليماني», «لسليماني»
        "popular-mobilization-forces": 1,  # «هيئة الحشد الشعبي», one mention
        "abu-mahdi-al-muhandis": 1,
        "kataib-hezbollah": 1,  # not also Hezbollah
        "adil-abdul-mahdi": 1,
        "karbala": 2,  # «وكربلاء» twice
        "najaf": 2,  # «بالنجف» twice
    }
)
EXPECTED_SURFACES = {"وكربلاء": "كربلاء", "بالنجف": "النجف", "لسليماني": "سليماني"}
TRAPS = ["مدينة الصدر", "جيش المهدي", "التيار الصدري"]


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer()


@pytest.fixture(scope="module")
def linker(gaz):
    return Linker(gaz)


# ---------------------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (ARTICLE, "ar"),
        # MSA with Latin names: py3langid splits it between ar and the ary/arz varieties
        (
            "قال عادل عبد المهدي (Adel Abdul-Mahdi) إن الحكومة ستستقيل، وفق ما نقلت Reuters and AP news agencies today",
            "ar",
        ),
        ("مدينة الصدر بلا كهرباء منذ يومين", "ar"),
        ("تهران: سپاه پاسداران انقلاب اسلامی اعلام کرد که فرمانده نیروی قدس کشته شد", "fa"),
        (
            "The Iraqi prime minister met Muqtada al-Sadr (مقتدى الصدر) in Najaf on Friday to discuss the protests.",
            "en",
        ),
        ("وصل المتظاهرون بالنجف", None),  # too few letters to tell
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text)[0] == lang


def test_language_model_ships_in_the_package(monkeypatch):
    """py3langid's model is a file inside the installed package, and detection opens no socket."""
    import py3langid
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    model = Path(MODEL_DIR) / MODEL_FILE
    assert model.is_file() and model.is_relative_to(Path(py3langid.__file__).parent)

    def no_network(*args, **kwargs):
        raise AssertionError("language detection tried to use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    detect_language.__globals__["_identifier"].cache_clear()
    assert detect_language(ARTICLE)[0] == "ar"


# ---------------------------------------------------------------------------------------- folding


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("الـمهندس", "مهندس"),  # tatweel between the article and the noun
        ("اِلبَصُرة", "بصره"),  # tashkeel on the article
        ("وَبِالـنَّجَفِ", "نجف"),  # proclitics, article and noun all vowelled
        ("لِلْحَشْدِ", "حشد"),  # li + al assimilated, vowelled
        ("ٱلنجف", "نجف"),  # alef wasla
        # counter-examples: an article inside a word stays
        ("عبدُالمهدي", "عبدالمهدي"),
        ("فالح", "فالح"),  # f+al+one letter is no article
        ("al-Sadr", "sadr"),  # Latin unchanged
    ],
)
def test_arabic_folding(text, folded):
    assert fold(text) == folded


def test_arabic_mentions_span_the_written_name(linker):
    text = "احتشد متظاهرون بالنجف وكربلاءَ ولسليماني"
    got = [(m.surface, m.entity_id) for m in linker.link(text)]
    assert got == [("النجف", "najaf"), ("كربلاءَ", "karbala"), ("سليماني", "qasem-soleimani")]


# ---------------------------------------------------------------------------------------- variants

TASHKEEL = "\u064e\u064f\u0650\u0652\u0651\u064b"
NON_JOINING = set("اأإآدذرزوؤةءىٱ")  # letters after which tatweel is not written
_LETTER = re.compile(r"[\u0620-\u064a\u0671-\u06d3]")


def _with_clitic(name: str, clitic: str) -> str:
    """clitic + name as Arabic writes it: li + al- is «لل»."""
    if name.startswith("ال") and clitic.endswith("ل"):
        return clitic + name[1:]
    return clitic + name


def _alef(name: str, rng: random.Random) -> str:
    if re.search("[أإآ]", name):
        return re.sub("[أإآ]", "ا", name, count=1)
    starts = [m.start() for m in re.finditer(r"(?:(?<=\s)|^)ا(?!ل)", name)]
    if not starts:
        return name
    i = rng.choice(starts)
    return name[:i] + rng.choice("أإ") + name[i + 1 :]


def _ya(name: str, rng: random.Random) -> str:
    if re.search(r"ى\b", name):
        return re.sub(r"ى\b", "ي", name, count=1)
    return re.sub(r"ي\b", "ى", name, count=1)


def _ta_marbuta(name: str, rng: random.Random) -> str:
    return re.sub(r"ة\b", "ه", name, count=1)


def _tashkeel(name: str, rng: random.Random) -> str:
    return "".join(c + (rng.choice(TASHKEEL) if _LETTER.match(c) and rng.random() < 0.5 else "") for c in name)


def _tatweel(name: str, rng: random.Random) -> str:
    spots = [
        i
        for i in range(len(name) - 1)
        if _LETTER.match(name[i]) and _LETTER.match(name[i + 1]) and name[i] not in NON_JOINING
    ]
    if not spots:
        return name
    i = rng.choice(spots)
    return name[: i + 1] + "ـ" * rng.randint(1, 3) + name[i + 1 :]


ARABIC_REWRITES = [
    ("alef", _alef),
    ("ya", _ya),
    ("ta marbuta", _ta_marbuta),
    ("tashkeel", _tashkeel),
    ("tatweel", _tatweel),
]
CLITICS = ["و", "ف", "ب", "ل", "ك", "وب", "ول", "فل", "وك"]
ARABIC_TEMPLATES = {
    "PERSON": "ذكرت مصادر مطلعة يوم الثلاثاء {v} وأضافت أن المحادثات ستستمر.",
    "ORG": "نشرت وكالات الأنباء بيانا منسوبا {v} مساء الثلاثاء.",
    "PLACE": "احتشد آلاف المتظاهرين مجددا {v} مساء الجمعة.",
}
MIN_ARABIC_VARIANTS = 50
MIN_ARABIC_SHARE = 0.95


def generate_arabic_variants(g, seed: int = 11) -> list[tuple[str, str, str, str]]:
    """(entity_id, type, variant, how): each Arabic name rewritten once, bare and behind a clitic."""
    rng = random.Random(seed)
    known = {n.name for n in g.all_names()}
    out: dict[str, tuple[str, str, str, str]] = {}
    for e in g.entities:
        for n in e.names:
            if n.kind != "arabic":
                continue
            for how, rewrite in ARABIC_REWRITES:
                v = rewrite(n.name, rng)
                clitic = rng.choice(CLITICS)
                for variant, label in ((v, how), (_with_clitic(v, clitic), f"{clitic}+ {how}")):
                    if variant in known or variant in out:
                        continue
                    out[variant] = (e.entity_id, e.type, variant, label)
    return sorted(out.values())


def test_generated_arabic_variants_link_to_the_right_entity(gaz, linker):
    variants = generate_arabic_variants(gaz)
    assert len(variants) >= MIN_ARABIC_VARIANTS
    right, wrong, missed = 0, [], []
    for eid, etype, v, how in variants:
        sentence = ARABIC_TEMPLATES[etype].format(v=v)
        start = sentence.index(v)
        ms = linker.link(sentence)
        if any(m.entity_id == eid and m.start < start + len(v) and m.end > start for m in ms):
            right += 1
        else:
            missed.append((v, eid, how))
        extra = {m.entity_id for m in ms} - {eid}
        if extra:
            wrong.append((v, eid, sorted(extra), how))
    assert not wrong, f"wrong links: {wrong[:20]}"
    assert right / len(variants) >= MIN_ARABIC_SHARE, f"{right}/{len(variants)} linked; missed {missed[:30]}"


# the guards with clitics, tashkeel and tatweel: (sentence, entities that may be linked)
ARABIC_TRAPS = [
    ("قال سكان ومدينة الصدر غارقة في الظلام", set()),
    ("وصلت التعزيزات لمدينةِ الصَّدْر فجرا", set()),
    ("انتشر مقاتلون من جيشِ المَهْدي في الشوارع", set()),
    ("حُلّ جيش المهـدي بالنجف عام 2008", {"najaf"}),
    ("قال نائب عن التيّار الصّدري إن الكتلة ستنسحب", set()),
    ("اتهمت الحكومة للتيار الصدري بالتحريض", set()),
    ("أنصار التيار الصدري وأنصار مقتدى الصدر", {"muqtada-al-sadr"}),
    ("قائد جيش المهدي ليس عادل عبد المهدي", {"adil-abdul-mahdi"}),
]


@pytest.mark.parametrize(("sentence", "allowed"), ARABIC_TRAPS)
def test_arabic_traps(linker, sentence, allowed):
    ms = linker.link(sentence)
    assert not [(m.surface, m.entity_id) for m in ms if m.entity_id not in allowed]
    assert {m.entity_id for m in ms} == allowed


# ---------------------------------------------------------------------------------------- transliteration

# (Arabic, transliteration, an English press spelling whose skeleton must match)
TRANSLIT = [
    ("عادل عبد المهدي", "Adil Abd al-Mahdi", "Adel Abdul Mahdi"),
    ("عادل عبدالمهدي", "Adil Abd al-Mahdi", "Adil Abdul-Mahdi"),
    ("قاسم سليماني", "Qasim Salimani", "Qassem Soleimani"),
    ("أبو مهدي المهندس", "Abu Mahdi al-Mahnds", "Abu Mahdi al-Muhandis"),
    ("نوري المالكي", "Nuri al-Malki", "Nouri al-Maliki"),
    ("هادي العامري", "Hadi al-Amri", "Hadi al-Amiri"),
    ("قيس الخزعلي", "Qis al-Khaz'li", "Qais al-Khazali"),
    ("حيدر العبادي", "Hidr al-Abadi", "Haider al-Abadi"),
    ("مقتدى الصدر", "Maqtda al-Sadr", "Moqtada al-Sadr"),
    ("علي السيستاني", "Ali al-Sistani", "Ali al-Sistani"),
    ("صدام حسين", "Saddam Husayn", "Saddam Hussein"),
    ("يزيد بن معاوية", "Yazid bin Ma'awiya", "Yazid ibn Muawiya"),
    # names the gazetteer does not know
    ("فالح الفياض", "Falih al-Fyad", "Falih al-Fayyadh"),
    ("مصطفى الكاظمي", "Mustafa al-Kazmi", "Mustafa al-Kadhimi"),
    ("محمد الحلبوسي", "Muhammad al-Halbusi", "Mohammed al-Halbousi"),
    ("برهم صالح", "Barhm Salih", "Barham Salih"),
    ("أكرم الكعبي", "Akrm al-Ka'bi", "Akram al-Kaabi"),
    ("ريان الكلداني", "Ryan al-Kaldani", "Rayan al-Kildani"),
    ("جعفر", "Jafar", "Jaafar"),
    ("جَعْفَر", "Jafar", "Ja'far"),  # vowelled text: the marks give the vowels
    ("حسّين", "Husayn", "Hussein"),  # shadda
    ("وليد", "Walid", "Waleed"),  # initial waw is a consonant, not the clitic
    # places
    ("بالنجف", "al-Najf", "Najaf"),  # clitic + article → al-
    ("للحشد", "al-Hashd", "Hashd"),  # li + al assimilated
    ("الناصرية", "al-Nasriya", "Nasiriyah"),
    ("أربيل", "Arbil", "Erbil"),
    ("كربلاء", "Karbla'", "Karbala"),
    ("خامنئي", "Khamn'i", "Khamenei"),
]


@pytest.mark.parametrize(("arabic", "latin", "english"), TRANSLIT)
def test_transliteration_clusters_with_english(arabic, latin, english):
    got = transliterate_arabic(arabic)
    assert got == latin
    assert skeleton_key(got) == skeleton_key(english)


# counter-examples: names the table must keep apart (their transliterations' skeletons differ)
TRANSLIT_APART = [
    ("جيش المهدي", "Adel Abdul Mahdi"),  # the Mahdi Army is not Abdul-Mahdi
    ("مدينة الصدر", "Muqtada al-Sadr"),  # Sadr City is not Muqtada
    ("التيار الصدري", "Muqtada al-Sadr"),
    ("هادي العامري", "Mahdi al-Amiri"),  # Hadi is not Mahdi
    ("حيدر العبادي", "Haider al-Amiri"),
    ("عمار الحكيم", "Ammar al-Karim"),
    ("فالح الفياض", "Saleh al-Fayyadh"),
]


@pytest.mark.parametrize(("arabic", "other"), TRANSLIT_APART)
def test_transliteration_keeps_names_apart(arabic, other):
    assert skeleton_key(transliterate_arabic(arabic)) != skeleton_key(other)


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("فالح", "Falih"),  # «فال» + one letter is no clitic + article
        ("الله", "Allah"),  # a table word, not al- + «له»
        ("بغداد، كربلاء؟", "Baghdad, Karbla'?"),  # Arabic punctuation
        ("مهـــدي", "Mahdi"),  # tatweel
        ("Adel Abdul-Mahdi 2019", "Adel Abdul-Mahdi 2019"),  # Latin passes through
        ("رئيس الوزراء عادل عبد المهدي (Adel Abdul-Mahdi)", "Ra'is al-Wazra' Adil Abd al-Mahdi (Adel Abdul-Mahdi)"),
    ],
)
def test_transliteration_words(text, out):
    assert transliterate_arabic(text) == out


# ---------------------------------------------------------------------------------------- real flow


def _ingest(home: Path, inbox: Path, files: dict[str, bytes]) -> dict:
    from flows.ops import run_ingest

    inbox.mkdir()
    for name, data in files.items():
        (inbox / name).write_bytes(data)
    return run_ingest(home=str(home), inbox=str(inbox))


def test_arabic_article_through_the_flow(prefect_server, corpus_home, tmp_path, linker):
    utf8 = ARTICLE.encode("utf-8")
    cp1256 = ARTICLE.encode("windows-1256")
    assert utf8 != cp1256

    first = _ingest(corpus_home, tmp_path / "inbox1", {"iraq_ar_utf8.txt": utf8})
    assert first["n_new"] == 1 and first["n_quarantined"] == 0, first
    # the same article in windows-1256: other bytes, same decoded text, so the same article_id
    second = _ingest(corpus_home, tmp_path / "inbox2", {"iraq_ar_cp1256.txt": cp1256})
    assert second["n_new"] == 0 and second["n_duplicate"] == 1 and second["n_quarantined"] == 0, second

    con = connect_readonly(corpus_home)
    try:
        rows = con.execute("SELECT article_id, source_name, language, raw_text, clean_text FROM articles").fetchall()
        assert len(rows) == 1
        aid, source, language, raw, clean = rows[0]
        assert (source, language) == ("iraq_ar_utf8.txt", "ar")
        assert raw == ARTICLE
        mentions = con.execute(
            "SELECT start_char, end_char, surface, entity_id FROM mentions WHERE article_id = ? AND field = 'body' "
            "ORDER BY start_char",
            [aid],
        ).fetchall()
        title_mentions = con.execute(
            "SELECT m.entity_id, substr(a.title, m.start_char + 1, m.end_char - m.start_char) = m.surface "
            "FROM mentions m JOIN articles a USING (article_id) WHERE m.field = 'title' ORDER BY m.entity_id"
        ).fetchall()
        n_runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        con.close()
    assert n_runs == 2

    assert Counter(m[3] for m in mentions) == EXPECTED_MENTIONS
    # the headline names both: "after the killing of Soleimani and the Engineer" (the calque, with its wa- clitic)
    assert title_mentions == [("abu-mahdi-al-muhandis", True), ("qasem-soleimani", True)]
    for start, end, surface, _ in mentions:
        assert clean[start:end] == surface
    surfaces = {s for _, _, s, _ in mentions}
    assert set(EXPECTED_SURFACES.values()) <= surfaces
    # none of the traps links to anything
    for trap in TRAPS:
        at = clean.index(trap)
        assert not [m for m in mentions if m[0] < at + len(trap) and m[1] > at], trap
    # the windows-1256 copy decodes to the same text, so it links the same way
    from transforms.decode import decode_bytes

    text, encoding = decode_bytes(cp1256)
    assert (text, encoding) == (ARTICLE, "cp1256")
