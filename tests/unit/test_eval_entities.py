"""The entity eval's pages: consecutive sentence ids of one language and id prefix, tagged as the enrich stage
tags a page, beside the same rows tagged alone."""

from workers.evaluation.entities import PAGE_IDS, _count, _pages, _tag_rows, merge_adjacent


def _row(row_id: str, tokens: list[str], lang: str = "en") -> dict:
    return {"id": row_id, "lang": lang, "tokens": tokens, "entities": []}


def test_pages_are_runs_of_ids_of_one_language_and_prefix():
    rows = [_row("conll-en-test-4", []), _row("conll-en-test-5", []), _row(f"conll-en-test-{PAGE_IDS}", []),
            _row("conll-de-test-5", [], "de"), _row("conll-en-test-7", []), _row("no-number-here", []),
            _row("conll-en-test-6", [], "de")]
    assert sorted(_pages(rows)) == [[0, 1, 4], [2], [3], [5], [6]]


def test_rows_on_one_page_share_names_and_rows_alone_do_not():
    founded = ["Zorvath", "Kelmi", "founded", "Quorbex", "in", "Brindle", "."]
    thanked = ["Kelmi", "thanked", "Brindle", "voters", "."]
    rows = [_row("set-0", founded), _row("set-1", thanked), _row(f"set-{PAGE_IDS + 1}", thanked)]
    alone, on_page = _tag_rows(rows, "crf")
    assert (2, 3, "LOC") not in alone[1] and (2, 3, "LOC") in on_page[1]
    assert on_page[2] == alone[2] == alone[1]  # on a page of its own, nothing to share


def test_ijcnlp_predictions_are_scored_with_adjacent_same_type_entities_merged_as_its_gold_is():
    gold = [{"start": 0, "end": 2, "type": "PER", "text": ""}]
    tagged = [[(0, 1, "PER"), (1, 2, "PER"), (3, 4, "LOC"), (4, 5, "ORG")]]
    ijcnlp = {"id": "ijcnlp08-12", "lang": "hi", "tokens": ["a"] * 5, "entities": gold}
    other = {**ijcnlp, "id": "ilner-hi-12"}
    assert merge_adjacent(tagged[0]) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "ORG")]
    assert _count([ijcnlp], tagged)[0]["all"] == {"tp": 1, "predicted": 3, "gold": 1}
    assert _count([other], tagged)[0]["all"] == {"tp": 0, "predicted": 4, "gold": 1}
