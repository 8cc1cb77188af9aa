"""A tiny structural schema: enough of the OpenAPI list/map types to merge like structured-merge-diff.

Unknown dict fields are granular structs, unknown lists are atomic (as SMD's deduced schema). Known
associative lists (``x-kubernetes-list-type: map``) carry their key fields; ``set`` lists hold scalars;
atomic maps/structs (LabelSelector, Service ``selector``, ``nodeSelector``) are replaced whole.
``always`` marks Go non-pointer structs (present even when empty in a Go object), which matters for the
non-leaf entries (``.``) of Update-operation managed fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Node:
    kind: str  # "struct", "map", "atomic", "listmap", "set"
    fields: Mapping[str, Node] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    key_defaults: Mapping[str, Any] = field(default_factory=dict)
    item: Node | None = None
    always: bool = False

    def child(self, name: str) -> Node:
        if self.kind == "struct":
            return self.fields.get(name, GENERIC)
        if self.kind == "map":
            return self.item or ATOMIC
        return GENERIC

    def element(self) -> Node:
        return self.item or GENERIC


GENERIC = Node("struct")
ATOMIC = Node("atomic")
STRING_MAP = Node("map")
SET = Node("set")


def struct(*, always: bool = False, **fields: Node) -> Node:
    return Node("struct", fields=fields, always=always)


def listmap(
    *keys: str, item: Node = GENERIC, defaults: Mapping[str, Any] | None = None, always: bool = False
) -> Node:
    return Node("listmap", keys=keys, item=item, key_defaults=dict(defaults or {}), always=always)


CONDITIONS = listmap("type")

OBJECT_META = struct(
    always=True,
    labels=STRING_MAP,
    annotations=STRING_MAP,
    finalizers=SET,
    ownerReferences=listmap("uid"),
    managedFields=ATOMIC,
)

CONTAINER = struct(
    ports=listmap("containerPort", "protocol", defaults={"protocol": "TCP"}),
    env=listmap("name"),
    volumeMounts=listmap("mountPath"),
    volumeDevices=listmap("devicePath"),
    resizePolicy=listmap("resourceName"),
    resources=struct(always=True, limits=STRING_MAP, requests=STRING_MAP, claims=listmap("name")),
)

POD_SPEC = struct(
    always=True,
    containers=listmap("name", item=CONTAINER, always=True),
    initContainers=listmap("name", item=CONTAINER),
    ephemeralContainers=listmap("name", item=CONTAINER),
    volumes=listmap("name"),
    imagePullSecrets=listmap("name"),
    hostAliases=listmap("ip"),
    topologySpreadConstraints=listmap("topologyKey", "whenUnsatisfiable"),
    resourceClaims=listmap("name"),
    schedulingGates=listmap("name"),
    nodeSelector=ATOMIC,
)

POD_STATUS = struct(always=True, conditions=CONDITIONS, podIPs=listmap("ip"), hostIPs=listmap("ip"))

POD_TEMPLATE = struct(always=True, metadata=OBJECT_META, spec=POD_SPEC)

WORKLOAD_STATUS = struct(always=True, conditions=CONDITIONS)

JOB_SPEC = struct(always=True, selector=ATOMIC, template=POD_TEMPLATE)


def _object(spec: Node | None = None, status: Node | None = None, **extra: Node) -> Node:
    fields: dict[str, Node] = {"metadata": OBJECT_META}
    if spec is not None:
        fields["spec"] = spec
    if status is not None:
        fields["status"] = status
    fields.update(extra)
    return Node("struct", fields=fields, always=True)


SCHEMAS: dict[str, Node] = {
    "Pod": _object(POD_SPEC, POD_STATUS),
    "Deployment": _object(
        struct(always=True, selector=ATOMIC, template=POD_TEMPLATE, strategy=struct(always=True)),
        WORKLOAD_STATUS,
    ),
    "ReplicaSet": _object(struct(always=True, selector=ATOMIC, template=POD_TEMPLATE), WORKLOAD_STATUS),
    "StatefulSet": _object(
        struct(
            always=True,
            selector=ATOMIC,
            template=POD_TEMPLATE,
            volumeClaimTemplates=ATOMIC,
            updateStrategy=struct(always=True),
        ),
        WORKLOAD_STATUS,
    ),
    "DaemonSet": _object(
        struct(always=True, selector=ATOMIC, template=POD_TEMPLATE, updateStrategy=struct(always=True)),
        WORKLOAD_STATUS,
    ),
    "Job": _object(JOB_SPEC, WORKLOAD_STATUS),
    "CronJob": _object(
        struct(always=True, jobTemplate=struct(always=True, metadata=OBJECT_META, spec=JOB_SPEC)),
        struct(always=True, active=ATOMIC),
    ),
    "Service": _object(
        struct(
            always=True,
            ports=listmap("port", "protocol", defaults={"protocol": "TCP"}),
            selector=ATOMIC,
            clusterIPs=ATOMIC,
            ipFamilies=ATOMIC,
            externalIPs=ATOMIC,
        ),
        struct(always=True, conditions=CONDITIONS),
    ),
    "ConfigMap": _object(data=STRING_MAP, binaryData=STRING_MAP),
    "Secret": _object(data=STRING_MAP, stringData=STRING_MAP),
    "Namespace": _object(struct(always=True, finalizers=ATOMIC), struct(always=True, conditions=CONDITIONS)),
    "Node": _object(struct(always=True), struct(always=True, conditions=CONDITIONS, addresses=ATOMIC)),
    "PersistentVolumeClaim": _object(
        struct(always=True, resources=struct(always=True, requests=STRING_MAP, limits=STRING_MAP)),
        struct(always=True, conditions=CONDITIONS),
    ),
    "ServiceAccount": _object(secrets=listmap("name"), imagePullSecrets=ATOMIC),
    "Ingress": _object(struct(always=True), struct(always=True)),
    "NetworkPolicy": _object(struct(always=True, podSelector=ATOMIC)),
    "HorizontalPodAutoscaler": _object(struct(always=True), struct(always=True, conditions=CONDITIONS)),
    "Event": _object(),
}


def schema_for(kind: str) -> Node:
    return SCHEMAS.get(kind, _object(GENERIC, GENERIC))
