"""Which search-engine failures are conditions of the whole engine, and which are one document's own.

An engine-wide condition pauses the index stage and is waited out with backoff; it never spends a page's
attempts and never dead-letters a page. Each has a short `reason` (the label of
`newswire_stage_paused_seconds_total`):

- `unreachable`: connection errors and timeouts;
- `blocked`: a cluster or index block (`cluster_block_exception`), e.g. `index.blocks.read_only_allow_delete`,
  which the engine sets on every index of a node at the flood-stage disk watermark (429, TOO_MANY_REQUESTS/12),
  or a write block set by an operator (403, FORBIDDEN/8);
- `no_master`: no elected master (`master_not_discovered_exception`, the SERVICE_UNAVAILABLE/2 block);
- `overloaded`: 429 (rejected executions, circuit breakers);
- `unavailable`: 500, 502, 503, 504;
- `contended`: not an engine failure but waited out the same way: the story store's keys changed under other
  indexer replicas' writes in every round of conditional writes (workers/runtime/story_store.py).

A request-level error with one of these is an outage. Item-level (inside a bulk response) the same statuses
are an outage when no item of the bulk succeeded; when others in the same bulk succeeded, a 429/5xx item is
that document's failure and spends one of its attempts, and a blocked item is retried without spending one.
"""

from __future__ import annotations

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

PAUSE_REASONS = ("unreachable", "blocked", "no_master", "overloaded", "unavailable", "contended")
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class EngineUnavailable(Exception):
    """The engine as a whole cannot take writes now (raised where a response, not an exception, says so)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def condition(status: int, error_type: str | None, error_reason: str | None) -> str | None:
    """The engine-wide condition an error of this status and type signals, or None (the document's own)."""
    if error_type == "master_not_discovered_exception":
        return "no_master"
    if error_type == "cluster_block_exception":
        return "no_master" if "no master" in (error_reason or "") else "blocked"
    if status == 429:
        return "overloaded"
    if status in RETRYABLE_STATUS:
        return "unavailable"
    return None


def item_condition(outcome: dict) -> str | None:
    """For one bulk response item (`{"status": .., "error": {..}}`): its engine-wide condition, or None."""
    status = outcome.get("status", 500)
    if status < 300:
        return None
    error = outcome.get("error") or {}
    return condition(status, error.get("type"), error.get("reason"))


def request_condition(error: BaseException) -> EngineUnavailable | None:
    """A request's exception as an engine-wide condition, or None when the request itself was rejected."""
    if isinstance(error, EngineUnavailable):
        return error
    if isinstance(error, (ConnectionError, ConnectionTimeout)):
        return EngineUnavailable("unreachable", type(error).__name__)
    if isinstance(error, ApiError):
        body = error.body if isinstance(error.body, dict) else {}
        cause = body.get("error") if isinstance(body.get("error"), dict) else {}
        reason = condition(error.meta.status, cause.get("type"), cause.get("reason"))
        if reason:
            return EngineUnavailable(reason, f"HTTP {error.meta.status} {cause.get('type') or ''}: {cause.get('reason') or error.message}")
    return None
