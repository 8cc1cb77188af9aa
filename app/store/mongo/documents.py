"""Codec documents as MongoDB stores them.

The codec's ``"id"`` is stored as ``"_id"``. A canvas (of a workflow or a version) is stored as JSON
text, as in SQLite: node data is free-form and holds keys such as ``app.kubernetes.io/name`` (dots)
or ``$ref`` (a leading dollar), which MongoDB refuses or reinterprets inside update documents on many
server versions; the canvas is never queried into, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.versions import Version
from app.domain.workflows import Workflow
from app.store.codec import dumps, loads, version_from_doc, workflow_from_doc

Doc = dict[str, Any]


def to_mongo(doc: Mapping[str, Any]) -> Doc:
    """A codec document as stored: ``"id"`` becomes ``"_id"``."""
    stored = dict(doc)
    if "id" in stored:
        stored["_id"] = stored.pop("id")
    return stored


def from_mongo(doc: Mapping[str, Any]) -> Doc:
    """A stored document for the codec: ``"_id"`` becomes ``"id"``."""
    loaded = dict(doc)
    loaded["id"] = loaded.pop("_id", None)
    return loaded


def workflow_to_mongo(workflow: Workflow) -> Doc:
    doc = workflow_to_mongo(workflow)
    doc["canvas"] = dumps(doc["canvas"])
    return doc


def workflow_from_mongo(doc: Mapping[str, Any]) -> Workflow:
    loaded = from_mongo(doc)
    loaded["canvas"] = loads(loaded["canvas"])
    return workflow_from_doc(loaded)


def version_to_mongo(version: Version) -> Doc:
    doc = version_to_mongo(version)
    doc["canvas"] = dumps(doc["canvas"])
    return doc


def version_from_mongo(doc: Mapping[str, Any]) -> Version:
    loaded = from_mongo(doc)
    loaded["canvas"] = loads(loaded["canvas"])
    return version_from_doc(loaded)
