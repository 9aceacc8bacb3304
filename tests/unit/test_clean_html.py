"""The HTML path on small synthetic pages."""

from __future__ import annotations

from workers.stages.clean import clean

PARAGRAPHS = [
    "The city council approved a new transport plan on Tuesday that adds three bus lines and extends the tram "
    "network to the northern districts by the end of next year.",
    "Council members said the plan would be paid for by a mix of regional funds and higher parking fees, "
    "a point the opposition criticised during a long debate.",
    "Work on the first line is due to start in the spring, the city's transport office said in a statement "
    "published after the vote.",
]


def article_html(extra_body: str = "") -> str:
    paragraphs = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    return f"""<!DOCTYPE html><html lang="en"><head>
<title>Council approves transport plan | Example Times</title>
<meta property="og:title" content="Council approves transport plan">
<meta property="og:site_name" content="Example Times">
<meta property="article:published_time" content="2024-05-14T09:30:00+02:00">
<meta property="article:section" content="Politics">
<meta name="author" content="Jane Doe">
<link rel="canonical" href="https://example.org/news/transport-plan">
</head><body>
<nav><a href="/">Home</a> <a href="/politics">Politics</a> <a href="/sport">Sport</a></nav>
<article><h1>Council approves transport plan</h1>{paragraphs}{extra_body}</article>
<footer><p>Copyright Example Times. All rights reserved.</p></footer>
</body></html>"""


def test_article_body_is_paragraphs_separated_by_blank_lines():
    result = clean(article_html(), "text/html", url="https://example.org/news/transport-plan?utm=x")
    assert result.body == "\n\n".join(PARAGRAPHS)
    assert result.quality == "article"


def test_metadata_is_extracted():
    result = clean(article_html(), "text/html")
    assert result.title == "Council approves transport plan"
    assert result.site_name == "Example Times"
    assert result.canonical_url == "https://example.org/news/transport-plan"
    assert result.authors == ["Jane Doe"]
    assert result.published_at.startswith("2024-05-14")
    assert result.published_at[-6] in "+-"  # timezone-aware


def test_entities_in_html_are_decoded():
    result = clean(article_html("<p>Fees rise &amp; fares fall, the mayor&#39;s office said in a statement on Tuesday evening.</p>"), "text/html")
    assert "Fees rise & fares fall, the mayor's office" in result.body


def test_also_read_block_inside_the_article_is_dropped():
    result = clean(article_html("<p>Also Read: Bus fares to rise in spring</p>"), "text/html")
    assert "Bus fares" not in result.body


def test_page_of_links_is_not_an_article():
    links = "".join(f'<li><a href="/story/{number}">Story number {number}</a></li>' for number in range(60))
    html = f"<html><head><title>Latest news</title></head><body><h1>Latest news</h1><ul>{links}</ul></body></html>"
    assert clean(html, "text/html").quality != "article"


def test_metadata_from_json_ld_when_meta_tags_are_missing():
    json_ld = """{"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "Example Times"},
      {"@type": "NewsArticle", "headline": "Council approves transport plan", "datePublished": "2024-05-14T09:30:00Z",
       "author": [{"@type": "Person", "name": "Jane Doe"}, {"@type": "Person", "name": "John Roe"}],
       "articleSection": ["Politics", "City"], "publisher": {"@type": "Organization", "name": "Example Times"}}]}"""
    paragraphs = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    html = (f'<html><head><title>Something else</title><script type="application/ld+json">{json_ld}</script></head>'
            f"<body><article>{paragraphs}</article></body></html>")
    result = clean(html, "text/html", url="https://example.org/a")
    assert result.title == "Council approves transport plan"
    assert result.published_at == "2024-05-14T09:30:00+00:00"
    assert result.authors == ["Jane Doe", "John Roe"]
    assert result.section == "Politics"
    assert result.site_name == "Example Times"
    assert result.canonical_url == "https://example.org/a"


