"""Format checks for fields whose values must follow a Kubernetes rule (host names, label keys, CIDRs…).

Keyed by the field's schema path without list indexes (``ingressRules.from.ipBlock.cidr``), so they hold
for every kind that has the field. Each check returns ``(path suffix, message)`` pairs; an empty list means
the value is fine. The object ``name`` and ``namespace`` are checked per kind elsewhere (names.py).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from app.domain.names import is_dns1035_label, is_dns1123_label, is_dns1123_subdomain
from app.domain.problems import key_path

Check = Callable[[Any], list[tuple[str, str]]]

_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-LW#]+$")
_CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_PERCENT = re.compile(r"^(\d+)%$")


def _entry(key: str) -> str:
    """The path suffix of a map entry: ``.key`` or ``["odd key"]``."""
    return key_path("_", key)[1:]


def _scalar(rule: Callable[[str], str | None]) -> Check:
    def check(value: Any) -> list[tuple[str, str]]:
        message = rule(value) if isinstance(value, str) else None
        return [("", message)] if message else []

    return check


def _each_key(rule: Callable[[str], str | None]) -> Check:
    def check(value: Any) -> list[tuple[str, str]]:
        found = []
        for key in value:
            message = rule(key)
            if message:
                found.append((_entry(key), message))
        return found

    return check


def _labels(value: Any) -> list[tuple[str, str]]:
    found = _each_key(label_key_problem)(value)
    for key, item in value.items():
        message = label_value_problem(item)
        if message:
            found.append((_entry(key), message))
    return found


def label_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a label (or annotation) key, or ``None``."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and not (prefix and is_dns1123_subdomain(prefix)):
        return f"key {key!r} must have a DNS subdomain before the '/', e.g. example.com/{name or 'name'}"
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return (
            f"key {key!r} must be at most 63 letters, digits, '-', '_' or '.' (after an optional "
            "'prefix/'), starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a label value, or ``None``."""
    if value == "" or (len(value) <= 63 and _LABEL_NAME.match(value)):
        return None
    shown = value if len(value) <= 40 else value[:39] + "…"
    return (
        f"value {shown!r} must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
        "letter or digit"
    )


def _image(value: str) -> str | None:
    if any(ch.isspace() for ch in value.strip()):
        return f"must be an image reference without spaces, got {value!r}"
    return None


def _schedule(value: str) -> str | None:
    text = value.strip()
    if text in _CRON_MACROS:
        return None
    parts = text.split()
    if len(parts) == 5 and all(_CRON_FIELD.match(p) for p in parts):
        return None
    return (
        "must be a cron schedule with 5 fields (minute hour day-of-month month day-of-week), e.g. "
        f"'*/5 * * * *', or a macro such as @daily, got {value!r}"
    )


def _int_or_percent(value: str) -> str | None:
    if value.isdigit():
        return None
    match = _PERCENT.match(value)
    if match and int(match[1]) <= 100:
        return None
    return f"must be a number of pods (1) or a percentage up to 100% (25%), got {value!r}"


def _host(value: str) -> str | None:
    name = value[2:] if value.startswith("*.") else value
    if value == "" or (is_dns1123_subdomain(name) and not _is_ip(name)):
        return None
    return f"must be a DNS host name such as app.example.com or *.example.com (not an IP), got {value!r}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _absolute_path(value: str) -> str | None:
    return None if value.startswith("/") else f"must be an absolute path starting with '/', got {value!r}"


def _relative_path(value: str) -> str | None:
    if value.startswith(("/", "~")) or "\\" in value:
        return f"must be a relative path with '/' between folders, got {value!r}"
    return None


def _env_name(value: str) -> str | None:
    if value and "=" not in value:
        return None
    return f"must be a non-empty variable name without '=', got {value!r}"


def _config_key(value: str) -> str | None:
    if len(value) <= 253 and _CONFIG_KEY.match(value):
        return None
    return f"key {value!r} must be letters, digits, '-', '_' or '.' (it becomes a file name)"


def _cidr(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        pass
    else:
        if "/" in value:
            return None
    return f"must be a CIDR such as 10.0.0.0/16, got {value!r}"


def _ip(value: str) -> str | None:
    return None if value == "" or _is_ip(value) else f"must be an IP address, got {value!r}"


def _subdomain(value: str) -> str | None:
    if value == "" or is_dns1123_subdomain(value):
        return None
    return f"must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.'), got {value!r}"


def _label(value: str) -> str | None:
    if value == "" or is_dns1123_label(value):
        return None
    return f"must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got {value!r}"


def _service_name(value: str) -> str | None:
    if value == "" or is_dns1035_label(value):
        return None
    return (
        f"must be a Service name (lower-case letters, digits and '-', starting with a letter), got {value!r}"
    )


_PEER_PATHS = ("ingressRules.from", "egressRules.to")

CHECKS: Mapping[str, Check] = {
    "image": _scalar(_image),
    "schedule": _scalar(_schedule),
    "maxUnavailable": _scalar(_int_or_percent),
    "host": _scalar(_host),
    "tlsHosts": _scalar(_host),
    "paths.path": _scalar(_absolute_path),
    "paths.serviceName": _scalar(_service_name),
    "mountPath": _scalar(_absolute_path),
    "volumeMounts.mountPath": _scalar(_absolute_path),
    "volumeMounts.name": _scalar(_subdomain),
    "env.name": _scalar(_env_name),
    "envFrom.name": _scalar(_subdomain),
    "envFrom.prefix": _scalar(_env_name),
    "data": _each_key(_config_key),
    "keys.name": _scalar(_config_key),
    "labels": _labels,
    "nodeSelector": _labels,
    "podSelector": _labels,
    "selector": _labels,
    "annotations": _each_key(label_key_problem),
    "loadBalancerSourceRanges": _scalar(_cidr),
    "loadBalancerIP": _scalar(_ip),
    "serviceAccountName": _scalar(_subdomain),
    "hostname": _scalar(_label),
    "build.context": _scalar(_relative_path),
    "build.dockerfile": _scalar(_relative_path),
    "build.args": _each_key(_env_name),
    "tlsSecretName": _scalar(_subdomain),
    "ingressClassName": _scalar(_subdomain),
    "scaleTargetName": _scalar(_subdomain),
    "storageClassName": _scalar(_subdomain),
    "serviceName": _scalar(_service_name),
    "ports.name": _scalar(_label),
    "volumeClaimTemplates.name": _scalar(_label),
    "volumeClaimTemplates.storageClassName": _scalar(_subdomain),
    **{f"{peer}.podSelector": _labels for peer in _PEER_PATHS},
    **{f"{peer}.namespaceSelector": _labels for peer in _PEER_PATHS},
    **{f"{peer}.ipBlock.cidr": _scalar(_cidr) for peer in _PEER_PATHS},
    **{f"{peer}.ipBlock.except": _scalar(_cidr) for peer in _PEER_PATHS},
}
"""Format checks by schema path."""
