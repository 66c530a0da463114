"""Metadata of an HTML page from its own markup: headline, site name, authors and dates.

Read once from the parsed tree (meta tags, JSON-LD, <h1>, <title>, <time>) and combined with what
trafilatura found, by explicit rules:

- title: the page's headline sources (og:title, twitter:title, JSON-LD headline, <title>) with the
  site's name cut off ("Headline | Site", "Site - Headline", "Headline - Section | Site"): the site
  name is learned from the page itself (og:site_name, the JSON-LD publisher, application-name, the
  domain). An <h1> that agrees with one of those sources is the title (it is what the page shows),
  unless it is a short (three words at most) <h1> naming the site, a logo that starts every <title>;
  else the stripped og:title/JSON-LD headline; else trafilatura's title, stripped the same way.
  A segment after the headline ("Headline | Top 5 Picks") is cut, unless it is a subtitle of more
  than four words that the page's own title repeats, or the sentence goes on in lower case after
  the dash ("Headline - and what it means"), or the segment is an exclamation of two words or more
  ("Headline – Our Favourites!": no site or section name reads so). A long <h1> holding a word of the site's name is
  still a headline (only the site's name, or three words at most naming it, are the logo); the
  site's host name set before the headline without a separator ("example.com Headline") is cut.
  A title that ends in a full stop after a word ("Here are six tips.") is a line of description:
  the first source written as a headline (og:title, JSON-LD, twitter, <title>) replaces it. A
  title with characters lost to "?" ("Beginner? Guide") is replaced by a source that has them.
- author: JSON-LD authors, then author meta tags, then the byline next to the headline, then the
  share card's "Written by" pair (twitter:label1/twitter:data1), then trafilatura's byline, then (when
  none of those names anyone) an element the page marks as its author's (class "author", rel or
  itemprop "author") and a text labelled "Written by"/"Posted by"/"Author:" anywhere outside the
  comments (the name in the same text or the next one); a candidate must read
  as a person or organisation name (see `clean_author`): boilerplate ("Written by", "View more
  posts", "About the Author", "Our Editors"), URLs, copyright lines, role and generic words alone
  ("Staff", "Guide", "Name"), mostly lower-case word runs (a sentence of an author box, "I review
  games") and the site's own name are rejected; a month name trailing a name
  (the dateline run into the byline) is dropped. When no source names an author, none is invented.
- published: see `choose_date` for the order of sources (record shown on the page, "originally
  published", dateline under the headline, htmldate, record, "Updated").
"""

from __future__ import annotations

import bisect
import datetime as dt
import html
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["PageMeta", "read_page_meta", "choose_title", "choose_author", "choose_date", "clean_author", "site_names"]

_ARTICLE_TYPES = {
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "scholarlyarticle", "techarticle", "medicalwebpage", "report", "review", "backgroundnewsarticle",
    "liveblogposting", "posting", "socialmediaposting", "howto", "recipe", "webpage", "creativework",
}
# The page's own headline sources (PageMeta.titles keys), most trusted first.
_HEADLINE_KEYS = ("og", "jsonld", "twitter", "title")
_TITLE_SEP = re.compile(r"\s+(?:[|:·•»~/]|[-–—]{1,2}|::)\s+")
_SPACE = re.compile(r"\s+")
_ALNUM = re.compile(r"[\W_]+")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|[-_]|\.|$)")
_URL_DATE8 = re.compile(r"[/_-]((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?:[/_.-]|$)")
_ISO_DATE = re.compile(r"((?:19|20)\d{2})-(\d{2})-(\d{2})")
# A meta tag named for the publication date in a CMS's own words ("published-date", "pub_date").
_PUBLISHED_KEY = re.compile(r"(?:^|[\W_])(?:publish(?:ed)?|pub)[\W_]?(?:date|time|on)\b|date[\W_]?published", re.I)
_CHANGED_KEY = re.compile(r"modif|updat|revis|edit|expir", re.I)

# Words of page furniture around bylines: a candidate holding one is not a name.
_FURNITURE = frozenset(
    "view views more posts post read written posted published updated update reviewed fact checked "
    "checker share follow click subscribe login sign email profile bio biography articles stories "
    "see all latest recent comments comment min mins minute minutes ago on at last".split()
)
# Role and generic words: a candidate made only of these (and small words) names nobody.
_ROLE = frozenset(
    "about the a an our your by and of for with from to author authors editor editors editorial "
    "staff team writer writers contributor contributors guest admin administrator desk newsdesk "
    "community senior associate managing chief contributing correspondent reporter reporters news "
    "web content marketing expert experts member members user anonymous unknown default blog "
    "publisher press release office official board group website site page undefined null none webmaster "
    "name guide guides review reviews opinion analysis feature features sponsored advertisement tips insights".split()
)
_PREFIX = re.compile(
    r"^(?:(?:(?:written|posted|reviewed|published|edited|reported|story|words|text|article)\s+)?(?:by|from)|"
    r"authors?|written|posted|byline)\s*:?\s+",
    re.IGNORECASE,
)
_CUT = re.compile(
    r"\s*[|•·]|\s+(?:[-–—]\s|(?:published|updated|posted|reviewed|edited|medically|fact-checked|on|at)\b|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?)\s+\d)",
    re.IGNORECASE,
)
_SPLIT_AUTHORS = re.compile(r"\s*(?:;|&|\band\b|\bund\b|\bet\b|\by\b)\s*", re.IGNORECASE)
# A post-nominal credential ("MD", "PhD", "RD", "E-RYT 200"): kept with the name before it.
# Job titles after a name ("Jane Roe Staff Writer", "John Doe, Founder"): the name ends before them.
_JOB = frozenset(
    "writer reporter editor founder co-founder cofounder ceo cto cfo coo president director manager "
    "consultant expert contributor contributing former head lead senior staff correspondent columnist "
    "journalist analyst specialist producer photographer dietitian nutritionist coach instructor "
    "professor researcher strategist officer owner partner chef".split()
)
_MONTH_WORDS = frozenset(
    "january february march april may june july august september october november december jan feb mar "
    "apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday".split()
)
# A "... by NAME" lead-in anywhere at the start of a byline ("This post was written by", "Recipe by").
_BY_LEAD = re.compile(r"^[A-Za-z ]{0,40}?\b(?:by|By|BY)\s*:?\s+(?=[^\W\d_])")
_LEAD_FURNITURE = re.compile(r"^(?:read more|more|see more|view all posts|posts|articles)\s+(?:about|from|by)\s+", re.I)


