"""Node data completed against its kind's fields, as the templates read it.

Every field of the kind is present in the result: the user's value, else the field's ``default`` (what a
form pre-fills and what the renderer falls back to, so the kind tables stay the single source of both),
else ``None``. Templates can therefore test ``data.field`` freely while a misspelt field name is still an
error under ``StrictUndefined``. An absent object stays ``None`` (no probe appears because a probe has
defaults); the fields of a present object and of each object-list item are completed the same way.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from app.domain.kinds import FieldSpec, FieldType


def complete(fields: Sequence[FieldSpec], data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with every field of ``fields`` present (defaults as lists, not tuples)."""
    out: dict[str, Any] = copy.deepcopy(dict(data))
    for spec in fields:
        value = out.get(spec.name)
        if value is None:
            out[spec.name] = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        elif spec.type is FieldType.OBJECT and isinstance(value, Mapping):
            out[spec.name] = complete(spec.fields, value)
        elif spec.type is FieldType.OBJECT_LIST and isinstance(value, list):
            out[spec.name] = [
                complete(spec.fields, item) if isinstance(item, Mapping) else item for item in value
            ]
    return out
