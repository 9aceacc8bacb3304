"""Speed of the clean stage's HTML path against plain `trafilatura.extract`, on the same pages in one run.

    python -m workers.benchmarks.extract --data ../shared/data/extraction_fundus/pages.jsonl.gz [--rounds 5] [--json]

Each round runs both extractors on every page, one right after the other, and alternates which goes first
(per page and per round), so that neither always meets a warm or a cold cache or a quieter moment of a
shared machine. Time is the process's CPU time (`time.process_time`), which other jobs on the machine
barely move, unlike wall-clock time; the figure is the median pages/s over the rounds. One untimed warm-up
pass loads lazily built state (stoplists, compiled patterns). The first round's outputs are also scored
(bag-of-tokens F1 against `gold_text`), so that speed is always read beside quality.
With --json the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import statistics
import time

import orjson
import trafilatura

from workers.datasets import read_jsonl
from workers.evaluation.extract import bag_of_tokens_scores
from workers.stages.clean import CleanError, clean

DEFAULT_ROUNDS = 5
WARM_UP_PAGES = 5


def newswire_body(row: dict) -> str:
    try:
        return clean(row["html"], "text/html", row.get("url")).body
    except CleanError:
        return ""


def trafilatura_body(row: dict) -> str:
    return trafilatura.extract(row["html"]) or ""


EXTRACTORS = {"newswire": newswire_body, "trafilatura": trafilatura_body}


def _timed(extractor, row: dict) -> tuple[float, str]:
    started = time.process_time()
    body = extractor(row)
    return time.process_time() - started, body


def _mean_f1(rows: list[dict], bodies: list[str]) -> float | None:
    scored = [bag_of_tokens_scores(body, row["gold_text"])[2] for row, body in zip(rows, bodies) if row.get("gold_text") is not None]
    return round(sum(scored) / len(scored), 4) if scored else None


def run(pages_path: str, limit: int | None = None, rounds: int = DEFAULT_ROUNDS) -> dict:
    rows = [row for row in read_jsonl(pages_path, limit=limit) if row.get("html")]
    if not rows:
        raise ValueError(f"no pages with HTML in {pages_path}")
    for extractor in EXTRACTORS.values():
        for row in rows[:WARM_UP_PAGES]:
            extractor(row)
    seconds: dict[str, list[float]] = {name: [] for name in EXTRACTORS}
    first_bodies: dict[str, list[str]] = {name: [] for name in EXTRACTORS}
    names = list(EXTRACTORS)
    for round_number in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        for index, row in enumerate(rows):
            for name in names if (round_number + index) % 2 == 0 else reversed(names):
                elapsed, body = _timed(EXTRACTORS[name], row)
                spent[name] += elapsed
                if round_number == 0:
                    first_bodies[name].append(body)
        for name in names:
            seconds[name].append(spent[name])
    f1 = {name: _mean_f1(rows, bodies) for name, bodies in first_bodies.items()}
    speed = {name: round(len(rows) / statistics.median(times), 2) for name, times in seconds.items()}
    return {
        "pages": len(rows),
        "rounds": rounds,
        "pages_per_second": speed,
        "ratio": round(speed["newswire"] / speed["trafilatura"], 3),
        "f1": f1,
        "round_cpu_seconds": {name: [round(value, 3) for value in times] for name, times in seconds.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--data", required=True, help="JSON Lines file (optionally .gz) with an `html` field per row")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N rows")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="timed passes per extractor")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last stdout line")
    args = parser.parse_args(argv)
    result = run(args.data, args.limit, args.rounds)
    for name, speed in result["pages_per_second"].items():
        f1 = result["f1"][name]
        print(f"{name}: {speed} pages/s" + (f", F1 {f1:.4f}" if f1 is not None else ""))
    print(f"ratio newswire/trafilatura: {result['ratio']}x over {result['pages']} pages, median of {result['rounds']} rounds")
    if args.json:
        print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
