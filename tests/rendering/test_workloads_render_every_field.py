"""Workloads render every field the reference read and the ones it dropped: probes, command, args,
envFrom, securityContext, serviceAccountName, imagePullPolicy, nodeSelector, tolerations, volumes…"""

from __future__ import annotations

from typing import Any

import pytest

from app.rendering import ManifestRenderer
from tests.rendering.canvases import container, edge, manifest, node, pod_spec, render

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")

POD_FIELDS = {
    "image": "ghcr.io/example/app:1",
    "imagePullPolicy": "Always",
    "command": ["/bin/app"],
    "args": ["--verbose", "--port=80"],
    "env": [{"name": "A", "value": "1"}],
    "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "64Mi"}},
    "livenessProbe": {"type": "httpGet", "path": "/live", "port": 80, "initialDelaySeconds": 0},
    "readinessProbe": {"type": "tcpSocket", "port": 80},
    "startupProbe": {"type": "exec", "command": ["test", "-f", "/ready"]},
    "securityContext": {"runAsUser": 0, "runAsNonRoot": False, "capabilitiesDrop": ["ALL"]},
    "serviceAccountName": "runner",
    "nodeSelector": {"disk": "ssd"},
    "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "workingDir": "/srv",
    "tty": True,
    "stdin": False,
    "hostname": "box",
    "terminationGracePeriodSeconds": 0,
    "build": {"context": "app", "dockerfile": "Dockerfile", "args": {"V": "1"}, "useNixpacks": False},
}


def one(renderer: ManifestRenderer, kind: str, **data: Any) -> dict[str, Any]:
    extra = {"schedule": "@daily"} if kind == "CronJob" else {}
    return manifest(render(renderer, [node("w", kind, **extra, **data)]), "w")


@pytest.mark.parametrize("kind", WORKLOADS)
def test_every_pod_field_reaches_the_container_or_pod(renderer: ManifestRenderer, kind: str) -> None:
    obj = one(renderer, kind, **POD_FIELDS)
    spec, box = pod_spec(obj), container(obj)
    assert box["name"] == "w"
    assert box["image"] == "ghcr.io/example/app:1"
    assert box["imagePullPolicy"] == "Always"
    assert box["command"] == ["/bin/app"]
    assert box["args"] == ["--verbose", "--port=80"]
    assert box["env"] == [{"name": "A", "value": "1"}]
    assert box["resources"] == {"requests": {"cpu": "100m"}, "limits": {"memory": "64Mi"}}
    assert box["livenessProbe"] == {
        "httpGet": {"path": "/live", "port": 80},
        "initialDelaySeconds": 0,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "failureThreshold": 3,
        "successThreshold": 1,
    }
    assert box["readinessProbe"]["tcpSocket"] == {"port": 80}
    assert box["startupProbe"]["exec"] == {"command": ["test", "-f", "/ready"]}
    assert box["securityContext"] == {
        "runAsUser": 0,
        "runAsNonRoot": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert spec["serviceAccountName"] == "runner"
    assert spec["nodeSelector"] == {"disk": "ssd"}
    assert spec["tolerations"] == [{"operator": "Exists", "key": "gpu", "effect": "NoSchedule"}]
    assert (box["workingDir"], box["tty"], box["stdin"]) == ("/srv", True, False)
    assert (spec["hostname"], spec["terminationGracePeriodSeconds"]) == ("box", 0)
    assert "build" not in repr(obj)  # the build configuration is for the Build feature only


def test_unset_fields_are_left_out(renderer: ManifestRenderer) -> None:
    obj = one(renderer, "Deployment", image="nginx")
    assert container(obj) == {"name": "w", "image": "nginx"}
    assert pod_spec(obj) == {"containers": [{"name": "w", "image": "nginx"}]}
    assert obj["spec"]["replicas"] == 1  # the field's default


def test_the_port_is_named_http(renderer: ManifestRenderer) -> None:
    obj = one(renderer, "StatefulSet", image="x", port=5432)
    assert container(obj)["ports"] == [{"name": "http", "containerPort": 5432, "protocol": "TCP"}]


def test_mounts_get_volumes_config_and_secrets_read_only(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node(
                "w",
                "Deployment",
                image="x",
                volumeMounts=[
                    {"type": "configMap", "name": "a.b.c", "mountPath": "/one", "subPath": "x.conf"},
                    {"type": "configMap", "name": "a.b.c", "mountPath": "/two", "subPath": "y.conf"},
                    {
                        "type": "persistentVolumeClaim",
                        "name": "cache",
                        "mountPath": "/cache",
                        "readOnly": True,
                    },
                ],
            ),
            node("s", "Secret", name="creds", keys=[{"name": "k"}]),
            node("p", "PersistentVolumeClaim", name="data"),
        ],
        [edge("e1", "s", "w"), edge("e2", "p", "w")],
        {"s": {"k": "v"}},
    )
    obj = manifest(bundle, "w")
    assert container(obj)["volumeMounts"] == [
        {"name": "cm-a-b-c", "mountPath": "/one", "readOnly": True, "subPath": "x.conf"},
        {"name": "cm-a-b-c", "mountPath": "/two", "readOnly": True, "subPath": "y.conf"},
        {"name": "pvc-cache", "mountPath": "/cache", "readOnly": True},
        {"name": "secret-creds", "mountPath": "/etc/secrets", "readOnly": True},
        {"name": "pvc-data", "mountPath": "/data/data", "readOnly": False},
    ]
    assert pod_spec(obj)["volumes"] == [
        {"name": "cm-a-b-c", "configMap": {"name": "a.b.c"}},
        {"name": "pvc-cache", "persistentVolumeClaim": {"claimName": "cache", "readOnly": True}},
        {"name": "secret-creds", "secret": {"secretName": "creds"}},
        {"name": "pvc-data", "persistentVolumeClaim": {"claimName": "data"}},
    ]


