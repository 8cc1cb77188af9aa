"""Strings that are not text: JSON input may carry lone UTF-16 surrogates, which cannot be encoded as
UTF-8, so neither YAML output nor the Kubernetes API can hold them. They are refused before anything else
looks at the canvas."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.domain.problems import index_path, key_path
from app.errors import FieldError
from app.rendering.bundle import RenderRequest

_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_TEXT = "holds a lone UTF-16 surrogate, which is not text Kubernetes can store"


def not_text(request: RenderRequest) -> list[FieldError]:
    """Strings of the request that are not text (JSON input may carry lone surrogates, which cannot be
    encoded as UTF-8): in node data, and in Secret values (pointing at the key, never showing the value)."""
    problems: list[FieldError] = []
    for index, node in enumerate(request.canvas.nodes):
        path = f"nodes[{index}].data"
        _text(node.data, path, problems)
        values = request.secret_values.get(node.id) if isinstance(node.id, str) else None
        keys = node.data.get("keys") if isinstance(node.data, Mapping) else None
        if not values or not isinstance(keys, list):
            continue
        for position, key in enumerate(keys):
            name = key.get("name") if isinstance(key, Mapping) else None
            value = values.get(name) if isinstance(name, str) else None
            if isinstance(value, str) and _SURROGATE.search(value):
                problems.append(FieldError(f"{path}.keys[{position}]", f"the value of {name!r} {_NOT_TEXT}"))
    return problems


def _text(value: Any, path: str, problems: list[FieldError]) -> None:
    if isinstance(value, str):
        if _SURROGATE.search(value):
            problems.append(FieldError(path, _NOT_TEXT))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            here = key_path(path, str(key))
            if _SURROGATE.search(str(key)):
                problems.append(FieldError(here, f"the key {_NOT_TEXT}"))
            _text(item, here, problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _text(item, index_path(path, index), problems)
