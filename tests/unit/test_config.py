import pytest

from workers.config import Secret, load_settings


def test_defaults_file_and_environment_layering(tmp_path):
    config = tmp_path / "newswire.yaml"
    config.write_text("kafka_bootstrap: broker:9092\nindex_batch_size: 100\n")
    settings = load_settings({"NEWSWIRE_CONFIG": str(config), "NEWSWIRE_INDEX_BATCH_SIZE": "50"})
    assert settings.kafka_bootstrap == "broker:9092"
    assert settings.index_batch_size == 50
    assert settings.es_url == "http://127.0.0.1:9200"


def test_unknown_setting_is_an_error(tmp_path):
    config = tmp_path / "newswire.yaml"
    config.write_text("kafka_bootstrapp: typo\n")
    with pytest.raises(ValueError, match="kafka_bootstrapp"):
        load_settings({"NEWSWIRE_CONFIG": str(config)})


def test_secrets_never_show_in_repr_or_str():
    settings = load_settings({"NEWSWIRE_ES_PASSWORD": "hunter2-secret"})
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.es_password)
    assert "hunter2" not in f"{settings.es_password}"
    assert settings.es_password.reveal() == "hunter2-secret"
    assert isinstance(settings.es_password, Secret)


def test_prefix_applies_to_topics_and_groups():
    settings = load_settings({"NEWSWIRE_TOPIC_PREFIX": "t1-"})
    assert settings.topic("newswire.pages.raw") == "t1-newswire.pages.raw"
    assert settings.group("clean") == "t1-newswire-clean"


def test_es_url_may_name_several_engine_nodes():
    from workers.runtime.search import make_client

    client = make_client(load_settings({"NEWSWIRE_ES_URL": "http://127.0.0.1:19200, http://127.0.0.1:19201"}))
    assert sorted(node.config.port for node in client.transport.node_pool.all()) == [19200, 19201]
