"""The per-page safety net of the HTML path: when our body looks lost, a second extraction by trafilatura's
unmodified core (its default, balanced settings, on the page as parsed, before any of our pre-processing)
is computed and kept when it is the better-supported body.

Our extraction runs trafilatura in precision mode on a pre-processed tree. Precision mode skips
trafilatura's own rescues (a baseline pass over the raw page, JSON-LD `articleBody`, a recall retry when
little of the page was taken), and our stripping removes elements before trafilatura sees them; on pages
unlike the development pages either can lose the article: an empty body, or only its lead.

Suspicious (cheap): an empty body, or a body shorter than `MAX_SUSPICIOUS_CHARS` and than `share` of the
page's reference text (the longer of the text of its `<p>` elements and its JSON-LD `articleBody`; measured
only for such short bodies). Better supported: the second body is at least `ratio` times as long as ours
and holds most of our words (`CONTAINED_SHARE`): it found what we found and more. A second body that
disagrees with ours (holds little of it) is not taken: that is where precision mode is right to leave
things out (comments, link lists).

`share` and `ratio` are chosen by grouped cross-validation (docs/cleaning.md, `newswire eval extract --cv`);
the other constants are fixed, not tuned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from workers.stages.clean import boilerplate as bp

# Below this much reference text a page gives no evidence that an article was missed (a short page).
MIN_REFERENCE_CHARS = 500
# A body this long is not lost, whatever the page holds besides (trafilatura's own bound for its recall
# retry); it also keeps the reference from being measured on most pages.
MAX_SUSPICIOUS_CHARS = 3000
# Share of our words the second body must hold to count as finding what we found and more.
CONTAINED_SHARE = 0.8


@dataclass(frozen=True)
class SafetyNet:
    share: float  # our body below this share of the page's reference text is suspicious
    ratio: float  # the second body replaces ours when at least this many times as long (and holds ours)

    def is_suspicious(self, body_chars: int, reference_chars: Callable[[], int]) -> bool:
        """`reference_chars` is called only for a short body: measuring the page costs time."""
        if body_chars == 0:
            return True
        if body_chars >= MAX_SUSPICIOUS_CHARS:
            return False
        reference = reference_chars()
        return reference >= MIN_REFERENCE_CHARS and body_chars < self.share * reference

    def prefers_second(self, ours: list[str], second: list[str]) -> bool:
        ours_chars, second_chars = sum(map(len, ours)), sum(map(len, second))
        if not ours_chars:
            return second_chars > 0
        if second_chars < self.ratio * ours_chars:
            return False
        our_words = Counter(bp.tokens(" ".join(ours)))
        held = sum((our_words & Counter(bp.tokens(" ".join(second)))).values())
        return held >= CONTAINED_SHARE * sum(our_words.values())

    def choose(self, ours: list[str], second: list[str]) -> list[str]:
        """The paragraphs to keep, once ours were found suspicious and the second body computed."""
        return second if self.prefers_second(ours, second) else ours


# The cross-validation's rule (workers/evaluation/extract.py: best objective, then most protective, within
# the firing budget) applied to all rows of each development set chose share 0.15 (AEB, fundus, snippets) and
# 0.25 (readability), ratio 1.25 everywhere; 0.15 keeps every set within the budget. A body of 595 characters
# out of a 10,500-character article (the lead-only losses seen on held-out pages) is at 6 %.
DEFAULT_NET = SafetyNet(share=0.15, ratio=1.25)
