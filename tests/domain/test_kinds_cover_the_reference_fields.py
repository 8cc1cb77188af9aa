from collections.abc import Iterator

import pytest

from app.domain.kinds import KINDS, WORKLOAD_KINDS, FieldSpec, FieldType, NodeKindSpec, resolve_kind
from app.domain.kinds.coerce import sanitise_fields
from app.domain.problems import ProblemLog

POD = {
    "image",
    "command",
    "args",
    "env",
    "envFrom",
    "resources",
    "volumeMounts",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "securityContext",
    "serviceAccountName",
    "imagePullPolicy",
    "nodeSelector",
    "tolerations",
    "_linkedConfigMaps",
    "_linkedSecrets",
    # compose import (issue 9): container and pod settings, and the build configuration (never rendered)
    "workingDir",
    "tty",
    "stdin",
    "hostname",
    "terminationGracePeriodSeconds",
    "build",
}
META = {"name", "namespace", "labels", "annotations", "templateId"}
JOB = {
    "completions",
    "parallelism",
    "backoffLimit",
    "activeDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "restartPolicy",
}

# The fields kubeorch.md §3 lists for each type (same names and casing), plus what Trellis adds.
EXPECTED: dict[str, set[str]] = {
    "Namespace": {"name", "labels", "annotations", "templateId"},
    "Deployment": META | POD | {"replicas", "port", "_linkedPVCs"},
    "StatefulSet": META | POD | {"replicas", "port", "serviceName", "volumeClaimTemplates", "_linkedPVCs"},
    "DaemonSet": META | POD | {"port", "updateStrategy", "maxUnavailable", "hostNetwork", "hostPID"},
    "Job": META | POD | JOB,
    "CronJob": META
    | POD
    | JOB
    | {
        "schedule",
        "concurrencyPolicy",
        "suspend",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "startingDeadlineSeconds",
    },
    "Service": META
    | {
        "serviceType",
        "port",
        "targetPort",
        "ports",
        "selector",
        "sessionAffinity",
        "loadBalancerIP",
        "loadBalancerSourceRanges",
        "externalTrafficPolicy",
        "targetApp",
        "_linkedDeployment",
    },
    "Ingress": META | {"host", "paths", "ingressClassName", "tlsEnabled", "tlsSecretName", "tlsHosts"},
    "ConfigMap": META | {"data", "mountPath"},
    "Secret": META | {"secretType", "keys", "mountPath"},
    "PersistentVolumeClaim": META | {"storage", "storageClassName", "accessModes", "volumeMode"},
    "HorizontalPodAutoscaler": META
    | {
        "scaleTargetKind",
        "scaleTargetName",
        "minReplicas",
        "maxReplicas",
        "targetCPUUtilization",
        "targetMemoryUtilization",
        "scaleDownStabilization",
        "scaleUpStabilization",
        "_linkedTarget",
    },
    "NetworkPolicy": META | {"podSelector", "policyTypes", "ingressRules", "egressRules", "_linkedWorkloads"},
}


def all_fields(fields: tuple[FieldSpec, ...], prefix: str = "") -> Iterator[tuple[str, FieldSpec]]:
    for spec in fields:
        yield prefix + spec.name, spec
        yield from all_fields(spec.fields, f"{prefix}{spec.name}.")


def test_exactly_the_thirteen_kinds() -> None:
    assert set(KINDS) == set(EXPECTED)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_kind_has_the_reference_fields(kind: str) -> None:
    assert {f.name for f in KINDS[kind].fields} == EXPECTED[kind]


def test_field_type_values_are_their_names() -> None:
    assert [t.value for t in FieldType] == [t.name for t in FieldType]
    assert len(FieldType) == 11


@pytest.mark.parametrize("spec", KINDS.values(), ids=list(KINDS))
def test_every_field_is_described_and_typed_consistently(spec: NodeKindSpec) -> None:
    assert spec.description
    names = [f.name for f in spec.fields]
    assert len(names) == len(set(names))
    for path, field in all_fields(spec.fields):
        assert field.description.strip(), path
        if field.type is FieldType.ENUM:
            assert field.options, path
        if field.type in (FieldType.OBJECT, FieldType.OBJECT_LIST):
            assert field.fields, path
        else:
            assert not field.fields, path
        if field.required:
            assert field.default is None, f"{path}: a required field has no default"
        if field.name.startswith("_linked"):
            assert field.linked, path


@pytest.mark.parametrize("spec", KINDS.values(), ids=list(KINDS))
def test_every_default_is_a_valid_value(spec: NodeKindSpec) -> None:
    for path, field in all_fields(spec.fields):
        if field.default is None:
            continue
        value = list(field.default) if isinstance(field.default, tuple) else field.default
        log = ProblemLog()
        out = sanitise_fields((field,), {field.name: value}, "x", log, schema=path)
        assert not log.errors, (path, log)
        assert not log.warnings, (path, log)
        assert out[field.name] == value, path