_WRITTEN_BY = re.compile(r"(?:written|posted|published)\s+by|by|authors?|writers?", re.IGNORECASE)


def _is_credential(piece: str) -> bool:
    """A post-nominal credential ("MD", "PhD", "RD", "E-RYT 200", "M.D."): mostly capitals, short."""
    bare = re.sub(r"[.\-\s\d]", "", piece)
    if not bare or len(bare) > 6 or not bare.isalpha():
        return False
    return sum(c.isupper() for c in bare) * 2 >= len(bare) + (1 if len(bare) > 2 else 0)


@dataclass(slots=True)
class PageMeta:
    """What the page's markup says about itself."""

    titles: dict[str, str] = field(default_factory=dict)  # source -> raw title
    h1: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)  # site names, most explicit first
    authors: list[tuple[str, str]] = field(default_factory=list)  # (source, raw author)
    dates: list[tuple[str, str]] = field(default_factory=list)  # (source, raw date)
    visible: list[dt.date] = field(default_factory=list)  # dates written next to the headline
    updated: list[dt.date] = field(default_factory=list)  # those of them labelled "Updated ..."
    bylines: list[str] = field(default_factory=list)  # "By ..." texts next to the headline
    ambiguous: set[dt.date] = field(default_factory=set)  # visible dates written 03/04/2021 or 03.04.2021


def _text(node: Any) -> str:
    return _SPACE.sub(" ", node.text_content() if hasattr(node, "text_content") else str(node)).strip()


# Inside a headline, these hold something else: a <time> stamp, a "Posted on ... by" block, a subtitle.
_NOT_HEADLINE = frozenset("time div p h2 h3 h4 h5 h6 ul ol table form button script style noscript svg".split())


def _heading_text(h1: Any) -> str:
    """The words of a headline element: a <br> is a space, and <time> stamps and block elements
    nested inside it (a "Posted on ... by" box, a date) are not part of it."""
    parts: list[str] = [h1.text or ""]

    def walk(node: Any) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                parts.append(child.tail or "")
                continue
            if child.tag == "br":
                parts.append(" ")
            elif child.tag not in _NOT_HEADLINE:
                parts.append(child.text or "")
                walk(child)
            parts.append(child.tail or "")

    walk(h1)
    text = _SPACE.sub(" ", "".join(parts)).strip()
    return text or _text(h1)


def _fold(text: str | None) -> str:
    """Comparable form of a title or name: NFKC, case-folded, letters and digits only."""
    if not text:
        return ""
    return _ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def _ld_objects(data: Any, out: list[dict[str, Any]], depth: int = 0) -> None:
    """Every JSON-LD object with a @type, including those inside @graph and lists."""
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            _ld_objects(item, out, depth + 1)
    elif isinstance(data, dict):
        if "@type" in data:
            out.append(data)
        graph = data.get("@graph")
        if graph is not None:
            _ld_objects(graph, out, depth + 1)
        main = data.get("mainEntity")
        if isinstance(main, dict | list):
            _ld_objects(main, out, depth + 1)


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    values = t if isinstance(t, list) else [t]
    return {str(v).lower() for v in values if v}


