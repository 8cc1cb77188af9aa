"""The same request always renders byte-identical YAML, whatever the order maps were built in, and the
bundle is in apply order."""

from __future__ import annotations

from app.domain.deploy_order import wave_of
from app.domain.workflows import Canvas, Node
from app.rendering import ManifestRenderer, default_templates_dir
from tests.rendering.canvases import MINIMAL, MINIMAL_SECRETS, RICH, RICH_SECRETS, request


def _reordered(node: Node) -> Node:
    """The node with every map's keys in reverse order."""

    def flip(value: object) -> object:
        if isinstance(value, dict):
            return {k: flip(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [flip(item) for item in value]
        return value

    return Node(node.id, node.kind, node.position, flip(node.data))  # type: ignore[arg-type]


def test_the_same_request_gives_the_same_bytes(renderer: ManifestRenderer) -> None:
    other = ManifestRenderer(default_templates_dir())
    for canvas, secrets in ((RICH, RICH_SECRETS), (MINIMAL, MINIMAL_SECRETS)):
        for mask in (True, False):
            first = renderer.render(request(canvas, secrets, mask=mask))
            again = other.render(request(canvas, secrets, mask=mask))
            assert first.yaml == again.yaml
            assert first == again


def test_map_order_does_not_change_the_output(renderer: ManifestRenderer) -> None:
    flipped = Canvas(tuple(_reordered(n) for n in RICH.nodes), RICH.edges)
    assert (
        renderer.render(request(flipped, RICH_SECRETS)).yaml
        == renderer.render(request(RICH, RICH_SECRETS)).yaml
    )


def test_the_bundle_is_in_apply_order_and_joins_documents(renderer: ManifestRenderer) -> None:
    bundle = renderer.render(request(RICH, RICH_SECRETS))
    waves = [wave_of(obj.kind) for obj in bundle.objects]
    assert waves == sorted(waves)
    assert bundle.yaml == "---\n".join(obj.yaml for obj in bundle.objects)
    assert bundle.yaml.count("\n---\n") == len(bundle.objects) - 1
    assert all(obj.yaml.endswith("\n") and not obj.yaml.startswith("---") for obj in bundle.objects)
    assert [o.kind for o in bundle.objects][:3] == ["Namespace", "ConfigMap", "ConfigMap"]
