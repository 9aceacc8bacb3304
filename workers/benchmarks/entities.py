"""Entity stage cost: articles per CPU second of extract_entities, contextual tagger vs the plain CRF, same run.

Articles: Fundus gold bodies (../shared/data/extraction_fundus, about 25 languages, Hindi among them) and BBC Hindi
articles (topic_bbc_hindi), `--articles` of each. Each tagger runs over every article once after a warm-up
article (models loaded, encoder compiled); the figure is this process's CPU time (the encoder runs one thread).
The plain CRF is the baseline: `context_vs_crf` is the contextual tagger's cost as a multiple of it.
"""

from __future__ import annotations

import time

from workers.datasets import read_jsonl, shared_data_dir
from workers.encoder import cpu_isa, get_encoder
from workers.stages.enrich import extract_entities
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


def measure(args) -> dict:
    sets = _articles(args.data_dir, args.articles)
    figures = {}
    for tagger in TAGGERS:
        extract_entities("नरेंद्र मोदी ने जिनेवा में कहा।", "hi", tagger)  # warm-up: models and encoder loaded
        for name, articles in sets.items():
            started = time.process_time()
            mentions = sum(len(extract_entities(text, lang, tagger)) for text, lang in articles)
            cpu = time.process_time() - started
            figures[f"{name}_{tagger}"] = {"articles": len(articles), "cpu_s": round(cpu, 2),
                                            "ms_per_article": round(1000 * cpu / len(articles), 1),
                                            "articles_per_cpu_second": round(len(articles) / cpu, 2),
                                            "entities_per_article": round(mentions / len(articles), 1)}
    encoder = get_encoder().description()
    return {"encoder": {"runtime": encoder["runtime"], "precision": encoder["precision"]}, "cpu_isa": cpu_isa(),
            "sets": figures,
            "context_vs_crf": {name: round(figures[f"{name}_context"]["cpu_s"] / figures[f"{name}_crf"]["cpu_s"], 2)
                               for name in sets}}


def print_table(result: dict) -> None:
    encoder = result["encoder"]
    print(f"encoder {encoder['runtime']} {encoder['precision']}, CPU {result['cpu_isa']}, 1 thread")
    print(f"{'set / tagger':32s}{'articles':>10s}{'ms/article':>12s}{'articles/CPU s':>16s}{'entities':>10s}")
    for name, figures in result["sets"].items():
        print(f"{name:32s}{figures['articles']:>10d}{figures['ms_per_article']:>12.1f}"
              f"{figures['articles_per_cpu_second']:>16.2f}{figures['entities_per_article']:>10.1f}")
    for name, ratio in result["context_vs_crf"].items():
        print(f"{name}: the contextual tagger costs {ratio}x the plain CRF")
