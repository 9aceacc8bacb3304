"""The pipeline benchmark's rising-load steps as a PNG: output rate and latency against offered load.

    python -m workers.benchmarks.plot RESULT.json OUT.png   # RESULT.json: the last line of `newswire bench pipeline --json`
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

LATENCY_TARGET_SECONDS = 2.0


def plot_load(result: dict, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    steps = result["steps"]
    offered = [step["offered_per_second"] for step in steps]
    figure, (rate_axes, latency_axes) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)

    rate_axes.plot(offered, [step["output_per_second"] for step in steps], "o-", label="searchable pages/s")
    rate_axes.plot([0, max(offered)], [0, max(offered)], ":", color="grey", label="offered = output")
    rate_axes.axhline(result["max_pages_per_second"], linestyle="--", color="tab:red",
                      label=f"capacity from backlog: {result['max_pages_per_second']:.1f}/s")
    rate_axes.set(xlabel="offered load (pages/s)", ylabel="output (pages/s)", title="Throughput")
    rate_axes.legend(loc="upper left", fontsize=8)

    for quantile, style in (("p50", "o-"), ("p95", "s-"), ("p99", "^-")):
        latency_axes.plot(offered, [step["latency_searchable_seconds"][quantile] for step in steps], style, label=quantile)
    latency_axes.axhline(LATENCY_TARGET_SECONDS, linestyle="--", color="tab:red", label="p99 target at 50 % load")
    half = result["at_half_load"]["offered_per_second"]
    latency_axes.axvline(half, linestyle=":", color="grey", label="50 % of capacity")
    latency_axes.set_ylim(bottom=0)
    latency_axes.set(xlabel="offered load (pages/s)", ylabel="seconds",
                     title=f"Raw-topic timestamp to searchable (refresh {result['refresh_interval']})")
    latency_axes.legend(loc="upper left", fontsize=8)

    machine = result["machine"]
    figure.suptitle(f"newswire pipeline, {result['date'][:10]}, {machine['cpus']} cores shared "
                    f"(load average {machine['load_average'][0]:.1f}), real pages from the dev extraction sets", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str]) -> int:
    result_path, output = argv
    plot_load(orjson.loads(Path(result_path).read_bytes().strip().splitlines()[-1]), output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
