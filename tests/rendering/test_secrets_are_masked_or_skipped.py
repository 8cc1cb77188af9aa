"""Secret values: masked in previews, base64 data in runs, key names from the node, skipped without values."""

from __future__ import annotations

import base64

from app.rendering import NO_SECRET_VALUE, SECRET_MASK, ManifestRenderer
from tests.rendering.canvases import RICH, RICH_SECRETS, container, edge, manifest, node, render, request

KEYS = [{"id": "a", "name": "USER"}, {"id": "b", "name": "PASSWORD"}, {"id": "c", "name": "tls.key"}]
VALUES = {"USER": "admin", "PASSWORD": "p@ss: {{ x }}\n---\n", "tls.key": "ключ"}


def test_a_preview_shows_a_mask_never_the_value(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer, [node("s", "Secret", name="creds", keys=KEYS)], secret_values={"s": VALUES}, mask=True
    )
    obj = manifest(bundle, "s")
    assert obj["stringData"] == {"USER": SECRET_MASK, "PASSWORD": SECRET_MASK, "tls.key": SECRET_MASK}
    assert "data" not in obj
    for value in VALUES.values():
        assert value not in bundle.yaml
        assert base64.b64encode(value.encode()).decode() not in bundle.yaml
    assert SECRET_MASK == "********"


def test_a_run_gets_the_values_as_base64_data(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer, [node("s", "Secret", name="creds", keys=KEYS)], secret_values={"s": VALUES}, mask=False
    )
    obj = manifest(bundle, "s")
    assert obj["type"] == "Opaque"
    assert list(obj["data"]) == ["PASSWORD", "USER", "tls.key"]  # keys sorted, like every map
    assert {k: base64.b64decode(v).decode() for k, v in obj["data"].items()} == VALUES
    assert "stringData" not in obj


def test_keys_without_a_value_are_left_out_and_unknown_keys_ignored(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [node("s", "Secret", keys=KEYS)],
        secret_values={"s": {"USER": "u", "NOT_A_KEY": "x"}},
        mask=False,
    )
    assert manifest(bundle, "s")["data"] == {"USER": base64.b64encode(b"u").decode()}
    assert bundle.skipped == ()


def test_an_empty_value_is_still_a_value(renderer: ManifestRenderer) -> None:
    bundle = render(renderer, [node("s", "Secret", keys=KEYS)], secret_values={"s": {"USER": ""}}, mask=False)
    assert manifest(bundle, "s")["data"] == {"USER": ""}


def test_a_secret_with_no_value_is_skipped_with_a_reason(renderer: ManifestRenderer) -> None:
    cases: list[dict[str, dict[str, str]]] = [{}, {"s": {}}, {"s": {"OTHER": "x"}}]
    for values in cases:
        bundle = render(
            renderer,
            [node("s", "Secret", keys=KEYS), node("n", "Secret", name="no-keys"), node("c", "ConfigMap")],
            secret_values=values,
        )
        assert bundle.by_node("s") is None
        assert bundle.skipped == (("s", NO_SECRET_VALUE), ("n", NO_SECRET_VALUE))
        assert [o.node_id for o in bundle.objects] == ["c"]
        assert "kind: Secret" not in bundle.yaml


def test_a_workload_still_refers_to_a_skipped_secret(renderer: ManifestRenderer) -> None:
    """The Secret is left alone in the cluster (it may exist already); the workload keeps its reference."""
    bundle = render(
        renderer,
        [node("s", "Secret", name="creds", keys=KEYS), node("w", "Deployment", image="x")],
        [edge("e", "s", "w", target_handle="env")],
    )
    assert bundle.skipped == (("s", NO_SECRET_VALUE),)
    assert container(manifest(bundle, "w"))["envFrom"] == [{"secretRef": {"name": "creds"}}]
    assert ("unset-secret", NO_SECRET_VALUE) in renderer.render(request(RICH, RICH_SECRETS)).skipped


def test_the_secret_type_is_rendered(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node(
                "s", "Secret", secretType="kubernetes.io/tls", keys=[{"name": "tls.crt"}, {"name": "tls.key"}]
            )
        ],
        secret_values={"s": {"tls.crt": "C", "tls.key": "K"}},
    )
    assert manifest(bundle, "s")["type"] == "kubernetes.io/tls"
