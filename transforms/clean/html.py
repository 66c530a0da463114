"""The HTML path: main text and metadata of a news page, with trafilatura tuned for precision."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from configparser import ConfigParser
from typing import Any

from transforms.clean.pagemeta import choose_author, choose_date, choose_title, read_page_meta
from transforms.decode import decode_bytes
from transforms.errors import ExtractError, TransformError
from transforms.records import Extracted

__all__ = ["extract_html", "MAX_HTML_CHARS", "MAX_TAGS", "MAX_TREE_SIZE", "MIN_ARTICLE_WORDS"]

# Pages above this are not articles (feeds, dumps, attacks); lxml would still parse them slowly.
MAX_HTML_CHARS = 20_000_000
# Fewer extracted words than this is navigation or a stub, not an article.
MIN_ARTICLE_WORDS = 8
# A page with more tags than this is not an article page; parsing it would take seconds and memory.
MAX_TAGS = 400_000
# trafilatura discards an extracted body with more elements than this (settings.cfg MAX_TREE_SIZE).
MAX_TREE_SIZE = 50_000

# Measured on the aeb benchmark (bench/extraction_aeb.py): favor_precision without comments beats
# the defaults (comments are not article text; precision mode drops link lists and teasers);
# tables stay in, as they carry article content often enough.
_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "favor_precision": True,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "deduplicate": False,
}

# Precision mode sometimes prunes most of an article away (a body split into many small blocks
# looks like a link list). Its text is checked against balanced mode when it is shorter than
# _SHORT_TEXT_CHARS or than _PARAGRAPH_SHARE of the page's paragraph text (<p> of more than 40
# characters), and replaced when balanced mode finds at least _FALLBACK_FACTOR times more; a text
# still short by either measure is checked against recall mode the same way (a balanced text of
# 1,500 characters on a page of 20,000 characters of prose is still a fragment). Measured on WCXB
# dev and aeb (bench/extraction_wcxb.py, bench/extraction_aeb.py): the second run happens on about
# 6% and 11% of their pages.
_SHORT_TEXT_CHARS = 1000
_PARAGRAPH_SHARE = 0.3
_FALLBACK_FACTOR = 2
# The first run is trafilatura's fast mode: its own extractor without the comparison with
# readability and justext, which costs about a fifth of the HTML path. Measured on WCXB dev
# (711 pages), the comparison leaves the text unchanged on 666 pages; where it changes it, the
# fast text is short by the measures above or covers less than _FAST_PAGE_SHARE of the page's
# visible text (all text outside scripts and styles; 0.4 reruns 18% of the pages). Such a fast
# text is run again in precision mode with the comparison (replaced when that finds at least as
# much), then balanced and recall follow.
_FAST_PAGE_SHARE = 0.4
# When every mode still returns less than _PARAGRAPH_SHARE of the page's paragraph text,
# trafilatura's baseline (JSON-LD articleBody, <article>, else the page's paragraphs) replaces the
# text if it finds _FALLBACK_FACTOR times more and covers most of the paragraph text: the page's
# prose is then the article, which the extractors' pruning cut away (a body nested in a block
# whose class looks like navigation). On WCXB dev it replaces the text of 2 of 711 pages.
_BASELINE_PROSE_SHARE = 0.8
_FALLBACKS: tuple[tuple[dict[str, Any], float], ...] = (
    ({"fast": False}, 1),
    ({"fast": False, "favor_precision": False}, _FALLBACK_FACTOR),
    ({"fast": False, "favor_precision": False, "favor_recall": True}, _FALLBACK_FACTOR),
)

logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


def extract_html(data: bytes | str, url: str | None = None) -> Extracted:
    """Extract the article text and metadata of an HTML page; ExtractError if it has none."""
    if isinstance(data, bytes | bytearray | memoryview):
        html, _encoding = decode_bytes(bytes(data))
    elif isinstance(data, str):
        html = data
    else:
        raise ExtractError(f"expected HTML as bytes or str, got {type(data).__name__}", reason="bad_input")
    if not html.strip():
        raise ExtractError("the page is empty", reason="empty")
    if len(html) > MAX_HTML_CHARS:
        raise ExtractError(f"the page has {len(html)} characters (limit {MAX_HTML_CHARS})", reason="too_large")
    tags = html.count("<")
    if not tags:
        raise ExtractError("no HTML markup in the page", reason="not_html")
    if tags > MAX_TAGS:
        raise ExtractError(f"the page has {tags} tags (limit {MAX_TAGS})", reason="too_large")
    try:
        from trafilatura.utils import load_html

        # Parsed once: our metadata reader and trafilatura (which copies the tree) share it.
        tree = load_html(html)
        if tree is None:
            raise ExtractError("the page does not parse as HTML", reason="malformed_html")
        page = read_page_meta(tree, url)
        doc = _bare_extraction(tree, url, {**_OPTIONS, "fast": True})
        prose = _paragraph_chars(tree)

        def short(found: object) -> bool:
            n = len(_text(found))
            return n < _SHORT_TEXT_CHARS or n < _PARAGRAPH_SHARE * prose

        if short(doc) or len(_text(doc)) < _FAST_PAGE_SHARE * _page_chars(tree):
            for mode, factor in _FALLBACKS:
                # a run that found no text returns no metadata either: the next one reads it
                other = _bare_extraction(tree, url, {**_OPTIONS, **mode}, metadata=doc is None)
                if other is not None and len(_text(other)) >= factor * max(1, len(_text(doc))):
                    if doc is not None:
                        for key in ("title", "author", "date", "sitename", "url"):
                            setattr(other, key, getattr(doc, key, None))
                    doc = other
                if not short(doc):
                    break
            if len(_text(doc)) < _PARAGRAPH_SHARE * prose:
                doc = _baseline_rescue(tree, doc, prose)
    except TransformError:
        raise
    except RecursionError as exc:
        raise ExtractError("the page's DOM is nested too deeply to parse", reason="malformed_html") from exc
    except Exception as exc:  # lxml and trafilatura raise many types on broken markup
        raise ExtractError(f"HTML extraction failed: {exc!r}", reason="malformed_html") from exc
    text = _text(doc)
    if len(text.split()) < MIN_ARTICLE_WORDS:
        # A menu or a lone link is what trafilatura's fallbacks return for pages without an article.
        raise ExtractError(
            f"no article text found in the page ({len(text.split())} words extracted)", reason="no_article"
        )
    page_url = _field(doc, "url") or url
    return Extracted(
        text=text,
        title=choose_title(page, _field(doc, "title")),
        author=choose_author(page, _field(doc, "author"), tree),
        published=choose_date(page, page_url, _date(_field(doc, "date")), tree),
        sitename=_field(doc, "sitename"),
        url=page_url,
    )


def _bare_extraction(tree: Any, url: str | None, options: dict[str, Any], metadata: bool = True):
    """Run trafilatura on a parsed page with the given options; its Document or None."""
    import trafilatura  # imported lazily: it is heavy, and only the HTML path needs it
    from trafilatura.settings import set_date_params

    # No extensive date search: a date must come from markup, the URL or the page header, never
    # from any date-like string of the page (copyright years, "last reviewed" footers); measured
    # on WCXB dev, the extensive search invents a date on most pages that have none.
    return trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=metadata,
        config=_config(),
        date_extraction_params=set_date_params(extensive=False),
        **options,
    )


def _paragraph_chars(tree: Any) -> int:
    """Characters in the page's paragraphs of more than 40 characters: the size of its prose."""
    total = 0
    for p in tree.iter("p"):
        n = len(p.text_content())
        if n > 40:
            total += n
    return total


