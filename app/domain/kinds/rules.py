"""Checks across the fields of one node: contradictions (errors) and what a deployable node still lacks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.domain.kinds.quantities import parse_quantity
from app.domain.kinds.registry import WORKLOAD_KINDS
from app.domain.kinds.spec import FieldSpec, FieldType, NodeKindSpec
from app.domain.problems import ProblemLog, index_path, key_path

CONFIG_MAP_MAX_BYTES = 1024 * 1024
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def contradictions(kind: str, data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    """Record errors for values that contradict each other in one node's sanitised ``data``."""
    for check in _CONTRADICTIONS.get(kind, ()):
        check(data, path, log)
    if kind in WORKLOAD_KINDS:
        _requests_within_limits(data, path, log)
        _probe_thresholds(data, path, log)


def lacking(spec: NodeKindSpec, data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    """Record (with :meth:`ProblemLog.lack`) what ``data`` still needs before it can be deployed."""
    _required(spec.fields, data, path, log)
    for check in _LACKS.get(spec.kind, ()):
        check(data, path, log)
    if spec.kind in WORKLOAD_KINDS:
        _probe_needs(data, path, log)
        _unique_mount_paths(data, path, log)


def _is_missing(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _required(fields: Sequence[FieldSpec], data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    for field in fields:
        here = key_path(path, field.name)
        value = data.get(field.name)
        if _is_missing(value):
            if field.required:
                log.lack(
                    here, f"{field.name} is required: {field.description[0].lower()}{field.description[1:]}"
                )
            continue
        if field.type is FieldType.OBJECT and isinstance(value, Mapping):
            _required(field.fields, value, here, log)
        elif field.type is FieldType.OBJECT_LIST and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    _required(field.fields, item, index_path(here, index), log)


# --- contradictions -----------------------------------------------------------------------------------------


def _replica_range(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    low, high = data.get("minReplicas"), data.get("maxReplicas")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        log.error(key_path(path, "minReplicas"), f"must not be more than maxReplicas ({high}), got {low}")


def _config_map_size(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    entries = data.get("data")
    if not isinstance(entries, Mapping):
        return
    size = sum(len(k.encode()) + len(v.encode()) for k, v in entries.items())
    if size > CONFIG_MAP_MAX_BYTES:
        log.error(key_path(path, "data"), f"a ConfigMap holds at most 1 MiB, this one has {size} bytes")


def _requests_within_limits(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    resources = data.get("resources")
    if not isinstance(resources, Mapping):
        return
    requests, limits = resources.get("requests"), resources.get("limits")
    if not isinstance(requests, Mapping) or not isinstance(limits, Mapping):
        return
    for name in ("cpu", "memory"):
        asked, cap = requests.get(name), limits.get(name)
        if not isinstance(asked, str) or not isinstance(cap, str):
            continue
        asked_value, cap_value = parse_quantity(asked), parse_quantity(cap)
        if asked_value is not None and cap_value is not None and asked_value > cap_value:
            log.error(
                f"{path}.resources.requests.{name}",
                f"must not be more than limits.{name} ({cap}), got {asked}",
            )


def _probe_thresholds(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    for name in ("livenessProbe", "startupProbe"):
        probe = data.get(name)
        if isinstance(probe, Mapping) and probe.get("successThreshold", 1) != 1:
            log.error(
                f"{path}.{name}.successThreshold",
                f"must be 1 for a {name}, got {probe['successThreshold']}",
            )


# --- what a deployable node still lacks ------------------------------------------------------------------


def _probe_needs(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    for name in _PROBES:
        probe = data.get(name)
        if not isinstance(probe, Mapping):
            continue
        kind = probe.get("type")
        if kind in ("httpGet", "tcpSocket") and "port" not in probe:
            log.lack(f"{path}.{name}.port", f"a {kind} probe needs a port")
        if kind == "exec" and not probe.get("command"):
            log.lack(f"{path}.{name}.command", "an exec probe needs a command")


def _unique_mount_paths(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    mounts = data.get("volumeMounts")
    if not isinstance(mounts, list):
        return
    seen: dict[str, int] = {}
    for index, mount in enumerate(mounts):
        where = mount.get("mountPath") if isinstance(mount, Mapping) else None
        if not isinstance(where, str) or not where:
            continue
        if where in seen:
            log.lack(
                f"{path}.volumeMounts[{index}].mountPath",
                f"{where} is also the mountPath of volumeMounts[{seen[where]}]: give each volume its own",
            )
        else:
            seen[where] = index


def _hpa_metric(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    if "targetCPUUtilization" not in data and "targetMemoryUtilization" not in data:
        log.lack(
            key_path(path, "targetCPUUtilization"),
            "set targetCPUUtilization or targetMemoryUtilization (or both) so the autoscaler has a goal",
        )


def _service_selects(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    if not data.get("_linkedDeployment") and not data.get("selector"):
        log.lack(
            path, "connect the Service to a workload (or set a selector) so it has pods to send traffic to"
        )


def _service_port_names(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    ports = data.get("ports")
    if isinstance(ports, list) and len(ports) > 1:
        for index, item in enumerate(ports):
            if isinstance(item, Mapping) and not item.get("name"):
                log.lack(f"{path}.ports[{index}].name", "each port needs a name when there are several")


def _ingress_backends(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    paths = data.get("paths")
    if not isinstance(paths, list):
        return
    for index, item in enumerate(paths):
        if isinstance(item, Mapping) and not (item.get("serviceName") and item.get("servicePort")):
            log.lack(
                f"{path}.paths[{index}]",
                f"path {item.get('path', '/')!r} has no backend: connect it to a Service "
                "(or set serviceName and servicePort)",
            )


def _ingress_tls(data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    if data.get("tlsEnabled") and not data.get("tlsSecretName"):
        log.lack(key_path(path, "tlsSecretName"), "TLS is enabled: name the Secret holding the certificate")


Rule = Callable[[Mapping[str, Any], str, ProblemLog], None]

_CONTRADICTIONS: Mapping[str, tuple[Rule, ...]] = {
    "HorizontalPodAutoscaler": (_replica_range,),
    "ConfigMap": (_config_map_size,),
}
_LACKS: Mapping[str, tuple[Rule, ...]] = {
    "HorizontalPodAutoscaler": (_hpa_metric,),
    "Service": (_service_selects, _service_port_names),
    "Ingress": (_ingress_backends, _ingress_tls),
}
