"""Registries and pull-Secret records as JSON-safe documents, shared by both backends (see
:mod:`app.store.codec` for the conventions: ``"id"`` key, fixed-width UTC datetimes). A pull-Secret
record whose credentials never expire has ``expires_at`` null (SQLite's column, NOT NULL since it was
made, stores :data:`~app.store.sqlite.registries.NEVER` instead)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.registries import (
    PullSecretRecord,
    Registry,
    RegistryCheck,
    RegistryStatus,
    RegistryType,
    name_key,
)
from app.store.codec import (
    Document,
    decode_datetime,
    decode_optional_datetime,
    encode_datetime,
    encode_optional_datetime,
)

REGISTRY_NAME_TAKEN = "the workspace already has a registry of this name"
REGISTRY_ID_TAKEN = "a registry with this id already exists"

# The fields replace_registry rewrites; id, workspace_id, type, is_default (set only through
# set_default_registry), created_by, created_at and last_check (record_registry_check) never change
# through it.
MUTABLE_FIELDS = ("name", "name_lower", "url", "insecure", "credentials_ciphertext", "updated_at")


def check_to_doc(check: RegistryCheck) -> Document:
    return {
        "status": check.status.value,
        "reason": check.reason,
        "api_version": check.api_version,
        "checked_at": encode_datetime(check.checked_at),
    }


def check_from_doc(doc: Mapping[str, Any]) -> RegistryCheck:
    return RegistryCheck(
        status=RegistryStatus(doc["status"]),
        reason=doc.get("reason"),
        api_version=doc.get("api_version"),
        checked_at=decode_datetime(doc["checked_at"]),
    )


def registry_to_doc(registry: Registry) -> Document:
    """The registry's document, with the lower-cased name that carries the per-workspace unique index."""
    return {
        "id": registry.id,
        "workspace_id": registry.workspace_id,
        "name": registry.name,
        "name_lower": name_key(registry.name),
        "type": registry.type.value,
        "url": registry.url,
        "insecure": registry.insecure,
        "is_default": registry.is_default,
        "credentials_ciphertext": registry.credentials_ciphertext,
        "created_by": registry.created_by,
        "created_at": encode_datetime(registry.created_at),
        "updated_at": encode_datetime(registry.updated_at),
        "last_check": None if registry.last_check is None else check_to_doc(registry.last_check),
    }


def registry_from_doc(doc: Mapping[str, Any]) -> Registry:
    last = doc.get("last_check")
    return Registry(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        name=doc["name"],
        type=RegistryType(doc["type"]),
        url=doc["url"],
        insecure=bool(doc["insecure"]),
        is_default=bool(doc["is_default"]),
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        updated_at=decode_datetime(doc["updated_at"]),
        credentials_ciphertext=doc.get("credentials_ciphertext"),
        last_check=None if last is None else check_from_doc(last),
    )


def pull_secret_to_doc(record: PullSecretRecord) -> Document:
    return {
        "workflow_id": record.workflow_id,
        "workspace_id": record.workspace_id,
        "registry_id": record.registry_id,
        "cluster_id": record.cluster_id,
        "namespace": record.namespace,
        "expires_at": encode_optional_datetime(record.expires_at),
        "applied_at": encode_datetime(record.applied_at),
    }


def pull_secret_from_doc(doc: Mapping[str, Any]) -> PullSecretRecord:
    return PullSecretRecord(
        workflow_id=doc["workflow_id"],
        workspace_id=doc["workspace_id"],
        registry_id=doc["registry_id"],
        cluster_id=doc["cluster_id"],
        namespace=doc["namespace"],
        expires_at=decode_optional_datetime(doc.get("expires_at")),
        applied_at=decode_datetime(doc["applied_at"]),
    )
