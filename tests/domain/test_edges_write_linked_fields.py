from app.domain.edges import (
    EDGE_RULES,
    NODE_LABEL,
    WORKLOAD_KINDS,
    allowed_targets,
    derive_linked_fields,
    edge_rule,
)
from tests.domain.builders import check, data_of, edge, node


def test_a_service_gets_the_workload_name_port_and_id() -> None:
    result = check(
        [node("s", "Service", port=80), node("d", "Deployment", name="web", image="x", port=8080)],
        [edge("e", "s", "d")],
    )
    assert data_of(result, "s") == {
        "port": 80,
        "targetApp": "web",
        "targetPort": 8080,
        "_linkedDeployment": "d",
    }


def test_an_unnamed_workload_is_named_by_its_node_id() -> None:
    result = check([node("s", "Service"), node("d", "DaemonSet", image="x")], [edge("e", "s", "d")])
    assert data_of(result, "s") == {"targetApp": "d", "_linkedDeployment": "d"}


def test_an_ingress_path_gets_the_service_name_and_port() -> None:
    result = check(
        [
            node("i", "Ingress", paths=[{"id": "a", "path": "/"}, {"id": "b", "path": "/api"}]),
            node("s", "Service", name="api", port=9000),
        ],
        [edge("e", "i", "s", "b")],
    )
    assert data_of(result, "i")["paths"] == [
        {"id": "a", "path": "/"},
        {"id": "b", "path": "/api", "serviceName": "api", "servicePort": 9000, "_linkedService": "s"},
    ]


def test_an_ingress_without_a_handle_uses_its_first_path() -> None:
    result = check(
        [node("i", "Ingress", paths=[{"id": "a", "path": "/x"}, {"id": "b"}]), node("s", "Service")],
        [edge("e", "i", "s")],
    )
    first = data_of(result, "i")["paths"][0]
    assert first == {"id": "a", "path": "/x", "serviceName": "s", "servicePort": 80, "_linkedService": "s"}


def test_an_ingress_without_paths_gets_a_default_path() -> None:
    result = check([node("i", "Ingress"), node("s", "Service", name="web")], [edge("e", "i", "s")])
    assert data_of(result, "i")["paths"] == [
        {
            "id": "path-1",
            "path": "/",
            "pathType": "Prefix",
            "serviceName": "web",
            "servicePort": 80,
            "_linkedService": "s",
        }
    ]


def test_the_service_port_comes_from_its_ports_list_when_port_is_unset() -> None:
    result = check(
        [node("i", "Ingress"), node("s", "Service", ports=[{"name": "h", "port": 8443}])],
        [edge("e", "i", "s")],
    )
    assert data_of(result, "i")["paths"][0]["servicePort"] == 8443


def test_an_autoscaler_gets_its_target() -> None:
    result = check(
        [node("h", "hpa", maxReplicas=3), node("d", "StatefulSet", name="db", image="x")],
        [edge("e", "h", "d")],
    )
    assert data_of(result, "h") == {
        "maxReplicas": 3,
        "scaleTargetKind": "StatefulSet",
        "scaleTargetName": "db",
        "_linkedTarget": "d",
    }


def test_config_maps_secrets_and_claims_are_mounted() -> None:
    result = check(
        [
            node("d", "Deployment", image="x"),
            node("c", "ConfigMap", name="cfg"),
            node("c2", "ConfigMap", name="extra", mountPath="/etc/extra"),
            node("s", "Secret", name="creds"),
            node("p", "PersistentVolumeClaim", name="data"),
        ],
        [edge("e1", "c", "d"), edge("e2", "c2", "d"), edge("e3", "s", "d"), edge("e4", "p", "d")],
    )
    data = data_of(result, "d")
    assert data["volumeMounts"] == [
        {"type": "configMap", "name": "cfg", "mountPath": "/etc/config", "nodeId": "c", "readOnly": True},
        {"type": "configMap", "name": "extra", "mountPath": "/etc/extra", "nodeId": "c2", "readOnly": True},
        {"type": "secret", "name": "creds", "mountPath": "/etc/secrets", "nodeId": "s", "readOnly": True},
        {
            "type": "persistentVolumeClaim",
            "name": "data",
            "mountPath": "/data/data",
            "nodeId": "p",
            "readOnly": False,
        },
    ]
    assert data["_linkedConfigMaps"] == ["c", "c2"]
    assert data["_linkedSecrets"] == ["s"]
    assert data["_linkedPVCs"] == ["p"]


