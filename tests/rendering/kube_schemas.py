"""Validation of rendered objects against the Kubernetes OpenAPI schemas bundled by kubernetes-validate.

Each distinct (version, object) pair is validated once per test session: validating takes several
milliseconds per object, and many tests render the same objects.
"""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate

VERSIONS = ("1.30.0", "1.34.0", "1.37.0")
"""The Kubernetes versions every rendered kind is validated against: an old one still offered by
managed clusters, a recent one, and the newest kubernetes-validate 1.37 bundles."""

_validated: dict[tuple[str, str], str] = {}


def validate(obj: dict[str, Any], version: str) -> str:
    """Validate ``obj`` strictly (no unknown fields) against Kubernetes ``version``'s schema; return the
    schema version used. Raises ``kubernetes_validate.ValidationError`` when it does not fit."""
    key = (version, json.dumps(obj, sort_keys=True))
    if key not in _validated:
        _validated[key] = kubernetes_validate.validate(obj, version, strict=True)
    return _validated[key]