def _names(value: Any) -> list[str]:
    """Names in a JSON-LD author/publisher value (a string, a Person, or a list of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str):
            return [name]
        if isinstance(name, list):
            return [n for n in name if isinstance(n, str)]
        return []
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    return []


def read_page_meta(tree: Any, url: str | None) -> PageMeta:
    """Collect title, site, author and date candidates from a parsed page (the tree is not changed)."""
    pm = PageMeta()
    metas: dict[str, str] = {}
    for node in tree.iter("meta"):
        key = (node.get("property") or node.get("name") or node.get("itemprop") or "").strip().lower()
        content = (node.get("content") or "").strip()
        if key and content and key not in metas:
            metas[key] = content
    for key, source in (("og:title", "og"), ("twitter:title", "twitter")):
        if key in metas:
            pm.titles[source] = metas[key]
    for key in ("og:site_name", "application-name", "apple-mobile-web-app-title", "twitter:site"):
        if key in metas:
            pm.sites.append(metas[key].lstrip("@"))
    objects: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            _ld_objects(json.loads(script.text), objects)
        except (ValueError, RecursionError):
            continue
    articles = [o for o in objects if _types(o) & _ARTICLE_TYPES]
    # A real article type beats a generic WebPage.
    articles.sort(key=lambda o: ("webpage" in _types(o) or "creativework" in _types(o)))
    for obj in objects:
        if _types(obj) & {"organization", "newsmediaorganization", "website"}:
            pm.sites.extend(n for n in _names(obj) if n)
    for obj in articles:
        for name in _names(obj.get("publisher")):
            pm.sites.append(name)
        headline = obj.get("headline") or (obj.get("name") if "webpage" not in _types(obj) else None)
        if isinstance(headline, str) and headline.strip() and "jsonld" not in pm.titles:
            pm.titles["jsonld"] = headline.strip()
        for name in _names(obj.get("author")):
            pm.authors.append(("jsonld", name))
        for key in ("datePublished", "dateCreated", "uploadDate"):
            value = obj.get(key)
            if isinstance(value, str) and value.strip():
                pm.dates.append(("jsonld", value.strip()))
                break
    for key in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "byl"):
        value = metas.get(key)
        if value:
            pm.authors.append(("meta", value))
    for k in range(1, 5):  # twitter:label1 "Written by" + twitter:data1 "Jane Roe" (the card's byline)
        label, value = metas.get(f"twitter:label{k}", ""), metas.get(f"twitter:data{k}")
        if value and _WRITTEN_BY.fullmatch(label.strip()):
            pm.authors.append(("card", value))
    for key in (
        "article:published_time", "og:published_time", "datepublished", "publish-date", "publishdate",
        "pubdate", "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.created", "date",
        "dc.date", "article.published", "published",
    ):
        value = metas.get(key)
        if value:
            pm.dates.append(("meta", _iso_of(value)))
    for key, value in metas.items():  # the CMS's own spelling: "w-published-date", "published_time"
        if _PUBLISHED_KEY.search(key) and not _CHANGED_KEY.search(key) and ("meta", _iso_of(value)) not in pm.dates:
            pm.dates.append(("meta", _iso_of(value)))
    title = tree.find(".//title")
    if title is not None and _text(title):
        pm.titles["title"] = _text(title)
    h1_nodes = [h for h in tree.iter("h1") if _text(h)][:5]
    pm.h1 = [_heading_text(h) for h in h1_nodes]
    stamps = [
        value
        for node in tree.iter("time")
        if (value := node.get("datetime"))
        and (node.get("itemprop") == "datePublished" or node.get("pubdate") is not None)
    ]
    if len({s[:10] for s in stamps}) == 1:  # several different ones: the stamps of a list of posts
        pm.dates.append(("time", stamps[0]))
    if url:
        host = urlsplit(url).hostname or ""
        labels = [p for p in host.split(".") if p not in ("www", "m", "amp", "en", "blog", "news")]
        if len(labels) >= 2:
            pm.sites.append(labels[-2])
            pm.sites.append(".".join(labels[-2:]))
    anchor = _headline_element(tree, pm, h1_nodes)
    if anchor is not None:
        pm.visible, pm.updated, pm.ambiguous = _dates_near(anchor)
        pm.bylines = _bylines_near(anchor)
    return pm


def _iso_of(value: str) -> str:
    """A meta tag's date as ISO text: as written when it holds an ISO date, else the date it
    spells out ("July 17, 2025" -> "2025-07-17"), else as written."""
    if _ISO_DATE.search(value):
        return value
    found = _date_matches(value)
    return found[0][1].isoformat() if found else value


# Elements whose text is never the visible headline.
_NOT_SHOWN = frozenset("html head title meta script style noscript template option".split())


def _headline_element(tree: Any, pm: PageMeta, h1_nodes: list[Any]) -> Any:
    """The element the dateline and byline sit next to: the first <h1> that agrees with the page's
    own title (og:title, JSON-LD headline, <title>); else the first element whose own text is that
    title without the site name (a headline set in a <p>, <div> or <legend>) when it comes before
    the first <h1> that is not the site's name (a logo set as <h1> above every page); else that <h1>."""
    sites = site_names(pm)
    sources = [pm.titles[k] for k in _HEADLINE_KEYS if k in pm.titles]
    for h, t in zip(h1_nodes, pm.h1, strict=True):
        if any(_agrees(t, s, sites) for s in sources):
            return h
    first_h1 = None
    if h1_nodes:
        first_h1 = next((h for h, t in zip(h1_nodes, pm.h1, strict=True) if _fold(t) not in sites), h1_nodes[0])
    # the title without the site's name, or its first segment when the site is not known by
    # that name ("Headline | BrandName" on brandname-app.example)
    stripped = [strip_site(s, sites) or "" for s in sources]
    wanted = {f for s in stripped for f in (_fold(s), _fold(_TITLE_SEP.split(s)[0])) if len(f) >= 12}
    if wanted:
        for el in tree.iter():
            if el is first_h1:
                break  # an <h1> above any copy of the title is the headline
            if not isinstance(el.tag, str) or el.tag in _NOT_SHOWN or not el.text or len(el.text) > 300:
                continue
            if _fold(el.text) in wanted:
                return el
    return first_h1


_MONTH_NUM = {
    m: i
    for i, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
         ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
         ("nov", "november"), ("dec", "december")],
        start=1,
    )
    for m in names
}
_MONTH_RX = "|".join(sorted(_MONTH_NUM, key=len, reverse=True))
_URL_DATE_NAMED = re.compile(rf"/((?:19|20)\d{{2}})/({_MONTH_RX})/(0?[1-9]|[12]\d|3[01])(?:/|[-_]|\.|$)", re.I)
_VISIBLE_DATE = re.compile(
    rf"\b(?:(?P<m1>{_MONTH_RX})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y1>(?:19|20)\d{{2}})"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{_MONTH_RX})\.?,?\s+(?P<y2>(?:19|20)\d{{2}})"
    r"|(?P<y3>(?:19|20)\d{2})(?P<sep>[-/.])(?P<m3>\d{1,2})(?P=sep)(?P<d3>\d{1,2})"
    r"|(?P<d5>\d{1,2})\.(?P<m5>\d{1,2})\.(?P<y5>(?:19|20)\d{2})"
    r"|(?P<m6>\d{1,2})/(?P<d6>\d{1,2})/(?P<y6>(?:19|20)\d{2}))(?:\b|(?<=\d)(?=T\d))",
    re.IGNORECASE,
)
# How much page text after the headline (and before it, in the same header) is searched.
_NEAR_CHARS = 500
# A date in a text of more than _PROSE_LEN characters is part of a sentence ("the deadline is
# April 15"), not a dateline, unless it opens the text ("BASRA, 3 May 2021 - ...").
_PROSE_LEN = 100
_LEAD_LEN = 40


