"""The HTML path's safety net (workers/stages/clean/safety_net.py): pages on which our pre-processing or
trafilatura's precision mode lose the article, and the net's decisions on their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.evaluation.extract import bag_of_tokens_scores, host_folds
from workers.stages.clean import clean
from workers.stages.clean.safety_net import SafetyNet

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "safety_net"
GOLD = (FIXTURES / "harbour-bridge.gold.txt").read_text(encoding="utf-8")
LEAD = GOLD.split("\n\n")[0]
NET = SafetyNet(share=0.25, ratio=1.5)


@pytest.mark.parametrize("name", [
    "article-in-dialog.html",    # hidden by our pre-processing: an open <dialog> is stripped before extraction
    "article-in-template.html",  # hidden by it before this version: a declarative shadow root's <template>
    "lead-only-json-ld.html",    # only the lead is in the markup: precision mode keeps just that lead
])
def test_the_article_is_not_lost(name):
    page = clean((FIXTURES / name).read_bytes(), "text/html")
    assert bag_of_tokens_scores(page.body, GOLD)[2] >= 0.95
    assert page.quality == "article" and page.title == "Harbour bridge to be rebuilt"


def test_an_empty_body_is_suspicious_and_any_second_body_wins():
    assert NET.is_suspicious(0, lambda: 0)
    assert NET.choose([], ["A paragraph found by the second extraction."]) == ["A paragraph found by the second extraction."]


def test_a_short_page_gives_no_evidence_of_a_lost_article():
    assert not NET.is_suspicious(100, lambda: 450)
    assert NET.is_suspicious(100, lambda: 4500) and not NET.is_suspicious(2000, lambda: 4500)


def test_a_long_body_is_never_suspicious_and_the_page_is_not_measured():
    def unmeasured() -> int:
        raise AssertionError("the reference is measured only for short bodies")

    assert not NET.is_suspicious(3000, unmeasured)


def test_a_longer_second_body_that_holds_ours_replaces_it():
    second = [LEAD, *GOLD.split("\n\n")[1:]]
    assert NET.choose([LEAD], second) == second


def test_a_longer_second_body_that_disagrees_with_ours_is_not_taken():
    ours = [LEAD]
    comments = ["Reader comment number %d: I never liked that bridge and I am glad it goes, whatever it costs." % n
                for n in range(20)]
    assert NET.choose(ours, comments) == ours


def test_a_second_body_not_much_longer_is_not_taken():
    ours = GOLD.split("\n\n")[:4]
    assert NET.choose(ours, GOLD.split("\n\n")[:5]) == ours


def test_folds_keep_each_host_whole_and_are_balanced():
    rows = [{"id": str(n), "url": f"https://{'www.' if n % 2 else ''}site{n % 7}.example/a/{n}"} for n in range(40)]
    folds = host_folds(rows, 3)
    by_host: dict[str, set[int]] = {}
    for row, fold in zip(rows, folds):
        by_host.setdefault(row["url"].split("/")[2].removeprefix("www."), set()).add(fold)
    assert all(len(assigned) == 1 for assigned in by_host.values())
    sizes = [folds.count(fold) for fold in range(3)]
    assert max(sizes) - min(sizes) <= 6


def test_the_setting_is_chosen_on_the_rows_given_only():
    from workers.evaluation.extract import NET_GRID, _choose_net

    protective = NET_GRID[-4]  # share 0.5, ratio 1.25
    assert (protective.share, protective.ratio) == (0.5, 1.25)

    def outcome(f1_protective: float, f1_other: float) -> dict:
        return {"fired": {net: False for net in NET_GRID},
                "quality": {net: ((f1_protective if net == protective else f1_other),) for net in NET_GRID}}

    # rows 0-39: the protective setting is worse there; rows 40-79: better
    outcomes = [outcome(0.5, 0.9) for _ in range(40)] + [outcome(1.0, 0.6) for _ in range(40)]
    assert _choose_net(list(range(40)), outcomes) != protective
    assert _choose_net(list(range(40, 80)), outcomes) == protective
    # equal everywhere: the most protective setting that stays within the firing budget
    assert _choose_net(list(range(40)), [outcome(0.9, 0.9) for _ in range(40)]) == protective
    firing = [{**outcome(0.9, 0.9), "fired": {net: net.share >= 0.35 for net in NET_GRID}} for _ in range(40)]
    assert _choose_net(list(range(40)), firing).share == 0.25
