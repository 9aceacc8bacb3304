"""The text-scrape cleaner on small synthetic pages (one boilerplate kind each) and on the shared example."""

from __future__ import annotations

import json

import pytest

from workers.datasets import shared_data_dir
from workers.stages.clean import clean

HINDI_PARAGRAPH_1 = (
    "राज्य सरकार ने बुधवार को नई जल नीति की घोषणा की जिसके तहत हर गांव में पीने के पानी की व्यवस्था की जाएगी। "
    "मुख्यमंत्री ने कहा कि इस योजना पर अगले तीन साल में काम पूरा कर लिया जाएगा।"
)
HINDI_PARAGRAPH_2 = (
    "अधिकारियों के अनुसार योजना के पहले चरण में सूखा प्रभावित जिलों को प्राथमिकता दी जाएगी और वहां नए जलाशय बनाए जाएंगे। "
    "विपक्ष ने योजना के बजट पर सवाल उठाए हैं।"
)
ENGLISH_PARAGRAPH_1 = (
    "The city council approved a new transport plan on Tuesday that adds three bus lines and extends the tram "
    "network to the northern districts by the end of next year."
)
ENGLISH_PARAGRAPH_2 = (
    "Council members said the plan would be paid for by a mix of regional funds and higher parking fees, "
    "a point the opposition criticised during the debate."
)


def page(*lines: str) -> str:
    return "\n\n".join(lines) + "\n"


def test_title_is_first_line_and_body_keeps_paragraphs_and_inner_spacing():
    paragraph = "The  minister said on Monday that the budget would grow by four percent next year, according to officials."
    result = clean(page("Budget to grow next year", paragraph, ENGLISH_PARAGRAPH_1), "text/plain")
    assert result.title == "Budget to grow next year"
    assert result.body == paragraph + "\n\n" + ENGLISH_PARAGRAPH_1
    assert result.quality == "article"


def test_title_loses_site_name_affixes():
    result = clean(page("Council approves transport plan - City News | The Daily Example", ENGLISH_PARAGRAPH_1), "text/plain")
    assert result.title == "Council approves transport plan"


def test_credit_line_and_its_caption_are_dropped():
    for credit, caption in (
        ("Image Source : PTI", "मुख्यमंत्री ने योजना की घोषणा की।"),
        ("छवि स्रोत: फाइल", "जलाशय का निर्माण कार्य"),
        ("Photo: Reuters", "The council chamber on Tuesday."),
    ):
        result = clean(page("शीर्षक", credit, caption, HINDI_PARAGRAPH_1, HINDI_PARAGRAPH_2), "text/plain")
        assert credit not in result.body
        assert caption not in result.body
        assert result.body == HINDI_PARAGRAPH_1 + "\n\n" + HINDI_PARAGRAPH_2


def test_also_read_marker_and_its_links_are_dropped():
    for marker in ("यह भी पढ़ें", "ये भी पढ़ें", "Also Read", "Read more:", "Related"):
        result = clean(
            page("Title", ENGLISH_PARAGRAPH_1, marker, "Another story about the weather in the hills", "Second linked headline here", ENGLISH_PARAGRAPH_2),
            "text/plain",
        )
        assert result.body == ENGLISH_PARAGRAPH_1 + "\n\n" + ENGLISH_PARAGRAPH_2, marker


def test_inline_also_read_with_headline_is_dropped():
    result = clean(page("Title", ENGLISH_PARAGRAPH_1, "ALSO READ: Bus fares to rise in spring", ENGLISH_PARAGRAPH_2), "text/plain")
    assert "Bus fares" not in result.body


def test_sub_heading_between_paragraphs_is_kept():
    result = clean(page("शीर्षक", HINDI_PARAGRAPH_1, "विपक्ष ने उठाए सवाल", HINDI_PARAGRAPH_2), "text/plain")
    assert result.body == "\n\n".join([HINDI_PARAGRAPH_1, "विपक्ष ने उठाए सवाल", HINDI_PARAGRAPH_2])


def test_section_label_gives_the_section_and_ends_the_article():
    result = clean(page("Title", ENGLISH_PARAGRAPH_1, ENGLISH_PARAGRAPH_2, "Latest Business News", "A line after the label."), "text/plain")
    assert result.section == "Business"
    assert "Latest Business News" not in result.body


