"""The values a Secret node renders with: real (base64 ``data``) for a run, masked (``stringData``) in a
preview, or none at all.

Key names come from the node's ``keys``, in that order; a key without a value stored or supplied is left
out of the object. When no key has a value the Secret is not rendered: it is skipped with
:data:`~app.rendering.bundle.NO_SECRET_VALUE`, so the cluster object is left alone. Values supplied for
names that are not in ``keys`` are ignored. Real values go in ``data`` (base64), which is what the API
server stores, so applying the same values again changes nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from app.rendering.bundle import SECRET_MASK


def secret_payload(
    data: Mapping[str, Any], values: Mapping[str, str] | None, *, mask: bool
) -> dict[str, dict[str, str]] | None:
    """``{"data": {key: base64}}`` (or, with ``mask``, ``{"stringData": {key: mask}}``) for the keys of
    ``data["keys"]`` that have a value in ``values``; ``None`` when none has."""
    supplied = values or {}
    names = [str(key["name"]) for key in data.get("keys") or [] if isinstance(key, Mapping)]
    present = [name for name in dict.fromkeys(names) if supplied.get(name) is not None]
    if not present:
        return None
    if mask:
        return {"stringData": {name: SECRET_MASK for name in present}}
    return {"data": {name: base64.b64encode(supplied[name].encode()).decode("ascii") for name in present}}