def test_user_mounts_come_first_and_are_kept() -> None:
    own = {"type": "persistentVolumeClaim", "name": "scratch", "mountPath": "/scratch"}
    result = check(
        [node("j", "Job", image="x", volumeMounts=[own]), node("c", "ConfigMap")], [edge("e", "c", "j")]
    )
    mounts = data_of(result, "j")["volumeMounts"]
    assert mounts[0] == own
    assert mounts[1]["nodeId"] == "c"


def test_a_policy_with_one_output_workload_selects_it_by_node_label() -> None:
    result = check(
        [node("np", "NetworkPolicy"), node("d", "Deployment", image="x", name="web")],
        [edge("e", "np", "d", "output")],
    )
    assert data_of(result, "np") == {"podSelector": {NODE_LABEL: "d"}, "_linkedWorkloads": ["d"]}


def test_a_policy_with_several_output_workloads_lists_them_without_a_pod_selector() -> None:
    result = check(
        [
            node("np", "NetworkPolicy", podSelector={"stale": "x"}, _linkedWorkloads=["old"]),
            node("a", "Deployment", image="x"),
            node("b", "CronJob", image="y", schedule="@daily"),
        ],
        [edge("e1", "np", "a"), edge("e2", "np", "b", "output")],
    )
    assert data_of(result, "np") == {"_linkedWorkloads": ["a", "b"]}


def test_a_rule_handle_adds_the_workload_as_a_peer() -> None:
    result = check(
        [
            node(
                "np",
                "NetworkPolicy",
                policyTypes=["Ingress", "Egress"],
                ingressRules=[
                    {
                        "id": "in",
                        "from": [{"id": "mine", "type": "ipBlock", "ipBlock": {"cidr": "10.0.0.0/8"}}],
                    }
                ],
                egressRules=[{"id": "out", "ports": [{"port": 5432}]}],
            ),
            node("fe", "Deployment", image="x"),
            node("db", "StatefulSet", image="y"),
        ],
        [edge("e1", "np", "fe", "in"), edge("e2", "np", "db", "out")],
    )
    data = data_of(result, "np")
    assert data["ingressRules"][0]["from"] == [
        {"id": "mine", "type": "ipBlock", "ipBlock": {"cidr": "10.0.0.0/8"}},
        {
            "id": "linked-fe",
            "type": "podSelector",
            "podSelector": {NODE_LABEL: "fe"},
            "_linkedWorkload": "fe",
        },
    ]
    assert data["egressRules"][0]["to"] == [
        {
            "id": "linked-db",
            "type": "podSelector",
            "podSelector": {NODE_LABEL: "db"},
            "_linkedWorkload": "db",
        },
    ]
    assert "podSelector" not in data
    assert "_linkedWorkloads" not in data


def test_a_linked_peer_id_does_not_collide_with_a_user_peer() -> None:
    result = check(
        [
            node(
                "np",
                "NetworkPolicy",
                ingressRules=[{"id": "in", "from": [{"id": "linked-fe", "type": "podSelector"}]}],
            ),
            node("fe", "Deployment", image="x"),
        ],
        [edge("e1", "np", "fe", "in")],
    )
    assert [p["id"] for p in data_of(result, "np")["ingressRules"][0]["from"]] == ["linked-fe", "linked-fe-2"]


def test_allowed_targets_follow_the_table() -> None:
    assert allowed_targets("ConfigMap") == ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
    assert allowed_targets("Ingress") == ("Service",)
    assert allowed_targets("PersistentVolumeClaim") == ("Deployment", "StatefulSet")
    assert allowed_targets("Deployment") == ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
    assert allowed_targets("Namespace") == ()
    assert allowed_targets("Nonsense") == ()


def test_every_rule_is_described_and_handles_are_explained_where_they_mean_something() -> None:
    for rule in EDGE_RULES:
        assert rule.description
        assert (rule.handle is not None) == (
            rule.source_kind in ("Ingress", "NetworkPolicy", *WORKLOAD_KINDS)
        )
    assert edge_rule("Service", "Deployment") is not None
    assert edge_rule("Deployment", "Service") is None


def test_derivation_skips_edges_that_do_not_fit() -> None:
    nodes = (node("c", "ConfigMap"), node("s", "Service"))
    out = derive_linked_fields(nodes, (edge("e", "c", "s"), edge("f", "c", "ghost")))
    assert out == nodes
