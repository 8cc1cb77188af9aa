from typing import Any

from app.domain.canvas_check import check_canvas
from app.domain.edges import NODE_LABEL, derive_linked_fields
from app.domain.workflows import Canvas, Edge, Node
from tests.domain.builders import canvas, check, data_of, edge, node


def rechecked(result: Any, *, drop: str | None = None, **renames: str) -> Any:
    """The checked canvas checked again, without the edge ``drop`` and with nodes renamed."""
    nodes = tuple(
        Node(n.id, n.kind, n.position, {**n.data, "name": renames[n.id]} if n.id in renames else n.data)
        for n in result.canvas.nodes
    )
    edges = tuple(e for e in result.canvas.edges if e.id != drop)
    return check_canvas(Canvas(nodes, edges))


def test_removing_an_edge_removes_what_it_wrote() -> None:
    first = check(
        [
            node("s", "Service", port=80),
            node("d", "Deployment", image="x", port=8080),
            node("c", "ConfigMap"),
            node("i", "Ingress"),
            node("h", "hpa", maxReplicas=2),
            node("np", "NetworkPolicy", ingressRules=[{"id": "r"}]),
        ],
        [
            edge("e1", "s", "d"),
            edge("e2", "c", "d"),
            edge("e3", "i", "s"),
            edge("e4", "h", "d"),
            edge("e5", "np", "d"),
            edge("e6", "np", "d", "r"),
        ],
    )
    assert first.ok
    after = first
    for edge_id in ("e1", "e2", "e3", "e4", "e5", "e6"):
        after = rechecked(after, drop=edge_id)
    assert data_of(after, "s") == {"port": 80}
    assert data_of(after, "d") == {"image": "x", "port": 8080}
    assert data_of(after, "i") == {"paths": [{"id": "path-1", "path": "/", "pathType": "Prefix"}]}
    assert data_of(after, "h") == {"maxReplicas": 2}
    assert data_of(after, "np") == {"ingressRules": [{"id": "r"}]}


def test_renames_follow_into_linked_fields() -> None:
    first = check(
        [
            node("s", "Service", name="old-svc"),
            node("d", "Deployment", name="old", image="x"),
            node("i", "Ingress"),
            node("h", "hpa"),
            node("c", "ConfigMap", name="old-cfg"),
        ],
        [edge("e1", "s", "d"), edge("e2", "i", "s"), edge("e3", "h", "d"), edge("e4", "c", "d")],
    )
    after = rechecked(first, d="new", s="new-svc", c="new-cfg")
    assert data_of(after, "s")["targetApp"] == "new"
    assert data_of(after, "h")["scaleTargetName"] == "new"
    assert data_of(after, "i")["paths"][0]["serviceName"] == "new-svc"
    assert data_of(after, "d")["volumeMounts"][0]["name"] == "new-cfg"


def test_port_changes_follow_into_linked_fields() -> None:
    first = check(
        [node("i", "Ingress"), node("s", "Service", port=80), node("d", "Deployment", image="x", port=80)],
        [edge("e1", "i", "s"), edge("e2", "s", "d")],
    )
    nodes = tuple(
        Node(n.id, n.kind, n.position, {**n.data, "port": 9090}) if n.id in ("s", "d") else n
        for n in first.canvas.nodes
    )
    after = check_canvas(Canvas(nodes, first.canvas.edges))
    assert data_of(after, "s")["targetPort"] == 9090
    assert data_of(after, "i")["paths"][0]["servicePort"] == 9090


def test_stale_linked_values_from_a_client_are_replaced() -> None:
    result = check(
        [
            node("s", "Service", targetApp="ghost", targetPort=1, _linkedDeployment="ghost"),
            node(
                "d",
                "Deployment",
                image="x",
                name="web",
                volumeMounts=[{"type": "configMap", "name": "gone", "mountPath": "/gone", "nodeId": "gone"}],
                _linkedConfigMaps=["gone"],
            ),
        ],
        [edge("e", "s", "d")],
    )
    assert data_of(result, "s") == {"targetApp": "web", "_linkedDeployment": "d"}
    assert data_of(result, "d") == {"image": "x", "name": "web"}


def test_user_values_without_an_edge_are_kept() -> None:
    result = check(
        [
            node("s", "Service", targetPort=8080, selector={"app": "legacy"}),
            node("i", "Ingress", paths=[{"id": "p", "serviceName": "external", "servicePort": 443}]),
            node(
                "h",
                "hpa",
                scaleTargetKind="StatefulSet",
                scaleTargetName="db",
                maxReplicas=3,
                targetCPUUtilization=70,
            ),
            node("np", "NetworkPolicy", podSelector={"role": "db"}),
        ]
    )
    assert data_of(result, "s") == {"targetPort": 8080, "selector": {"app": "legacy"}}
    assert data_of(result, "i")["paths"] == [{"id": "p", "serviceName": "external", "servicePort": 443}]
    assert data_of(result, "h")["scaleTargetName"] == "db"
    assert data_of(result, "np") == {"podSelector": {"role": "db"}}