def test_site_name_is_taken_off_the_title():
    html = article_html().replace('content="Council approves transport plan"', 'content="Council approves transport plan - Example Times"')
    assert clean(html, "text/html").title == "Council approves transport plan"


def test_body_split_into_chunks_with_ads_between_is_joined():
    chunk = '<div class="grid"><div class="body__container">{}</div></div>'
    first = "".join(f"<p>{text}</p>" for text in PARAGRAPHS[:2])
    later = [
        "The second half of the article continues after an advertisement block, as many magazine layouts do, "
        "and it explains what the plan means for commuters who travel from the suburbs every day.",
        "Residents interviewed on Wednesday welcomed the new bus lines but asked the council to publish a "
        "timetable for the tram extension before the construction work begins next spring.",
    ]
    second = "".join(f"<p>{text}</p>" for text in later)
    html = (
        "<html><head><title>Transport plan</title></head><body><article>"
        + chunk.format(first)
        + '<div class="ad"><span>Advertisement</span></div>'
        + chunk.format(second)
        + "</article></body></html>"
    )
    body = clean(html, "text/html").body
    assert body.endswith(later[-1])
    assert PARAGRAPHS[0] in body


def test_summary_shown_above_the_body_leads_the_body():
    summary = "The plan adds three bus lines and a longer tram network, and parking fees will pay for part of it."
    html = article_html().replace("</head>", f'<meta property="og:description" content="{summary}"></head>')
    html = html.replace("<article><h1>Council approves transport plan</h1>", f'<header><h1>Council approves transport plan</h1><p class="standfirst">{summary}</p></header><article>')
    result = clean(html, "text/html")
    assert result.body.startswith(summary + "\n\n" + PARAGRAPHS[0])
    assert result.lead == summary


def test_summary_only_in_meta_tags_stays_out_of_the_body():
    summary = "A summary that the page never shows to its readers, only to search engines and social networks."
    html = article_html().replace("</head>", f'<meta name="description" content="{summary}"></head>')
    result = clean(html, "text/html")
    assert summary not in result.body
    assert result.lead == summary


def test_tag_list_made_of_the_page_keywords_is_dropped():
    keywords = "transport plan, city council, bus lines, tram network, parking fees"
    html = article_html(f"<p>{keywords}</p>").replace("</head>", f'<meta name="keywords" content="{keywords}"></head>')
    body = clean(html, "text/html").body
    assert keywords not in body
    assert body == "\n\n".join(PARAGRAPHS)


def test_blocks_nested_in_a_layout_table_cell_are_not_glued_together():
    byline = '<h3 class="byline">by Jane Doe<br><span class="datetime">Monday, November 18, 2019</span></h3>'
    paragraphs = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    html = article_html().replace(
        "<article><h1>Council approves transport plan</h1>" + "".join(f"<p>{text}</p>" for text in PARAGRAPHS),
        f"<table><tr><td><h2>Council approves transport plan</h2>{byline}{paragraphs}</td></tr></table><article>",
    )
    body = clean(html, "text/html").body
    assert "2019" + PARAGRAPHS[0][:3] not in body
    assert "Monday, November 18, 2019\n\n" + PARAGRAPHS[0] in body


def test_nested_list_items_are_paragraphs_of_their_own_and_appear_once():
    nested = (
        "<ul><li>The council is running three trials before the new lines open next spring:"
        "<ul><li>Night buses on the northern line every twenty minutes</li>"
        "<li>Free transfers between trams and buses for one hour</li></ul></li></ul>"
    )
    body = clean(article_html(nested), "text/html").body
    assert "spring:\n\nNight buses on the northern line every twenty minutes\n\nFree transfers" in body
    assert body.count("Night buses") == 1


