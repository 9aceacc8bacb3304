from workers import topics


def test_every_topic_the_code_uses_is_declared_once():
    names = [spec.name for spec in topics.load_topic_specs()]
    assert len(names) == len(set(names))
    for name in (topics.RAW, topics.CLEANED, topics.CLASSIFIED, topics.ENRICHED, topics.DEAD_LETTER):
        assert name in names


def test_defaults_are_merged_into_each_topic():
    specs = {spec.name: spec for spec in topics.load_topic_specs()}
    assert specs[topics.RAW].config["compression.type"] == "zstd"
    assert specs[topics.DEAD_LETTER].partitions == 1
    assert specs[topics.DEAD_LETTER].config["retention.ms"] == "2592000000"