def test_recent_posts_list_with_teasers_and_timestamps_is_dropped():
    result = clean(
        page(
            "शीर्षक",
            HINDI_PARAGRAPH_1,
            HINDI_PARAGRAPH_2,
            "Recent Posts",
            "शहर में नया पुल खुला; यातायात में राहत",
            "नगर निगम ने मंगलवार को नए पुल का उद्घाटन किया जिससे शहर के पूर्वी हिस्से में…",
            "36 minutes ago",
            "2 घंटे पहले",
        ),
        "text/plain",
    )
    assert result.body == HINDI_PARAGRAPH_1 + "\n\n" + HINDI_PARAGRAPH_2


def test_timestamps_teasers_and_promo_lines_are_dropped_inside_the_page():
    result = clean(
        page(
            "Title",
            "5 hours ago",
            ENGLISH_PARAGRAPH_1,
            "Click here to subscribe to our newsletter and follow us on Telegram for the latest updates.",
            ENGLISH_PARAGRAPH_2,
            "The mayor also announced a review of the cycling network, which critics say is…",
        ),
        "text/plain",
    )
    assert result.body == ENGLISH_PARAGRAPH_1 + "\n\n" + ENGLISH_PARAGRAPH_2


def test_navigation_menu_before_the_article_is_not_body():
    menu = ["होम", "वीडियो", "देश", "विदेश", "बिजनेस", "स्पोर्ट्स", "ई-पेपर"]
    result = clean(page("शीर्षक", *menu, HINDI_PARAGRAPH_1, HINDI_PARAGRAPH_2, *menu), "text/plain")
    assert result.body == HINDI_PARAGRAPH_1 + "\n\n" + HINDI_PARAGRAPH_2


def test_entities_are_decoded_and_text_is_nfc():
    decomposed = "Cafe\u0301 owners &amp; staff said the new rules, which take effect in May, would cut costs for small businesses."
    result = clean(page("Title", decomposed), "text/plain")
    assert result.body == "Caf\u00e9 owners & staff said the new rules, which take effect in May, would cut costs for small businesses."


def test_page_without_running_text_is_not_an_article():
    result = clean(page("Index", "News", "Sport", "Weather", "Contact"), "text/plain")
    assert result.quality != "article"


@pytest.mark.shared_data
def test_hindi_example_page_matches_its_expectation():
    examples = shared_data_dir().parent / "examples"
    if not (examples / "hindi_news_page.txt").exists():
        pytest.skip("../shared/examples not available")
    expected = json.loads((examples / "hindi_news_page.expected.json").read_text(encoding="utf-8"))
    result = clean((examples / "hindi_news_page.txt").read_text(encoding="utf-8"), "text/plain")
    assert result.title == expected["title"]
    assert result.body == expected["body"]
    for line in expected["not_in_body"]:
        assert line not in result.body
    assert result.section == "World"


def test_ad_labels_and_lines_repeated_on_the_page_are_dropped():
    placeholder = "External content not available"
    result = clean(
        page("Title", ENGLISH_PARAGRAPH_1, "Advertisement", placeholder, ENGLISH_PARAGRAPH_2, placeholder, "Reklama", placeholder),
        "text/plain",
    )
    assert result.body == ENGLISH_PARAGRAPH_1 + "\n\n" + ENGLISH_PARAGRAPH_2


def test_german_list_header_ends_the_article():
    result = clean(page("Titel", ENGLISH_PARAGRAPH_1, ENGLISH_PARAGRAPH_2, "Weitere Themen", ENGLISH_PARAGRAPH_1.upper()), "text/plain")
    assert result.body == ENGLISH_PARAGRAPH_1 + "\n\n" + ENGLISH_PARAGRAPH_2


def test_share_bar_lines_do_not_cut_the_standfirst_off_the_body():
    standfirst = "The city council approved a plan on Tuesday to add three bus lines to the northern districts by next year."
    result = clean("\n".join(["Bus plan approved", standfirst, "Share", "WhatsApp", "Facebook", "X", "Telegram",
                              ENGLISH_PARAGRAPH_1, ENGLISH_PARAGRAPH_2]), "text/plain")
    assert result.body == "\n\n".join([standfirst, ENGLISH_PARAGRAPH_1, ENGLISH_PARAGRAPH_2])


def test_clock_stamps_in_a_text_scrape_stay_costly_lines_that_keep_link_lists_out():
    headlines = [f"{hour:02d}:15\nAnother headline about something else entirely number {hour}" for hour in range(8, 14)]
    result = clean("\n".join(["Title", ENGLISH_PARAGRAPH_1, ENGLISH_PARAGRAPH_2, "Related", *headlines]), "text/plain")
    assert result.body == ENGLISH_PARAGRAPH_1 + "\n\n" + ENGLISH_PARAGRAPH_2
