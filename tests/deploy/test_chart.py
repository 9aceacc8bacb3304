"""The chart renders, lints, validates strictly against the Kubernetes schemas and its custom resources against
their CRD schemas (crd_schemas.yaml), and holds the rules the issue sets for each stage."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import CHART_DIR, STAGES, by_kind, per_stage, render_chart
from workers.config import STAGE_METRICS_PORTS, Settings
from workers.topics import load_topic_specs

kubernetes_validate = pytest.importorskip("kubernetes_validate")

# Oldest version the chart declares (Chart.yaml kubeVersion) and the newest whose schemas are bundled.
KUBERNETES_VERSIONS = ["1.29", kubernetes_validate.latest_version()]
CRD_SCHEMAS = yaml.safe_load((CHART_DIR.parents[2] / "tests" / "deploy" / "crd_schemas.yaml").read_text())
BUILTIN_GROUPS = ("v1", "apps/v1", "policy/v1", "networking.k8s.io/v1")
PARTITIONS = {spec.name: spec.partitions for spec in load_topic_specs()}
VARIANTS = {
    "defaults": {},
    "no autoscaling, chart-made secret, prefixed topics": {
        "autoscaling": {"enabled": False}, "replicas": 50,
        "elasticsearch": {"existingSecret": "", "password": "pw"},
        "settings": {"topic_prefix": "staging-"}, "kafkaCredentials": {"secretName": "newswire-user"},
    },
    "optional resources off": {
        "serviceMonitor": {"enabled": False}, "prometheusRule": {"enabled": False}, "kafkaTopics": {"enabled": False},
        "networkPolicy": {"enabled": False}, "podDisruptionBudget": {"enabled": False},
    },
}


def crd_validator(obj: dict) -> jsonschema.Draft202012Validator:
    schema = {"$defs": CRD_SCHEMAS["$defs"], **CRD_SCHEMAS["kinds"][f"{obj['apiVersion']}/{obj['kind']}"]}
    return jsonschema.Draft202012Validator(schema)


def test_chart_lints_without_warnings():
    import helm_python as helm

    for version in ("v1.29.0", "v1.35.0"):
        report = helm.lint(str(CHART_DIR), strict=True, kube_version=version)
        assert report["errors"] == []
        assert [m for m in report["messages"] if m["severity"] >= 2] == []  # 2 = warning, 3 = error


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_validates_against_its_schema(variant):
    objects = render_chart(VARIANTS[variant])
    assert objects
    for obj in objects:
        if obj["apiVersion"] in BUILTIN_GROUPS:
            for version in KUBERNETES_VERSIONS:
                kubernetes_validate.validate(obj, version, strict=True)  # raises on an unknown or wrong field
        else:
            crd_validator(obj).validate(obj)


def test_crd_schemas_reject_what_the_api_server_would():
    scaled = next(obj for obj in render_chart() if obj["kind"] == "ScaledObject")
    broken = {**scaled, "spec": {**scaled["spec"], "triggers": [{"type": "kafka", "metadata": {"lagThreshold": 5}}]}}
    with pytest.raises(jsonschema.ValidationError):  # trigger metadata values must be strings
        crd_validator(broken).validate(broken)
    misspelt = {**scaled, "spec": {**scaled["spec"], "maxReplicas": 3}}
    with pytest.raises(jsonschema.ValidationError):
        crd_validator(misspelt).validate(misspelt)


def test_one_deployment_service_pdb_policy_and_scaler_per_stage(default_objects):
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ScaledObject"):
        assert sorted(per_stage(default_objects, kind)) == sorted(STAGES), kind


def test_deployments_are_locked_down_and_probed_on_the_health_endpoints(default_objects):
    for stage, deployment in per_stage(default_objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
        (container,) = pod["containers"]
        assert container["args"] == ["run", stage]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        port = STAGE_METRICS_PORTS[stage]
        assert container["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        env = {item["name"]: item for item in container["env"]}
        assert env["NEWSWIRE_METRICS_HOST"]["value"] == "0.0.0.0"
        assert env["NEWSWIRE_METRICS_PORT"]["value"] == str(port)
        # Only the index stage talks to the engine, so only it gets the credentials.
        assert ("NEWSWIRE_ES_PASSWORD" in env) == (stage == "index")
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert {"/etc/newswire", "/tmp"} <= mounts


def test_config_map_holds_only_settings_the_workers_know(default_objects):
    (config_map,) = by_kind(default_objects, "ConfigMap").values()
    settings = yaml.safe_load(config_map["data"]["config.yaml"])
    Settings(**settings)  # raises TypeError on an unknown setting
    assert "es_password" not in settings and "es_api_key" not in settings


def test_secret_is_referenced_or_made(default_objects):
    assert by_kind(default_objects, "Secret") == {}  # defaults reference ECK's Secret
    made = render_chart({"elasticsearch": {"existingSecret": "", "password": "pw"}})
    (secret,) = by_kind(made, "Secret").values()
    index = per_stage(made, "Deployment")["index"]["spec"]["template"]["spec"]["containers"][0]
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in index["env"] if "valueFrom" in e}
    assert refs == {secret["metadata"]["name"]}


@pytest.mark.parametrize("wanted", [1, 4, 64])
def test_replicas_never_exceed_the_input_topic_partitions(wanted):
    values = {"autoscaling": {"maxReplicas": wanted}}
    objects = render_chart(values)
    stages = yaml.safe_load((CHART_DIR / "values.yaml").read_text())["stages"]
    for stage, scaled in per_stage(objects, "ScaledObject").items():
        partitions = PARTITIONS[stages[stage]["inputTopic"]]
        assert scaled["spec"]["maxReplicaCount"] == min(wanted, partitions)
    fixed = render_chart({"autoscaling": {"enabled": False}, "replicas": wanted})
    for stage, deployment in per_stage(fixed, "Deployment").items():
        assert deployment["spec"]["replicas"] == min(wanted, PARTITIONS[stages[stage]["inputTopic"]])
    assert per_stage(fixed, "ScaledObject") == {}


@pytest.mark.parametrize("prefix", ["", "staging-"])
def test_scalers_watch_the_groups_and_topics_the_workers_use(prefix):
    settings = Settings(topic_prefix=prefix)
    stages = yaml.safe_load((CHART_DIR / "values.yaml").read_text())["stages"]
    for stage, scaled in per_stage(render_chart({"settings": {"topic_prefix": prefix}}), "ScaledObject").items():
        (trigger,) = scaled["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert meta["consumerGroup"] == settings.group(stage)
        assert meta["topic"] == settings.topic(stages[stage]["inputTopic"])
        assert meta["excludePersistentLag"] == "true"
        assert meta["allowIdleConsumers"] == "false"
        assert scaled["spec"]["scaleTargetRef"]["name"] == f"newswire-{stage}"


@pytest.mark.parametrize("prefix", ["", "staging-"])
def test_kafka_topics_are_the_declared_ones(prefix):
    topics = by_kind(render_chart({"settings": {"topic_prefix": prefix}}), "KafkaTopic")
    rendered = {obj["spec"]["topicName"]: obj for obj in topics.values()}
    specs = load_topic_specs()
    assert sorted(rendered) == sorted(prefix + spec.name for spec in specs)
    for spec in specs:
        topic = rendered[prefix + spec.name]
        assert topic["spec"]["partitions"] == spec.partitions
        assert spec.config.items() <= topic["spec"]["config"].items()
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "newswire"


def test_prometheus_rule_carries_the_tested_rules_file(default_objects):
    (rule,) = by_kind(default_objects, "PrometheusRule").values()
    tested = yaml.safe_load((CHART_DIR.parents[1] / "alerts" / "newswire-rules.yaml").read_text())
    assert rule["spec"] == tested


def test_service_monitor_scrapes_every_stage_as_job_newswire(default_objects):
    (monitor,) = by_kind(default_objects, "ServiceMonitor").values()
    selector = monitor["spec"]["selector"]["matchLabels"]
    for service in per_stage(default_objects, "Service").values():
        assert selector.items() <= service["metadata"]["labels"].items()
        assert service["metadata"]["labels"]["app.kubernetes.io/name"] == "newswire"  # jobLabel -> job="newswire"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    assert endpoint["relabelings"][0]["targetLabel"] == "stage"


def test_only_the_index_stage_may_reach_elasticsearch(default_objects):
    for stage, policy in per_stage(default_objects, "NetworkPolicy").items():
        ports = {port["port"] for rule in policy["spec"]["egress"] for port in rule["ports"]}
        assert (9200 in ports) == (stage == "index")
        assert 9092 in ports and 53 in ports