_BY_ALONE = re.compile(
    r"(?!(?:photos?|images?|illustrations?|video|graphics?|art|source|credit|cover)\b)"
    r"(?:[A-Za-z]+\s+){0,2}(?:by|from)\s*:?|(?:authors?|contributors?|writers?)\s*:",
    re.IGNORECASE,
)
_BY_TEXT = re.compile(r"(?:(?:written|posted|words|story)\s+)?by\s*:?\s+(?P<name>\S.{1,80})", re.IGNORECASE)
_AUTHOR_CLASS = re.compile(r"author|byline|writer", re.IGNORECASE)
# The other parts of a byline block ("byline__category", "byline-date", "byline__separator"): not its name.
_BYLINE_PART = re.compile(r"categor|topic|section|date|time|separator|divider|(?:^|[\W_])tags?(?:[\W_]|$)", re.I)
# Links to an author's page: /author/jane-roe, /people/jane-roe, /contributors/jane-roe.
_AUTHOR_HREF = re.compile(
    r"/(?:authors?|people|profiles?|staff|writers?|contributors?|columnists?|reporters?)/[^/?#]+", re.I
)


def _bylines_near(h1: Any) -> list[str]:
    """Byline texts in the page just after the headline: "By Jane Roe", or a "By" label followed by
    the name, or a short text inside an element whose class names an author or byline."""
    out: list[str] = []
    total = 0
    label = False
    for node in h1.xpath("following::text()[not(ancestor::script) and not(ancestor::style)][position() <= 60]"):
        text = _SPACE.sub(" ", str(node)).strip()
        if not text:
            continue
        total += len(text)
        if total > _NEAR_CHARS * 2:
            break
        if label:
            out.append(text)
            label = False
            continue
        if _BY_ALONE.fullmatch(text):
            label = True
            continue
        if m := _BY_TEXT.match(text):
            out.append(m["name"])
            continue
        parent = node.getparent()
        is_link = parent is not None and parent.tag == "a"
        if len(text) <= 60 and is_link and _AUTHOR_HREF.search(parent.get("href") or ""):
            out.append(text)
            continue
        if len(text) <= 60 and parent is not None:
            classes = " ".join(
                (el.get("class") or "") + " " + (el.get("rel") or "") + " " + (el.get("itemprop") or "")
                for el in (parent, parent.getparent())
                if el is not None
            )
            if _AUTHOR_CLASS.search(classes) and not _BYLINE_PART.search(classes):
                out.append(text)
    return out[:3]


_UPDATED_LABEL = re.compile(r"(?:updated|modified|reviewed|edited)\W{0,3}(?:on|at)?\W{0,3}$", re.IGNORECASE)


def _dates_near(h1: Any) -> tuple[list[dt.date], list[dt.date], set[dt.date]]:
    """Dates written in the page text just before and after the headline (the visible dateline):
    (dates, dates labelled "Updated", "Last modified", "Reviewed" ..., dates written in numbers
    that read as another valid date with day and month swapped)."""
    after: list[str] = []
    total = 0
    for node in h1.xpath("following::text()[not(ancestor::script) and not(ancestor::style)][position() <= 200]"):
        text = str(node).strip()
        if not text:
            continue
        parent = node.getparent()
        if (
            node.is_text
            and parent is not None
            and parent.tag == "time"
            and not _VISIBLE_DATE.search(text)
            and (day := _parse_iso(parent.get("datetime") or ""))
        ):
            text += " " + day.isoformat()  # <time datetime="2024-05-06">Monday</time>: the stamp's day
        after.append(text)
        total += len(text)
        if total > _NEAR_CHARS:
            break
    before = [
        str(t).strip()
        for t in h1.xpath("preceding::text()[not(ancestor::script) and not(ancestor::style)][position() <= 6]")
    ]
    pieces = [*before, *after]
    text = " | ".join(pieces)
    starts = []
    pos = 0
    for piece in pieces:
        starts.append(pos)
        pos += len(piece) + 3
    dates: list[dt.date] = []
    updated: list[dt.date] = []
    ambiguous: set[dt.date] = set()
    for m, date in _date_matches(text):
        k = bisect.bisect_right(starts, m.start()) - 1
        if len(pieces[k]) > _PROSE_LEN and m.start() - starts[k] > _LEAD_LEN:
            continue  # a date inside a sentence of the article, not a dateline
        (updated if _UPDATED_LABEL.search(text[max(0, m.start() - 30) : m.start()]) else dates).append(date)
        if (m["d5"] or m["d6"]) and date.day <= 12 and date.day != date.month:
            ambiguous.add(date)
    return dates, updated, ambiguous


def site_names(pm: PageMeta) -> set[str]:
    """Folded site names of the page (from markup and domain)."""
    return {f for f in (_fold(s) for s in pm.sites) if len(f) >= 2}


