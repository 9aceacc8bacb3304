"""Hostile and broken input: size and time caps, deep nesting, bad characters, bytes and their charset,
entities, Unicode normalisation. Each case must give a result or a CleanError, never another exception."""

from __future__ import annotations

import threading
import unicodedata

import pytest

from workers.stages.clean import CleanError, clean
from workers.stages.clean.normalize import decode_page

PARAGRAPH = (
    "The council approved the transport plan on Tuesday after a long debate about costs, timing and the "
    "effect of the works on the shops in the old town."
)
CLOSING = "Work on the first bus line is due to start in the spring, the city's transport office said after the vote."


def html_page(middle: str = "", head: str = "") -> str:
    return (
        f"<html><head><title>Transport plan</title>{head}</head><body><article>"
        f"<p>{PARAGRAPH}</p>{middle}<p>{CLOSING}</p></article></body></html>"
    )


def reason_of(*arguments) -> str:
    with pytest.raises(CleanError) as caught:
        clean(*arguments)
    return caught.value.reason


# --- size and time caps ---------------------------------------------------------------------------------


def test_size_cap_applies_to_html_and_to_bytes_before_decoding(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_CLEAN_MAX_BYTES", "200")
    assert reason_of(html_page(), "text/html") == "too_large"
    assert reason_of(html_page().encode("utf-8"), "text/html") == "too_large"


def test_page_at_the_size_cap_is_cleaned(monkeypatch):
    page = html_page()
    monkeypatch.setenv("NEWSWIRE_CLEAN_MAX_BYTES", str(len(page.encode("utf-8"))))
    assert clean(page, "text/html").body.startswith(PARAGRAPH)


def test_time_cap_stops_the_html_path_on_the_main_thread(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_CLEAN_TIMEOUT_SECONDS", "0.000001")
    assert reason_of(html_page(), "text/html") == "timeout"


def test_time_cap_stops_the_html_path_in_a_worker_thread(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_CLEAN_TIMEOUT_SECONDS", "0.000001")
    outcome = []

    def work():
        try:
            clean(html_page(), "text/html")
        except CleanError as error:
            outcome.append(error.reason)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert outcome == ["timeout"]


# --- deep nesting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("opening, closing", [
    ("<div>", "</div>"),
    ("<span>", "</span>"),
    ("<blockquote>", "</blockquote>"),
    ("<ul><li>", "</li></ul>"),
    ("<table><tr><td>", "</td></tr></table>"),
    ("<font>", ""),  # never closed, as on broken pages
])
def test_ten_thousand_levels_of_nesting_are_refused_not_crashed(opening, closing):
    nested = opening * 10_000 + "deep text" + closing * 10_000
    assert reason_of(html_page(nested), "text/html") == "too_deep"


def test_nesting_deeper_than_libxml2_default_keeps_the_text_after_it():
    nested = "<div>" * 1_000 + "<p>A paragraph deep inside many wrappers, with enough words to be text.</p>" + "</div>" * 1_000
    body = clean(html_page(nested), "text/html").body
    assert body.endswith(CLOSING)


def test_many_nested_links_are_flattened_by_the_parser():
    nested = "<a href='/x'>" * 10_000 + "link" + "</a>" * 10_000
    assert clean(html_page(nested), "text/html").body.startswith(PARAGRAPH)


# --- bad characters -------------------------------------------------------------------------------------


def test_lone_surrogate_does_not_truncate_the_page():
    body = clean(html_page("<p>A broken character \ud800 sits in this sentence about the plan.</p>"), "text/html").body
    assert "\ufffd" in body
    assert body.endswith(CLOSING)


def test_control_characters_and_non_characters_are_removed():
    middle = "<p>Costs\x00 rose\x0b by four\x7f percent\ufffe this year, the council's budget office said.</p>"
    body = clean(html_page(middle), "text/html").body
    assert "Costs rose by four percent this year" in body
    assert not any(char in body for char in "\x00\x0b\x7f\ufffe")


def test_control_characters_in_a_text_scrape_are_removed():
    body = clean(f"Transport plan\n\n{PARAGRAPH}\x00\x1b\n\n{CLOSING}\n", "text/plain").body
    assert body == f"{PARAGRAPH}\n\n{CLOSING}"


# --- bytes and charsets ---------------------------------------------------------------------------------

RUSSIAN = (
    "Городской совет во вторник одобрил новый транспортный план, который добавляет три автобусные линии и "
    "продлевает трамвайную сеть до северных районов к концу следующего года. Депутаты заявили, что план будет "
    "оплачен из региональных фондов и за счёт более высокой платы за парковку."
)


def test_utf8_bytes_are_decoded():
    assert clean(html_page().encode("utf-8"), "text/html").body.startswith(PARAGRAPH)


def test_bytes_use_the_charset_of_the_content_type():
    page = html_page(f"<p>{RUSSIAN}</p>").encode("cp1251")
    assert RUSSIAN in clean(page, "text/html; charset=windows-1251").body


def test_bytes_use_the_meta_charset_of_the_page():
    page = html_page("<p>Le café du théâtre a rouvert ses portes mardi, à la grande joie des habitués du quartier.</p>",
                     head='<meta charset="windows-1252">')
    body = clean(page.encode("cp1252"), "text/html").body
    assert "Le café du théâtre a rouvert" in body


def test_bytes_without_a_declared_charset_are_detected():
    assert decode_page(RUSSIAN.encode("cp1251") * 3) == RUSSIAN * 3
    assert decode_page(("\ufeff" + RUSSIAN).encode("utf-16-le")) == RUSSIAN


def test_latin_1_label_decodes_as_windows_1252_like_browsers():
    assert decode_page("“quoted”".encode("cp1252"), "text/html; charset=iso-8859-1") == "“quoted”"


# --- entities and Unicode normalisation -----------------------------------------------------------------


def test_entities_are_decoded_including_double_encoded_ones():
    middle = "<p>Fees rise &amp; fares fall, the mayor&#39;s office said &#8212; a plan costing &euro;5m &amp;#39;at most&amp;#39;.</p>"
    body = clean(html_page(middle), "text/html").body
    assert "Fees rise & fares fall, the mayor's office said — a plan costing €5m 'at most'." in body


def test_entities_in_a_text_scrape_are_decoded():
    body = clean(f"Plan\n\n{PARAGRAPH} Fees rise &amp; fares fall, the mayor&#39;s office said.\n", "text/plain").body
    assert body.endswith("Fees rise & fares fall, the mayor's office said.")


def test_text_is_nfc_and_devanagari_nukta_forms_are_unified():
    hindi = "सरकार ने {} नीति की घोषणा की जिसके तहत हर गांव में पीने के पानी की व्यवस्था की जाएगी।"
    law_precomposed, law_decomposed = "\u0958\u093e\u0928\u0942\u0928", "\u0915\u093c\u093e\u0928\u0942\u0928"
    precomposed = clean(html_page(f"<p>{hindi.format(law_precomposed)}</p>"), "text/html").body
    decomposed = clean(html_page(f"<p>{hindi.format(law_decomposed)}</p>"), "text/html").body
    assert "\u0958" not in precomposed
    assert precomposed == decomposed
    assert unicodedata.is_normalized("NFC", precomposed)
    accented = clean(html_page("<p>Le cafe\u0301 du the\u0301a\u0302tre a rouvert mardi, a\u0300 la joie des habitue\u0301s.</p>"), "text/html").body
    assert "Le café du théâtre a rouvert mardi, à la joie des habitués." in accented
