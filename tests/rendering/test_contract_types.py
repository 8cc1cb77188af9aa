"""The request and result types are the agreed contract: frozen, slotted, with these fields."""

from __future__ import annotations

import dataclasses

import pytest

from app.domain.kinds import KINDS
from app.domain.workflows import Canvas
from app.rendering import RenderedBundle, RenderedObject, RenderRequest
from app.rendering.defaults import complete


def fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_the_types_have_the_agreed_fields() -> None:
    assert fields(RenderRequest) == [
        "workflow_id",
        "namespace",
        "canvas",
        "secret_values",
        "mask_secrets",
        "pull_secrets",
    ]
    assert fields(RenderedObject) == [
        "node_id",
        "api_version",
        "kind",
        "name",
        "namespace",
        "manifest",
        "yaml",
    ]
    assert fields(RenderedBundle) == ["objects", "skipped"]
    for cls in (RenderRequest, RenderedObject, RenderedBundle):
        assert getattr(cls, "__dataclass_params__").frozen  # noqa: B009
        assert "__slots__" in cls.__dict__


def test_a_request_masks_by_default_and_has_no_values() -> None:
    first, second = RenderRequest("wf", "ns", Canvas()), RenderRequest("wf", "ns", Canvas())
    assert first.mask_secrets is True
    assert first.secret_values == {}
    assert first.secret_values is not second.secret_values
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.namespace = "other"  # type: ignore[misc]


def test_an_empty_bundle_is_empty_yaml() -> None:
    assert RenderedBundle((), ()).yaml == ""
    assert RenderedBundle(()).by_node("x") is None


def test_completed_data_has_every_field_with_defaults_and_keeps_absent_objects_absent() -> None:
    spec = KINDS["Deployment"]
    data = complete(
        spec.fields,
        {"image": "x", "livenessProbe": {"type": "tcpSocket", "port": 80}, "env": [{"name": "A"}]},
    )
    assert set(data) >= {f.name for f in spec.fields}
    assert data["replicas"] == 1
    assert data["readinessProbe"] is None
    assert data["livenessProbe"]["periodSeconds"] == 10
    assert data["livenessProbe"]["command"] is None
    assert data["env"] == [{"name": "A", "value": ""}]
    assert complete(KINDS["PersistentVolumeClaim"].fields, {})["accessModes"] == ["ReadWriteOnce"]
