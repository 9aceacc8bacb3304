"""Word clusters for the Devanagari CRF, learnt from unlabelled Hindi text (Brown-style bit strings).

A CRF only knows the words it saw labelled; clusters carry what it learnt to words that merely
appear in similar contexts (an unseen town name clusters with the town names it did see).

Method: count each word's neighbours (the 2 000 commonest words at offsets -2, -1, +1, +2), weight
the counts by positive PMI (context distribution smoothed, Levy et al. 2015), reduce to 100 dimensions
by SVD, k-means the unit-length vectors into 1 000 clusters and join the cluster centres bottom-up
(Ward). A word's path from the root of that tree is its bit string: as with Brown clusters, its
prefixes are coarser clusters, and the CRF gets several prefix lengths as features.

Deterministic (fixed seeds, one thread). Text: the Hindi rows of the topic sets and the *training*
rows of the Hindi NER sets (their text only; held-out rows and test files are not read).
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from workers.datasets import read_jsonl
from workers.stages.enrich.features import feature_word
from workers.stages.enrich.text import tokenize

# (file, text field or "tokens") of unlabelled Hindi text.
TEXT_SETS = [
    ("topic_l3cube_indicnews/data.jsonl.gz", "text"),
    ("topic_bbc_hindi/test.jsonl.gz", "text"),
    ("topic_sib200/data.jsonl.gz", "text"),
    ("ner_il_ner_train_dev/train_dev.jsonl.gz", "tokens"),
    ("ner_ijcnlp2008_hindi/data.jsonl.gz", "tokens"),
    ("ner_hiner_validation_full/validation.jsonl.gz", "tokens"),
    ("ner_multiconer2/train_dev.jsonl.gz", "tokens"),
    ("ner_wikiann_panx/train_dev.jsonl.gz", "tokens"),
]
MIN_COUNT = 2  # words seen once get no cluster
CONTEXT_WORDS = 2000
OFFSETS = (-2, -1, 1, 2)
DIMENSIONS = 100
CLUSTERS = 1000
SMOOTHING = 0.75  # context counts ** 0.75, so rare contexts do not dominate PMI


def hindi_sentences(data_dir: Path, is_heldout) -> Iterator[list[str]]:
    """Feature words of each Hindi text, skipping rows the entity trainer holds out."""
    for relative, field in TEXT_SETS:
        for row in read_jsonl(data_dir / relative):
            if row["lang"] != "hi" or (field == "tokens" and is_heldout(row)):
                continue
            tokens = row["tokens"] if field == "tokens" else [t for t, _, _ in tokenize(row[field] or "")]
            if tokens:
                yield [feature_word(token) for token in tokens]


def build_clusters(sentences: list[list[str]]) -> dict[str, str]:
    """word → bit string (its path in the cluster tree)."""
    import numpy as np
    from scipy import sparse
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.utils.extmath import randomized_svd
    from threadpoolctl import threadpool_limits

    counts = Counter(word for sentence in sentences for word in sentence)
    # Sorted by count then word, so the indices (and everything after) do not depend on input order.
    vocabulary = [w for w, c in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if c >= MIN_COUNT]
    index = {word: i for i, word in enumerate(vocabulary)}
    n_context = min(CONTEXT_WORDS, len(vocabulary))
    rows, cols = [], []
    for sentence in sentences:
        ids = [index.get(word, -1) for word in sentence]
        for i, word_id in enumerate(ids):
            if word_id < 0:
                continue
            for k, offset in enumerate(OFFSETS):
                j = i + offset
                if 0 <= j < len(ids) and 0 <= ids[j] < n_context:
                    rows.append(word_id)
                    cols.append(k * n_context + ids[j])
    data = np.ones(len(rows), dtype=np.float64)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(vocabulary), len(OFFSETS) * n_context))
    matrix.sum_duplicates()
    total = matrix.sum()
    word_totals = np.asarray(matrix.sum(axis=1)).ravel()
    context_totals = np.asarray(matrix.sum(axis=0)).ravel() ** SMOOTHING
    context_totals /= context_totals.sum()
    coo = matrix.tocoo()
    pmi = np.log(coo.data * 1.0 / (word_totals[coo.row] / total) / context_totals[coo.col] / total)
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)
    with threadpool_limits(1):
        u, s, _ = randomized_svd(ppmi, DIMENSIONS, random_state=0)
        vectors = u * np.sqrt(s)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1.0)
        kmeans = KMeans(n_clusters=CLUSTERS, n_init=1, random_state=0, max_iter=100).fit(vectors)
        tree = AgglomerativeClustering(linkage="ward", compute_full_tree=True).fit(kmeans.cluster_centers_)
    paths = tree_paths(tree.children_, CLUSTERS)
    return {word: paths[cluster] for word, cluster in zip(vocabulary, kmeans.labels_.tolist())}


def tree_paths(children, leaves: int) -> list[str]:
    """Bit string of each leaf: 0 for the left, 1 for the right branch from the root down."""
    paths = [""] * leaves
    root = leaves + len(children) - 1
    stack = [(root, "")]
    while stack:
        node, path = stack.pop()
        if node < leaves:
            paths[node] = path
            continue
        left, right = children[node - leaves]
        stack.extend([(left, path + "0"), (right, path + "1")])
    return paths


def write_clusters(clusters: dict[str, str], path: Path) -> None:
    lines = "".join(f"{word}\t{bits}\n" for word, bits in sorted(clusters.items()))
    path.write_bytes(gzip.compress(lines.encode("utf-8"), mtime=0))
