"""Strict validation against the Kubernetes schemas kubernetes-validate bundles, with each kind's schema and
the shared definitions loaded once: ``kubernetes_validate.validate`` reloads and re-parses the large
definitions file on every call (about 20 ms an object), too slow for the whole corpus."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource

from tests.rendering.kube_schemas import VERSIONS

_GROUP = re.compile(r"^([^./]*)(?:\.[^/]*)?/")


@cache
def _definitions(folder: str, version: str) -> Resource[Any]:
    return Resource.from_contents(
        schema_contents(f"kubernetes-json-schema/{folder}/_definitions.json", version)
    )


@cache
def _validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator:
    folder = f"v{version}-local-strict"
    group = _GROUP.sub(r"\1-", api_version)  # apps/v1 → apps-v1, networking.k8s.io/v1 → networking-v1
    schema = schema_contents(f"kubernetes-json-schema/{folder}/{kind.lower()}-{group}.json", version)
    registry: Registry[Any] = _definitions(folder, version) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate_strictly(obj: dict[str, Any]) -> None:
    """Validate ``obj`` (no unknown fields) against every Kubernetes version the rendering tests cover;
    raises ``jsonschema.ValidationError`` when it does not fit one of them."""
    for version in VERSIONS:
        _validator(version, str(obj["kind"]), str(obj["apiVersion"])).validate(obj)
