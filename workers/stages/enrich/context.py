"""Contextual evidence for the CRF: what the shared encoder's token states say about each word.

A linear head (a softmax over the BIO labels) reads each word's hidden state at one layer of
multilingual-e5-small (the state of the word's first piece). Its label probabilities enter the script's CRF as
weighted features (stacking): the CRF keeps its gazetteer, word-cluster and sound-alike features and its
transitions, and gains what the context says about words that no list or training row has shown it (a foreign
name in running Hindi text). Two heads are shipped, each fitted on one half of the training rows; the CRF was
trained on the probabilities of the head that had not seen the row (cross-fitting), so it learnt how far to trust
a head on unseen text, and at tagging time the two heads' probabilities are averaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
# Probabilities below this enter as no feature: they would add size and noise, not evidence.
MIN_PROBABILITY = 0.02


@dataclass(frozen=True)
class ContextHead:
    layer: int  # encoder layer whose states the heads read (1 = the first)
    weights: np.ndarray  # float32 [heads, dimensions, labels]
    bias: np.ndarray  # float32 [heads, labels]

    def probabilities(self, states: np.ndarray, heads: list[int] | None = None) -> np.ndarray:
        """Label probabilities [words, labels], averaged over the chosen heads (all by default)."""
        chosen = range(len(self.weights)) if heads is None else heads
        total = np.zeros((len(states), len(LABELS)), dtype=np.float32)
        for head in chosen:
            logits = states @ self.weights[head] + self.bias[head]
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            total += exp / exp.sum(axis=1, keepdims=True)
        return total / len(chosen)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, layer=np.array(self.layer), weights=self.weights.astype(np.float16),
                            bias=self.bias.astype(np.float32), labels=np.array(LABELS))

    @classmethod
    def load(cls, path: Path) -> ContextHead:
        with np.load(path) as data:
            if tuple(data["labels"]) != LABELS:
                raise ValueError(f"{path}: labels {tuple(data['labels'])} are not {LABELS}")
            return cls(int(data["layer"]), data["weights"].astype(np.float32), data["bias"].astype(np.float32))


def label_probabilities(sentences: list[list[str]], heads: list[ContextHead]) -> list[np.ndarray]:
    """Per sentence, the label probabilities of each word by that sentence's heads (one per sentence: each script
    has its own): one batched pass of the shared encoder to the deepest layer the heads read."""
    from workers.encoder import DIMENSIONS, get_encoder

    if not sentences:
        return []  # no encoder call: with the plain CRF it would compile the token graph for nothing
    layers = sorted({head.layer for head in heads})
    probabilities = []
    for head, states in zip(heads, get_encoder().word_states(sentences, tuple(layers)), strict=True):
        column = layers.index(head.layer) * DIMENSIONS  # word_states puts the layers side by side
        probabilities.append(head.probabilities(states[:, column : column + DIMENSIONS]))
    return probabilities


def context_features(probabilities: np.ndarray) -> list[dict[str, float]]:
    """CRF features of each word: the probability of each label the heads give it, and their best label."""
    features = []
    for row in probabilities:
        item = {f"ctx={label}": float(p) for label, p in zip(LABELS, row) if p >= MIN_PROBABILITY}
        item["ctx_best=" + LABELS[int(row.argmax())]] = 1.0
        features.append(item)
    return features


def with_context(features: list[list[str]], probabilities: np.ndarray) -> list[dict[str, float]]:
    """The CRF's sparse features of a sentence joined with the heads' evidence, as weighted items."""
    return [{name: 1.0 for name in item} | extra
            for item, extra in zip(features, context_features(probabilities), strict=True)]
