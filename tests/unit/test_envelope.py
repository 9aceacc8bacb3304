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
    assert page.raw.startswith("{Breaking}")


@pytest.mark.parametrize(
    "value, reason",
    [
        (b"", "empty"),
        (b"\xff\xfe\x00bad", "binary"),
        (b"caf\xe9 au lait", "invalid_utf8"),
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