def _is_site_segment(segment: str, sites: set[str]) -> bool:
    """A title segment that names the site ("CNN Politics" for the site "CNN", "Move.org")."""
    folded = _fold(segment)
    if not folded:
        return True
    if folded in sites:
        return True
    words = [_fold(w) for w in segment.split()]
    return any(len(s) >= 3 and (folded.startswith(s) or folded.endswith(s) or s in words) for s in sites)


# The site's own host name set before the headline with no separator ("example.com Headline").
_SITE_HOST = re.compile(r"([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,12})\s+(?=\S+\s+\S)", re.I)


def strip_site(title: str | None, sites: set[str]) -> str | None:
    """The title without the site-name segments at its start or end."""
    if not title:
        return None
    title = _SPACE.sub(" ", title).strip()
    if (m := _SITE_HOST.match(title)) and _fold(m[1]) in sites:
        title = title[m.end() :]
    colon = title.find(": ")
    if 0 < colon <= 40 and _is_site_segment(title[:colon], sites) and len(title) - colon > 12:
        title = title[colon + 2 :]  # "Site: Headline"
    parts = _TITLE_SEP.split(title)
    if len(parts) == 1:
        return title
    seps = _TITLE_SEP.findall(title)
    lo, hi = 0, len(parts)
    while hi - lo > 1 and _is_site_segment(parts[hi - 1], sites):
        hi -= 1
    while hi - lo > 1 and _is_site_segment(parts[lo], sites):
        lo += 1
    out = parts[lo]
    for k in range(lo + 1, hi):
        out += seps[k - 1] + parts[k]
    return out.strip() or None


def _agrees(h1: str, candidate: str, sites: set[str]) -> bool:
    """An h1 agrees with a title source when one is the other, or the start of the other."""
    a, b = _fold(h1), _fold(candidate)
    if not a or not b:
        return False
    if a == b:
        return True
    stripped = _fold(strip_site(candidate, sites))
    return a == stripped or (len(a) >= 12 and (b.startswith(a) or a.startswith(stripped) and len(stripped) >= 12))


def _stripped_titles(pm: PageMeta, sites: set[str]) -> list[str]:
    """The page's headline sources in order of trust, each without the site's name; empty ones left out."""
    return [t for k in _HEADLINE_KEYS if (t := strip_site(pm.titles.get(k), sites))]


def choose_title(pm: PageMeta, fallback: str | None) -> str | None:
    """The page's headline (see the module docstring for the order)."""
    sites = site_names(pm)
    title = _choose_title(pm, fallback, sites)
    if title and "?" in title[:-1]:
        # characters lost to "?" on the way ("Beginner? Guide"): a source that has them whole
        lost = re.compile("".join(".{1,3}" if c == "?" else re.escape(c) for c in title.replace(" ", "")))
        for other in _stripped_titles(pm, sites):
            if "?" not in other and lost.fullmatch(other.replace(" ", "")):
                return other
    if title and _is_sentence(title):
        for other in _stripped_titles(pm, sites):
            if not _is_sentence(other) and len(other.split()) >= 3:
                if _fold(other) == _fold(title):
                    break  # the same headline, written with its full stop on the page
                return _main_segment(other)
    return title


_SENTENCE_END = re.compile(r"[^\W\d_]{2,}\s?\.$")


def _is_sentence(title: str) -> bool:
    """A title ending in a full stop after a word ("Here are six tips."): a sentence of the page's
    description, not a headline ("... in the U.S." ends with an abbreviation)."""
    return bool(_SENTENCE_END.search(title.rstrip())) and not re.search(r"\b(?:[A-Z]\.){2,}$", title.rstrip())


def _choose_title(pm: PageMeta, fallback: str | None, sites: set[str]) -> str | None:
    """The page's headline (see the module docstring for the order), before choose_title's repairs."""
    sources = [pm.titles[k] for k in _HEADLINE_KEYS if k in pm.titles]
    for h1 in pm.h1:
        if len(h1.split()) <= 3 and _is_site_segment(h1, sites):
            continue  # the site's name set as <h1> (a logo) is the start of every page's <title>
        if any(_agrees(h1, s, sites) for s in sources):
            main = _main_segment(h1)
            rest = h1[len(main) :].split()
            if len(rest) > 4 and any(_fold(strip_site(s, sites)) == _fold(h1) for s in sources):
                return h1  # a subtitle (4+ words) the page's own title repeats is part of the headline
            return main
    for h1 in pm.h1[:1]:
        # the site's name, or a short text naming it (a long headline may hold a word of the site's name)
        names_site = _fold(h1) in sites or len(h1.split()) <= 3 and _is_site_segment(h1, sites)
        if 3 <= len(h1.split()) <= 40 and not names_site:
            return _main_segment(h1)
    if stripped := _stripped_titles(pm, sites):
        return _main_segment(stripped[0])
    if len(pm.h1) == 1:
        return pm.h1[0]
    return strip_site(fallback, sites)


def _main_segment(title: str) -> str:
    """A headline without the section or teaser segment after it ("Headline | Top 10 Picks")."""
    parts = _TITLE_SEP.split(title, maxsplit=1)
    if len(parts) == 2 and parts[1][:1].islower():
        return title  # "Headline - and what it means": the sentence goes on after the dash
    if len(parts) == 2 and parts[1].rstrip().endswith("!") and len(parts[1].split()) >= 2:
        return title  # "Headline – Our Favourites!": the writer's exclamation, never a site or section name
    if len(parts) == 2 and len(parts[0].split()) >= 3:
        return parts[0].strip()
    return title


