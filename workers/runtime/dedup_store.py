"""Near-duplicate clusters kept in the search engine, correct with any number of indexer replicas.

Each story's first copy (its cluster head) owns the LSH band keys of its signature: one tiny document per band
key (`{cluster_id}`), written with `op_type=create`, so exactly one copy across all replicas wins a band. The
head's signature is stored once, in a document `sig-<head id>` written ahead of its bands in the same bulk
request (one shard: a band is never visible before its head's signature). Later copies look their band keys up
with a realtime multi-get (no refresh wait), fetch the signatures of the heads found, compare, and join the
most similar head's cluster. A page that shares no band costs one small multi-get.

Memory is bounded by time: band documents live in generation indices `<alias>-dedup-<n>`, n = time // window.
Lookups read the current and the previous generation, writes go to the current one, and older generations are
deleted: a story is recognised for at least one window (default 7 days) and at most two.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from elasticsearch import Elasticsearch

from workers.runtime.outage import EngineUnavailable, item_condition
from workers.stages import dedup

log = logging.getLogger(__name__)

BAND_INDEX_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "30s"}
BAND_MAPPINGS = {"dynamic": "strict", "properties": {
    "cluster_id": {"type": "keyword"}, "signature": {"type": "object", "enabled": False}, "first_seen": {"type": "date"}}}


def _signature_id(head_id: str) -> str:
    return f"sig-{head_id}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Decision:
    cluster_id: str
    is_duplicate: bool
    similarity: float


class GenerationStore:
    """Small documents in time-generation indices `<alias>-<SUFFIX>-<n>`, n = time // window; the two newest
    are read, the newest written, older ones deleted. Also the base of the story store (story_store.py)."""

    SUFFIX = "dedup"
    MAPPINGS = BAND_MAPPINGS

    def __init__(self, client: Elasticsearch, alias: str, window_seconds: float, replicas: int = 0):
        self.es = client
        self.prefix = f"{alias}-{self.SUFFIX}-"
        self.window = window_seconds
        self.replicas = replicas
        self._ready_generation: int | None = None

    def _generation(self) -> int:
        return int(time.time() // self.window)

    def _indices(self) -> tuple[str, str]:
        generation = self._generation()
        if generation != self._ready_generation:
            self._rotate(generation)
        return f"{self.prefix}{generation}", f"{self.prefix}{generation - 1}"

    def _rotate(self, generation: int) -> None:
        current = f"{self.prefix}{generation}"
        if not self.es.indices.exists(index=current):
            settings = {**BAND_INDEX_SETTINGS, "number_of_replicas": self.replicas}
            self.es.options(ignore_status=400).indices.create(index=current, settings=settings, mappings=self.MAPPINGS)
        for name in self.es.indices.get(index=f"{self.prefix}*", ignore_unavailable=True):
            if int(name[len(self.prefix):]) < generation - 1:
                self.es.options(ignore_status=404).indices.delete(index=name)
                log.info("dropped expired generation %s", name)
        self._ready_generation = generation

    def _found(self, ids: list[str], indices: tuple[str, str]) -> dict[str, dict]:
        """_id -> _source of the documents found (the current generation wins over the previous)."""
        docs = [{"_index": index, "_id": doc_id} for index in reversed(indices) for doc_id in ids]
        response = self.es.mget(docs=docs, realtime=True)
        return {doc["_id"]: doc["_source"] for doc in response["docs"] if doc.get("found")}


class DedupStore(GenerationStore):

    def _owners(self, band_keys: set[str], indices: tuple[str, str]) -> dict[str, dict]:
        """band key -> {cluster_id, signature} of its owner; the signature is None when it is not found."""
        if not band_keys:
            return {}
        bands = self._found(sorted(band_keys), indices)
        heads = sorted({band["cluster_id"] for band in bands.values()})
        signatures = self._found([_signature_id(head) for head in heads], indices) if heads else {}
        return {
            key: {"cluster_id": band["cluster_id"],
                  "signature": signatures.get(_signature_id(band["cluster_id"]), {}).get("signature")}
            for key, band in bands.items()
        }

    def assign(self, items: list[tuple[str, dict]]) -> dict[str, Decision]:
        """items: (page_id, signature JSON) in arrival order -> the cluster decision for each page."""
        indices = self._indices()
        signatures = {}
        for page_id, signature_json in items:
            try:
                signatures[page_id] = dedup.signature_from_json(signature_json)
            except ValueError:  # made by another signature version: no cluster for this page
                log.warning("page %s has an unreadable dedup signature; indexed as its own story", page_id)
        items = [(page_id, signature_json) for page_id, signature_json in items if page_id in signatures]
        owners = self._owners({band for sig in signatures.values() for band in sig.bands}, indices)
        decisions: dict[str, Decision] = {}
        claims: dict[str, tuple[str, dict]] = {}  # band key -> (head page id, its signature JSON) for new heads
        for page_id, signature_json in items:
            signature = signatures[page_id]
            decision = self._decide(page_id, signature, owners)
            decisions[page_id] = decision
            if decision.cluster_id == page_id:
                for band in signature.bands:
                    if band not in owners:
                        owners[band] = {"cluster_id": page_id, "signature": signature_json}  # later copies in this batch
                        claims[band] = (page_id, signature_json)
        lost = self._claim(claims, indices[0])
        if lost:
            # Another replica claimed some of these bands first: decide those heads again against the winners.
            recheck = {page_id for page_id, _ in lost.values()}
            winners = self._owners(set(lost), indices)
            repoint = []
            for page_id in recheck:
                decision = self._decide(page_id, signatures[page_id], winners)
                if decision.is_duplicate:
                    decisions[page_id] = decision
                    # Bands this copy did win now lead to the winner's cluster, so the cluster does not split.
                    for band, (owner, _) in claims.items():
                        if owner == page_id and band not in lost:
                            repoint.append({"index": {"_index": indices[0], "_id": band}})
                            repoint.append({"cluster_id": decision.cluster_id, "first_seen": _now()})
            if repoint:
                self.es.bulk(operations=repoint)
        return decisions

    @staticmethod
    def _decide(page_id: str, signature, owners: dict[str, dict]) -> Decision:
        best_cluster, best_similarity = page_id, 0.0
        heads = {}  # cluster id -> its signature JSON, once per head however many bands it shares
        for band in signature.bands:
            owner = owners.get(band)
            if owner is None:
                continue
            if owner["cluster_id"] == page_id:
                return Decision(page_id, False, 1.0)  # this page is itself a head (a re-delivery)
            heads[owner["cluster_id"]] = owner["signature"]
        for cluster_id, head_signature in heads.items():
            try:
                owner_signature = dedup.signature_from_json(head_signature or {})
            except ValueError:  # another signature version, or its signature document is gone: not comparable
                continue
            similarity = dedup.similarity(signature, owner_signature)
            if similarity >= dedup.DUPLICATE_THRESHOLD and similarity > best_similarity:
                best_cluster, best_similarity = cluster_id, similarity
        return Decision(best_cluster, best_cluster != page_id, best_similarity)

    def _claim(self, claims: dict[str, tuple[str, dict]], index: str) -> dict[str, tuple[str, dict]]:
        """Write each new head's signature, then create its band documents; returns the band claims another
        writer won (409)."""
        if not claims:
            return {}
        now = _now()
        heads = {page_id: signature_json for page_id, signature_json in claims.values()}
        operations = []
        for page_id, signature_json in heads.items():  # first: a band must never point to a missing signature
            operations.append({"index": {"_index": index, "_id": _signature_id(page_id)}})
            operations.append({"cluster_id": page_id, "signature": signature_json, "first_seen": now})
        for band, (page_id, _) in claims.items():
            operations.append({"create": {"_index": index, "_id": band}})
            operations.append({"cluster_id": page_id, "first_seen": now})
        response = self.es.bulk(operations=operations)
        for item in response["items"][: len(heads)]:
            status = item["index"].get("status", 500)
            if status >= 300:
                _raise_write_failure("dedup signature write", item["index"])
        lost = {}
        for (band, claim), item in zip(claims.items(), response["items"][len(heads):], strict=True):
            status = item["create"].get("status", 500)
            if status == 409:
                lost[band] = claim
            elif status >= 300:
                _raise_write_failure("dedup band write", item["create"])
        return lost


def _raise_write_failure(what: str, outcome: dict) -> None:
    """An engine-wide condition (a block, 429, 5xx) is an outage the indexer waits out; anything else a bug."""
    detail = f"{what} failed: HTTP {outcome.get('status')} {outcome.get('error')}"
    reason = item_condition(outcome)
    if reason:
        raise EngineUnavailable(reason, detail)
    raise RuntimeError(detail)