def test_categories_and_api_versions() -> None:
    assert {s.category for s in KINDS.values()} == {
        "workload",
        "networking",
        "config",
        "storage",
        "scaling",
        "cluster",
    }
    assert KINDS["Deployment"].api_version == "apps/v1"
    assert KINDS["CronJob"].api_version == "batch/v1"
    assert KINDS["Ingress"].api_version == "networking.k8s.io/v1"
    assert KINDS["HorizontalPodAutoscaler"].api_version == "autoscaling/v2"
    assert [k for k, s in KINDS.items() if not s.namespaced] == ["Namespace"]


def test_the_reference_type_names_resolve() -> None:
    for alias, kind in {
        "deployment": "Deployment",
        "service": "Service",
        "ingress": "Ingress",
        "configmap": "ConfigMap",
        "secret": "Secret",
        "persistentvolumeclaim": "PersistentVolumeClaim",
        "statefulset": "StatefulSet",
        "job": "Job",
        "cronjob": "CronJob",
        "daemonset": "DaemonSet",
        "hpa": "HorizontalPodAutoscaler",
        "networkpolicy": "NetworkPolicy",
        "namespace": "Namespace",
    }.items():
        resolved = resolve_kind(alias)
        assert resolved is not None
        assert resolved.kind == kind


def test_kinds_are_case_sensitive_and_aliases_lower_case() -> None:
    assert resolve_kind("Deployment") is KINDS["Deployment"]
    assert resolve_kind("DEPLOYMENT") is None
    assert resolve_kind("Hpa") is None
    assert resolve_kind("plugin") is None
    for spec in KINDS.values():
        assert all(alias == alias.lower() for alias in spec.aliases)


def test_aliases_are_unique() -> None:
    aliases = [a for s in KINDS.values() for a in s.aliases]
    assert len(aliases) == len(set(aliases))


def test_secrets_hold_key_names_only() -> None:
    keys = KINDS["Secret"].field("keys")
    assert keys is not None
    assert [f.name for f in keys.fields] == ["id", "name"]
    assert KINDS["Secret"].field("data") is None


def test_workloads_share_the_pod_fields() -> None:
    assert WORKLOAD_KINDS == ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
    for kind in WORKLOAD_KINDS:
        probe = KINDS[kind].field("livenessProbe")
        assert probe is not None
        assert probe.type is FieldType.OBJECT
        probe_type = probe.field("type")
        assert probe_type is not None
        assert probe_type.options == ("httpGet", "tcpSocket", "exec")
        security = KINDS[kind].field("securityContext")
        assert security is not None
        assert {f.name for f in security.fields} == {
            "runAsUser",
            "runAsGroup",
            "runAsNonRoot",
            "readOnlyRootFilesystem",
            "allowPrivilegeEscalation",
            "privileged",
            "capabilitiesAdd",
            "capabilitiesDrop",
        }
        pull = KINDS[kind].field("imagePullPolicy")
        assert pull is not None
        assert pull.options == ("Always", "IfNotPresent", "Never")
        image = KINDS[kind].field("image")
        assert image is not None
        assert image.required


def test_env_is_a_list_of_name_value_objects() -> None:
    env = KINDS["Deployment"].field("env")
    assert env is not None
    assert env.type is FieldType.OBJECT_LIST
    assert [f.name for f in env.fields] == ["name", "value"]


def test_sensible_defaults() -> None:
    def default(kind: str, *path: str) -> object:
        spec: FieldSpec | NodeKindSpec | None = KINDS[kind]
        for name in path:
            assert spec is not None
            spec = spec.field(name)
        assert isinstance(spec, FieldSpec)
        return spec.default

    assert default("Deployment", "replicas") == 1
    assert default("Service", "port") == 80
    assert default("Service", "serviceType") == "ClusterIP"
    assert default("Ingress", "paths", "pathType") == "Prefix"
    assert default("Ingress", "paths", "path") == "/"
    assert default("PersistentVolumeClaim", "accessModes") == ("ReadWriteOnce",)
    assert default("Job", "restartPolicy") == "Never"
    assert default("CronJob", "restartPolicy") == "OnFailure"
    assert default("HorizontalPodAutoscaler", "minReplicas") == 1
    assert default("ConfigMap", "mountPath") == "/etc/config"
    assert default("Secret", "mountPath") == "/etc/secrets"
    assert default("Secret", "secretType") == "Opaque"


def test_linked_fields_are_marked() -> None:
    linked = {(kind, path) for kind, spec in KINDS.items() for path, f in all_fields(spec.fields) if f.linked}
    assert ("Service", "targetApp") in linked
    assert ("Service", "_linkedDeployment") in linked
    assert ("Ingress", "paths._linkedService") in linked
    assert ("Deployment", "volumeMounts.nodeId") in linked
    assert ("NetworkPolicy", "ingressRules.from._linkedWorkload") in linked
    assert ("Service", "targetPort") not in linked  # a user may set it when nothing is connected
