"""Every kind, rendered from rich and from minimal node data, fits the Kubernetes OpenAPI schemas of
several Kubernetes versions (strict: an unknown or misspelt field fails)."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from app.domain.kinds import KINDS
from app.rendering import ManifestRenderer, RenderedBundle
from tests.rendering.canvases import MINIMAL, MINIMAL_SECRETS, RICH, RICH_SECRETS, request
from tests.rendering.kube_schemas import VERSIONS, validate

CASES = {
    "rich-preview": (RICH, RICH_SECRETS, True),
    "rich-run": (RICH, RICH_SECRETS, False),
    "minimal-preview": (MINIMAL, MINIMAL_SECRETS, True),
    "minimal-run": (MINIMAL, MINIMAL_SECRETS, False),
}


def bundle(renderer: ManifestRenderer, case: str) -> RenderedBundle:
    canvas, secrets, mask = CASES[case]
    return renderer.render(request(canvas, secrets, mask=mask))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_object_fits_the_schema(renderer: ManifestRenderer, case: str, version: str) -> None:
    rendered = bundle(renderer, case)
    assert {obj.kind for obj in rendered.objects} == set(KINDS)
    for obj in rendered.objects:
        assert validate(obj.manifest, version) == version.rsplit(".", 1)[0], obj.kind


def test_the_bundled_schemas_cover_the_versions() -> None:
    for version in VERSIONS:
        assert (
            kubernetes_validate.validate(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, version, strict=True
            )
            == version.rsplit(".", 1)[0]
        )


def test_the_check_would_catch_a_misspelt_field(renderer: ManifestRenderer) -> None:
    """The reference's casing bugs rendered fields under wrong names; strict validation refuses those."""
    deployment = next(o for o in bundle(renderer, "rich-run").objects if o.kind == "Deployment")
    broken = copy.deepcopy(deployment.manifest)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["VolumeMounts"] = container.pop("volumeMounts")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken, VERSIONS[0])