def test_paragraphs_of_a_quote_stay_apart():
    quote = (
        "<blockquote><p>We have waited for this plan for ten years and it finally answers the needs of the north.</p>"
        "<p>Now the work has to start on time, and the council must keep its promises to the residents.</p></blockquote>"
    )
    body = clean(article_html(quote), "text/html").body
    assert "north.\n\nNow the work" in body


def test_text_written_between_sub_headings_without_paragraph_tags_is_kept():
    # trafilatura returns such text as the tail of each heading (and of the body element itself)
    sections = [
        ("Night buses", "Night buses will run every twenty minutes on the northern line, from midnight until five in the morning, all week long."),
        ("Transfers", "Transfers between trams and buses will be free for one hour, and the monthly pass will cost the same as today."),
        ("Parking", "Parking fees in the city centre will rise by one euro an hour to pay for part of the plan, the council said on Tuesday."),
    ]
    intro = "The council voted on Tuesday for the largest change to the city's transport network in twenty years."
    text = intro + "".join(f"<h2>{heading}</h2>{paragraph}" for heading, paragraph in sections)
    html = f"<html><head><title>Transport plan</title></head><body><div class='content'><article><section>{text}</section></article></div></body></html>"
    body = clean(html, "text/html").body
    assert body == "\n\n".join([intro] + [part for section in sections for part in section])


def test_heading_with_a_hyphenated_photo_word_is_not_a_credit_line():
    section = (
        "<h2>Picture-in-Picture</h2>"
        "<p>The council's video streams of its meetings can now be watched in a small window while reading the minutes.</p>"
    )
    body = clean(article_html(section), "text/html").body
    assert "Picture-in-Picture\n\nThe council's video streams" in body


def test_standfirst_that_the_description_shortens_leads_the_body():
    description = "The plan adds three bus lines and a longer tram network."
    standfirst = (
        "The plan adds three new bus lines and a longer tram network, and higher parking fees in the city centre "
        "will pay for part of it, the council said after a long debate."
    )
    html = article_html().replace("</head>", f'<meta property="og:description" content="{description}"></head>')
    html = html.replace("<article><h1>Council approves transport plan</h1>", f'<header><h1>Council approves transport plan</h1><div class="standfirst">{standfirst}</div></header><article>')
    result = clean(html, "text/html")
    assert result.body.startswith(standfirst + "\n\n" + PARAGRAPHS[0])


def test_also_read_links_of_indian_languages_are_dropped():
    for marker in ("আরও পড়ুনঃ", "આ પણ વાંચો:", "इतर: हेही वाचा:", "இதையும் படிக்க:", "ఇది కూడా చదవండి:"):
        body = clean(article_html(f"<p><strong>{marker}</strong> <a href='/x'>नई योजना की पूरी जानकारी यहां</a></p>"), "text/html").body
        if marker.startswith("इतर"):  # a marker must start the block: a sentence quoting it stays
            assert "हेही वाचा" in body
        else:
            assert marker.rstrip(":ঃ") not in body, marker
        assert body.startswith(PARAGRAPHS[0])


def test_live_blog_clock_stamps_are_dropped_but_figures_stay():
    entries = "".join(f"<p>{stamp}</p><p>{text}</p>" for stamp, text in (
        ("সকাল ১০:৩০", "পুরসভা জানিয়েছে, শহরের নিচু এলাকাগুলি থেকে জল বের করতে অতিরিক্ত পাম্প চালানো হচ্ছে।"),
        ("10:05 AM IST", "Rail services on two suburban lines are running half an hour late because of the rain."),
        ("Inflation at 6.25 percent", "Prices rose faster than expected in the last quarter, the statistics office said."),
    ))
    body = clean(article_html(entries), "text/html").body
    assert "১০:৩০" not in body and "10:05" not in body
    assert "Inflation at 6.25 percent" in body


def test_share_bar_is_dropped():
    body = clean(article_html("<p>Share: WhatsApp · Facebook · X · Telegram</p><p>शेयर करें</p>"), "text/html").body
    assert "WhatsApp" not in body and "शेयर" not in body
