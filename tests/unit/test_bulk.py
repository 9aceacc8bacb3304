"""The bulk processor's outcomes, on scripted engine responses: engine-wide conditions spend no page's attempts
and dead-letter nothing; a document's own failures do."""

from __future__ import annotations

import orjson
import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, ConnectionError

from workers.runtime import bulk
from workers.runtime.bulk import BulkProcessor, Item
from workers.runtime.dedup_store import _raise_write_failure
from workers.runtime.outage import EngineUnavailable, item_condition, request_condition

FLOOD_STAGE = {"type": "cluster_block_exception", "reason": "index [p-000001] blocked by: [TOO_MANY_REQUESTS/12/disk "
               "usage exceeded flood-stage watermark, index has read-only-allow-delete block];"}
WRITE_BLOCK = {"type": "cluster_block_exception", "reason": "index [p-000001] blocked by: [FORBIDDEN/8/index write (api)];"}
REJECTED = {"type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"}
MAPPING = {"type": "document_parsing_exception", "reason": "failed to parse field [published_at] of type [date]"}


class Message:
    def __init__(self, page_id: str):
        self.page_id = page_id

    def key(self):
        return self.page_id.encode()

    def value(self):
        return b"{}"

    def headers(self):
        return None

    def topic(self):
        return "enriched"

    def partition(self):
        return 0

    def offset(self):
        return 0


class Response:
    def __init__(self, body):
        self.body = body


class ScriptedEngine:
    """`script(call_number, ids)` returns, per id, (status, error) or an exception to raise for the request."""

    def __init__(self, script):
        self.script, self.calls = script, []

    def bulk(self, operations: bytes, index: str):
        lines = operations.splitlines()
        ids = [orjson.loads(line)["index"]["_id"] for line in lines[::2]]
        self.calls.append(ids)
        answer = self.script(len(self.calls), ids)
        if isinstance(answer, Exception):
            raise answer
        items = [{"index": {"_id": i, "status": status, **({"error": error} if error else {"result": "created"})}}
                 for i, (status, error) in zip(ids, answer)]
        return Response({"errors": any(status >= 300 for status, _ in answer), "items": items})


class Reporter:
    def __init__(self):
        self.letters = []

    def report(self, message, reason, error, attempts=1):
        self.letters.append((message.page_id, reason, attempts))


def _items(*ids: str) -> list[Item]:
    doc = {"v": 1, "page_id": "", "url": "https://x.example/", "clean": {"title": "t", "body": "b"},
           "language": {"code": "en", "script": "Latn"}, "topic": {"label": "world", "score": 0.9},
           "entities": [], "models": {}}
    items = []
    for page_id in ids:
        item = Item(Message(page_id), {**doc, "page_id": page_id})
        item.source.update(cluster_id=page_id, is_duplicate=False)
        items.append(item)
    return items


def _run(script, *ids: str):
    engine, reporter, waits = ScriptedEngine(script), Reporter(), []
    processor = BulkProcessor(engine, "p", reporter, lambda reason, seconds: waits.append(reason), lambda: None)
    items = _items(*ids)
    processor.index(items)
    return items, reporter.letters, waits, engine.calls


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "localhost", 9200))


def test_an_index_block_longer_than_every_retry_dead_letters_nothing_and_spends_no_attempt():
    blocked_calls = 3 * bulk.MAX_ITEM_ATTEMPTS

    def script(call, ids):
        return [(429, FLOOD_STAGE) if call <= blocked_calls else (201, None) for _ in ids]

    items, letters, waits, calls = _run(script, "a", "b", "c")
    assert letters == []
    assert all(item.indexed and item.attempts == 0 for item in items)
    assert waits == ["blocked"] * blocked_calls
    assert calls == [["a", "b", "c"]] * (blocked_calls + 1)  # the same bulk again: nothing split off or dropped


def test_every_item_429_is_an_outage_not_the_documents_fault():
    def script(call, ids):
        return [(429, REJECTED) if call <= 2 * bulk.MAX_ITEM_ATTEMPTS else (201, None) for _ in ids]

    items, letters, waits, _ = _run(script, "a", "b")
    assert letters == [] and all(item.indexed for item in items)
    assert set(waits) == {"overloaded"}


def test_a_write_block_answered_403_is_waited_out_not_rejected():
    def script(call, ids):
        return [(403, WRITE_BLOCK) if call <= 2 else (201, None) for _ in ids]

    items, letters, waits, _ = _run(script, "a", "b")
    assert letters == [] and all(item.indexed for item in items)
    assert waits == ["blocked", "blocked"]


