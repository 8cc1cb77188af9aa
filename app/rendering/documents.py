"""Reading a template's output back as one Kubernetes object, checking it, and writing it as YAML.

A template's output must parse as exactly one YAML document whose ``apiVersion``, ``kind``,
``metadata.name`` and ``metadata.namespace`` are what the node asked for; anything else is a bug in a
template (user values cannot cause it), reported as :class:`TemplateOutputError`. The YAML handed out is
the parsed object written again in block style, so it is tidy, deterministic and always reads back to the
same object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_WIDTH = 1 << 30
"""No line folding: long values stay on one line."""


# PyYAML writes these raw outside double quotes, and reads them back as line breaks (changing the text).
_UNICODE_BREAKS = re.compile("[\x85\u2028\u2029]")


class _Dumper(yaml.SafeDumper):
    """A safe dumper that writes multi-line text as a literal block (``|``), as config files read best;
    the emitter falls back to a quoted style for text a block cannot hold exactly. Text with Unicode line
    breaks is always double-quoted, where they are escaped."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if _UNICODE_BREAKS.search(text) else "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


class TemplateOutputError(RuntimeError):
    """A template produced something other than the one object it should have (a bug in the template)."""


@dataclass(frozen=True, slots=True)
class Expected:
    """The identity a rendered object must have."""

    api_version: str
    kind: str
    name: str
    namespace: str | None


def parse_object(text: str, expected: Expected, template: str) -> dict[str, Any]:
    """The one object in ``text`` (the output of ``template``), checked against ``expected``."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise TemplateOutputError(f"{template} produced invalid YAML: {exc}") from exc
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise TemplateOutputError(f"{template} must produce one object, produced {len(documents)} documents")
    obj: dict[str, Any] = documents[0]
    metadata = obj.get("metadata")
    meta: dict[str, Any] = metadata if isinstance(metadata, dict) else {}
    found = (obj.get("apiVersion"), obj.get("kind"), meta.get("name"), meta.get("namespace"))
    wanted = (expected.api_version, expected.kind, expected.name, expected.namespace)
    if found != wanted:
        raise TemplateOutputError(f"{template} produced an object identified as {found}, expected {wanted}")
    return obj


def dump_object(obj: dict[str, Any]) -> str:
    """``obj`` as one block-style YAML document (keys in the object's order, no ``---``)."""
    return yaml.dump(
        obj, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=_WIDTH
    )
