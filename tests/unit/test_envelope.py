import orjson
import pytest

from workers.envelope import EnvelopeError, canonical_url, decode_raw_record, encode_page, make_page, page_id_for

LIMIT = 1_000_000


def test_canonical_url_drops_tracking_fragment_and_case():
    assert canonical_url("HTTPS://News.Example.com/a/b/?utm_source=x&id=7#top") == "https://news.example.com/a/b?id=7"
    assert page_id_for("https://news.example.com/a/b?id=7", "x") == page_id_for("https://NEWS.example.com/a/b/?id=7&utm_medium=y", "y")


def test_page_without_url_is_identified_by_content():
    assert page_id_for(None, "one") != page_id_for(None, "two")
    assert page_id_for(None, "one") == page_id_for(None, "one")


def test_envelope_round_trip():
    page = make_page("<html><body><p>hi</p></body></html>", url="https://x.example/a", source="x")
    assert page.content_type == "text/html"
    assert decode_raw_record(b"k", encode_page(page), LIMIT) == page


def test_bare_record_uses_key_as_url_and_sniffs_type():
    page = decode_raw_record(b"https://x.example/story", "शीर्षक\n\nपाठ".encode(), LIMIT)
    assert page.url == "https://x.example/story"
    assert page.content_type == "text/plain"
    assert page.page_id == page_id_for("https://x.example/story", "")
    html = decode_raw_record(None, b"  <!DOCTYPE html><html><p>x</p></html>", LIMIT)
    assert html.content_type == "text/html" and html.url is None


def test_text_page_starting_with_brace_is_not_an_envelope():
    page = decode_raw_record(None, b"{Breaking} headline\n\nbody text", LIMIT)
    assert page.raw.startswith(b"{Breaking}")


def test_bare_record_keeps_its_bytes_for_the_clean_stage_to_decode():
    value = "<html><head><meta charset=windows-1251><title>Новости</title></head></html>".encode("cp1251")
    page = decode_raw_record(b"https://x.example/ru", value, LIMIT)
    assert page.raw == value and page.content_type == "text/html"


def test_bare_html_after_a_byte_order_mark_is_html():
    for encoding in ("utf-8-sig", "utf-16"):  # both write a byte-order mark
        page = decode_raw_record(None, "<!DOCTYPE html><html><p>x</p></html>".encode(encoding), LIMIT)
        assert page.content_type == "text/html", encoding


def test_key_that_is_not_text_is_no_url():
    page = decode_raw_record(b"https://x.example/\xff", b"Headline\n\ntext", LIMIT)
    assert page.url is None


def test_envelope_carries_bytes_as_base64_with_their_charset():
    page = make_page("<p>Ελληνικά νέα</p>".encode("iso-8859-7"), url="https://x.example/gr",
                     content_type="text/html; charset=iso-8859-7")
    value = encode_page(page)
    assert b'"raw_base64"' in value and b'"raw"' not in value
    assert decode_raw_record(None, value, LIMIT) == page


def test_text_and_its_utf8_bytes_have_the_same_content_id():
    assert page_id_for(None, "पाठ") == page_id_for(None, "पाठ".encode())


@pytest.mark.parametrize(
    "value, reason",
    [
        (b"", "empty"),
        (orjson.dumps({"v": 1, "raw_base64": "not base64!"}), "malformed_envelope"),
        (orjson.dumps({"v": 1, "raw_base64": 7}), "wrong_field_type"),
        (b'{"v": 1, "raw": "x"', "malformed_envelope"),
        (orjson.dumps({"v": 1, "url": "https://a"}), "missing_field"),
        (orjson.dumps({"v": 1, "raw": 42}), "wrong_field_type"),
        (orjson.dumps({"v": 99, "raw": "x"}), "unknown_version"),
        (orjson.dumps({"v": 1, "raw": "x", "content_type": "application/pdf"}), "unsupported_content_type"),
        (b"x" * (LIMIT + 1), "too_large"),
    ],
)
def test_bad_records_raise_with_reason(value, reason):
    with pytest.raises(EnvelopeError) as caught:
        decode_raw_record(None, value, LIMIT)
    assert caught.value.reason == reason


def test_ingest_sends_a_file_as_its_bytes(tmp_path):
    from workers.commands.ingest import _pages_from_file

    path = tmp_path / "page.html"
    path.write_bytes("<html><head><meta charset=koi8-r></head><p>Новости</p></html>".encode("koi8-r"))
    (page,) = _pages_from_file(path, None)
    assert page.raw == path.read_bytes() and page.content_type == "text/html"
    assert b'"raw_base64"' in encode_page(page)
