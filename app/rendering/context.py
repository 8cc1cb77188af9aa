"""What each template sees: the node's completed data, its metadata, and the values computed across nodes.

Every template gets ``meta`` (``name``, ``namespace`` — ``None`` for cluster-scoped kinds —, ``labels``
with the Trellis labels, ``annotations``) and ``data`` (see :mod:`app.rendering.defaults`). Kinds that
need more get it here, computed in Python rather than in template logic:

* workloads: ``pod`` (pod-template ``labels``, ``selector``, ``container`` name, the ``pull_secrets``
  its pods name, and the parts of
  :func:`~app.rendering.pods.pod_parts`) and ``replicas`` (``None`` when an autoscaler owns it);
  StatefulSets also ``service_name`` (``serviceName``, else the StatefulSet's own name — never taken from
  a connected Service, since it cannot change once created) and ``claim_labels`` (only the three Trellis
  labels: claim templates cannot change either); DaemonSets ``max_unavailable`` (a number or a
  percentage, as Kubernetes wants it);
* Service: ``selector`` (the linked workload's pods, else the user's selector);
* HorizontalPodAutoscaler: ``target_api_version``;
* NetworkPolicy: ``policy`` (see :mod:`app.rendering.policies`);
* Secret: ``secret`` (see :mod:`app.rendering.secrets`); ``None`` means the node is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.kinds import KINDS, WORKLOAD_KINDS
from app.rendering.checks import Placed
from app.rendering.defaults import complete
from app.rendering.labels import object_labels, select_node
from app.rendering.pods import pod_parts
from app.rendering.policies import policy_parts
from app.rendering.secrets import secret_payload

WORKLOAD_API_VERSION = "apps/v1"
"""The apiVersion of the workloads an autoscaler can scale."""


@dataclass(frozen=True, slots=True)
class Scene:
    """What a node's context needs to know about the rest of the canvas and the request."""

    workflow_id: str
    placed: Mapping[str, Placed]
    secret_values: Mapping[str, Mapping[str, str]]
    mask_secrets: bool
    scaled: frozenset[str]
    """Ids of the workload nodes an autoscaler scales."""
    pull_secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Workload node id → the image pull Secrets its pods name."""

    @classmethod
    def of(
        cls,
        workflow_id: str,
        placed: tuple[Placed, ...],
        secret_values: Mapping[str, Mapping[str, str]],
        mask_secrets: bool,
        pull_secrets: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Scene:
        """The scene of ``placed`` nodes."""
        scaled = frozenset(
            str(p.node.data["_linkedTarget"])
            for p in placed
            if p.spec.kind == "HorizontalPodAutoscaler" and p.node.data.get("_linkedTarget")
        )
        nodes = {p.node.id: p for p in placed}
        return cls(workflow_id, nodes, secret_values, mask_secrets, scaled, pull_secrets or {})

    def namespace_of(self, node_id: str) -> str | None:
        """The namespace node ``node_id``'s object goes in (``None`` when unknown or cluster-scoped)."""
        item = self.placed.get(node_id)
        return item.namespace if item else None


def template_context(item: Placed, scene: Scene) -> dict[str, Any] | None:
    """The variables of ``item``'s template, or ``None`` when the node renders to nothing (a Secret with
    no value)."""
    data = complete(KINDS[item.spec.kind].fields, item.node.data)
    labels = object_labels(scene.workflow_id, item.node.id, data.get("labels"))
    context: dict[str, Any] = {
        "meta": {
            "name": item.name,
            "namespace": item.namespace,
            "labels": labels,
            "annotations": data.get("annotations") or {},
        },
        "data": data,
    }
    extra = _EXTRA.get(item.spec.kind)
    if extra is not None:
        more = extra(item, data, scene)
        if more is None:
            return None
        context.update(more)
    return context


def _workload(item: Placed, data: dict[str, Any], scene: Scene) -> dict[str, Any]:
    node_id = item.node.id
    pod = {
        "labels": object_labels(scene.workflow_id, node_id, data.get("labels")),
        "selector": select_node(scene.workflow_id, node_id),
        "container": item.name,
        "pull_secrets": list(scene.pull_secrets.get(node_id, ())),
        **pod_parts(data),
    }
    out: dict[str, Any] = {"pod": pod, "replicas": None if node_id in scene.scaled else data.get("replicas")}
    if item.spec.kind == "StatefulSet":
        out["service_name"] = data.get("serviceName") or item.name
        out["claim_labels"] = object_labels(scene.workflow_id, node_id)
    if item.spec.kind == "DaemonSet":
        out["max_unavailable"] = _int_or_percent(str(data.get("maxUnavailable") or "1"))
    return out


def _int_or_percent(value: str) -> int | str:
    """``"3"`` → 3 (Kubernetes reads a text IntOrString as a percentage), ``"25%"`` stays text."""
    return int(value) if value.isdigit() else value


def _service(_item: Placed, data: dict[str, Any], scene: Scene) -> dict[str, Any]:
    linked = data.get("_linkedDeployment")
    selector = select_node(scene.workflow_id, str(linked)) if linked else dict(data.get("selector") or {})
    return {"selector": selector}


def _autoscaler(_item: Placed, _data: dict[str, Any], _scene: Scene) -> dict[str, Any]:
    return {"target_api_version": WORKLOAD_API_VERSION}


def _network_policy(item: Placed, data: dict[str, Any], scene: Scene) -> dict[str, Any]:
    return {
        "policy": policy_parts(data, item.node.data, scene.workflow_id, item.namespace, scene.namespace_of)
    }


def _secret(item: Placed, data: dict[str, Any], scene: Scene) -> dict[str, Any] | None:
    payload = secret_payload(data, scene.secret_values.get(item.node.id), mask=scene.mask_secrets)
    return None if payload is None else {"secret": payload}


Extra = Callable[[Placed, dict[str, Any], Scene], "dict[str, Any] | None"]

_EXTRA: Mapping[str, Extra] = {
    **{kind: _workload for kind in WORKLOAD_KINDS},
    "Service": _service,
    "HorizontalPodAutoscaler": _autoscaler,
    "NetworkPolicy": _network_policy,
    "Secret": _secret,
}
