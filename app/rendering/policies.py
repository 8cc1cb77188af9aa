"""A NetworkPolicy's selectors and rules, from its (completed) node data and the workloads linked to it.

The policy's own pods: one linked workload → ``matchLabels`` on the workflow and node labels; several →
the workflow label plus ``trellis.dev/node In [...]``; none → the user's ``podSelector`` labels (empty
selects every pod of the namespace). A rule peer linked to a workload selects it the same way, with a
``namespaceSelector`` on the namespace's name when the workload is in another namespace. Without
``policyTypes`` the policy governs what Kubernetes would infer: Ingress, and Egress when it has egress
rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.rendering.labels import NAMESPACE_NAME_LABEL, select_node, select_nodes

NamespaceOf = Callable[[str], str | None]
"""The namespace a node's object goes in, by node id (``None`` when unknown)."""


def policy_parts(
    data: Mapping[str, Any],
    raw: Mapping[str, Any],
    workflow_id: str,
    own_namespace: str | None,
    namespace_of: NamespaceOf,
) -> dict[str, Any]:
    """``pod_selector``, ``policy_types``, ``ingress`` and ``egress`` (NetworkPolicy rules as Kubernetes
    reads them: ``from``/``to`` peers and ``ports``, each left out when empty, so ``{}`` allows all) of a
    NetworkPolicy; ``data`` is completed with defaults, ``raw`` is the node data as drawn."""
    linked = [str(node_id) for node_id in data.get("_linkedWorkloads") or []]
    if linked:
        pod_selector = select_nodes(workflow_id, linked)
    else:
        labels = data.get("podSelector") or {}
        pod_selector = {"matchLabels": dict(labels)} if labels else {}
    egress_rules = list(data.get("egressRules") or [])
    if raw.get("policyTypes"):
        policy_types = list(data["policyTypes"])
    else:
        policy_types = ["Ingress", *(["Egress"] if egress_rules else [])]

    def rules(key: str, peers_key: str) -> list[dict[str, Any]]:
        out = []
        for rule in data.get(key) or []:
            peers = [
                _peer(peer, workflow_id, own_namespace, namespace_of) for peer in rule.get(peers_key) or []
            ]
            ports = [_port(port) for port in rule.get("ports") or []]
            out.append({**({peers_key: peers} if peers else {}), **({"ports": ports} if ports else {})})
        return out

    return {
        "pod_selector": pod_selector,
        "policy_types": policy_types,
        "ingress": rules("ingressRules", "from"),
        "egress": rules("egressRules", "to"),
    }


def _peer(
    peer: Mapping[str, Any], workflow_id: str, own_namespace: str | None, namespace_of: NamespaceOf
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    linked = peer.get("_linkedWorkload")
    if linked:
        out["podSelector"] = {"matchLabels": select_node(workflow_id, str(linked))}
        namespace = namespace_of(str(linked))
        if peer.get("namespaceSelector"):
            out["namespaceSelector"] = {"matchLabels": dict(peer["namespaceSelector"])}
        elif namespace and namespace != own_namespace:
            out["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}
        return out
    kind = peer.get("type")
    if kind == "ipBlock":
        block = peer.get("ipBlock") or {}
        out["ipBlock"] = {"cidr": block.get("cidr")}
        if block.get("except"):
            out["ipBlock"]["except"] = list(block["except"])
        return out
    if kind == "podSelector" or peer.get("podSelector"):
        out["podSelector"] = _selector(peer.get("podSelector"))
    if kind == "namespaceSelector" or peer.get("namespaceSelector"):
        out["namespaceSelector"] = _selector(peer.get("namespaceSelector"))
    return out


def _selector(labels: Any) -> dict[str, Any]:
    return {"matchLabels": dict(labels)} if labels else {}


def _port(port: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"protocol": port.get("protocol") or "TCP"}
    if port.get("port") is not None:
        out["port"] = port["port"]
    return out