def test_a_request_level_cluster_block_pauses_instead_of_splitting_and_rejecting():
    global_block = ApiError("cluster_block_exception", _meta(403), {"status": 403, "error": {
        "type": "cluster_block_exception", "reason": "blocked by: [FORBIDDEN/6/cluster read-only (api)];"}})

    def script(call, ids):
        return global_block if call <= 2 else [(201, None)] * len(ids)

    items, letters, waits, calls = _run(script, "a", "b")
    assert letters == [] and all(item.indexed for item in items)
    assert waits == ["blocked", "blocked"] and calls[-1] == ["a", "b"]


def test_a_document_that_fails_while_its_neighbours_succeed_spends_attempts_until_dead_lettered(monkeypatch):
    monkeypatch.setattr(bulk, "MAX_ITEM_ATTEMPTS", 2)

    def script(call, ids):  # c always fails; b fails once beside successes, then goes in
        return [(503, {"type": "unavailable_shards_exception", "reason": "primary shard is not active"})
                if page_id == "c" or (page_id == "b" and call == 1) else (201, None) for page_id in ids]

    items, letters, waits, calls = _run(script, "a", "b", "c")
    assert calls == [["a", "b", "c"], ["b", "c"]]
    assert letters == [("c", "retries_exhausted", 2)]
    assert [item.attempts for item in items] == [0, 1, 2]
    assert items[0].indexed and items[1].indexed and not items[2].indexed
    assert waits == ["unavailable"]


def test_a_document_that_fails_alone_is_retried_without_spending_attempts():
    def script(call, ids):  # b: 429 beside a success (1 attempt), then twice alone (an outage), then in
        return [(429, REJECTED) if page_id == "b" and call <= 3 else (201, None) for page_id in ids]

    items, letters, waits, calls = _run(script, "a", "b")
    assert letters == [] and all(item.indexed for item in items)
    assert items[1].attempts == 1
    assert calls == [["a", "b"], ["b"], ["b"], ["b"]]
    assert waits == ["overloaded"] * 3


def test_rejections_are_dead_lettered_even_when_nothing_else_succeeded():
    def script(call, ids):  # a mapping error beside a blocked neighbour: a is rejected, b waits for the block
        return [(400, MAPPING) if page_id == "a" else ((429, FLOOD_STAGE) if call == 1 else (201, None)) for page_id in ids]

    items, letters, waits, calls = _run(script, "a", "b")
    assert letters == [("a", "index_rejected", 1)]
    assert items[1].indexed and items[1].attempts == 0
    assert calls == [["a", "b"], ["b"]] and waits == ["blocked"]


def test_a_connection_error_is_waited_out():
    def script(call, ids):
        return ConnectionError("refused") if call == 1 else [(201, None)] * len(ids)

    items, letters, waits, _ = _run(script, "a")
    assert letters == [] and items[0].indexed and waits == ["unreachable"]


@pytest.mark.parametrize("status, error, expected", [
    (429, FLOOD_STAGE, "blocked"),
    (403, WRITE_BLOCK, "blocked"),
    (503, {"type": "cluster_block_exception", "reason": "blocked by: [SERVICE_UNAVAILABLE/2/no master];"}, "no_master"),
    (503, {"type": "master_not_discovered_exception", "reason": None}, "no_master"),
    (429, REJECTED, "overloaded"),
    (500, {"type": "illegal_state_exception", "reason": "x"}, "unavailable"),
    (400, MAPPING, None),
    (409, {"type": "version_conflict_engine_exception", "reason": "x"}, None),
    (201, None, None),
])
def test_item_conditions(status, error, expected):
    assert item_condition({"status": status, "error": error} if error else {"status": status}) == expected


def test_request_conditions():
    no_master = ApiError("master_not_discovered_exception", _meta(503), {"status": 503, "error": {
        "type": "master_not_discovered_exception", "reason": None}})
    bad_request = ApiError("illegal_argument_exception", _meta(400), {"status": 400, "error": {
        "type": "illegal_argument_exception", "reason": "x"}})
    assert request_condition(no_master).reason == "no_master"
    assert request_condition(ConnectionError("refused")).reason == "unreachable"
    assert request_condition(bad_request) is None
    assert request_condition(RuntimeError("a bug")) is None


def test_a_blocked_dedup_write_is_an_outage_and_a_strict_mapping_error_is_not():
    with pytest.raises(EngineUnavailable) as blocked:
        _raise_write_failure("dedup band write", {"status": 429, "error": FLOOD_STAGE})
    assert blocked.value.reason == "blocked"
    with pytest.raises(RuntimeError):
        _raise_write_failure("dedup band write", {"status": 400, "error": MAPPING})
