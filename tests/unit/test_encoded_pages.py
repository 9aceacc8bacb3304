"""Every encoded test page (tests/encoded_pages.py) comes out of the clean stage, as a raw-topic record, with
its title and text; tests/integration/test_encodings.py sends the same records through the running pipeline."""

from __future__ import annotations

import pytest

from tests.encoded_pages import encoded_records
from workers.pipeline import clean_record


@pytest.mark.parametrize("record", encoded_records(), ids=lambda record: record.name)
def test_encoded_record_is_decoded_with_its_title_and_text(record):
    doc = clean_record(record.key, record.value, None, 1_000_000)
    assert doc["url"] == record.url
    assert doc["clean"]["title"] == record.title
    assert record.first_paragraph in doc["clean"]["body"]
