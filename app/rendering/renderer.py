"""The manifest renderer: a checked canvas in, one Kubernetes object per node out, in apply order."""

from __future__ import annotations

from pathlib import Path

import jinja2

from app.domain.deploy_order import in_apply_order
from app.domain.kinds import KINDS
from app.rendering.bundle import NO_SECRET_VALUE, RenderedBundle, RenderedObject, RenderRequest
from app.rendering.checks import Placed, preflight
from app.rendering.context import Scene, template_context
from app.rendering.documents import Expected, dump_object, parse_object
from app.rendering.environment import build_environment, template_name


class ManifestRenderer:
    """Renders workflows through one Jinja2 environment over ``templates_dir`` (one template per kind).

    Building it loads and compiles every kind's template, so a missing or broken template fails at
    start-up, not at the first run. Rendering is pure and thread-safe: the same request always gives
    byte-identical YAML.
    """

    def __init__(self, templates_dir: Path) -> None:
        if not templates_dir.is_dir():
            raise FileNotFoundError(f"the manifest templates folder {templates_dir} does not exist")
        missing = [
            template_name(kind) for kind in KINDS if not (templates_dir / template_name(kind)).is_file()
        ]
        if missing:
            raise FileNotFoundError(f"{templates_dir} lacks the templates {', '.join(missing)}")
        self._env = build_environment(templates_dir)
        self._templates: dict[str, jinja2.Template] = {
            kind: self._env.get_template(template_name(kind)) for kind in KINDS
        }

    def render(self, request: RenderRequest) -> RenderedBundle:
        """Every object of ``request``'s canvas, in apply order.

        Raises :class:`~app.errors.Invalid` listing every problem (paths such as
        ``nodes[3].data.image``) when the canvas is not deployable: a required field missing, a name or
        namespace Kubernetes would refuse, two objects with one name, an edge across namespaces.
        """
        _, placed = preflight(request)
        scene = Scene.of(
            request.workflow_id, placed, request.secret_values, request.mask_secrets, request.pull_secrets
        )
        objects: list[RenderedObject] = []
        skipped: list[tuple[str, str]] = []
        for item in placed:
            rendered = self._render_one(item, scene)
            if rendered is None:
                skipped.append((item.node.id, NO_SECRET_VALUE))
            else:
                objects.append(rendered)
        return RenderedBundle(tuple(in_apply_order(objects, lambda o: o.kind)), tuple(skipped))

    def _render_one(self, item: Placed, scene: Scene) -> RenderedObject | None:
        context = template_context(item, scene)
        if context is None:
            return None
        spec = item.spec
        template = self._templates[spec.kind]
        text = template.render(context)
        expected = Expected(spec.api_version, spec.kind, item.name, item.namespace)
        manifest = parse_object(text, expected, str(template.name))
        return RenderedObject(
            node_id=item.node.id,
            api_version=spec.api_version,
            kind=spec.kind,
            name=item.name,
            namespace=item.namespace,
            manifest=manifest,
            yaml=dump_object(manifest),
        )