def clean_author(raw: str | None, sites: set[str], visible: bool = True) -> str | None:
    """A byline reduced to its names ("A, B"), or None when it names no one (see module docstring)."""
    if not raw:
        return None
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", html.unescape(raw))).strip()
    if "://" in text or "@" in text or "©" in text or text.lower().startswith("www."):
        return None
    text = _LEAD_FURNITURE.sub("", text.strip("\"“”'"))
    text = _PREFIX.sub("", text)
    if visible and (m := _BY_LEAD.match(text)):
        text = text[m.end() :]
    m = _CUT.search(text)
    if m:
        text = text[: m.start()]
    text = text.strip(" ,;:|-–—")
    if not text or len(text) > 120 or _BY_ALONE.fullmatch(text):
        return None  # a label whose name follows elsewhere ("Recipe by", "Insights from")
    names: list[str] = []
    for part in _SPLIT_AUTHORS.split(text):
        for piece in part.split(","):
            piece = piece.strip(" ,;:")
            if not piece:
                continue
            if names and _is_credential(piece):
                names[-1] += ", " + piece
                continue
            piece, job = _cut_job(piece) if visible else (piece, False)
            words = piece.split()
            while len(words) > 1 and words[-1].lower().strip(".") in _MONTH_WORDS - {"may", "march"}:
                words.pop()  # "Jane Roe December": the dateline after the name, its day elsewhere
            piece = " ".join(words)
            if names and " " not in piece and " " in names[0]:
                break  # "Jane Roe, Home, Garden": a lone word after a full name is a section
            if not _is_name(piece, sites):
                return None if not names else ", ".join(names)
            names.append(piece)
            if job:
                return ", ".join(names)
        else:
            continue
        break
    return ", ".join(names) or None


def _cut_job(piece: str) -> tuple[str, bool]:
    """A name without the job title that follows it, and whether there was one."""
    words = piece.split()
    for k, word in enumerate(words):
        if k >= 1 and word.lower().strip(".,") in _JOB:
            return " ".join(words[:k]), True
    return piece, False


# Lower-case words inside names ("Ludwig van Beethoven", "Ana de la Vell", "Omar bin Said").
_PARTICLES = frozenset("van von der den de del della di da das dos du la le y e bin ibn al el ter ten zu".split())


def _is_name(piece: str, sites: set[str]) -> bool:
    """A piece reads as a name: no furniture words, not role words only, not the site itself."""
    if any(c.isdigit() for c in piece) or len(piece) > 60:
        return False
    words = [w.lower().strip(".'’") for w in piece.split()]
    if not words or len(words) > 6:
        return False
    if any(w in _FURNITURE for w in words) or any(w in ("com", "net", "org") for w in piece.split()):
        return False
    if all(w in _ROLE or w in _MONTH_WORDS for w in words):
        return False
    letters = [c for c in piece if c.isalpha()]
    if not letters:
        return False
    if not any(c.islower() for c in letters):
        return True  # written in capitals, or in a script without case
    # a name's words are capitalised ("Ana de la Vell"): a byline of mostly lower-case words is a
    # sentence ("I review games and modules")
    cased = [w for w in piece.split() if w[0].isalpha() and w.lower() not in _PARTICLES]
    return bool(cased) and sum(w[0].isupper() for w in cased) * 2 > len(cased)


def choose_author(pm: PageMeta, byline: str | None, tree: Any = None) -> str | None:
    """JSON-LD authors, then meta authors, then the byline next to the headline, then the share
    card's "Written by" pair (a CMS account: a visible byline beats it), then trafilatura's byline;
    the first that names someone.

    A structured author or a byline that is only the site's own name (the publisher credited as
    author) gives way to a later source naming someone else; without one it stands (a page that
    shows "By River Times" is credited to River Times)."""
    sites = site_names(pm)
    deferred: str | None = None
    jsonld = [a for s, raw in pm.authors if s == "jsonld" and (a := clean_author(raw, sites, visible=False))]
    if jsonld:
        seen: list[str] = []
        for a in jsonld:
            for name in a.split(", "):
                if name not in seen:
                    seen.append(name)
        joined = ", ".join(seen)
        if not _is_site(joined, sites):
            return joined
        deferred = joined
    for source, raw in pm.authors:
        if source == "meta" and (a := clean_author(raw, sites, visible=False)):
            if not _is_site(a, sites):
                return a
            deferred = deferred or a
    for raw in pm.bylines:
        if a := clean_author(raw, sites):
            if not _is_site(a, sites):
                return a
            deferred = deferred or a
    for source, raw in pm.authors:
        if source == "card" and (a := clean_author(raw, sites, visible=False)):
            if not _is_site(a, sites):
                return a
            deferred = deferred or a
    a = clean_author(byline, sites)
    if a and not _is_site(a, sites):
        return a
    if tree is not None and not (deferred or a):
        for raw in (*_author_boxes(tree), *_labelled_bylines(tree)):
            if (found := clean_author(raw, sites)) and not _is_site(found, sites):
                return found
    return deferred or a


# An element the page marks as its author's: class "author-name", rel="author", itemprop="author".
_AUTHOR_BOX = (
    "//*[(contains(@class, 'author') and not(contains(@class, 'comment')) and not(contains(@class, 'authorit')))"
    " or @rel='author' "
    "or @itemprop='author'][not(ancestor::*[contains(@class, 'comment')])]"
)


def _author_boxes(tree: Any) -> list[str]:
    """Short texts of the elements the page marks as its author's (an author box below the article,
    a byline far from the headline), in page order."""
    out: list[str] = []
    for el in tree.xpath(_AUTHOR_BOX)[:20]:
        if el.tag in ("script", "style", "img", "meta", "link"):
            continue
        text = _text(el)
        if len(text) > 600:  # a page section, not a box
            continue
        if len(text) > 60:  # an author box: the name is its first text ("Jane Roe" above her bio)
            first = next((d for d in el.iterdescendants() if isinstance(d.tag, str) and (d.text or "").strip()), None)
            text = _text(first) if first is not None else ""
        if 3 <= len(text) <= 60:
            out.append(text)
    return out


