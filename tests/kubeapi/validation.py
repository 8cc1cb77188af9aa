"""Object validation with kube-apiserver's field paths and messages (pkg/apis/*/validation)."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import FieldError, GoValue, forbidden, invalid, not_supported, required

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)

NAME_RULES: dict[str, tuple[re.Pattern[str], str, int]] = {
    "Namespace": (DNS1123_LABEL, LABEL_MSG, 63),
    "Service": (DNS1035_LABEL, DNS1035_MSG, 63),
    "CronJob": (DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 52),
}


def go_map(value: dict[str, Any] | None) -> str:
    if not value:
        return "map[string]string(nil)"
    items = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
    return "map[string]string{" + items + "}"


def _name_errors(kind: str, name: str, path: str = "metadata.name") -> list[FieldError]:
    pattern, message, limit = NAME_RULES.get(kind, (DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 253))
    errors = []
    if len(name) > limit:
        errors.append(invalid(path, name, f"must be no more than {limit} characters"))
    if not pattern.match(name):
        errors.append(invalid(path, name, message))
    return errors


def _label_errors(labels: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(labels, dict):
        return errors
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if not name or not QUALIFIED_NAME.match(name) or len(name) > 63:
            errors.append(invalid(path, key, QUALIFIED_NAME_MSG))
        elif prefix and not DNS1123_SUBDOMAIN.match(prefix):
            errors.append(invalid(path, key, "prefix part " + SUBDOMAIN_MSG))
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            errors.append(invalid(path, value, LABEL_VALUE_MSG))
    return errors


def validate_meta(kind: str, obj: dict[str, Any]) -> list[FieldError]:
    meta = obj.get("metadata") or {}
    errors: list[FieldError] = []
    name = meta.get("name")
    if not name:
        errors.append(required("metadata.name", "name or generateName is required"))
    else:
        errors += _name_errors(kind, name)
    errors += _label_errors(meta.get("labels"), "metadata.labels")
    return errors


def _containers(spec: dict[str, Any], path: str, key: str, volumes: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, container in enumerate(spec.get(key) or []):
        cpath = f"{path}.{key}[{i}]"
        if not isinstance(container, dict):
            errors.append(invalid(cpath, container, "must be an object"))
            continue
        name = container.get("name")
        if not name:
            errors.append(required(f"{cpath}.name"))
        else:
            if not DNS1123_LABEL.match(name) or len(name) > 63:
                errors.append(invalid(f"{cpath}.name", name, LABEL_MSG))
            if name in seen:
                errors.append(FieldError("Duplicate", f"{cpath}.name", "", name))
            seen.add(name)
        if not container.get("image"):
            errors.append(required(f"{cpath}.image"))
        for j, port in enumerate(container.get("ports") or []):
            ppath = f"{cpath}.ports[{j}].containerPort"
            value = port.get("containerPort") if isinstance(port, dict) else None
            if value is None:
                errors.append(required(ppath))
            elif not isinstance(value, int) or not 1 <= value <= 65535:
                errors.append(invalid(ppath, value, "must be between 1 and 65535, inclusive"))
        for j, env in enumerate(container.get("env") or []):
            if not isinstance(env, dict) or not env.get("name"):
                errors.append(required(f"{cpath}.env[{j}].name"))
        for j, mount in enumerate(container.get("volumeMounts") or []):
            mname = mount.get("name") if isinstance(mount, dict) else None
            if mname and mname not in volumes:
                errors.append(FieldError("NotFound", f"{cpath}.volumeMounts[{j}].name", "", mname))
            if isinstance(mount, dict) and not mount.get("mountPath"):
                errors.append(required(f"{cpath}.volumeMounts[{j}].mountPath"))
    return errors


def validate_pod_spec(spec: Any, path: str, restart_policies: tuple[str, ...]) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required(f"{path}.containers")]
    errors: list[FieldError] = []
    volumes: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        vname = volume.get("name") if isinstance(volume, dict) else None
        if not vname:
            errors.append(required(f"{path}.volumes[{i}].name"))
        elif vname in volumes:
            errors.append(FieldError("Duplicate", f"{path}.volumes[{i}].name", "", vname))
        else:
            volumes.add(vname)
    if not spec.get("containers"):
        errors.append(required(f"{path}.containers"))
    errors += _containers(spec, path, "containers", volumes)
    errors += _containers(spec, path, "initContainers", volumes)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in restart_policies:
        errors.append(not_supported(f"{path}.restartPolicy", policy, restart_policies))
    return errors


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    from .selectors import LabelSelector

    return LabelSelector.from_label_selector(selector).matches(labels)


def _workload(
    obj: dict[str, Any], *, replicas: bool = True, restart: tuple[str, ...] = ("Always",)
) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        errors.append(required("spec.selector"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(
            invalid(
                "spec.selector",
                GoValue(go_selector(selector)),
                f"empty selector is invalid for {obj.get('kind', '').lower()}",
            )
        )
    elif not _selector_matches(selector, labels):
        errors.append(
            invalid(
                "spec.template.metadata.labels",
                GoValue(go_map(labels)),
                "`selector` does not match template `labels`",
            )
        )
    if replicas and isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
        errors.append(invalid("spec.replicas", spec["replicas"], "must be greater than or equal to 0"))
    errors += _label_errors(labels, "spec.template.metadata.labels")
    errors += validate_pod_spec(template.get("spec"), "spec.template.spec", restart)
    return errors


def go_selector(selector: dict[str, Any] | None) -> str:
    selector = selector or {}
    return (
        f"v1.LabelSelector{{MatchLabels:{go_map(selector.get('matchLabels'))}, "
        f"MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}"
    )


def _job(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    errors = validate_pod_spec(template.get("spec"), "spec.template.spec", ("OnFailure", "Never"))
    if isinstance(template.get("spec"), dict) and template["spec"].get("restartPolicy") is None:
        errors.append(required("spec.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'))
    return errors


def _cronjob(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    schedule = spec.get("schedule")
    if not schedule:
        errors.append(required("spec.schedule"))
    elif not schedule.startswith("@") and len(schedule.split()) != 5:
        errors.append(
            invalid(
                "spec.schedule",
                schedule,
                f"expected exactly 5 fields, found {len(schedule.split())}: [{schedule}]",
            )
        )
    template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    errors += validate_pod_spec(
        template.get("spec"), "spec.jobTemplate.spec.template.spec", ("OnFailure", "Never")
    )
    return errors


SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _service(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    kind = spec.get("type", "ClusterIP")
    if kind not in SERVICE_TYPES:
        errors.append(not_supported("spec.type", kind, SERVICE_TYPES))
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and kind != "ExternalName" and not headless:
        errors.append(required("spec.ports"))
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        if len(ports) > 1 and not port.get("name"):
            errors.append(required(f"spec.ports[{i}].name"))
        value = port.get("port")
        if value is None:
            errors.append(required(f"spec.ports[{i}].port"))
        elif not isinstance(value, int) or not 1 <= value <= 65535:
            errors.append(invalid(f"spec.ports[{i}].port", value, "must be between 1 and 65535, inclusive"))
    return errors


def _config_keys(obj: dict[str, Any], field: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for key in obj.get(field) or {}:
        if not CONFIG_KEY.match(key) or len(key) > 253:
            errors.append(invalid(f"{field}[{key}]", key, CONFIG_KEY_MSG))
    return errors


def _configmap(obj: dict[str, Any]) -> list[FieldError]:
    errors = _config_keys(obj, "data") + _config_keys(obj, "binaryData")
    size = sum(len(k) + len(str(v)) for k, v in (obj.get("data") or {}).items())
    if size > 1024 * 1024:
        errors.append(FieldError("TooLong", "", "must have at most 1048576 bytes"))
    return errors


def _pvc(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    if not spec.get("accessModes"):
        errors.append(required("spec.accessModes"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        errors.append(required("spec.resources[storage]"))
    return errors


def _hpa(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    ref = spec.get("scaleTargetRef") or {}
    for key in ("kind", "name"):
        if not ref.get(key):
            errors.append(required(f"spec.scaleTargetRef.{key}"))
    if not isinstance(spec.get("maxReplicas"), int) or spec["maxReplicas"] < 1:
        errors.append(
            invalid("spec.maxReplicas", spec.get("maxReplicas", 0), "must be greater than or equal to 1")
        )
    return errors


VALIDATORS = {
    "Pod": lambda o: validate_pod_spec(o.get("spec"), "spec", ("Always", "OnFailure", "Never")),
    "Deployment": _workload,
    "ReplicaSet": _workload,
    "StatefulSet": _workload,
    "DaemonSet": lambda o: _workload(o, replicas=False),
    "Job": _job,
    "CronJob": _cronjob,
    "Service": _service,
    "ConfigMap": _configmap,
    "Secret": lambda o: _config_keys(o, "data"),
    "PersistentVolumeClaim": _pvc,
    "HorizontalPodAutoscaler": _hpa,
}


def validate(kind: str, obj: dict[str, Any]) -> list[FieldError]:
    errors = validate_meta(kind, obj)
    validator = VALIDATORS.get(kind)
    if validator is not None:
        errors += validator(obj)
    return errors


STS_MUTABLE = {
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
}


def validate_update(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    errors = validate(kind, new)
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    selector_kinds = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"}
    if kind in selector_kinds and old_spec.get("selector") != new_spec.get("selector"):
        errors.append(
            invalid("spec.selector", GoValue(go_selector(new_spec.get("selector"))), "field is immutable")
        )
    if kind == "Job" and old_spec.get("template") != new_spec.get("template"):
        errors.append(invalid("spec.template", GoValue("core.PodTemplateSpec{...}"), "field is immutable"))
    if kind in ("Secret", "ConfigMap") and old.get("immutable") is True:
        # ValidateSecretUpdate / ValidateConfigMapUpdate: an immutable object's data never changes.
        if new.get("immutable") is not True:
            errors.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        for key in ("data",) if kind == "Secret" else ("data", "binaryData"):
            if old.get(key) != new.get(key):
                errors.append(forbidden(key, "field is immutable when `immutable` is set"))
    if kind == "StatefulSet":
        changed = {k for k in set(old_spec) | set(new_spec) if old_spec.get(k) != new_spec.get(k)}
        if changed - STS_MUTABLE:
            errors.append(
                forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', "
                    "'ordinals', 'template', 'updateStrategy', "
                    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                )
            )
    if kind == "PersistentVolumeClaim":
        strip = ("resources", "volumeAttributesClassName", "volumeName")
        if {k: v for k, v in old_spec.items() if k not in strip} != {
            k: v for k, v in new_spec.items() if k not in strip
        }:
            errors.append(
                forbidden(
                    "spec",
                    "spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
    return errors
