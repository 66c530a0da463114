"""extract_html: article text and metadata from a page, and typed errors for bad pages."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from transforms.clean import clean_article, extract_html
from transforms.clean.html import MAX_TAGS
from transforms.errors import ExtractError, TransformError

PARAGRAPHS = [
    "The protesters gathered again in the central square on Friday, demanding that the government "
    "resign and that early elections be called before the summer.",
    "Security forces used tear gas to disperse the crowd, and several people were taken to hospital "
    "with injuries, according to local health officials in the city.",
    "Organisers said they would return every day until their demands were met, and called on "
    "students and workers across the country to join them in a general strike.",
]

PAGE = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>Protesters return to the square | Example News</title>
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2020-01-21T08:00:00Z">
<meta property="og:site_name" content="Example News">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article>
<h1>Protesters return to the square</h1>
<p>{PARAGRAPHS[0]}</p>
<div class="ad">Advertisement</div>
<p>{PARAGRAPHS[1]}</p>
<p>{PARAGRAPHS[2]}</p>
</article>
<footer>© 2020 Example News. All rights reserved.</footer>
</body></html>"""


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_extracts_text_and_metadata(as_bytes: bool) -> None:
    page = PAGE.encode("utf-8") if as_bytes else PAGE
    got = extract_html(page, url="https://news.example.com/world/protests")
    for paragraph in PARAGRAPHS:
        assert paragraph in got.text
    assert "Home" not in got.text and "All rights reserved" not in got.text
    assert got.title and got.title.startswith("Protesters return to the square")
    assert got.author == "Jane Doe"
    assert got.published == dt.date(2020, 1, 21)
    assert got.sitename == "Example News"
    assert got.url == "https://news.example.com/world/protests"


def test_html_path_then_clean_article() -> None:
    result = clean_article(extract_html(PAGE).text)
    for paragraph in PARAGRAPHS:
        assert paragraph in result.clean_text
    assert "Advertisement" not in result.clean_text


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("just some text without any markup at all", "not_html"),
        ("<html><body><nav><a href='/'>Home</a></nav></body></html>", "no_article"),
        ("<html><body>" + "<div>" * 50_000 + "deep" + "</div>" * 50_000 + "</body></html>", "no_article"),
        ("<p>" * (MAX_TAGS + 1), "too_large"),
    ],
    ids=["empty", "blank", "not-html", "no-article", "deep-dom", "too-many-tags"],
)
def test_bad_pages_raise_extract_error(page: str, reason: str) -> None:
    with pytest.raises(ExtractError) as err:
        extract_html(page)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><p>unclosed <b>tags <i>everywhere <table><tr><td>x</p></body>",
        "\x00<html>\x00</html>",
        "<html><body><p>" + "x " * 100 + "</div></div></span></html></html>",
        "<?xml version='1.0'?><!DOCTYPE html [<!ENTITY a 'aaaa'>]><html><body>&a;&a;</body></html>",
        "<html><body><script>" + "var x = 1;" * 1000 + "</script></body></html>",
        PAGE.encode("utf-16"),
    ],
    ids=["unclosed", "nul", "stray-closers", "entities", "script-only", "utf16-bytes"],
)
def test_malformed_pages_never_crash(page: str | bytes) -> None:
    with contextlib.suppress(TransformError):  # a typed refusal is fine; anything else fails the test
        extract_html(page)


def test_undecodable_bytes_raise_transform_error() -> None:
    with pytest.raises(TransformError):
        extract_html(b"\x89PNG\r\n\x1a\n" + bytes(100))


def test_wrong_type() -> None:
    with pytest.raises(ExtractError):
        extract_html(12345)  # type: ignore[arg-type]


class _Doc:
    """What trafilatura's bare_extraction returns, as far as extract_html reads it."""

    def __init__(self, text: str, title: str | None = None) -> None:
        self.text = text
        self.title = title
        self.author = self.date = self.sitename = self.url = None


