"""The learnt line scorer of the text-scrape cleaner: how likely each line of a scrape is article text.

The rules of text.py label every line (content, noise, stamp, break) and pick the article block; a logistic
regression over those labels and the line's shape and neighbourhood (features below) gives each line the
probability that it is article text. The block is then chosen again with those probabilities
(`choose_body`): a line adds (2p - 1) times its length, so teasers and captions the rules let in cost, and
lines the rules found costly but the model trusts (list rows, short sub-headings) pay; a paragraph-shaped line
of the rules' block keeps the weight the rules give it and is never dropped.

The weights are trained by `newswire train text-lines` (workers/training/text_lines.py) and shipped in
workers/models/cleaning/text_lines.json with its model card; inference is plain Python.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from workers.stages.clean import boilerplate as bp
from workers.stages.clean.limits import Deadline

# STAMP: a live blog's clock stamp, which costs in the block selection like any short line (between the
# headlines of a link list it keeps the run out of the list) but is not article text.
CONTENT, NOISE, BREAK, STAMP = "content", "noise", "break", "stamp"


@dataclass
class ScrapedLine:
    text: str
    kind: str = CONTENT

    @cached_property
    def paragraph_shaped(self) -> bool:
        """Running text (boilerplate.is_paragraph_shaped); the rules' weights, the line features and the body
        choice all ask, so it is computed once per line."""
        return bp.is_paragraph_shaped(self.text)


MODEL_PATH = Path(__file__).resolve().parents[2] / "models" / "cleaning" / "text_lines.json"

# Lines on each side that the neighbourhood features look at.
WINDOW = 5
DEADLINE_CHECK_EVERY = 500
# A line the rules left out joins the body from this probability (the classifier's decision threshold); a
# line of the rules' block leaves it only below REMOVE_BELOW, when the model is confident. REMOVE_BELOW was
# chosen between 0.5 and 0.25 with grouped cross-validation (`newswire train text-lines --cv 5`; model card).
KEEP_PROBABILITY = 0.5
REMOVE_BELOW = 0.25
_CAPITALISED = re.compile(r"^[A-ZÀ-ÖØ-ÞА-ЯЁ]")
_SEPARATOR = re.compile(r"[|»›]")
_DIGIT = re.compile(r"\d")

FEATURE_NAMES = (
    "bias", "rule_noise", "rule_stamp", "rule_break", "paragraph_shaped", "ends_like_sentence",
    "log_chars", "words", "in_rule_block",
    "paragraph_before", "paragraph_after", "paragraph_2_before", "paragraph_2_after",
    "in_block_before", "in_block_after",
    "position", "digit_share", "capitalised_share", "repeated", "title_overlap", "distance_to_paragraph",
    "ends_with_colon", "has_separator", "position_in_block", "paragraph_in_block", "short_line_in_block",
    "window_paragraph_chars", "window_in_block", "window_noise",
)


def _prefix(values) -> list[float]:
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    return sums


def _distance_to_nearest(flags: list[bool]) -> list[int]:
    """Lines from each line to the nearest flagged one (10 when there is none)."""
    n = len(flags)
    distance = [10] * n
    last = None
    for i in range(n):
        if flags[i]:
            last = i
        if last is not None:
            distance[i] = i - last
    last = None
    for i in range(n - 1, -1, -1):
        if flags[i]:
            last = i
        if last is not None:
            distance[i] = min(distance[i], last - i)
    return distance


def line_features(title: str, lines: list[ScrapedLine], block: tuple[int, int],
                  deadline: Deadline | None = None) -> list[list[float]]:
    """One feature vector per line (FEATURE_NAMES order); `block` is the rules' (start, end) range."""
    n = len(lines)
    start, end = block
    texts = [line.text for line in lines]
    paragraph = [line.paragraph_shaped for line in lines]
    in_block = [start <= i < end for i in range(n)]
    chars = [len(text) for text in texts]
    occurrences = Counter(texts)
    title_tokens = set(bp.tokens(title))
    distance = _distance_to_nearest(paragraph)
    # prefix sums: each window feature in constant time (pages run to thousands of lines)
    all_chars = _prefix(chars)
    paragraph_chars = _prefix([c if shaped else 0 for c, shaped in zip(chars, paragraph)])
    block_lines = _prefix(in_block)
    noise_lines = _prefix([line.kind == NOISE for line in lines])

    def at(i: int, values: list[bool]) -> float:
        return float(values[i]) if 0 <= i < n else 0.0

    vectors = []
    for i, line in enumerate(lines):
        if deadline is not None and i % DEADLINE_CHECK_EVERY == 0:
            deadline.check()
        text = texts[i]
        tokens = bp.tokens(text)
        words = text.split()
        lo, hi = max(0, i - WINDOW), min(n, i + WINDOW + 1)
        window_chars = max(all_chars[hi] - all_chars[lo], 1)
        vectors.append([
            1.0, line.kind == NOISE, line.kind == STAMP, line.kind == BREAK, paragraph[i], bp.ends_like_sentence(text),
            math.log1p(len(text)) / 6, min(len(words), 100) / 100, in_block[i],
            at(i - 1, paragraph), at(i + 1, paragraph), at(i - 2, paragraph), at(i + 2, paragraph),
            at(i - 1, in_block), at(i + 1, in_block),
            i / n, len(_DIGIT.findall(text)) / max(len(text), 1),
            sum(map(bool, map(_CAPITALISED.match, words))) / max(len(words), 1),
            occurrences[text] >= 2, len(set(tokens) & title_tokens) / max(len(tokens), 1), min(distance[i], 10) / 10,
            text.endswith(":"), bool(_SEPARATOR.search(text)),
            (i - start) / max(end - start, 1) if in_block[i] else -1.0,
            in_block[i] and paragraph[i], in_block[i] and not paragraph[i] and line.kind == CONTENT,
            (paragraph_chars[hi] - paragraph_chars[lo]) / window_chars,
            (block_lines[hi] - block_lines[lo]) / (2 * WINDOW + 1),
            (noise_lines[hi] - noise_lines[lo]) / (2 * WINDOW + 1),
        ])
    return [list(map(float, vector)) for vector in vectors]


