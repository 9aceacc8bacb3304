"""Bytes become text once, in the clean stage: the order of the encoding sources (byte-order mark, content-type
charset, the page's own declaration, UTF-8, detection), wrong labels, and bytes that are no text at all."""

from __future__ import annotations

import random

import pytest

from workers.stages.clean import CleanError, clean
from workers.stages.clean.normalize import decode_page, sniff_content_type

RUSSIAN = (
    "Городской совет во вторник одобрил новый транспортный план, который добавляет три автобусные линии и "
    "продлевает трамвайную сеть до северных районов к концу следующего года."
)


def page(meta: str = "", text: str = RUSSIAN, title: str = "Транспорт") -> str:
    return f"<html><head>{meta}<title>{title}</title></head><body><p>{text}</p></body></html>"


def noise(low: int, count: int) -> bytes:
    generator = random.Random(7)
    return bytes(generator.randrange(low, 256) for _ in range(count))


def test_byte_order_mark_wins_over_every_declaration():
    data = page('<meta charset="windows-1251">').encode("utf-8-sig")
    assert RUSSIAN in decode_page(data, "text/html; charset=koi8-r")
    assert RUSSIAN in decode_page(page('<meta charset="windows-1251">').encode("utf-16"), "text/html")


def test_content_type_charset_wins_over_the_page_declaration():
    data = page('<meta charset="koi8-r">').encode("cp1251")
    assert RUSSIAN in decode_page(data, "text/html; charset=windows-1251")


@pytest.mark.parametrize("declaration", [
    '<meta charset="koi8-r">',
    "<meta charset=KOI8-R>",
    '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">',
])
def test_page_declaration_wins_over_utf8_and_detection(declaration):
    assert RUSSIAN in decode_page(page(declaration).encode("koi8-r"), "text/html")


def test_xml_declaration_names_the_encoding():
    data = ('<?xml version="1.0" encoding="ISO-8859-7"?>' + page(text="Η βουλή ενέκρινε το σχέδιο.", title="Βουλή")).encode("iso-8859-7")
    assert "Η βουλή ενέκρινε το σχέδιο." in decode_page(data)


def test_declaration_is_followed_even_on_utf8_bytes():
    """A page labelled windows-1251 is decoded as windows-1251, as browsers do, although its bytes would be
    valid UTF-8: the declaration comes before UTF-8 in the order."""
    data = page('<meta charset="windows-1251">', text="Café").encode("utf-8")
    assert "CafГ©" in decode_page(data)


def test_a_label_that_leaves_many_replacement_characters_is_wrong_and_the_next_source_is_asked():
    data = page('<meta charset="shift_jis">').encode("utf-8")  # Cyrillic UTF-8 bytes are no Shift_JIS
    assert RUSSIAN in decode_page(data)


def test_utf8_before_detection_and_a_stray_byte_does_not_lose_the_page():
    data = page(text=RUSSIAN * 5).encode("utf-8")
    assert decode_page(data) == page(text=RUSSIAN * 5)
    damaged = data.replace("линии".encode(), b"\xff", 1)
    assert RUSSIAN.replace("линии", "\ufffd") in decode_page(damaged)


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r", "cp1252"])
def test_undeclared_encodings_are_detected(encoding):
    text = "Le conseil municipal a approuvé mardi le plan de transport, à la satisfaction générale du quartier." \
        if encoding == "cp1252" else RUSSIAN
    title = "Transports" if encoding == "cp1252" else "Транспорт"
    assert text in decode_page(page(text=text * 3, title=title).encode(encoding))


def test_unknown_label_is_ignored():
    assert RUSSIAN in decode_page(page('<meta charset="x-no-such-charset">').encode("utf-8"))


def test_random_bytes_are_undecodable_and_nul_bytes_binary():
    with pytest.raises(CleanError) as caught:
        decode_page(noise(1, 3000))
    assert caught.value.reason == "undecodable"
    with pytest.raises(CleanError) as caught:
        clean(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise(1, 3000), "text/html")
    assert caught.value.reason == "binary"


def test_undetectable_bytes_under_a_declaration_decode_with_replacement_as_in_a_browser():
    text = decode_page(b'<meta charset="utf-8"><p>' + noise(0x80, 300))
    assert text.startswith('<meta charset="utf-8"><p>') and "\ufffd" in text


def test_bom_prefixed_html_is_html_as_bytes_and_as_text():
    html = page(text="Городской совет одобрил новый транспортный план во вторник вечером после долгих споров.")
    for data in (html.encode("utf-8-sig"), html.encode("utf-16"), "\ufeff" + html):
        assert sniff_content_type(data) == "text/html"
        cleaned = clean(data, sniff_content_type(data))
        assert cleaned.title == "Транспорт"
        assert "транспортный план" in cleaned.body
