"""`newswire bench NAME [--json]`: performance benchmarks (pipeline, overhead, index, stages, soak, encoder, entities).

Each benchmark lives in workers/benchmarks/<name>.py and exposes add_arguments(parser), measure(args) -> dict
and print_table(result). Each prints a table; with --json the last stdout line is the result as one JSON
object. `stages` needs no servers; the others run against the local stack (deploy/local/stack.sh start).
Method and results: docs/benchmarks.md.
"""

from __future__ import annotations

import importlib

import orjson

BENCHMARKS = {
    "pipeline": "workers.benchmarks.pipeline",
    "overhead": "workers.benchmarks.overhead",
    "index": "workers.benchmarks.index",
    "stages": "workers.benchmarks.stages",
    "soak": "workers.benchmarks.soak",
    "encoder": "workers.benchmarks.encoder",
    "entities": "workers.benchmarks.entities",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="measure throughput, latency and overhead")
    names = parser.add_subparsers(dest="benchmark", required=True)
    for name, module_name in BENCHMARKS.items():
        module = importlib.import_module(module_name)
        sub = names.add_parser(name, help=module.__doc__.strip().splitlines()[0])
        sub.add_argument("--data-dir", default=None, help="the shared data folder (default: ../shared/data)")
        sub.add_argument("--json", action="store_true", help="print one JSON object as the last stdout line")
        module.add_arguments(sub)
        sub.set_defaults(func=lambda args, module=module: run(module, args))


def run(module, args) -> int:
    result = module.measure(args)
    module.print_table(result)
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
