"""Rendering a workflow's canvas to Kubernetes manifests through the Jinja2 templates in ``templates/``.

The public API: :class:`ManifestRenderer` (``render(RenderRequest) -> RenderedBundle``), the request and
result types, and :func:`default_templates_dir`. The modules, one job each:

``bundle``       the request and result types
``checks``       what is checked before any template runs (raises ``Invalid`` with field paths;
                 ``encoding`` refuses strings that are not text)
``context``      the variables each template sees (``defaults``, ``labels``, ``pods``, ``policies`` and
                 ``secrets`` compute the parts)
``environment``  the Jinja2 environment: StrictUndefined, no autoescape, values only through ``json``
``scalars``      a user value as one-line YAML text that cannot change the document's structure
``documents``    a template's output parsed, checked and written back as YAML
``renderer``     the renderer tying them together
"""

from app.rendering.bundle import (
    NO_SECRET_VALUE,
    SECRET_MASK,
    RenderedBundle,
    RenderedObject,
    RenderRequest,
)
from app.rendering.documents import TemplateOutputError
from app.rendering.environment import TemplateMisuse, default_templates_dir
from app.rendering.renderer import ManifestRenderer

__all__ = [
    "NO_SECRET_VALUE",
    "SECRET_MASK",
    "ManifestRenderer",
    "RenderRequest",
    "RenderedBundle",
    "RenderedObject",
    "TemplateMisuse",
    "TemplateOutputError",
    "default_templates_dir",
]
