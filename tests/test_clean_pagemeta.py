"""Metadata of HTML pages (title, author, date from the page's own markup) and of plain text
(headline + dateline lines, closing beat bios). All pages and sentences are made up for the tests."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from transforms.clean import clean_article, clean_html_page
from transforms.clean.pagemeta import clean_author, strip_site

BODY = "".join(
    f"<p>The river authority opened the new flood gates on the northern bank, and farmers said the "
    f"water reached their fields within hours, paragraph {i}.</p>"
    for i in range(6)
)


def page(head: str = "", top: str = "", jsonld: dict | None = None) -> str:
    script = f'<script type="application/ld+json">{json.dumps(jsonld)}</script>' if jsonld else ""
    return f"<html><head>{head}{script}</head><body><article>{top}{BODY}</article></body></html>"


# --- titles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "site", "expected"),
    [
        (
            "Flood gates open on the north bank | River Times Politics",
            "River Times",
            "Flood gates open on the north bank",
        ),
        ("Flood gates open on the north bank - Valley Health", "Valley Health", "Flood gates open on the north bank"),
        ("River Times: Flood gates open on the north bank", "River Times", "Flood gates open on the north bank"),
        ("Flood gates open - and farmers cheer", "River Times", "Flood gates open - and farmers cheer"),
    ],
)
def test_site_name_is_stripped_from_titles(title: str, site: str, expected: str) -> None:
    sites = {"".join(c for c in site.lower() if c.isalnum())}
    assert strip_site(title, sites) == expected


def test_h1_that_agrees_with_og_title_wins_and_site_suffix_goes() -> None:
    html = page(
        '<title>Gates open on the north bank | River Times</title>'
        '<meta property="og:title" content="Gates open on the north bank | River Times">'
        '<meta property="og:site_name" content="River Times">',
        top="<h1>Gates open on the north bank</h1>",
    )
    result = clean_html_page(html, url="https://www.rivertimes.example/news/gates")
    assert result.title == "Gates open on the north bank"


def test_site_name_learned_from_the_domain() -> None:
    html = page("<title>Gates open on the north bank - Rivertimes</title>")
    result = clean_html_page(html, url="https://rivertimes.example/gates")
    assert result.title == "Gates open on the north bank"


@pytest.mark.parametrize(
    "h1",
    [
        '<h1><time datetime="2021-05-09">May 9 2021</time> Gates open on the north bank</h1>',
        '<h1>Gates open on the north bank<div class="meta"><span>Posted on May 9, 2021 by desk</span></div></h1>',
        "<h1>Gates open<br>on the north bank</h1>",
    ],
)
def test_headline_words_without_stamps_nested_in_the_h1(h1: str) -> None:
    result = clean_html_page(page(top=h1), url="https://rivertimes.example/gates")
    assert result.title == "Gates open on the north bank"


def test_a_long_subtitle_the_pages_title_repeats_stays_in_the_headline() -> None:
    long = "Gates open on the north bank – what the farmers downstream can expect this spring"
    head = f'<title>{long} | River Times</title><meta property="og:site_name" content="River Times">'
    assert clean_html_page(page(head, top=f"<h1>{long}</h1>")).title == long
    # a short tag after the headline ("Opinion", "Top 5 Picks") is still cut
    short = "Gates open on the north bank | Opinion"
    assert clean_html_page(page(f"<title>{short}</title>", top=f"<h1>{short}</h1>")).title == (
        "Gates open on the north bank"
    )


# --- authors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["Written by", "Our Editors", "View more posts", "About the Author", "Community Editor", "Rivertimes com Published",
     "Staff", "https://social.example/rivertimes", "Dec", "Guide", "Name", "Valley State University ©"],
)
def test_non_person_bylines_are_rejected(raw: str) -> None:
    assert clean_author(raw, {"rivertimes"}) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("By Mara Okafor and Leo Brandt", "Mara Okafor, Leo Brandt"),
        ("Mara Okafor & Leo Brandt", "Mara Okafor, Leo Brandt"),
        ("Written by Mara Okafor | 3 min read", "Mara Okafor"),
        ("Mara Okafor Staff Writer", "Mara Okafor"),
        ("Mara Okafor, PhD", "Mara Okafor, PhD"),
        ("Mara Okafor; Home; Garden", "Mara Okafor"),
        ("Mara Okafor December", "Mara Okafor"),
        ("June Okafor", "June Okafor"),
        ("Leo May", "Leo May"),
    ],
)
def test_bylines_are_reduced_to_names(raw: str, expected: str) -> None:
    assert clean_author(raw, set()) == expected


def test_jsonld_author_over_visible_byline() -> None:
    html = page(
        '<meta property="og:title" content="Gates open">',
        top='<h1>Gates open on the north bank</h1><div class="byline">By Leo Brandt</div>',
        jsonld={
            "@type": "NewsArticle",
            "headline": "Gates open",
            "author": [{"@type": "Person", "name": "Mara Okafor"}],
        },
    )
    assert clean_html_page(html).author == "Mara Okafor"


def test_site_name_as_author_gives_way_to_a_visible_byline() -> None:
    html = page(
        '<meta property="og:site_name" content="River Times">',
        top="<h1>Gates open on the north bank</h1><p>By Leo Brandt</p>",
        jsonld={
            "@type": "NewsArticle",
            "headline": "Gates",
            "author": {"@type": "Organization", "name": "River Times"},
        },
    )
    assert clean_html_page(html).author == "Leo Brandt"


def test_visible_byline_when_markup_names_nobody() -> None:
    html = page(top="<h1>Gates open on the north bank</h1><p>By Leo Brandt</p>")
    assert clean_html_page(html).author == "Leo Brandt"


def test_the_category_or_date_of_a_byline_block_is_not_its_author() -> None:
    block = ('<section class="byline"><span class="byline__date">May 9, 2021</span> | '
             '<span class="byline__category"><a href="/rivers/dams">Dams &amp; Weirs</a></span></section>')
    assert clean_html_page(page(top="<h1>Gates open on the north bank</h1>" + block)).author is None
    named = block.replace("</section>", '<span class="byline__name">Mara Quell</span></section>')
    assert clean_html_page(page(top="<h1>Gates open on the north bank</h1>" + named)).author == "Mara Quell"


def test_no_author_is_invented() -> None:
    html = page(
        '<meta name="author" content="Our Editors">',
        top="<h1>Gates open on the north bank</h1>",
    )
    assert clean_html_page(html).author is None


def test_share_card_written_by_pair_names_the_author() -> None:
    card = '<meta name="twitter:label1" content="Written by"><meta name="twitter:data1" content="Mara Quell">'
    assert clean_html_page(page(card, top="<h1>Gates open on the north bank</h1>")).author == "Mara Quell"
    # a reading-time pair is not a byline
    timing = card.replace("Written by", "Est. reading time").replace("Mara Quell", "4 minutes")
    assert clean_html_page(page(timing, top="<h1>Gates open on the north bank</h1>")).author is None
    # the visible byline beats the card (the card names the CMS account that posted the page)
    shown = page(card, top="<h1>Gates open on the north bank</h1><p>By Leo Brandt</p>")
    assert clean_html_page(shown).author == "Leo Brandt"


@pytest.mark.parametrize("label", ["Recipe by", "Article by:", "Contributors:", "Insights from"])
def test_a_byline_label_is_not_a_name_the_name_after_it_is(label: str) -> None:
    top = f"<h1>Gates open on the north bank</h1><div><span>{label}</span> <a>Mara Quell</a></div>"
    assert clean_html_page(page(top=top)).author == "Mara Quell"
    assert clean_author(label, set()) is None


def test_a_photo_credit_label_does_not_make_an_author() -> None:
    top = "<h1>Gates open on the north bank</h1><figure><figcaption>Photo by</figcaption><a>Leo Brandt</a></figure>"
    assert clean_html_page(page(top=top)).author is None


def test_a_byline_naming_the_site_stands_when_nobody_else_is_named() -> None:
    head = '<meta property="og:site_name" content="River Times">'
    top = '<h1>Gates open on the north bank</h1><p><a href="/authors/river-times">River Times</a></p>'
    assert clean_html_page(page(head, top=top), url="https://rivertimes.example/gates").author == "River Times"
    named = top + '<p><a href="/authors/leo-brandt">Leo Brandt</a></p>'
    assert clean_html_page(page(head, top=named), url="https://rivertimes.example/gates").author == "Leo Brandt"


def _author_with(after_article: str) -> str | None:
    """The author of a page with no author markup above the article and `after_article` below it."""
    html = page(top="<h1>Gates open on the north bank</h1>").replace("</article>", "</article>" + after_article)
    return clean_html_page(html).author


@pytest.mark.parametrize(
    ("below", "expected"),
    [
        # an author box: the name is its first text, above the bio
        ('<div class="post-author-box"><h4>Mara Quell</h4><p>Mara Quell has covered the valley\'s rivers '
         "and farms for a decade and lives near the north bank.</p></div>", "Mara Quell"),
        ('<div class="author-card"><span>Mara Quell| Author</span></div>', "Mara Quell"),
        # no author markup at all: "Written by" in one element and the name in the next, or "Author: NAME"
        ('<div class="meta-foot"><h3>Written by</h3><p><strong>Mara Quell</strong></p></div>', "Mara Quell"),
        ("<footer><p>Author: Leo Brandt</p></footer>", "Leo Brandt"),
    ],
)
def test_an_author_box_or_a_labelled_byline_below_the_article_names_the_author(below: str, expected: str) -> None:
    assert _author_with(below) == expected


def test_authorities_and_comment_posters_are_not_labelled_bylines() -> None:
    import lxml.html

    from transforms.clean.pagemeta import _labelled_bylines

    tree = lxml.html.fromstring(
        "<html><body><p>Authority Having Jurisdiction</p><p>Authorities: Valley Water Board</p>"
        '<section class="comments"><p>Posted by Ada Stone</p></section>'
        "<p>Written by</p><p>Mara Quell</p></body></html>"
    )
    assert _labelled_bylines(tree) == ["Mara Quell"]


def test_comments_and_authorities_are_not_author_boxes() -> None:
    import lxml.html

    from transforms.clean.pagemeta import _author_boxes

    tree = lxml.html.fromstring(
        '<html><body><div class="local-authorities">Valley Water Board</div>'
        '<section class="comments"><div class="comment-author">Leo Brandt</div>'
        '<div class="reply"><span class="author">Ada Stone</span></div></section>'
        '<p class="byline-author">Mara Quell</p></body></html>'
    )
    assert _author_boxes(tree) == ["Mara Quell"]


# --- dates: the publisher's record (JSON-LD, meta, <time>, URL) when the page shows it, else the
# dateline under the headline -------------------------------------------------------------------


def test_jsonld_date_beats_meta_url_and_updated_dateline() -> None:
    html = page(
        '<meta property="article:published_time" content="2021-04-02T08:00:00Z">',
        top="<h1>Gates open on the north bank</h1><p>Published April 1, 2021 · Updated May 9, 2021</p>",
        jsonld={"@type": "NewsArticle", "headline": "Gates", "datePublished": "2021-04-01T22:00:00-05:00"},
    )
    result = clean_html_page(html, url="https://rivertimes.example/2021/03/30/gates")
    assert result.published == dt.date(2021, 4, 1)


def test_meta_date_beats_url_and_dateline() -> None:
    html = page(
        '<meta property="article:published_time" content="2021-04-02T08:00:00Z">',
        top="<h1>Gates open on the north bank</h1><p>May 9, 2021</p><p>First filed 2 April 2021</p>",
    )
    result = clean_html_page(html, url="https://rivertimes.example/2021/03/30/gates")
    assert result.published == dt.date(2021, 4, 2)


def test_url_date_beats_dateline_when_the_page_shows_it() -> None:
    html = page(top="<h1>Gates open on the north bank</h1><p>May 9, 2021</p>").replace(
        "</article>", "</article><p>Filed 30 March 2021</p>"
    )
    result = clean_html_page(html, url="https://rivertimes.example/2021/03/30/gates")
    assert result.published == dt.date(2021, 3, 30)


def test_a_record_the_page_never_shows_loses_to_the_dateline() -> None:
    html = page(
        top="<h1>Gates open on the north bank</h1><p>9 May 2021</p>",
        jsonld={"@type": "NewsArticle", "headline": "Gates", "datePublished": "2019-01-01T00:00:00Z"},
    )
    assert clean_html_page(html).published == dt.date(2021, 5, 9)


def test_a_dateline_in_another_time_zone_keeps_the_records_day() -> None:
    # 23:30 in UTC is already the next day for a reader east of Greenwich: the same moment.
    html = page(
        '<meta property="article:published_time" content="2021-04-01T23:30:00+00:00">',
        top="<h1>Gates open on the north bank</h1><p>2 April 2021</p>",
    )
    assert clean_html_page(html).published == dt.date(2021, 4, 1)
    # a dateline days away from the record is not the same moment: the dateline still wins
    far = html.replace("2 April 2021", "5 April 2021")
    assert clean_html_page(far).published == dt.date(2021, 4, 5)


def test_the_url_day_wins_over_a_timestamp_written_in_another_zone() -> None:
    html = page('<meta property="article:published_time" content="2021-04-02T03:10:00+00:00">', top="<h1>Gates</h1>")
    assert clean_html_page(html, url="https://rivertimes.example/2021/04/01/gates").published == dt.date(2021, 4, 1)
    # a URL day the timestamp cannot reach in any zone does not override it
    assert clean_html_page(html, url="https://rivertimes.example/2021/03/29/gates").published == dt.date(2021, 4, 2)


def test_a_numeric_dateline_is_read_in_the_order_the_record_confirms() -> None:
    # "04.09.2021" is 4 September day-first; the record says 9 April: the page writes month first
    html = page(
        top="<h1>Gates open on the north bank</h1><p>04.09.2021</p>",
        jsonld={"@type": "NewsArticle", "headline": "Gates", "datePublished": "2021-04-09T10:00:00Z"},
    )
    assert clean_html_page(html).published == dt.date(2021, 4, 9)
    # a dateline spelled out in words is never swapped
    words = html.replace("04.09.2021", "4 September 2021")
    assert clean_html_page(words).published == dt.date(2021, 9, 4)


def test_an_updated_date_is_not_the_dateline() -> None:
    html = page(
        '<meta property="article:published_time" content="2021-04-01T10:00:00Z">',
        top="<h1>Gates open on the north bank</h1><p>Last updated: 9 May 2021</p>",
        jsonld={"@type": "NewsArticle", "headline": "Gates", "datePublished": "2021-04-01T10:00:00Z"},
    )
    assert clean_html_page(html).published == dt.date(2021, 4, 1)
    alone = page(top="<h1>Gates open on the north bank</h1><p>Updated 9 May 2021</p>")
    assert clean_html_page(alone).published == dt.date(2021, 5, 9)


def test_a_record_the_page_never_shows_is_kept_without_a_dateline() -> None:
    # the JSON-LD and a meta tag agree (a JSON-LD date alone is not enough, see below)
    html = page(
        '<meta property="article:published_time" content="2021-04-01T10:00:00Z">',
        top="<h1>Gates open on the north bank</h1>",
        jsonld={"@type": "NewsArticle", "headline": "Gates", "datePublished": "2021-04-01T10:00:00Z"},
    )
    assert clean_html_page(html).published == dt.date(2021, 4, 1)


def test_dateline_under_the_headline_when_nothing_else() -> None:
    html = page(top="<h1>Gates open on the north bank</h1><p>By Leo Brandt</p><p>9 May 2021</p>")
    result = clean_html_page(html, url="https://rivertimes.example/gates")
    assert result.published == dt.date(2021, 5, 9)


def test_no_date_is_invented_from_a_copyright_year() -> None:
    html = page(top="<h1>Gates open on the north bank</h1>").replace(
        "</article>", "</article><footer>© 2019 River Times</footer>"
    )
    assert clean_html_page(html, url="https://rivertimes.example/gates").published is None



def test_a_meta_tag_named_in_the_cms_own_words_is_a_record() -> None:
    html = page('<meta name="x-published-date" content="2021-04-01">', top="<h1>Gates open on the north bank</h1>")
    assert clean_html_page(html).published == dt.date(2021, 4, 1)
    # a tag named for the last change is not the publication date
    changed = page('<meta name="x-modified-date" content="2021-04-01">', top="<h1>Gates open on the north bank</h1>")
    assert clean_html_page(changed).published is None


def test_a_record_the_page_shows_beats_one_it_never_shows() -> None:
    # the JSON-LD date is a re-import stamp; the page prints the date of its own <time pubdate>
    html = page(
        top="<h1>Gates open on the north bank</h1>",
        jsonld={"@type": "NewsArticle", "headline": "Gates", "datePublished": "2021-06-20T10:00:00Z"},
    ).replace("</article>", '<p>Published <time pubdate datetime="2021-03-02">2 March 2021</time></p></article>')
    assert clean_html_page(html).published == dt.date(2021, 3, 2)


def test_time_stamps_of_a_list_of_posts_are_not_the_articles_record() -> None:
    related = "".join(
        f'<li><time itemprop="datePublished" datetime="20{y}-01-0{y % 9 + 1}">old post</time></li>' for y in (15, 17)
    )
    html = page(top="<h1>Gates open on the north bank</h1>").replace("</article>", f"</article><ul>{related}</ul>")
    assert clean_html_page(html).published is None


def test_the_dateline_is_read_under_the_headline_not_under_a_logo_h1() -> None:
    # the record is a stamp the page never shows: the dateline under the headline wins, if it is found
    html = page(
        '<meta property="og:site_name" content="River Times">',
        top="<h1>Gates open on the north bank</h1><p>By Leo Brandt</p><p>9 May 2021</p>",
        jsonld={"@type": "NewsArticle", "headline": "Gates", "datePublished": "2019-01-01T00:00:00Z"},
    ).replace("<body>", "<body><header><h1>River Times</h1><p>" + "Home News Sport Weather " * 30 + "</p></header>")
    assert clean_html_page(html).published == dt.date(2021, 5, 9)


def test_a_dateline_written_as_a_timestamp_is_read() -> None:
    html = page(top="<h1>Gates open on the north bank</h1><p>Leo Brandt</p><span>2021-05-09T08:10+02:00</span>")
    assert clean_html_page(html).published == dt.date(2021, 5, 9)


def test_a_time_element_without_a_written_date_gives_its_stamp() -> None:
    html = page(top='<h1>Gates open on the north bank</h1><p><time datetime="2021-05-09T08:10:00Z">Sunday</time></p>')
    assert clean_html_page(html).published == dt.date(2021, 5, 9)


def test_the_date_a_page_labels_as_first_published_beats_a_later_dateline() -> None:
    html = page(top="<h1>Gates open on the north bank</h1><p>12 August 2023</p>").replace(
        "</article>", "</article><p>This story was originally published on 3 March 2019 and updated since.</p>"
    )
    assert clean_html_page(html).published == dt.date(2019, 3, 3)

# --- plain text -------------------------------------------------------------------------------

PLAIN_BODY = (
    "Shopkeepers in the old market moved their goods to the upper floors on Wednesday as the river "
    "rose for a third day.\n\nThe provincial council said pumps would arrive by the weekend, "
    "according to a statement.\n"
)


def test_headline_then_place_and_date_line() -> None:
    raw = f"Floodwaters reach the old market\nBasra, 3 March 2021\n\n{PLAIN_BODY}"
    result = clean_article(raw)
    assert result.title == "Floodwaters reach the old market"
    assert result.published == dt.date(2021, 3, 3)
    assert result.dateline_place == "Basra"
    assert result.clean_text == PLAIN_BODY
    assert {s.rule for s in result.removed} == {"title", "dateline"}


def test_headline_then_agency_dateline_line() -> None:
    raw = f"Ministers meet over the pumps\n\nBASRA (Example News) -\n\n{PLAIN_BODY}"
    result = clean_article(raw)
    assert result.title == "Ministers meet over the pumps"
    assert result.dateline_place == "BASRA"
    assert result.clean_text == PLAIN_BODY


def test_closing_beat_bio_becomes_the_author() -> None:
    raw = f"{PLAIN_BODY}\nJane Roe covers water and farming for The Daily Example from Basra.\n"
    result = clean_article(raw)
    assert result.author == "Jane Roe"
    assert "covers water" not in result.clean_text
    assert [s.rule for s in result.removed] == ["author_bio"]


def test_a_sentence_about_coverage_stays() -> None:
    raw = f"{PLAIN_BODY}\nThe report covers three provinces and was written for the council by engineers.\n"
    result = clean_article(raw)
    assert result.author is None
    assert result.clean_text == raw


def test_a_url_with_the_month_spelled_out_gives_the_date() -> None:
    from transforms.clean.pagemeta import url_date

    assert url_date("https://rivertimes.example/news/2022/march/07/gates-open/") == dt.date(2022, 3, 7)
    assert url_date("https://rivertimes.example/news/2022/Sept/7/gates") == dt.date(2022, 9, 7)
    assert url_date("https://rivertimes.example/news/2022/march/gates") is None
    # the URL's month name settles a dateline written 03.07.2022 (day first) or 07/03/2022
    html = page(top="<h1>Gates open on the north bank</h1><p>Filed 07/03/2022</p>")
    assert clean_html_page(html, url="https://rivertimes.example/2022/march/07/gates").published == dt.date(2022, 3, 7)


def test_a_headline_set_in_a_paragraph_anchors_the_dateline() -> None:
    """No <h1>: the element whose text is the page's og:title (without the site name) is the
    headline, and the date written next to it is the dateline."""
    head = (
        '<meta property="og:title" content="Gates open on the north bank | River Times">'
        '<meta property="og:site_name" content="River Times">'
    )
    top = '<p class="post-title">Gates open on the north bank</p><p>By Ana Vell · 12 May 2021</p>'
    assert clean_html_page(page(head, top=top)).published == dt.date(2021, 5, 12)
    # a site the page never names (no og:site_name, another domain): the title's first segment
    head = '<meta property="og:title" content="Gates open on the north bank | Rivrly">'
    url = "https://get-rivrly-app.example/blog/gates"
    assert clean_html_page(page(head, top=top), url=url).published == dt.date(2021, 5, 12)
    # a blog's name set as <h1> above the post, a section heading as <h1> below its title
    top = (
        "<h1>Notes from the valley</h1><legend>Gates open on the north bank</legend><p>12 May 2021</p>"
        + BODY * 3
        + "<h1>Part two</h1><p>3 June 2019</p>"
    )
    html = page('<meta property="og:title" content="Gates open on the north bank">', top=top)
    html = html.replace("<head>", '<head><meta name="application-name" content="Notes from the valley">')
    assert clean_html_page(html).published == dt.date(2021, 5, 12)


def test_an_h1_above_any_copy_of_the_title_stays_the_headline() -> None:
    head = '<meta property="og:title" content="Gates opened on the north bank last night">'
    top = (
        "<h1>River gates open</h1><p>12 May 2021</p>"
        + BODY * 3
        + "<h2>Gates opened on the north bank last night</h2><p>3 June 2019</p>"
    )
    assert clean_html_page(page(head, top=top)).published == dt.date(2021, 5, 12)


def test_a_logo_h1_that_starts_the_pages_title_is_not_the_headline() -> None:
    """A blog's name set as <h1> is also the start of every <title> ("Valley Notebook: post title"):
    it agrees with the title as a prefix, but a short <h1> naming the site is not the headline."""
    html = page(
        "<title>Valley Notebook: Gates open on the north bank</title>"
        '<meta property="og:title" content="Gates open on the north bank">'
        '<meta name="application-name" content="Valley Notebook">',
        top="<h1>Valley Notebook</h1><h1>Part one</h1>",
    )
    assert clean_html_page(html, url="https://valleynotebook.example/p/12").title == "Gates open on the north bank"
    # a long headline that starts with a word of the site's name is still the headline
    html = page(
        '<meta property="og:title" content="Valley announces gates: the north bank opens | Valley">',
        top="<h1>Valley announces gates: the north bank opens</h1>",
    )
    result = clean_html_page(html, url="https://valley.example/p/12")
    assert result.title == "Valley announces gates: the north bank opens"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("I review board games and modules", None),
        ("Platform for river data", None),
        ("Ana de la Vell", "Ana de la Vell"),
        ("Omar bin Said", "Omar bin Said"),
        ("LEO BRANDT", "LEO BRANDT"),
    ],
)
def test_a_byline_of_mostly_lower_case_words_is_a_sentence_not_a_name(raw: str, expected: str | None) -> None:
    assert clean_author(raw, set()) == expected


def test_a_json_ld_date_alone_that_the_page_never_shows_is_not_a_publication_date() -> None:
    """A CMS plugin stamps every page's JSON-LD, evergreen guides included: a date only the JSON-LD
    holds (no meta tag, no <time> stamp, nothing in the text) is not taken on its own."""
    ld = {"@type": "WebPage", "name": "Gates", "datePublished": "2019-04-01T10:00:00Z"}
    guide = page(top="<h1>How the north bank gates work</h1>", jsonld=ld)
    assert clean_html_page(guide).published is None
    # the page shows an "Updated" date: that is the only date a reader sees
    updated = page(top="<h1>How the north bank gates work</h1><p>Last updated: 9 May 2021</p>", jsonld=ld)
    assert clean_html_page(updated).published == dt.date(2021, 5, 9)
    # a meta tag repeating the publication date confirms it
    confirmed = page('<meta property="article:published_time" content="2019-04-01T10:00:00Z">', jsonld=ld)
    assert clean_html_page(confirmed).published == dt.date(2019, 4, 1)
    # and so does the page's text, anywhere
    shown = guide.replace("</article>", "<p>Posted 1 April 2019</p></article>")
    assert clean_html_page(shown).published == dt.date(2019, 4, 1)
    # it still settles the order of a dateline written in numbers (04.09.2019 is 9 April here)
    ld = {**ld, "datePublished": "2019-04-09"}
    swapped = page(top="<h1>How the north bank gates work</h1><p>04.09.2019</p>", jsonld=ld)
    assert clean_html_page(swapped).published == dt.date(2019, 4, 9)


def test_a_date_inside_a_sentence_under_the_headline_is_not_the_dateline() -> None:
    sentence = (
        "<p>The council said the gates would stay open until the flood season ends on April 15, 2021, "
        "and that farmers should move their herds before then.</p>"
    )
    html = page(top=f"<h1>Gates open on the north bank</h1>{sentence}")
    assert clean_html_page(html).published is None
    # a dateline that opens the first paragraph is still one
    lead = page(top="<h1>Gates open on the north bank</h1><p>BASRA, 3 March 2021 - " + sentence[3:])
    assert clean_html_page(lead).published == dt.date(2021, 3, 3)


def test_a_headline_whose_dash_goes_on_in_lower_case_is_kept_whole() -> None:
    h1 = "Gates open on the north bank — and what farmers downstream should expect"
    head = '<meta property="og:title" content="North bank farmers get ready for the water">'
    assert clean_html_page(page(head, top=f"<h1>{h1}</h1>")).title == h1
    # a teaser segment after the dash is still cut
    teaser = "Gates open on the north bank – Top 5 Tips"
    assert clean_html_page(page(head, top=f"<h1>{teaser}</h1>")).title == "Gates open on the north bank"


def test_a_long_h1_holding_a_word_of_the_site_name_is_still_the_headline() -> None:
    # the site is "bank.example": the word "bank" in a long headline does not make it the site's name
    head = '<meta property="og:title" content="Flood gates on the river opened | Bank">'
    h1 = "Gates open on the north bank of the river"
    result = clean_html_page(page(head, top=f"<h1>{h1}</h1>"), url="https://www.bank.example/gates")
    assert result.title == h1
    # a short <h1> naming the site is the logo, not the headline
    logo = clean_html_page(page(head, top="<h1>Bank</h1>"), url="https://www.bank.example/gates")
    assert logo.title == "Flood gates on the river opened"


def test_the_sites_host_name_before_the_headline_is_cut() -> None:
    html = page("<title>rivertimes.example Gates open on the north bank</title>", top="<h1>rivertimes.example</h1>")
    assert clean_html_page(html, url="https://rivertimes.example/gates").title == "Gates open on the north bank"
    # another site's host name is part of the headline
    other = page("<title>shop.example reports a record year</title>")
    assert clean_html_page(other, url="https://rivertimes.example/shop").title == "shop.example reports a record year"


def test_a_title_that_is_a_sentence_gives_way_to_the_pages_headline() -> None:
    """An og:title or <h1> ending in a full stop is a line of the page's description; the <title>
    (or JSON-LD headline) written as a headline wins."""
    head = (
        '<meta property="og:title" content="Here are the five ways farmers keep their fields dry.">'
        "<title>Five Ways Farmers Keep Their Fields Dry | River Times</title>"
        '<meta property="og:site_name" content="River Times">'
    )
    assert clean_html_page(page(head)).title == "Five Ways Farmers Keep Their Fields Dry"
    # the same headline written with its full stop stays as the page shows it
    dry = "Farmers keep their fields dry"
    same = f'<meta property="og:title" content="{dry}"><title>{dry}</title>'
    assert clean_html_page(page(same, top=f"<h1>{dry}.</h1>")).title == f"{dry}."
    # an abbreviation is not a sentence's end
    usa = "Farmers keep their fields dry in the U.S."
    assert clean_html_page(page(f"<title>{usa}</title>", top=f"<h1>{usa}</h1>")).title == usa


def test_characters_lost_to_question_marks_in_the_h1_come_back_from_the_pages_title() -> None:
    head = "<title>Farmers’ guide: keeping the fields dry</title>"
    html = page(head, top="<h1>Farmers? guide? keeping the fields dry</h1>")
    assert clean_html_page(html).title == "Farmers’ guide: keeping the fields dry"
    # a real question stays
    head = "<title>Will the gates open? A guide for farmers</title>"
    question = page(head, top="<h1>Will the gates open in May?</h1>")
    assert clean_html_page(question).title == "Will the gates open in May?"


def test_a_publication_meta_tag_written_in_words_is_read() -> None:
    html = page('<meta name="published" content="May 9, 2021">', top="<h1>Gates open on the north bank</h1>")
    assert clean_html_page(html).published == dt.date(2021, 5, 9)


def test_an_exclamation_after_the_dash_is_part_of_the_headline() -> None:
    h1 = "Bread machines for small kitchens – Our Favourites!"
    head = '<meta property="og:title" content="Bread machines for small kitchens - Our Favourites! - Crumb Notes">'
    assert clean_html_page(page(head, top=f"<h1>{h1}</h1>")).title == h1
