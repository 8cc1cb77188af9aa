"""The shape of a node kind: its fields, their types, defaults, limits and sub-fields."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    """The type of a node-data field, as the front-end form and the sanitiser understand it."""

    STRING = "STRING"
    TEXT = "TEXT"
    INTEGER = "INTEGER"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    ENUM = "ENUM"
    QUANTITY = "QUANTITY"
    STRING_MAP = "STRING_MAP"
    STRING_LIST = "STRING_LIST"
    OBJECT = "OBJECT"
    OBJECT_LIST = "OBJECT_LIST"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a node's ``data``.

    ``default`` is what a form pre-fills and a renderer falls back to (lists are given as tuples);
    ``options`` are the choices of an ENUM (or the allowed items of a STRING_LIST); ``minimum`` and
    ``maximum`` bound INTEGER and NUMBER values; ``fields`` are the sub-fields of OBJECT and OBJECT_LIST;
    ``linked`` marks a value written by edges, read-only for the user.
    """

    name: str
    type: FieldType
    description: str
    required: bool = False
    default: Any = None
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    fields: tuple[FieldSpec, ...] = ()
    linked: bool = False

    def field(self, name: str) -> FieldSpec | None:
        """The sub-field called ``name``, if any."""
        return _find(self.fields, name)


@dataclass(frozen=True, slots=True)
class NodeKindSpec:
    """A node kind: the Kubernetes kind it renders to and the fields of its ``data``."""

    kind: str
    api_version: str
    namespaced: bool
    category: str
    description: str
    fields: tuple[FieldSpec, ...]
    aliases: tuple[str, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        """The top-level field called ``name``, if any."""
        return _find(self.fields, name)


def _find(fields: tuple[FieldSpec, ...], name: str) -> FieldSpec | None:
    for spec in fields:
        if spec.name == name:
            return spec
    return None


# Shorthands for the kind tables.
def string(name: str, description: str, **kw: Any) -> FieldSpec:
    """A STRING field."""
    return FieldSpec(name, FieldType.STRING, description, **kw)


def integer(name: str, description: str, **kw: Any) -> FieldSpec:
    """An INTEGER field."""
    return FieldSpec(name, FieldType.INTEGER, description, **kw)


def boolean(name: str, description: str, **kw: Any) -> FieldSpec:
    """A BOOLEAN field."""
    return FieldSpec(name, FieldType.BOOLEAN, description, **kw)


def enum(name: str, description: str, options: tuple[str, ...], **kw: Any) -> FieldSpec:
    """An ENUM field with ``options``."""
    return FieldSpec(name, FieldType.ENUM, description, options=options, **kw)


def string_map(name: str, description: str, **kw: Any) -> FieldSpec:
    """A STRING_MAP field."""
    return FieldSpec(name, FieldType.STRING_MAP, description, **kw)


def string_list(name: str, description: str, **kw: Any) -> FieldSpec:
    """A STRING_LIST field."""
    return FieldSpec(name, FieldType.STRING_LIST, description, **kw)


def obj(name: str, description: str, fields: tuple[FieldSpec, ...], **kw: Any) -> FieldSpec:
    """An OBJECT field with sub-fields."""
    return FieldSpec(name, FieldType.OBJECT, description, fields=fields, **kw)


def obj_list(name: str, description: str, fields: tuple[FieldSpec, ...], **kw: Any) -> FieldSpec:
    """An OBJECT_LIST field whose items have ``fields``."""
    return FieldSpec(name, FieldType.OBJECT_LIST, description, fields=fields, **kw)