def _words(n: int) -> str:
    """About n characters of text."""
    return " ".join(["word"] * (n // 5))


def test_a_fallback_text_still_short_against_the_pages_prose_is_checked_in_recall_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Precision mode keeps a fragment, balanced mode twice that (over 1,000 characters, but a small
    # share of the page's 20,000 characters of paragraphs), recall mode the article.
    import transforms.clean.html as html_module

    sizes = {"precision": 700, "balanced": 1500, "recall": 15000}

    def fake(tree: object, url: object, options: dict, metadata: bool = True) -> _Doc:
        mode = "balanced"
        if options.get("favor_recall") or options.get("favor_precision"):
            mode = "recall" if options.get("favor_recall") else "precision"
        return _Doc(_words(sizes[mode]))

    monkeypatch.setattr(html_module, "_bare_extraction", fake)
    prose = "".join(f"<p>{' '.join([PARAGRAPHS[i % 3]] * 4)}</p>" for i in range(32))
    result = extract_html(f"<html><body><h1>Protesters</h1>{prose}</body></html>")
    assert len(result.text) >= sizes["recall"] - 5


def _count_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count trafilatura's comparison with readability/justext (the slow part of a non-fast run)."""
    import trafilatura.core

    calls: list[int] = []
    real = trafilatura.core.compare_extraction

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(trafilatura.core, "compare_extraction", spy)
    return calls


def test_a_complete_fast_text_skips_the_comparison_with_other_extractors(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_comparisons(monkeypatch)
    article = "".join(f"<p>{p}</p>" for p in PARAGRAPHS * 3)
    page = PAGE.replace("</article>", f"{article}</article>")
    got = extract_html(page)
    assert PARAGRAPHS[2] in got.text
    assert calls == []


def test_a_fast_text_covering_little_of_the_page_is_checked_with_the_comparison(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fast run keeps 1,200 characters (not short by itself) of a page that shows 6,000
    # characters of text outside paragraphs: the precision run with the comparison decides.
    import transforms.clean.html as html_module

    seen: list[dict] = []

    def fake(tree: object, url: object, options: dict, metadata: bool = True) -> _Doc:
        seen.append(options)
        return _Doc(_words(1200 if options.get("fast") else 5000))

    monkeypatch.setattr(html_module, "_bare_extraction", fake)
    cells = "".join(f"<div>{PARAGRAPHS[i % 3]}</div>" for i in range(40))
    result = extract_html(f"<html><body><h1>Protesters</h1>{cells}</body></html>")
    assert seen[0].get("fast") is True
    assert seen[1].get("fast") is False and seen[1]["favor_precision"] is True
    assert len(result.text) >= 4990


def test_page_chars_counts_visible_text_only() -> None:
    from trafilatura.utils import load_html

    from transforms.clean.html import _page_chars

    script = "var x = 1;" * 500
    tree = load_html(
        f"<html><head><style>p {{ color: red }}</style></head><body><p>Two   words</p>"
        f"<script>{script}</script><noscript>Enable scripts</noscript><style>.a {{}}</style></body></html>"
    )
    assert _page_chars(tree) == len("Two words")


def test_a_page_every_mode_cuts_to_a_fragment_falls_back_to_its_paragraphs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every trafilatura mode returns one sentence of a page whose paragraphs hold the article:
    # the baseline (the page's text blocks) is taken, as it covers the page's prose.
    import transforms.clean.html as html_module

    monkeypatch.setattr(html_module, "_bare_extraction", lambda *args, **kwargs: _Doc(PARAGRAPHS[0], "Protesters"))
    prose = "".join(f"<p>{PARAGRAPHS[i % 3]} (part {i})</p>" for i in range(12))
    result = extract_html(f"<html><body><h1>Protesters</h1><div>{prose}</div></body></html>")
    assert PARAGRAPHS[1] in result.text and "(part 11)" in result.text
    assert result.title == "Protesters"


def test_the_baseline_does_not_replace_a_text_that_covers_the_prose(monkeypatch: pytest.MonkeyPatch) -> None:
    import transforms.clean.html as html_module

    calls: list[int] = []
    monkeypatch.setattr(html_module, "_baseline_rescue", lambda tree, doc, prose: calls.append(1) or doc)
    extract_html(PAGE.replace("</article>", "".join(f"<p>{p}</p>" for p in PARAGRAPHS * 3) + "</article>"))
    assert calls == []


def test_metadata_is_read_by_the_next_run_when_the_first_finds_no_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # trafilatura returns None (metadata included) when a run finds no text.
    import transforms.clean.html as html_module

    runs: list[bool] = []

    def fake(tree: object, url: object, options: dict, metadata: bool = True) -> _Doc | None:
        runs.append(metadata)
        return None if len(runs) == 1 else _Doc(" ".join(PARAGRAPHS * 4), "Protesters return" if metadata else None)

    monkeypatch.setattr(html_module, "_bare_extraction", fake)
    result = extract_html(PAGE)
    assert runs[:2] == [True, True]
    assert result.title and result.title.startswith("Protesters return")
