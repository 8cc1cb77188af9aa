"""Service, Ingress, ConfigMap, PersistentVolumeClaim, HorizontalPodAutoscaler, NetworkPolicy and
Namespace render the fields the reference reads."""

from __future__ import annotations

from typing import Any

import pytest

from app.rendering import ManifestRenderer
from tests.rendering.canvases import edge, manifest, node, render


def service(renderer: ManifestRenderer, **data: Any) -> dict[str, Any]:
    bundle = render(renderer, [node("s", "Service", selector={"app": "x"}, **data)])
    spec: dict[str, Any] = manifest(bundle, "s")["spec"]
    return spec


def test_a_service_defaults_to_port_80_on_cluster_ip(renderer: ManifestRenderer) -> None:
    assert service(renderer) == {
        "type": "ClusterIP",
        "selector": {"app": "x"},
        "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}],
        "sessionAffinity": "None",
    }


def test_several_ports_with_node_ports_on_a_node_port_service(renderer: ManifestRenderer) -> None:
    spec = service(
        renderer,
        serviceType="NodePort",
        ports=[
            {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080},
            {"name": "dns", "port": 53, "protocol": "UDP"},
        ],
    )
    assert spec["ports"] == [
        {"port": 80, "targetPort": 8080, "protocol": "TCP", "name": "http", "nodePort": 30080},
        {"port": 53, "targetPort": 53, "protocol": "UDP", "name": "dns"},
    ]


def test_client_ip_affinity_keeps_clients_for_three_hours(renderer: ManifestRenderer) -> None:
    spec = service(renderer, sessionAffinity="ClientIP")
    assert spec["sessionAffinity"] == "ClientIP"
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_load_balancer_settings(renderer: ManifestRenderer) -> None:
    spec = service(
        renderer,
        serviceType="LoadBalancer",
        loadBalancerIP="192.0.2.1",
        loadBalancerSourceRanges=["10.0.0.0/8"],
        externalTrafficPolicy="Local",
    )
    assert spec["loadBalancerIP"] == "192.0.2.1"
    assert spec["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    assert spec["externalTrafficPolicy"] == "Local"


def test_settings_the_service_type_does_not_allow_are_left_out(renderer: ManifestRenderer) -> None:
    """Kubernetes refuses these on a ClusterIP Service; a form hides them, so a stale value is ignored."""
    spec = service(
        renderer,
        loadBalancerIP="192.0.2.1",
        loadBalancerSourceRanges=["10.0.0.0/8"],
        externalTrafficPolicy="Local",
        ports=[{"port": 80, "nodePort": 30080}],
    )
    assert not {"loadBalancerIP", "loadBalancerSourceRanges", "externalTrafficPolicy"} & spec.keys()
    assert "nodePort" not in spec["ports"][0]
    node_port = service(
        renderer, serviceType="NodePort", loadBalancerIP="192.0.2.1", externalTrafficPolicy="Local"
    )
    assert "loadBalancerIP" not in node_port
    assert node_port["externalTrafficPolicy"] == "Local"


def test_service_annotations(renderer: ManifestRenderer) -> None:
    bundle = render(renderer, [node("s", "Service", selector={"a": "b"}, annotations={"x.io/y": "z"})])
    assert manifest(bundle, "s")["metadata"]["annotations"] == {"x.io/y": "z"}


def test_an_ingress_routes_its_paths_and_serves_tls(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node(
                "i",
                "Ingress",
                host="app.example.com",
                paths=[{"id": "a", "path": "/"}, {"id": "b", "path": "/api", "pathType": "Exact"}],
                ingressClassName="nginx",
                tlsEnabled=True,
                tlsSecretName="app-tls",
            ),
            node("web", "Service", selector={"a": "b"}, port=8080),
            node("api", "Service", selector={"a": "c"}, ports=[{"name": "h", "port": 9000}]),
        ],
        [edge("e1", "i", "web", "a"), edge("e2", "i", "api", "b")],
    )
    assert manifest(bundle, "i")["spec"] == {
        "ingressClassName": "nginx",
        "tls": [{"secretName": "app-tls", "hosts": ["app.example.com"]}],
        "rules": [
            {
                "host": "app.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 8080}}},
                        },
                        {
                            "path": "/api",
                            "pathType": "Exact",
                            "backend": {"service": {"name": "api", "port": {"number": 9000}}},
                        },
                    ]
                },
            }
        ],
    }


def test_an_ingress_without_a_host_matches_every_host(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node("i", "Ingress", tlsEnabled=True, tlsSecretName="t", tlsHosts=["a.example.com"]),
            node("s", "Service", selector={"a": "b"}),
        ],
        [edge("e", "i", "s")],
    )
    spec = manifest(bundle, "i")["spec"]
    assert "host" not in spec["rules"][0]
    assert spec["tls"] == [{"secretName": "t", "hosts": ["a.example.com"]}]