class LineModel:
    """Logistic-regression weights over FEATURE_NAMES."""

    def __init__(self, weights: list[float], version: str):
        if len(weights) != len(FEATURE_NAMES):
            raise ValueError(f"line model has {len(weights)} weights for {len(FEATURE_NAMES)} features")
        self.weights = weights
        self.version = version

    @classmethod
    def from_file(cls, path: Path = MODEL_PATH) -> LineModel:
        data = json.loads(Path(path).read_text())
        if list(data["features"]) != list(FEATURE_NAMES):
            raise ValueError(f"{path}: its features differ from the code's; retrain with `newswire train text-lines`")
        return cls([float(w) for w in data["weights"]], data["version"])

    def probabilities(self, vectors: list[list[float]]) -> list[float]:
        out = []
        for vector in vectors:
            z = sum(map(operator.mul, self.weights, vector))
            out.append(1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0))))
        return out


@lru_cache(maxsize=1)
def shipped_model() -> LineModel:
    return LineModel.from_file()


def best_run(lines: list[ScrapedLine], weights: list[float]) -> tuple[int, int]:
    """(start, end) of the contiguous run of lines with the largest positive sum of weights (maximum
    subarray), never across a BREAK line; (0, 0) when no run is positive."""
    best_score, best_range = 0.0, (0, 0)
    run_score, run_start = 0.0, 0
    for index, (line, weight) in enumerate(zip(lines, weights)):
        if line.kind == BREAK:
            run_score, run_start = 0.0, index + 1
            continue
        run_score += weight
        if run_score <= 0:
            run_score, run_start = 0.0, index + 1
        elif run_score > best_score:
            best_score, best_range = run_score, (run_start, index + 1)
    return best_range


def choose_body(title: str, lines: list[ScrapedLine], block: tuple[int, int], model: LineModel,
                deadline: Deadline | None = None) -> list[str]:
    """Content lines of the contiguous run with the largest weight (never across a break), where a
    paragraph-shaped line of the rules' block weighs its length as in the rules (their strongest evidence is
    never overruled), a noise line nothing, and any other line (2p - 1) times its length. In the run, a line
    of the rules' block is kept unless the model is confident it is not article text (p below
    REMOVE_BELOW); a line the rules left out needs p of at least KEEP_PROBABILITY."""
    probabilities = model.probabilities(line_features(title, lines, block, deadline))
    start, end = block
    protected = [start <= i < end and line.paragraph_shaped for i, line in enumerate(lines)]
    weights = [len(line.text) if shielded else 0.0 if line.kind == NOISE else (2 * probability - 1) * len(line.text)
               for line, probability, shielded in zip(lines, probabilities, protected)]
    first, last = best_run(lines, weights)
    # the run does not start or end on a short line outside the rules' block: the model's gain there is
    # a fraction of a short line's length, and on small pages a menu entry next to the article wins it
    while first < last and not (start <= first < end or lines[first].paragraph_shaped):
        first += 1
    while last > first and not (start <= last - 1 < end or lines[last - 1].paragraph_shaped):
        last -= 1
    return [
        line.text for index, line in enumerate(lines[first:last], first)
        if line.kind == CONTENT and (protected[index] or probabilities[index] >= KEEP_PROBABILITY
                                     or (start <= index < end and probabilities[index] >= REMOVE_BELOW))
    ]
