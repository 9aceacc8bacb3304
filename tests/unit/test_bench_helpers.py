"""Pure helpers of the benchmarks: percentiles, output rate, page cycling. No timing is asserted."""

from workers.benchmarks.measure import latency_summary, output_rate, percentile
from workers.benchmarks.pages import SourcePage, copy_url, cycle, interleave, raw_record
from workers.envelope import decode_raw_record


def test_percentile_interpolates_between_closest_ranks():
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile(list(range(101)), 99) == 99
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_latency_summary_names_the_quantiles():
    summary = latency_summary([float(n) for n in range(1, 101)])
    assert summary["count"] == 100
    assert summary["p50"] == 50.5
    assert summary["p99"] == 99.01
    assert summary["max"] == 100.0


def test_output_rate_uses_the_middle_of_the_completions():
    steady = [n / 5 for n in range(100)]  # five per second
    assert abs(output_rate(steady) - 5.0) < 1e-9
    # a slow start and a straggler at the end do not change the steady rate
    assert abs(output_rate([-30.0] * 3 + steady + [500.0]) - 5.0) < 0.2
    assert output_rate([1.0, 2.0]) is None


def _source(name: str, content_type: str = "text/html") -> SourcePage:
    return SourcePage(f"https://example.com/{name}?a=1", content_type, f"<p>{name}</p>", name)


def test_interleave_takes_one_of_each_set_in_turn():
    first, second = [_source("a1"), _source("a2"), _source("a3")], [_source("b1")]
    assert [page.origin for page in interleave([first, second])] == ["a1", "b1", "a2", "a3"]


def test_cycled_copies_are_distinct_pages_with_the_same_content():
    sources = [_source("a"), _source("b", "text/plain")]
    pages = cycle(sources, 5, "run", start=1, source="bench-x")
    assert len({page.page_id for page in pages}) == 5
    assert [page.raw for page in pages] == ["<p>b</p>", "<p>a</p>", "<p>b</p>", "<p>a</p>", "<p>b</p>"]
    assert [page.content_type for page in pages][:2] == ["text/plain", "text/html"]
    assert pages[0].url == "https://example.com/b?a=1&bench_copy=run-1"
    assert {page.source for page in pages} == {"bench-x"}


def test_copy_url_keeps_the_page_id_distinct_after_canonicalisation():
    assert copy_url("https://example.com/x#top", "t-1") == "https://example.com/x?bench_copy=t-1"


def test_raw_record_is_an_envelope_the_clean_stage_decodes_to_the_same_page():
    page = cycle([_source("a")], 1, "run", source="bench-x")[0]
    key, value = raw_record(page)
    assert key == page.page_id.encode()
    assert decode_raw_record(key, value, 1_000_000) == page


def test_soak_reads_lag_from_a_workers_metrics_and_growth_as_a_slope():
    from workers.benchmarks.soak import slope_per_hour, stage_lag, summarise

    metrics = "\n".join([
        "# HELP newswire_consumer_lag_messages Records in the input topic not yet consumed by the stage.",
        'newswire_consumer_lag_messages{partition="0",stage="clean",topic="newswire.pages.raw"} 12.0',
        'newswire_consumer_lag_messages{partition="1",stage="clean",topic="newswire.pages.raw"} 3.0',
        'newswire_stage_messages_total{outcome="ok",stage="clean"} 99.0',
    ])
    assert stage_lag(metrics) == 15
    assert slope_per_hour([(0, 100.0), (1800, 101.0), (3600, 102.0)]) == 2.0
    assert slope_per_hour([(0, 1.0), (10, 1.0)]) is None

    def sample(seconds, rss, fds, lag):
        return {"seconds": seconds, "workers": {"clean": {"rss_mb": rss, "largest_mb": rss / 2, "open_fds": fds}},
                "lag": {"clean": lag}, "indexed": 0}

    samples = [sample(t, 200 + t / 60, 40, 5) for t in range(0, 601, 60)] + [sample(660, 150, 38, 0)]
    summary = summarise(samples, load_ended=600)
    clean = summary["workers"]["clean"]
    assert (clean["rss_mb_first"], clean["rss_mb_last"], clean["rss_mb_max"]) == (200, 210, 210)  # the drain is left out
    assert clean["rss_mb_per_hour_second_half"] == 60.0
    assert clean["open_fds_per_hour_second_half"] == 0.0
    assert summary["lag"]["clean"] == {"max": 5, "at_end_of_load": 5}