def test_a_user_backend_without_an_edge_is_routed(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [node("i", "Ingress", paths=[{"id": "a", "path": "/", "serviceName": "outside", "servicePort": 81}])],
    )
    path = manifest(bundle, "i")["spec"]["rules"][0]["http"]["paths"][0]
    assert path["backend"] == {"service": {"name": "outside", "port": {"number": 81}}}


def test_config_map_data_is_text(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer, [node("c", "ConfigMap", data={"nginx.conf": "server {\n  listen 80;\n}\n", "n": "1"})]
    )
    assert manifest(bundle, "c")["data"] == {"nginx.conf": "server {\n  listen 80;\n}\n", "n": "1"}
    yaml_text = bundle.objects[0].yaml
    assert "nginx.conf: |\n    server {\n      listen 80;\n    }\n" in yaml_text
    empty = render(renderer, [node("c", "ConfigMap")])
    assert "data" not in manifest(empty, "c")


def test_a_claim(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node(
                "p",
                "PersistentVolumeClaim",
                storage="20Gi",
                storageClassName="gp3",
                accessModes=["ReadWriteMany"],
                volumeMode="Block",
            )
        ],
    )
    assert manifest(bundle, "p")["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": "gp3",
        "volumeMode": "Block",
        "resources": {"requests": {"storage": "20Gi"}},
    }


def test_an_autoscaler_with_one_metric_and_no_behavior(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node("h", "HorizontalPodAutoscaler", maxReplicas=4, targetMemoryUtilization=75),
            node("d", "Deployment", name="web", image="x"),
        ],
        [edge("e", "h", "d")],
    )
    assert manifest(bundle, "h")["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 4,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 75}},
            }
        ],
    }


def test_autoscaler_behavior_comes_from_the_stabilization_windows(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node(
                "h",
                "HorizontalPodAutoscaler",
                maxReplicas=4,
                targetCPUUtilization=50,
                scaleDownStabilization=60,
            ),
            node("d", "Deployment", image="x"),
        ],
        [edge("e", "h", "d")],
    )
    behavior = manifest(bundle, "h")["spec"]["behavior"]
    assert behavior == {
        "scaleDown": {
            "stabilizationWindowSeconds": 60,
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        }
    }


@pytest.mark.parametrize(
    ("data", "types"),
    [
        ({}, ["Ingress"]),
        ({"egressRules": [{"id": "r"}]}, ["Ingress", "Egress"]),
        ({"policyTypes": ["Egress"]}, ["Egress"]),
        ({"policyTypes": ["Ingress"], "egressRules": [{"id": "r"}]}, ["Ingress"]),
    ],
)
def test_policy_types_are_given_or_inferred(
    renderer: ManifestRenderer, data: dict[str, Any], types: list[str]
) -> None:
    bundle = render(renderer, [node("np", "NetworkPolicy", **data)])
    assert manifest(bundle, "np")["spec"]["policyTypes"] == types


def test_policy_rules_with_every_peer_type_and_ports(renderer: ManifestRenderer) -> None:
    rules = [
        {
            "id": "r",
            "from": [
                {
                    "id": "a",
                    "type": "podSelector",
                    "podSelector": {"role": "fe"},
                    "namespaceSelector": {"team": "x"},
                },
                {"id": "b", "type": "namespaceSelector"},
                {"id": "c", "type": "ipBlock", "ipBlock": {"cidr": "192.168.0.0/16"}},
            ],
            "ports": [{"port": 443}, {"protocol": "SCTP"}],
        },
        {"id": "open"},
    ]
    bundle = render(renderer, [node("np", "NetworkPolicy", ingressRules=rules)])
    assert manifest(bundle, "np")["spec"]["ingress"] == [
        {
            "from": [
                {
                    "podSelector": {"matchLabels": {"role": "fe"}},
                    "namespaceSelector": {"matchLabels": {"team": "x"}},
                },
                {"namespaceSelector": {}},
                {"ipBlock": {"cidr": "192.168.0.0/16"}},
            ],
            "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "SCTP"}],
        },
        {},
    ]


def test_a_namespace_has_labels_and_annotations(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer, [node("n", "Namespace", name="team-a", labels={"env": "dev"}, annotations={"a.io/b": "c"})]
    )
    obj = manifest(bundle, "n")
    assert obj["apiVersion"] == "v1"
    assert obj["metadata"]["name"] == "team-a"
    assert obj["metadata"]["labels"]["env"] == "dev"
    assert obj["metadata"]["annotations"] == {"a.io/b": "c"}
    assert set(obj) == {"apiVersion", "kind", "metadata"}