def test_an_edge_overrides_user_values_it_owns() -> None:
    result = check(
        [node("s", "Service", targetPort=1234), node("d", "Deployment", image="x")], [edge("e", "s", "d")]
    )
    assert "targetPort" not in data_of(result, "s")  # the workload has no port: the Service port is used
    result = check(
        [node("np", "NetworkPolicy", podSelector={"role": "x"}), node("d", "Job", image="x")],
        [edge("e", "np", "d")],
    )
    assert data_of(result, "np")["podSelector"] == {NODE_LABEL: "d"}


def test_a_customised_mount_path_is_kept() -> None:
    first = check(
        [node("d", "Deployment", image="x"), node("c", "ConfigMap"), node("p", "pvc", name="vol")],
        [edge("e1", "c", "d"), edge("e2", "p", "d")],
    )
    nodes = []
    for n in first.canvas.nodes:
        if n.id == "d":
            mounts = [dict(m) for m in n.data["volumeMounts"]]
            mounts[0]["mountPath"] = "/app/config"
            mounts[0]["subPath"] = "app.yaml"
            mounts[0]["readOnly"] = False  # not allowed for a ConfigMap: forced back
            mounts[1]["readOnly"] = True  # allowed for a claim: kept
            n = Node(n.id, n.kind, n.position, {**n.data, "volumeMounts": mounts})
        nodes.append(n)
    after = check_canvas(Canvas(tuple(nodes), first.canvas.edges))
    assert data_of(after, "d")["volumeMounts"] == [
        {
            "type": "configMap",
            "name": "c",
            "mountPath": "/app/config",
            "nodeId": "c",
            "readOnly": True,
            "subPath": "app.yaml",
        },
        {
            "type": "persistentVolumeClaim",
            "name": "vol",
            "mountPath": "/data/vol",
            "nodeId": "p",
            "readOnly": True,
        },
    ]


def test_a_mount_path_is_set_when_connecting_and_then_owned_by_the_workload() -> None:
    first = check(
        [node("d", "Deployment", image="x"), node("c", "ConfigMap", mountPath="/etc/a")],
        [edge("e", "c", "d")],
    )
    nodes = tuple(
        Node(n.id, n.kind, n.position, {**n.data, "mountPath": "/etc/b"}) if n.id == "c" else n
        for n in first.canvas.nodes
    )
    again = check_canvas(Canvas(nodes, first.canvas.edges))
    assert data_of(again, "d")["volumeMounts"][0]["mountPath"] == "/etc/a"
    reconnected = check_canvas(Canvas(nodes, (Edge("e2", "c", "d"),)))  # same source node: still kept
    assert data_of(reconnected, "d")["volumeMounts"][0]["mountPath"] == "/etc/a"


def test_derivation_does_not_change_its_input() -> None:
    nodes = (node("s", "Service"), node("d", "Deployment", image="x", port=80))
    before = [dict(n.data) for n in nodes]
    derive_linked_fields(nodes, (edge("e", "s", "d"),))
    assert [n.data for n in nodes] == before


def test_deriving_twice_changes_nothing() -> None:
    nodes = (
        node("i", "Ingress"),
        node("s", "Service"),
        node("d", "Deployment", image="x", port=80),
        node("c", "ConfigMap"),
        node("np", "NetworkPolicy", egressRules=[{"id": "r"}]),
    )
    edges = (edge("e1", "i", "s"), edge("e2", "s", "d"), edge("e3", "c", "d"), edge("e4", "np", "d", "r"))
    once = derive_linked_fields(nodes, edges)
    assert derive_linked_fields(once, edges) == once
    assert canvas(list(once), list(edges)).nodes == once


def test_a_matching_mount_without_node_id_is_taken_over_by_the_edge() -> None:
    reference_style = {
        "type": "persistentVolumeClaim",
        "name": "pgdata",
        "mountPath": "/var/lib/postgresql/data",
    }
    other = {"type": "secret", "name": "pgdata", "mountPath": "/other"}
    result = check(
        [
            node("db", "StatefulSet", image="postgres", volumeMounts=[reference_style, other]),
            node("p", "pvc", name="pgdata"),
        ],
        [edge("e", "p", "db")],
    )
    assert data_of(result, "db")["volumeMounts"] == [
        other,
        {**reference_style, "nodeId": "p", "readOnly": False},
    ]
    assert check_canvas(result.canvas).canvas == result.canvas
