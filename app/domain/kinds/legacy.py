"""Older shapes of node data that the reference system accepted, rewritten to the current fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_INGRESS_SINGLE_PATH = ("path", "pathType", "serviceName", "servicePort")


def modernise(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with legacy keys moved to the fields that replaced them (the input is not changed).

    * Service ``type`` → ``serviceType`` (when ``serviceType`` is not set).
    * Ingress single ``path``/``pathType``/``serviceName``/``servicePort`` → the first item of ``paths``
      (when there are no ``paths``).

    When the new field is already set the legacy keys are left alone, so they are dropped as unknown
    fields with a warning.
    """
    out = dict(data)
    if kind == "Service" and "type" in out and "serviceType" not in out:
        out["serviceType"] = out.pop("type")
    elif kind == "Ingress" and not out.get("paths") and any(key in out for key in _INGRESS_SINGLE_PATH):
        single = {key: out.pop(key) for key in _INGRESS_SINGLE_PATH if key in out}
        out["paths"] = [{"id": "path-1", **single}]
    return out
