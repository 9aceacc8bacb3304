"""Pages in many encodings through the running pipeline: bare records (the page's bytes as the record
value) and envelopes carrying bytes, declared in the page, by the sender, by a byte-order mark, or not at
all. Each must be indexed with its title and text in the right script; undecodable bytes are dead letters."""

from __future__ import annotations

import random

import pytest

from tests.encoded_pages import encoded_records
from workers import topics
from workers.envelope import page_id_for
from workers.runtime.deadletter import read_dead_letter_headers

pytestmark = pytest.mark.stack


def test_every_encoded_page_is_indexed_with_its_title_and_undecodable_bytes_are_dead_lettered(pipeline):
    records = encoded_records()
    generator = random.Random(11)
    noise = bytes(generator.randrange(1, 256) for _ in range(4000))
    pipeline.produce_many(topics.RAW, [(record.key, record.value, None) for record in records]
                          + [(b"encodings-noise", noise, None)])
    ids = {page_id_for(record.url, b""): record for record in records}
    documents = pipeline.wait_for_documents(list(ids))
    for page_id, record in ids.items():
        document = documents[page_id]
        assert document["title"] == record.title, record.name
        assert record.first_paragraph in document["body"], record.name
        assert "\ufffd" not in document["body"], record.name
    dead = [m for m in pipeline.read_topic(topics.DEAD_LETTER, 1) if m.key() == b"encodings-noise"]
    assert dead, "the undecodable record is in the dead-letter topic"
    headers = read_dead_letter_headers(dead[0].headers())
    assert headers["reason"] == "undecodable" and headers["stage"] == "clean"
    assert dead[0].value() == noise