def test_volume_names_are_labels_and_unique(renderer: ManifestRenderer) -> None:
    long = "x" * 70 + ".example"
    obj = one(
        renderer,
        "Deployment",
        image="x",
        volumeMounts=[
            {"type": "configMap", "name": long, "mountPath": "/a"},
            {"type": "configMap", "name": "x" * 70 + "-example", "mountPath": "/b"},
            {"type": "secret", "name": "s", "mountPath": "/c"},
        ],
    )
    names = [v["name"] for v in pod_spec(obj)["volumes"]]
    assert len(set(names)) == 3
    assert all(len(name) <= 63 for name in names)


def test_config_maps_and_secrets_on_the_env_handle_become_env_from(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node("w", "Job", image="x", envFrom=[{"type": "configMap", "name": "shared", "prefix": "S_"}]),
            node("c", "ConfigMap", name="settings"),
            node("s", "Secret", name="creds", keys=[{"name": "k"}]),
        ],
        [edge("e1", "c", "w", target_handle="env"), edge("e2", "s", "w", target_handle="env")],
        {"s": {"k": "v"}},
    )
    box = container(manifest(bundle, "w"))
    assert box["envFrom"] == [
        {"configMapRef": {"name": "shared"}, "prefix": "S_"},
        {"configMapRef": {"name": "settings"}},
        {"secretRef": {"name": "creds"}},
    ]
    assert "volumeMounts" not in box
    assert "volumes" not in pod_spec(manifest(bundle, "w"))


