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
