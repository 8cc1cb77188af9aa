"""What the renderer takes and gives: a request, the rendered objects, and the bundle of them.

The types are pure data and live in :mod:`app.domain.manifests`, so the ports and services name them
without depending on this adapter; they are re-exported here for the renderer's callers and tests.
"""

from app.domain.manifests import (
    NO_SECRET_VALUE,
    SECRET_MASK,
    RenderedBundle,
    RenderedObject,
    RenderRequest,
)

__all__ = ["NO_SECRET_VALUE", "SECRET_MASK", "RenderRequest", "RenderedBundle", "RenderedObject"]
