"""No user value can change a document's structure: over many nasty strings, the rendered objects are
exactly the objects rendered with a harmless placeholder, with the value put back where it belongs.

The strings are a fixed list of YAML and Jinja hazards plus seeded random mixes of them, so a failure
always reproduces. Names are DNS-checked before anything renders, so a nasty name is refused (tested at
the end) rather than rendered.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from app.errors import Invalid
from app.rendering import ManifestRenderer, RenderedBundle
from tests.rendering.canvases import edge, manifest, node, render
from tests.rendering.nasty import NASTY, NOT_TEXT

PLACEHOLDER = "PLACEHOLDER-VALUE"


def _canvas(value: str) -> tuple[list[Any], list[Any]]:
    """A canvas that carries ``value`` in every free-text field: env values, annotations, ConfigMap data,
    command and args, probe commands, the image (when it has no whitespace), Secret values."""
    has_space = any(ch.isspace() for ch in value)
    image = "registry.example.com/app:1" if has_space or not value.strip() else f"app{value}"
    nodes = [
        node(
            "web",
            "Deployment",
            image=image,
            annotations={"example.com/note": value},
            env=[{"name": "VALUE", "value": value}, {"name": "PLAIN", "value": "x"}],
            command=["/bin/run", value],
            args=[value],
            livenessProbe={"type": "exec", "command": [value]},
        ),
        node("cfg", "ConfigMap", data={"value": value, "file.txt": f"before\n{value}\nafter"}),
        node("sec", "Secret", keys=[{"id": "k", "name": "VALUE"}]),
        node("svc", "Service", annotations={"example.com/note": value}),
    ]
    edges = [
        edge("e1", "cfg", "web"),
        edge("e2", "sec", "web", target_handle="env"),
        edge("e3", "svc", "web"),
    ]
    return nodes, edges


def _bundle(renderer: ManifestRenderer, value: str, *, mask: bool) -> RenderedBundle:
    nodes, edges = _canvas(value)
    return render(renderer, nodes, edges, {"sec": {"VALUE": value}}, mask=mask)


def _put_back(obj: Any, value: str, image: str) -> Any:
    """``obj`` with the placeholder replaced by ``value`` wherever it was a whole string or inside one."""
    if isinstance(obj, dict):
        return {key: _put_back(item, value, image) for key, item in obj.items()}
    if isinstance(obj, list):
        return [_put_back(item, value, image) for item in obj]
    if isinstance(obj, str):
        if obj == f"app{PLACEHOLDER}":
            return image
        return obj.replace(PLACEHOLDER, value)
    return obj


@pytest.fixture(scope="module")
def baseline(renderer: ManifestRenderer) -> RenderedBundle:
    return _bundle(renderer, PLACEHOLDER, mask=False)


@pytest.mark.parametrize("value", NASTY, ids=[f"s{i}" for i in range(len(NASTY))])
def test_a_nasty_value_stays_a_plain_value(
    renderer: ManifestRenderer, baseline: RenderedBundle, value: str
) -> None:
    bundle = _bundle(renderer, value, mask=False)
    image = str(manifest(bundle, "web")["spec"]["template"]["spec"]["containers"][0]["image"])
    assert [o.node_id for o in bundle.objects] == [o.node_id for o in baseline.objects]
    for obj, base in zip(bundle.objects, baseline.objects, strict=True):
        if obj.kind == "Secret":
            continue  # its value is base64: checked below
        assert obj.manifest == _put_back(base.manifest, value, image), obj.kind
        assert yaml.safe_load(obj.yaml) == obj.manifest
    docs = list(yaml.safe_load_all(bundle.yaml))
    assert docs == [obj.manifest for obj in bundle.objects]
    secret = manifest(bundle, "sec")
    assert base64.b64decode(secret["data"]["VALUE"]).decode() == value


def test_a_lone_surrogate_is_refused_where_it_is(renderer: ManifestRenderer) -> None:
    assert NOT_TEXT
    with pytest.raises(Invalid) as caught:
        _bundle(renderer, NOT_TEXT[0], mask=True)
    paths = [f.path for f in caught.value.fields]
    assert "nodes[0].data.env[0].value" in paths
    assert "nodes[1].data.data.value" in paths
    assert "nodes[2].data.keys[0]" in paths
    assert all("surrogate" in f.message for f in caught.value.fields)
    assert NOT_TEXT[0] not in str(caught.value)


@pytest.mark.parametrize("value", NASTY[:: len(NASTY) // 12], ids=lambda v: f"len{len(v)}")
def test_a_masked_preview_never_shows_the_value(renderer: ManifestRenderer, value: str) -> None:
    bundle = _bundle(renderer, value, mask=True)
    assert manifest(bundle, "sec")["stringData"] == {"VALUE": "********"}
    if len(value.strip()) > 3:
        secret_yaml = next(o.yaml for o in bundle.objects if o.kind == "Secret")
        assert value not in secret_yaml


@pytest.mark.parametrize("text", ["123", "true", "null", "1e3", "0x10", "yes", "~", "2001-12-14", "012"])
def test_text_that_looks_like_a_number_or_boolean_stays_text(renderer: ManifestRenderer, text: str) -> None:
    nodes, edges = _canvas(text)
    bundle = render(renderer, nodes, edges, {"sec": {"VALUE": text}})
    web = manifest(bundle, "web")
    assert web["spec"]["template"]["spec"]["containers"][0]["env"][0] == {"name": "VALUE", "value": text}
    assert web["metadata"]["annotations"] == {"example.com/note": text}
    assert manifest(bundle, "cfg")["data"]["value"] == text


def test_numbers_and_booleans_given_where_kubernetes_wants_text_become_text(
    renderer: ManifestRenderer,
) -> None:
    bundle = render(
        renderer,
        [
            node(
                "web",
                "Deployment",
                image="x",
                env={"PORT": 8080, "DEBUG": True, "RATIO": 0.5},
                annotations={"example.com/replicas": 3},
                args=[1, False],
            ),
            node("cfg", "ConfigMap", data={"workers": 4, "enabled": False}),
        ],
    )
    web = manifest(bundle, "web")
    env = web["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "PORT", "value": "8080"},
        {"name": "DEBUG", "value": "true"},
        {"name": "RATIO", "value": "0.5"},
    ]
    assert web["metadata"]["annotations"] == {"example.com/replicas": "3"}
    assert web["spec"]["template"]["spec"]["containers"][0]["args"] == ["1", "false"]
    assert manifest(bundle, "cfg")["data"] == {"workers": "4", "enabled": "false"}


@pytest.mark.parametrize(
    "name", ["web\nkind: Secret", "web: x", "{{ name }}", "web---", "&a", "*b", "# x", "web'", 'web"', "Web"]
)
def test_a_nasty_name_is_refused_not_rendered(renderer: ManifestRenderer, name: str) -> None:
    with pytest.raises(Invalid) as caught:
        render(renderer, [node("web", "Deployment", name=name, image="x")])
    assert [f.path for f in caught.value.fields] == ["nodes[0].data.name"]


@pytest.mark.parametrize("namespace", ["shop\nkind: x", "Shop", "a: b", "{{ ns }}", "-shop"])
def test_a_nasty_namespace_is_refused_not_rendered(renderer: ManifestRenderer, namespace: str) -> None:
    with pytest.raises(Invalid) as caught:
        render(renderer, [node("web", "Deployment", image="x", namespace=namespace)])
    assert [f.path for f in caught.value.fields] == ["nodes[0].data.namespace"]
    with pytest.raises(Invalid) as caught:
        render(renderer, [node("web", "Deployment", image="x")], namespace=namespace)
    assert [f.path for f in caught.value.fields] == ["namespace"]
