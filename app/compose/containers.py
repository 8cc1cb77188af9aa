"""The container and pod settings of a compose service on its workload's node data: command and
entrypoint, healthcheck → probes, deploy → replicas and resources, user and capabilities →
securityContext, working_dir, hostname, stop_grace_period, tty, stdin_open, pull_policy, and labels and
annotations (Trellis's own labels always win: keys under ``trellis.dev/`` and
``app.kubernetes.io/managed-by`` are never taken from the project)."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from typing import Any

from app.compose.merging import as_map
from app.compose.problems import Problems
from app.compose.storage import SERVICE_VOLUME_LABELS
from app.domain.kinds.formats import label_key_problem, label_value_problem
from app.domain.labels import MANAGED_BY
from app.domain.names import is_dns1123_label

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$", re.IGNORECASE)
_PULL_POLICIES = {
    "always": "Always",
    "never": "Never",
    "missing": "IfNotPresent",
    "if_not_present": "IfNotPresent",
}
_OWN_LABEL_PREFIX = "trellis.dev/"


def container_settings(
    name: str, service: Mapping[str, Any], data: dict[str, Any], kind: str, problems: Problems
) -> None:
    """Write every container and pod setting of ``service`` into ``data`` (a workload of ``kind``)."""
    _command(name, service, data, problems)
    _healthcheck(name, service, data, problems)
    _deploy(name, service, data, kind, problems)
    _security(name, service, data, problems)
    _network_mode(name, service, problems)
    _pod(name, service, data, problems)
    _labels(name, service, data, problems)


def _split(value: Any, name: str, path: str, problems: Problems) -> list[str] | None:
    if isinstance(value, list):
        return [str(v) for v in value] or None
    if isinstance(value, str) and value.strip():
        try:
            return shlex.split(value)
        except ValueError:
            problems.warn(
                "COMMAND_NOT_SPLIT",
                "the command could not be split as a shell would; it runs via sh -c",
                name,
                path,
            )
            return ["sh", "-c", value]
    return None


def _command(name: str, service: Mapping[str, Any], data: dict[str, Any], problems: Problems) -> None:
    for key, target in (("entrypoint", "command"), ("command", "args")):
        value = _split(service.get(key), name, f"services.{name}.{key}", problems)
        if value:
            data[target] = value


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    total, position = 0.0, 0
    for match in _DURATION.finditer(value):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return total if position == len(value) else None


def _healthcheck(name: str, service: Mapping[str, Any], data: dict[str, Any], problems: Problems) -> None:
    check = service.get("healthcheck")
    path = f"services.{name}.healthcheck"
    if not isinstance(check, dict) or check.get("disable") is True or not set(check) - {"disable"}:
        return
    test = check.get("test")
    if isinstance(test, str):
        command: list[str] | None = ["sh", "-c", test]
    elif isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"):
        command = (
            [str(t) for t in test[1:]]
            if test[0] == "CMD"
            else ["sh", "-c", " ".join(str(t) for t in test[1:])]
        )
    elif isinstance(test, list) and test and test[0] == "NONE":
        return
    else:
        problems.warn(
            "HEALTHCHECK_NO_TEST", "the healthcheck has no test command and was left out", name, path
        )
        return
    probe: dict[str, Any] = {"type": "exec", "command": command}
    for key, target, default, least in (
        ("interval", "periodSeconds", 30.0, 1),
        ("timeout", "timeoutSeconds", 30.0, 1),
        ("start_period", "initialDelaySeconds", 0.0, 0),
    ):
        raw = check.get(key)
        seconds = default if raw is None else _seconds(raw)
        if seconds is None:
            problems.warn("INVALID_DURATION", f"cannot read the duration {raw!r}", name, f"{path}.{key}")
            seconds = default
        probe[target] = max(least, math.ceil(seconds))
    retries = check.get("retries", 3)
    probe["failureThreshold"] = max(1, int(retries)) if str(retries).isdigit() else 3
    data["livenessProbe"] = dict(probe)
    data["readinessProbe"] = dict(probe)


def _memory(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    match = _MEMORY.match(str(value).strip())
    if match is None:
        return None
    number, unit = float(match.group(1)), match.group(2).lower()
    size = number * 1024 ** " kmgt".index(unit or " ")
    for suffix, factor in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if size >= factor and size % factor == 0:
            return f"{int(size // factor)}{suffix}"
    return str(math.ceil(size))


def _cpu(value: Any) -> str | None:
    try:
        cores = float(value)
    except (TypeError, ValueError):
        return None
    return f"{max(1, round(cores * 1000))}m" if cores > 0 else None  # 1m is the smallest CPU quantity


def _deploy(
    name: str, service: Mapping[str, Any], data: dict[str, Any], kind: str, problems: Problems
) -> None:
    deploy = service.get("deploy") if isinstance(service.get("deploy"), dict) else {}
    assert isinstance(deploy, dict)
    replicas = deploy.get("replicas")
    if replicas is not None and kind != "Job":
        if str(replicas).isdigit():
            data["replicas"] = int(replicas)
        else:
            problems.warn(
                "INVALID_REPLICAS", f"cannot read replicas {replicas!r}", name, f"services.{name}.deploy"
            )
    resources: dict[str, dict[str, str]] = {}
    raw = deploy.get("resources") if isinstance(deploy.get("resources"), dict) else {}
    assert isinstance(raw, dict)
    for source, target in (("limits", "limits"), ("reservations", "requests")):
        block = raw.get(source) if isinstance(raw.get(source), dict) else {}
        assert isinstance(block, dict)
        _resource(block.get("cpus"), block.get("memory"), resources, target)
    _resource(service.get("cpus"), service.get("mem_limit"), resources, "limits")
    _resource(None, service.get("mem_reservation"), resources, "requests")
    for key in ("limits", "requests"):
        if not resources.get(key):
            resources.pop(key, None)
    if resources:
        data["resources"] = resources


def _resource(cpus: Any, memory: Any, resources: dict[str, dict[str, str]], target: str) -> None:
    block = resources.setdefault(target, {})
    cpu = _cpu(cpus) if cpus is not None else None
    mem = _memory(memory) if memory is not None else None
    if cpu:
        block.setdefault("cpu", cpu)
    if mem:
        block.setdefault("memory", mem)


def _security(name: str, service: Mapping[str, Any], data: dict[str, Any], problems: Problems) -> None:
    context: dict[str, Any] = {}
    user = service.get("user")
    if user is not None:
        uid, _, gid = str(user).partition(":")
        if uid.isdigit() and (not gid or gid.isdigit()):
            context["runAsUser"] = int(uid)
            if gid:
                context["runAsGroup"] = int(gid)
        else:
            problems.warn(
                "USER_NOT_NUMERIC",
                f"user {user!r} is not numeric; Kubernetes needs a uid",
                name,
                f"services.{name}.user",
            )
    for key, target in (("cap_add", "capabilitiesAdd"), ("cap_drop", "capabilitiesDrop")):
        caps = service.get(key)
        if isinstance(caps, list) and caps:
            context[target] = [str(c) for c in caps]
    if service.get("read_only") is True:
        context["readOnlyRootFilesystem"] = True
    if service.get("privileged") is True:
        context["privileged"] = True
        problems.warn(
            "PRIVILEGED",
            "the container runs privileged: it has full access to the node",
            name,
            f"services.{name}.privileged",
        )
    if context:
        data["securityContext"] = context


def _network_mode(name: str, service: Mapping[str, Any], problems: Problems) -> None:
    mode = service.get("network_mode")
    if mode is not None and mode not in ("bridge", "default"):
        problems.warn(
            "NETWORK_MODE_NOT_SUPPORTED",
            f"network_mode {mode!r} is not supported; the pod gets its own network",
            name,
            f"services.{name}.network_mode",
        )


def _pod(name: str, service: Mapping[str, Any], data: dict[str, Any], problems: Problems) -> None:
    at = f"services.{name}"
    working_dir = service.get("working_dir")
    if isinstance(working_dir, str) and working_dir:
        data["workingDir"] = working_dir
    hostname = service.get("hostname")
    if isinstance(hostname, str) and hostname:
        if is_dns1123_label(hostname):
            data["hostname"] = hostname
        else:
            problems.warn(
                "HOSTNAME_INVALID",
                f"the hostname {hostname!r} is not a DNS-1123 label (lower-case letters, digits and '-'); "
                "the pods keep their own names",
                name,
                f"{at}.hostname",
            )
    grace = service.get("stop_grace_period")
    if grace is not None:
        seconds = _seconds(grace)
        if seconds is None:
            problems.warn(
                "INVALID_DURATION", f"cannot read the duration {grace!r}", name, f"{at}.stop_grace_period"
            )
        else:
            data["terminationGracePeriodSeconds"] = math.ceil(seconds)
    for key, target in (("tty", "tty"), ("stdin_open", "stdin")):
        if service.get(key) is True:
            data[target] = True
    policy = service.get("pull_policy")
    if isinstance(policy, str) and policy in _PULL_POLICIES:
        data["imagePullPolicy"] = _PULL_POLICIES[policy]


def _labels(name: str, service: Mapping[str, Any], data: dict[str, Any], problems: Problems) -> None:
    """Compose labels → labels (as annotations when the value cannot be a label value); annotations →
    annotations. Keys that cannot be Kubernetes keys, and Trellis's own, are left out with a warning."""
    at = f"services.{name}"
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    moved: list[str] = []
    for source, field in (("labels", labels), ("annotations", annotations)):
        for key, value in as_map(service.get(source)).items():
            if key in SERVICE_VOLUME_LABELS:
                continue
            text = (
                ""
                if value is None
                else ("true" if value else "false")
                if isinstance(value, bool)
                else str(value)
            )
            problem = _key_problem(key)
            if problem:
                problems.warn("LABEL_NOT_TRANSLATED", problem, name, f"{at}.{source}.{key}")
                continue
            if field is labels and label_value_problem(text):
                annotations[key] = text
                moved.append(key)
            else:
                field[key] = text
    if moved:
        problems.warn(
            "LABEL_AS_ANNOTATION",
            f"the values of {', '.join(moved)} cannot be label values (at most 63 letters, digits, '-', "
            "'_' or '.'), so they became annotations",
            name,
            f"{at}.labels",
        )
    if labels:
        data["labels"] = labels
    if annotations:
        data["annotations"] = annotations


def _key_problem(key: str) -> str | None:
    if key.startswith(_OWN_LABEL_PREFIX) or key == MANAGED_BY:
        return f"{key!r} is a label Trellis sets itself; the project's value was left out"
    problem = label_key_problem(key)
    return f"{problem}; it was left out" if problem else None