def _baseline_rescue(tree: Any, doc: Any, prose: int) -> Any:
    """trafilatura's baseline (the page's text blocks) for a page every mode cut to a fragment of its
    prose, when it finds _FALLBACK_FACTOR times more text and covers _BASELINE_PROSE_SHARE of the
    prose; otherwise `doc`."""
    from trafilatura.baseline import baseline

    _body, text, _n = baseline(tree)  # baseline copies the tree
    text = (text or "").strip()
    if len(text) < _FALLBACK_FACTOR * max(1, len(_text(doc))) or len(text) < _BASELINE_PROSE_SHARE * prose:
        return doc
    if doc is None:
        from trafilatura.settings import Document

        doc = Document()
    doc.text = text
    return doc


_INVISIBLE = ("script", "style", "noscript", "template", "svg")


def _page_chars(tree: Any) -> int:
    """Characters of the page's visible text, white space collapsed (menus and footers count)."""
    body = tree.find(".//body")
    if body is None:
        body = tree
    n = len(" ".join(body.text_content().split()))
    for node in body.iter(*_INVISIBLE):
        n -= len(" ".join(node.text_content().split()))
    return n


def _text(doc: object) -> str:
    """The extracted main text of a trafilatura Document (or '' for None)."""
    return (getattr(doc, "text", None) or "").strip() if doc is not None else ""


@functools.lru_cache(maxsize=1)
def _config() -> ConfigParser:
    """trafilatura's default settings with our tree-size limit."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
    return config


def _field(doc: object, name: str) -> str | None:
    """A metadata field as a stripped string, or None."""
    value = getattr(doc, name, None)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _date(value: str | None) -> dt.date | None:
    """trafilatura's 'YYYY-MM-DD' date as a date, or None."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