# A text that labels its author: "Written by Jane Roe", "Posted by: Jane Roe", "Author: Jane Roe".
_BYLINE_LABEL = re.compile(r"^\s*(?:(?:written|posted|authored)\s+by\s*:?|authors?\s*:)\s*(.*?)\s*$", re.IGNORECASE)


def _labelled_bylines(tree: Any) -> list[str]:
    """Names the page labels anywhere as its author's ("Written by" then the name, in the same text or
    the next one; an author box with no author class), in page order; not inside comments."""
    out: list[str] = []
    waiting = False
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript", "template"):
            continue
        for text in (el.text, el.tail):
            text = (text or "").strip()
            if not text:
                continue
            if waiting:
                waiting = False
                if len(text) <= 60:
                    out.append(text)
                    continue
            m = _BYLINE_LABEL.match(text) if len(text) <= 80 else None
            if m is None:
                continue
            if any("comment" in (anc.get("class") or "") for anc in el.iterancestors()):
                continue
            if m[1]:
                out.append(m[1])
            else:
                waiting = True
        if len(out) >= 5:
            break
    return out


def _is_site(name: str, sites: set[str]) -> bool:
    """The name is the site's own (as og:site_name, the publisher or the domain spell it)."""
    folded = _fold(name)
    return bool(folded) and any(folded == s or (len(s) >= 4 and folded.startswith(s)) for s in sites)


_ISO_OFFSET = re.compile(r"T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?")


def _ymd(m: re.Match[str] | None) -> dt.date | None:
    """The date of a match whose groups 1-3 are year, month and day; None when absent or impossible."""
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _parse_iso(value: str) -> dt.date | None:
    """The day of an ISO date or timestamp, as written (the publisher's local day)."""
    return _ymd(_ISO_DATE.search(value))


