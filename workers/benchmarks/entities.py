"""Entity stage cost: articles per CPU second of extract_entities, contextual tagger vs the plain CRF, same run.

Articles: Fundus gold bodies (../shared/data/extraction_fundus, about 25 languages, Hindi among them) and BBC Hindi
articles (topic_bbc_hindi), `--articles` of each. Each tagger runs over every article once after a warm-up
article (models loaded, encoder compiled); the figure is this process's CPU time (the encoder runs one thread).
The default tagger also runs as the enrich worker does under load, 32 articles per call (`_batched`: one encoder
pass over all their sentences), and so again with every sentence through the encoder (`_ungated`: the context gate
at 1, tagging.needs_context). The plain CRF is the baseline: `context_vs_crf` is the contextual tagger's cost,
one article at a time, as a multiple of it; `gate_speedup` the ungated batches' cost over the gated ones'.
"""

from __future__ import annotations

import time

from workers.datasets import read_jsonl, shared_data_dir
from workers.encoder import cpu_isa, get_encoder
from workers.runtime.records import BATCH_SIZE
from workers.stages.enrich import extract_entities, extract_entities_batch
from workers.stages.enrich.model import TAGGERS
from workers.stages.language import detect_language


def add_arguments(parser) -> None:
    parser.add_argument("--articles", type=int, default=60, help="articles of each set (default 60)")


def _articles(data_dir, count: int) -> dict[str, list[tuple[str, str]]]:
    root = shared_data_dir(data_dir)
    fundus = [row["gold_text"] for row in read_jsonl(root / "extraction_fundus" / "pages.jsonl.gz") if row.get("gold_text")]
    hindi = [row["text"] for row in read_jsonl(root / "topic_bbc_hindi" / "test.jsonl.gz") if row.get("text")]
    # Spread over the file, which is grouped by publisher.
    sets = {"fundus_gold_bodies": fundus[:: max(1, len(fundus) // count)][:count], "bbc_hindi": hindi[:count]}
    return {name: [(text, detect_language(text).code) for text in texts] for name, texts in sets.items()}


def _one_by_one(articles: list[tuple[str, str]], tagger: str) -> int:
    return sum(len(extract_entities(text, lang, tagger)) for text, lang in articles)


def _in_stage_batches(articles: list[tuple[str, str]], tagger: str, gate: float | None = None) -> int:
    """As the enrich worker runs under load: 32 pages per call, one encoder pass over all their sentences."""
    batches = [articles[start : start + BATCH_SIZE] for start in range(0, len(articles), BATCH_SIZE)]
    return sum(len(entities) for batch in batches
               for entities in extract_entities_batch([(text, lang, None) for text, lang in batch], tagger, gate))


def _ungated(articles: list[tuple[str, str]], tagger: str) -> int:
    return _in_stage_batches(articles, tagger, gate=1.0)


def measure(args) -> dict:
    sets = _articles(args.data_dir, args.articles)
    figures = {}
    runs = [(tagger, _one_by_one) for tagger in TAGGERS] + [("context", _in_stage_batches), ("context", _ungated)]
    suffixes = {_one_by_one: "", _in_stage_batches: "_batched", _ungated: "_ungated"}
    for tagger, run in runs:
        extract_entities("नरेंद्र मोदी ने जिनेवा में कहा।", "hi", tagger)  # warm-up: models and encoder loaded
        for name, articles in sets.items():
            started = time.process_time()
            mentions = run(articles, tagger)
            cpu = time.process_time() - started
            label = f"{name}_{tagger}{suffixes[run]}"
            figures[label] = {"articles": len(articles), "cpu_s": round(cpu, 2),
                              "ms_per_article": round(1000 * cpu / len(articles), 1),
                              "articles_per_cpu_second": round(len(articles) / cpu, 2),
                              "entities_per_article": round(mentions / len(articles), 1)}
    encoder = get_encoder().description()
    return {"encoder": {"runtime": encoder["runtime"], "precision": encoder["precision"]}, "cpu_isa": cpu_isa(),
            "sets": figures,
            "context_vs_crf": {name: round(figures[f"{name}_context"]["cpu_s"] / figures[f"{name}_crf"]["cpu_s"], 2)
                               for name in sets},
            "batched_speedup": {name: round(figures[f"{name}_context"]["cpu_s"] / figures[f"{name}_context_batched"]["cpu_s"], 2)
                                for name in sets},
            "gate_speedup": {name: round(figures[f"{name}_context_ungated"]["cpu_s"] / figures[f"{name}_context_batched"]["cpu_s"], 2)
                             for name in sets}}


def print_table(result: dict) -> None:
    encoder = result["encoder"]
    print(f"encoder {encoder['runtime']} {encoder['precision']}, CPU {result['cpu_isa']}, 1 thread")
    print(f"{'set / tagger':32s}{'articles':>10s}{'ms/article':>12s}{'articles/CPU s':>16s}{'entities':>10s}")
    for name, figures in result["sets"].items():
        print(f"{name:32s}{figures['articles']:>10d}{figures['ms_per_article']:>12.1f}"
              f"{figures['articles_per_cpu_second']:>16.2f}{figures['entities_per_article']:>10.1f}")
    for name, ratio in result["context_vs_crf"].items():
        print(f"{name}: the contextual tagger costs {ratio}x the plain CRF; in batches of {BATCH_SIZE} articles it "
              f"runs {result['batched_speedup'][name]}x faster than one article at a time, and "
              f"{result['gate_speedup'][name]}x faster than with every sentence through the encoder")
