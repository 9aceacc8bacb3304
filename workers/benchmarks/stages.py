"""Cost of each stage per page (clean, language, classify, enrich, dedup, serialize), so the bottleneck is visible.

    newswire bench stages [--pages 300] [--rounds 3] [--json]

The stage functions the workers call, on real pages, in this one process, no servers. `serialize` is the JSON
work the runtime adds around them: decoding the raw envelope, each worker's `orjson.loads` of its input and
`orjson.dumps` of its output, and the index stage's `index_document` plus its bulk lines. Costs are CPU seconds
(`time.process_time`), the median over the rounds of each stage's total, divided by the page count. An untimed
first pass loads the models and prepares each stage's input (as the previous stage makes it). Pages that the
clean stage rejects (no article text) still count: they cost the clean worker its share, like in production.
Grouped by worker, the largest sum is the pipeline's bottleneck when every stage has one core. The classify and
enrich stages run on batches of 32 pages, as their workers do under load (one encoder call per batch).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

import orjson

from workers import pipeline
from workers.benchmarks.pages import cycle, load_source_pages, raw_record
from workers.config import Settings
from workers.envelope import decode_raw_record
from workers.runtime.records import BATCH_SIZE
from workers.stages import language as language_stage
from workers.stages.clean import CleanError
from workers.stages.clean import clean as clean_text

STAGES = ("clean", "language", "classify", "enrich", "dedup", "serialize")
# Which worker process pays for each part (the serialize parts are split by the worker that does them).
WORKER_OF = {"clean": "clean", "language": "clean", "classify": "classify", "enrich": "enrich", "dedup": "enrich",
             "serialize:clean": "clean", "serialize:classify": "classify", "serialize:enrich": "enrich",
             "serialize:index": "index"}
WORKERS = ("clean", "classify", "enrich", "index")
DEFAULT_PAGES = 300
DEFAULT_ROUNDS = 3


def add_arguments(parser) -> None:
    parser.add_argument("--pages", type=int, default=DEFAULT_PAGES, help="pages (cycled from the dev sets)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="timed passes over the pages")


class _Clock:
    """Adds the CPU time of each `with clock("part"):` block to that part's total."""

    def __init__(self):
        self.totals: dict[str, float] = defaultdict(float)
        self._part, self._started = "", 0.0

    def __call__(self, part: str):
        self._part = part
        return self

    def __enter__(self):
        self._started = time.process_time()

    def __exit__(self, *_):
        self.totals[self._part] += time.process_time() - self._started


def _prepare(records: list[tuple[bytes, bytes]], max_bytes: int) -> list[dict | None]:
    """Each page's document after clean + language (None when rejected): the classify stage's input."""
    docs = []
    for key, value in records:
        try:
            docs.append(pipeline.clean_record(key, value, None, max_bytes))
        except CleanError:
            docs.append(None)
    return docs


def _one_round(records: list[tuple[bytes, bytes]], docs: list[dict | None], max_bytes: int) -> dict[str, float]:
    clock = _Clock()
    classify_inputs = []
    for (key, value), doc in zip(records, docs):
        with clock("serialize:clean"):
            page = decode_raw_record(key, value, max_bytes)
        try:
            with clock("clean"):
                cleaned = clean_text(page.raw, page.content_type, page.url)
        except CleanError:
            continue
        if doc is None:  # rejected for an empty body after cleaning
            continue
        with clock("language"):
            language_stage.detect_language(f"{cleaned.title}\n{cleaned.body}")
        with clock("serialize:clean"):
            cleaned_bytes = orjson.dumps(doc)
        with clock("serialize:classify"):
            classify_inputs.append(orjson.loads(cleaned_bytes))
    for start in range(0, len(classify_inputs), BATCH_SIZE):
        with clock("classify"):  # in stage batches, as the classify worker embeds them
            classified_batch = pipeline.classify_docs(classify_inputs[start : start + BATCH_SIZE])
        enrich_inputs = []
        for classified in classified_batch:
            with clock("serialize:classify"):
                classified_bytes = orjson.dumps(classified)
            with clock("serialize:enrich"):
                enrich_inputs.append(orjson.loads(classified_bytes))
        with clock("enrich"):  # in stage batches too: one encoder pass over the batch's sentences
            enriched_batch = pipeline.enrich_docs(enrich_inputs)
        for enriched in enriched_batch:
            with clock("dedup"):
                enriched = pipeline.fingerprint_doc(enriched)
            with clock("serialize:enrich"):
                enriched_bytes = orjson.dumps(enriched)
            with clock("serialize:index"):
                source = pipeline.index_document(orjson.loads(enriched_bytes))
                orjson.dumps({"index": {"_id": source["page_id"]}}) + b"\n" + orjson.dumps(source)
    return dict(clock.totals)