def test_a_stateful_set_has_its_claims_and_service_name(renderer: ManifestRenderer) -> None:
    obj = one(
        renderer,
        "StatefulSet",
        name="pg",
        image="postgres",
        volumeClaimTemplates=[
            {"name": "data", "storage": "1Gi"},
            {"name": "wal", "storage": "2Gi", "storageClassName": "fast"},
        ],
    )
    assert obj["spec"]["serviceName"] == "pg"  # its own name when serviceName is unset
    claims = obj["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["data", "wal"]
    assert claims[0]["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    }
    assert claims[1]["spec"]["storageClassName"] == "fast"
    assert set(claims[0]["metadata"]["labels"]) == {
        "app.kubernetes.io/managed-by",
        "trellis.dev/workflow",
        "trellis.dev/node",
    }
    assert container(obj)["volumeMounts"] == [
        {"name": "data", "mountPath": "/data/data"},
        {"name": "wal", "mountPath": "/data/wal"},
    ]


def test_a_connected_service_does_not_change_the_stateful_set_service_name(
    renderer: ManifestRenderer,
) -> None:
    bundle = render(
        renderer,
        [node("svc", "Service", name="pg-svc"), node("db", "StatefulSet", name="pg", image="postgres")],
        [edge("e", "svc", "db")],
    )
    assert manifest(bundle, "db")["spec"]["serviceName"] == "pg"


@pytest.mark.parametrize(("given", "rendered"), [("1", 1), ("3", 3), ("25%", "25%")])
def test_daemon_set_max_unavailable_is_a_number_or_a_percentage(
    renderer: ManifestRenderer, given: str, rendered: object
) -> None:
    obj = one(renderer, "DaemonSet", image="x", maxUnavailable=given)
    assert obj["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": rendered},
    }


def test_daemon_set_host_settings_and_on_delete(renderer: ManifestRenderer) -> None:
    obj = one(renderer, "DaemonSet", image="x", hostNetwork=True, hostPID=True, updateStrategy="OnDelete")
    spec = pod_spec(obj)
    assert spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert spec["hostPID"] is True
    assert obj["spec"]["updateStrategy"] == {"type": "OnDelete"}
    plain = pod_spec(one(renderer, "DaemonSet", image="x"))
    assert "hostNetwork" not in plain and "dnsPolicy" not in plain and "hostPID" not in plain


def test_job_fields(renderer: ManifestRenderer) -> None:
    obj = one(
        renderer,
        "Job",
        image="x",
        completions=3,
        parallelism=0,
        backoffLimit=0,
        activeDeadlineSeconds=60,
        ttlSecondsAfterFinished=0,
        restartPolicy="OnFailure",
    )
    spec = obj["spec"]
    assert {k: spec[k] for k in spec if k != "template"} == {
        "completions": 3,
        "parallelism": 0,
        "backoffLimit": 0,
        "activeDeadlineSeconds": 60,
        "ttlSecondsAfterFinished": 0,
    }
    assert pod_spec(obj)["restartPolicy"] == "OnFailure"


def test_cron_job_fields(renderer: ManifestRenderer) -> None:
    obj = one(
        renderer,
        "CronJob",
        image="x",
        concurrencyPolicy="Replace",
        suspend=False,
        successfulJobsHistoryLimit=0,
        failedJobsHistoryLimit=0,
        startingDeadlineSeconds=30,
        backoffLimit=4,
        restartPolicy="Never",
    )
    spec = obj["spec"]
    assert spec["schedule"] == "@daily"
    assert spec["concurrencyPolicy"] == "Replace"
    assert spec["suspend"] is False
    assert spec["successfulJobsHistoryLimit"] == 0
    assert spec["failedJobsHistoryLimit"] == 0
    assert spec["startingDeadlineSeconds"] == 30
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 4
    assert pod_spec(obj)["restartPolicy"] == "Never"


def test_a_toleration_with_exists_has_no_value(renderer: ManifestRenderer) -> None:
    obj = one(
        renderer,
        "Deployment",
        image="x",
        tolerations=[
            {"key": "a", "operator": "Exists", "value": "ignored"},
            {"key": "b", "value": "v", "effect": "NoExecute", "tolerationSeconds": 0},
        ],
    )
    assert pod_spec(obj)["tolerations"] == [
        {"operator": "Exists", "key": "a"},
        {"operator": "Equal", "key": "b", "value": "v", "effect": "NoExecute", "tolerationSeconds": 0},
    ]
