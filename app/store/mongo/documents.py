"""Codec documents as MongoDB stores them.

The codec's ``"id"`` is stored as ``"_id"``. A canvas (of a workflow or a version) is stored as JSON
text, as in SQLite: node data is free-form and holds keys such as ``app.kubernetes.io/name`` (dots)
or ``$ref`` (a leading dollar), which MongoDB refuses or reinterprets inside update documents on many
server versions; the canvas is never queried into, so nothing is lost.

A cluster also carries ``name_lower`` (its lower-cased name, under the unique index that makes names
unique per workspace case-insensitively). Runs and clusters have no free-form keys and are stored as
nested documents; the codec ignores fields it does not know.

A run's ``trigger_data`` (free-form JSON a user typed) is stored as JSON text for the same reason (None
stays null); a run document without ``kind`` (from before flow runs) is read as a DEPLOY run.

A node health's ``facts`` are free-form too (label keys with dots, anything a status function found)
and are stored as JSON text like canvases; its key is ``(workflow_id, node_id)`` under a unique index.
A lease is stored with its ``name`` as ``_id``; an exec ticket's ``command`` is a plain array of strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.clusters import Cluster
from app.domain.live import ExecTicket, Lease, NodeHealth
from app.domain.runs import Run
from app.domain.versions import Version
from app.domain.workflows import Workflow
from app.store.codec import (
    cluster_from_doc,
    cluster_to_doc,
    dumps,
    exec_ticket_from_doc,
    exec_ticket_to_doc,
    lease_from_doc,
    loads,
    node_health_from_doc,
    node_health_to_doc,
    run_from_doc,
    run_to_doc,
    version_from_doc,
    version_to_doc,
    workflow_from_doc,
    workflow_to_doc,
)
from app.store.common import cluster_name_key

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
    doc = to_mongo(workflow_to_doc(workflow))
    doc["canvas"] = dumps(doc["canvas"])
    return doc


def workflow_from_mongo(doc: Mapping[str, Any]) -> Workflow:
    loaded = from_mongo(doc)
    loaded["canvas"] = loads(loaded["canvas"])
    return workflow_from_doc(loaded)


def version_to_mongo(version: Version) -> Doc:
    doc = to_mongo(version_to_doc(version))
    doc["canvas"] = dumps(doc["canvas"])
    return doc


def version_from_mongo(doc: Mapping[str, Any]) -> Version:
    loaded = from_mongo(doc)
    loaded["canvas"] = loads(loaded["canvas"])
    return version_from_doc(loaded)


def cluster_to_mongo(cluster: Cluster) -> Doc:
    doc = to_mongo(cluster_to_doc(cluster))
    doc["name_lower"] = cluster_name_key(cluster.name)
    return doc


def cluster_from_mongo(doc: Mapping[str, Any]) -> Cluster:
    return cluster_from_doc(from_mongo(doc))


def run_to_mongo(run: Run) -> Doc:
    doc = to_mongo(run_to_doc(run))
    if doc["trigger_data"] is not None:
        doc["trigger_data"] = dumps(doc["trigger_data"])
    return doc


def run_from_mongo(doc: Mapping[str, Any]) -> Run:
    loaded = from_mongo(doc)
    if loaded.get("trigger_data") is not None:
        loaded["trigger_data"] = loads(loaded["trigger_data"])
    return run_from_doc(loaded)


def node_health_to_mongo(entry: NodeHealth) -> Doc:
    doc = node_health_to_doc(entry)
    doc["facts"] = dumps(doc["facts"])
    return doc


def node_health_from_mongo(doc: Mapping[str, Any]) -> NodeHealth:
    loaded = dict(doc)
    loaded["facts"] = loads(loaded["facts"])
    return node_health_from_doc(loaded)


def lease_from_mongo(doc: Mapping[str, Any]) -> Lease:
    return lease_from_doc({"name": doc["_id"], "owner": doc["owner"], "expires_at": doc["expires_at"]})


def exec_ticket_to_mongo(ticket: ExecTicket) -> Doc:
    return to_mongo(exec_ticket_to_doc(ticket))


def exec_ticket_from_mongo(doc: Mapping[str, Any]) -> ExecTicket:
    return exec_ticket_from_doc(from_mongo(doc))