def _moment(value: str) -> dt.datetime | None:
    """The UTC moment of an ISO timestamp that has a time and an offset ("Z" counts), else None."""
    day = _parse_iso(value)
    m = _ISO_DATE.search(value)
    if day is None or m is None:
        return None
    t = _ISO_OFFSET.match(value, m.end())
    if not t or not t[3]:
        return None
    offset = dt.timedelta()
    if t[3] != "Z":
        digits = t[3][1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
        offset = -offset if t[3][0] == "-" else offset
    try:
        return dt.datetime(day.year, day.month, day.day, int(t[1]), int(t[2])) - offset
    except ValueError:
        return None


def _same_moment(day: dt.date, moment: dt.datetime | None) -> bool:
    """The day is the calendar day of the moment in some time zone (UTC-12 to UTC+14)."""
    if moment is None:
        return False
    return (moment - dt.timedelta(hours=12)).date() <= day <= (moment + dt.timedelta(hours=14)).date()


def url_date(url: str | None) -> dt.date | None:
    """A date written in the URL's path (/2020/01/14/, -20200114- or /2020/january/14/)."""
    if not url:
        return None
    path = urlsplit(url).path
    found = _ymd(_URL_DATE.search(path) or _URL_DATE8.search(path))
    if found is None and (m := _URL_DATE_NAMED.search(path)):
        try:
            found = dt.date(int(m[1]), _MONTH_NUM[m[2].lower()], int(m[3]))
        except ValueError:
            return None
    return found


def choose_date(pm: PageMeta, url: str | None, found: dt.date | None, tree: Any = None) -> dt.date | None:
    """The publication date. Candidates, in this order of trust:
    1. the publisher's own record: JSON-LD datePublished of the article object, then meta tags
       (article:published_time, og:published_time, datePublished, pubdate, ..., then any tag
       named for a publication date: "x-published-date", "pub_date"; not "modified", "updated"),
       then a <time datetime> marked itemprop=datePublished or pubdate (only when all such stamps
       agree: several different ones are a list of posts), then a date in the URL path
       (/2020/01/14/, -20200114-, /2020/january/14/). When the
       first record is not shown on the page and a later one (more than a day away) is, the
       shown one is the record. A date that only the JSON-LD holds (no meta tag or <time> stamp
       has one) and that the page never shows is no record: CMS plugins stamp the JSON-LD of
       every page, evergreen guides included (it still settles the reading of a numeric dateline);
    2. a date the page labels "originally published" or "first published";
    3. the first date written next to the headline (the visible dateline), not counting dates
       labelled "Updated", "Last modified", "Reviewed": those are not publication dates, nor
       dates inside a sentence (a text of more than 100 characters, unless the date opens it);
       the headline is found by `_headline_element`; a <time> element whose text holds
       no date ("Sunday") gives the day of its datetime;
    4. `found`: trafilatura's htmldate guess from the page header.
    The record (1) wins when the page shows that date somewhere; when it does not, a labelled
    first publication (2) wins; else when the page shows a dateline (3), the dateline wins: the
    record then holds a date the reader never sees (a first draft, a re-import); a dateline
    written in numbers only (03/10/2023) that reads as the record's date with day and month
    swapped is read that way (htmldate's guess does not count: it reads the same digits).
    Otherwise: the htmldate guess if the page shows it, else the record, else an "Updated" date as the last resort.
    Time zones: the record's day is the day as the publisher wrote it (not converted to UTC). A
    URL day or a dateline one calendar day off a record timestamp, and reachable from it in some
    zone (UTC-12 to UTC+14), is the same moment: the URL's day then wins over the record (the
    publisher's own day), and the record's day wins over such a dateline. Measured on WCXB dev
    (bench/extraction_wcxb.py; tests in test_clean_pagemeta.py).
    """
    candidates: list[tuple[dt.date, str]] = []
    for wanted in ("jsonld", "meta", "time"):
        for source, raw in pm.dates:
            if source == wanted and (day := _parse_iso(raw)) is not None:
                candidates.append((day, raw))
    text: str | None = None

    def page_text() -> str:
        nonlocal text
        if text is None:
            text = _body_text(tree) if tree is not None else ""
        return text

    def is_shown(date: dt.date) -> bool:
        return tree is not None and _shows(page_text(), date)

    record = unconfirmed = None
    moment: dt.datetime | None = None
    if candidates:
        record, raw = candidates[0]
        moment = _moment(raw)
        if not is_shown(record):
            # A record the page does not show gives way to another one it shows, unless that is the
            # same moment written in another time zone.
            for day, other in candidates[1:]:
                if abs((day - record).days) > 1 and is_shown(day):
                    record, moment = day, _moment(other)
                    break
        if tree is not None and not is_shown(record) and all(s == "jsonld" for s, r in pm.dates if _parse_iso(r)):
            # Only the JSON-LD holds a date, and the page never shows it (a CMS plugin stamps every
            # page, evergreen guides included): not a publication date on its own.
            unconfirmed, record = record, None
    in_url = url_date(url)
    if record is not None and in_url is not None and in_url != record and _same_moment(in_url, moment):
        return in_url  # the URL names the publisher's day of a timestamp written in another zone
    record = record or in_url
    if record is not None and (tree is None or is_shown(record)):
        return record
    if tree is not None and (first := _first_published(page_text())):
        return first  # "This article was originally published on 3 May 2019" (and updated since)
    if (record or unconfirmed) is not None and pm.visible and _same_moment(pm.visible[0], moment):
        return record or unconfirmed  # the dateline shows the same moment in another time zone: the record's day
    if pm.visible:
        shown = pm.visible[0]
        swapped = dt.date(shown.year, shown.day, shown.month) if shown in pm.ambiguous else None
        if swapped is not None and swapped == (record or unconfirmed):
            return swapped  # 09.10.2024 read in the order the page's own record confirms
        return shown
    if found is not None and is_shown(found):
        return found
    return record or (pm.updated[0] if pm.updated else None)


_FIRST_PUBLISHED = re.compile(r"\b(?:originally|first)\s+(?:published|posted)(?:\s+on)?\s*:?\s*(?:\|\s*)?", re.I)


def _first_published(text: str) -> dt.date | None:
    """The date a page labels as its first publication ("Originally published on May 3, 2019")."""
    for m in _FIRST_PUBLISHED.finditer(text):
        found = _date_matches(text[m.end() : m.end() + 40])
        if found and found[0][0].start() == 0:
            return found[0][1]
    return None


# How much of the page's text is searched for a date it shows (a page is read from the top).
_SHOWN_CHARS = 300_000


def _body_text(tree: Any) -> str:
    """The page's text, without scripts and styles (text nodes joined by " | "), up to _SHOWN_CHARS."""
    parts: list[str] = []
    total = 0
    for el in tree.iter():
        if total > _SHOWN_CHARS:
            break
        if el.tag in ("script", "style", "noscript") or not isinstance(el.tag, str):
            if el.tail:
                parts.append(el.tail)
            continue
        if el.text:
            parts.append(el.text)
            total += len(el.text)
        if el.tail:
            parts.append(el.tail)
            total += len(el.tail)
    return " | ".join(parts)


def _shows(text: str, date: dt.date) -> bool:
    """True when text writes out this date in one of the forms _date_matches reads."""
    y, m, d = str(date.year), date.month, date.day
    if y not in text:
        return False
    names = "|".join(n for n, i in _MONTH_NUM.items() if i == m)
    day = rf"0?{d}(?:st|nd|rd|th)?"
    rx = re.compile(
        rf"\b(?:(?:{names})\.?\s+{day},?\s+{y}|{day}\s+(?:{names})\.?,?\s+{y}"
        rf"|{y}(?P<sep>[-/.])0?{m}(?P=sep)0?{d}|0?{d}\.0?{m}\.{y}|0?{m}/0?{d}/{y}|0?{d}/0?{m}/{y})(?:\b|(?<=\d)(?=T\d))",
        re.IGNORECASE,
    )
    return rx.search(text) is not None


def _date_matches(text: str) -> list[tuple[re.Match[str], dt.date]]:
    """Every date written out in text ("May 5, 2024", "5 May 2024", "2024-05-05", "05/05/2024"),
    with its match."""
    out = []
    for m in _VISIBLE_DATE.finditer(text):
        y: str
        mo: str | int
        d: str
        if m["y1"]:
            y, mo, d = m["y1"], _MONTH_NUM[m["m1"].lower()], m["d1"]
        elif m["y2"]:
            y, mo, d = m["y2"], _MONTH_NUM[m["m2"].lower()], m["d2"]
        elif m["y3"]:
            y, mo, d = m["y3"], m["m3"], m["d3"]
        elif m["y5"]:  # 23.07.2025: day first
            y, mo, d = m["y5"], m["m5"], m["d5"]
        else:  # 07/23/2025: month first (US), unless the first number cannot be a month
            y, mo, d = m["y6"], m["m6"], m["d6"]
            if int(mo) > 12:
                mo, d = d, str(mo)
        try:
            out.append((m, dt.date(int(y), int(mo), int(d))))
        except ValueError:
            continue
    return out
