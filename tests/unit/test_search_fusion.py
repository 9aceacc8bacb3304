from workers.runtime.search import FUSION_WINDOW, RRF_RANK_CONSTANT, fuse_rrf, fuse_weighted, requests_for


def _hits(*pairs):
    return [{"_id": page_id, "_score": score} for page_id, score in pairs]


def test_rrf_sums_reciprocal_ranks_over_the_lists():
    fused = fuse_rrf([_hits(("a", 12.0), ("b", 9.0)), _hits(("b", 0.9), ("c", 0.8))], size=3)
    assert [hit["_id"] for hit in fused] == ["b", "a", "c"]
    assert fused[0]["_score"] == 1 / (RRF_RANK_CONSTANT + 2) + 1 / (RRF_RANK_CONSTANT + 1)


def test_the_weighted_sum_normalises_each_list_before_weighing_it():
    text = _hits(("a", 30.0), ("b", 20.0), ("c", 10.0))  # BM25: unbounded
    semantic = _hits(("c", 0.95), ("b", 0.90), ("d", 0.85))  # kNN: (1 + cosine) / 2
    assert [hit["_id"] for hit in fuse_weighted(text, semantic, 0.0, 4)][:3] == ["a", "b", "c"]
    assert [hit["_id"] for hit in fuse_weighted(text, semantic, 1.0, 4)][:3] == ["c", "b", "d"]
    # b is second in both lists: 0.5 of each; c is first in one and last in the other: also 0.5, a only 0.5
    scores = {hit["_id"]: round(hit["_score"], 6) for hit in fuse_weighted(text, semantic, 0.5, 4)}
    assert scores == {"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.0}


def test_hybrid_modes_send_a_full_text_and_a_knn_request_a_window_long():
    text, knn = requests_for("hybrid-rrf", "q", [0.0] * 384, size=10)
    assert "multi_match" in text["query"] and knn["knn"]["field"] == "embedding"
    assert text["size"] == knn["size"] == knn["knn"]["k"] == FUSION_WINDOW
    assert [sorted(body) for body in requests_for("semantic", "q", [0.0] * 384, size=5)] == [["_source", "knn", "size"]]