def run_benchmark(page_count: int = DEFAULT_PAGES, rounds: int = DEFAULT_ROUNDS, data_dir: str | None = None) -> dict:
    pages = cycle(load_source_pages(data_dir), page_count, "stages")
    records = [raw_record(page) for page in pages]
    max_bytes = Settings().max_page_bytes
    docs = _prepare(records, max_bytes)  # also the untimed warm-up: models load here
    per_round = [_one_round(records, docs, max_bytes) for _ in range(rounds)]
    parts = sorted({part for totals in per_round for part in totals})
    part_ms = {part: statistics.median(totals.get(part, 0.0) for totals in per_round) * 1000 / len(records)
               for part in parts}
    stage_ms = {stage: sum(ms for part, ms in part_ms.items() if part.split(":")[0] == stage) for stage in STAGES}
    worker_ms = dict.fromkeys(WORKERS, 0.0)
    for part, ms in part_ms.items():
        worker_ms[WORKER_OF[part]] += ms
    total_ms = sum(stage_ms.values())
    bottleneck = max(worker_ms, key=worker_ms.get)
    return {
        "pages": len(records),
        "rejected_by_clean": sum(doc is None for doc in docs),
        "rounds": rounds,
        "cpu_ms_per_page": {stage: round(ms, 3) for stage, ms in stage_ms.items()},
        "share": {stage: round(ms / total_ms, 4) for stage, ms in stage_ms.items()},
        "serialize_ms_per_page_by_worker": {part.split(":")[1]: round(ms, 3) for part, ms in part_ms.items() if ":" in part},
        "worker_cpu_ms_per_page": {worker: round(ms, 3) for worker, ms in worker_ms.items()},
        "total_cpu_ms_per_page": round(total_ms, 3),
        "pages_per_cpu_second": round(1000 / total_ms, 2),
        "bottleneck_worker": bottleneck,
        "bottleneck_pages_per_second": round(1000 / worker_ms[bottleneck], 2),
    }


def print_table(result: dict) -> None:
    print(f"{'stage':<11}{'CPU ms/page':>12}{'share':>8}")
    for stage in STAGES:
        print(f"{stage:<11}{result['cpu_ms_per_page'][stage]:>12.2f}{result['share'][stage]:>8.1%}")
    print(f"{'all':<11}{result['total_cpu_ms_per_page']:>12.2f}   -> {result['pages_per_cpu_second']} pages per CPU second")
    print()
    print(f"{'worker':<11}{'CPU ms/page':>12}{'pages/s on one core':>22}")
    for worker, ms in result["worker_cpu_ms_per_page"].items():
        print(f"{worker:<11}{ms:>12.2f}{1000 / ms:>22.1f}")
    print(f"bottleneck: the {result['bottleneck_worker']} worker; {result['pages']} pages "
          f"({result['rejected_by_clean']} rejected by clean), median of {result['rounds']} rounds")


def measure(args) -> dict:
    return run_benchmark(args.pages, args.rounds, args.data_dir)
