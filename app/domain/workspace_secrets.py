"""Workspace secrets: named values (API keys, passwords) that flow steps read at execution, never shown again.

A secret's name is an environment variable's (``^[A-Z_][A-Z0-9_]{0,127}$``): a Function step gets the
secrets listed in its ``secrets`` field as variables of that name. An HttpRequest refers to one as the whole
of a template part, ``{{ secrets.NAME }}``, in its URL, headers or body; an AiAgent names its API key's
secret in ``apiKeySecret``. Values are encrypted at rest and only decrypted for a step about to run; what a
step logs or returns shows :data:`MASK` in their place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.flows.expressions import template_parts
from app.domain.workflows import Canvas, Node

NAME_PATTERN = r"^[A-Z_][A-Z0-9_]{0,127}$"
MAX_DESCRIPTION = 500
MAX_VALUE_BYTES = 65_536
MASK = "***"
SCOPE_NAME = "secrets"  # the name HttpRequest templates read secrets under: {{ secrets.NAME }}

_NAME = re.compile(NAME_PATTERN)
_REFERENCE = re.compile(r"^secrets\s*\.\s*(?P<name>[^\s.\[\]|]+)$")
_READS_SECRETS = re.compile(r"^\s*secrets\b")


@dataclass(frozen=True, slots=True)
class WorkspaceSecret:
    """A secret of a workspace as anyone may see it: its name (unique in the workspace), what it is for,
    and who set it first and last. The value is not here: the store keeps it encrypted beside."""

    workspace_id: str
    name: str
    description: str
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a secret, or ``None``."""
    if not _NAME.match(name):
        return (
            "must look like an environment variable: upper-case letters, digits and _, not starting with a "
            "digit, at most 128 characters (e.g. STRIPE_API_KEY)"
        )
    return None


def reference(part: str) -> str | None:
    """The secret a template part reads (``secrets.NAME`` → ``NAME``, whatever ``NAME`` is), or ``None``
    when the part does not read ``secrets``."""
    if not _READS_SECRETS.match(part):
        return None
    found = _REFERENCE.match(part.strip())
    return found.group("name") if found else ""


def reference_problem(part: str) -> str | None:
    """Why a template part that reads ``secrets`` is not a valid ``secrets.NAME`` (``None`` if it is)."""
    name = reference(part)
    if name is None:
        return None
    problem = name_problem(name) if name else "must be exactly secrets.NAME"
    if problem:
        return f"a secret is read as {{{{ secrets.NAME }}}}, with NAME a secret's name; {part!r} {problem}"
    return None


def names_in_text(text: str) -> tuple[str, ...]:
    """The secrets that ``{{ secrets.NAME }}`` parts of ``text`` read, in order, each once."""
    found = (reference(part) for part in template_parts(text))
    return tuple(dict.fromkeys(name for name in found if name))


def http_request_texts(data: Mapping[str, Any]) -> list[str]:
    """The texts of an HttpRequest step that may hold ``{{ … }}`` parts: its URL, header values, body."""
    texts = [str(data.get("urlTemplate") or ""), str(data.get("body") or "")]
    headers = data.get("headers")
    if isinstance(headers, Mapping):
        texts += [str(value) for value in headers.values()]
    return texts


def secrets_of_node(node: Node) -> tuple[str, ...]:
    """The secrets a flow step reads: a Function's ``secrets``, an HttpRequest's ``{{ secrets.NAME }}``
    parts, an AiAgent's ``apiKeySecret``."""
    data = node.data
    if node.kind == "Function":
        listed = data.get("secrets")
        return tuple(dict.fromkeys(str(n) for n in listed)) if isinstance(listed, list | tuple) else ()
    if node.kind == "HttpRequest":
        return tuple(dict.fromkeys(n for text in http_request_texts(data) for n in names_in_text(text)))
    if node.kind == "AiAgent":
        key = data.get("apiKeySecret")
        return (str(key),) if isinstance(key, str) and key else ()
    return ()


def nodes_using_secret(canvas: Canvas, name: str) -> tuple[str, ...]:
    """Ids of the steps of ``canvas`` that read the secret ``name``."""
    return tuple(node.id for node in canvas.nodes if name in secrets_of_node(node))


def mask(text: str, values: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``values`` (longest first) replaced by :data:`MASK`."""
    for value in sorted({v for v in values if v}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def mask_json(value: Any, values: Iterable[str]) -> Any:
    """A JSON value with :func:`mask` applied to every string in it, keys included."""
    secrets = [v for v in values if v]
    if not secrets:
        return value
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, Mapping):
        return {mask(str(k), secrets): mask_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_json(item, secrets) for item in value]
    return value
