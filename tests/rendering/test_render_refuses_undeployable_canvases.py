"""Before any template runs, everything a deployment needs is checked; problems come back together as
one Invalid whose field paths point into the request (nodes[i].data.<field>, edges[i], namespace…)."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import Invalid
from app.rendering import ManifestRenderer
from tests.rendering.canvases import edge, node, render


def problems(
    renderer: ManifestRenderer, nodes: list[Any], edges: list[Any] | None = None, **kw: Any
) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        render(renderer, nodes, edges, **kw)
    error = caught.value
    assert error.code == "BAD_INPUT"
    assert error.message.startswith("the workflow cannot be rendered: ")
    return {f.path: f.message for f in error.fields}


def test_a_missing_required_field_is_named(renderer: ManifestRenderer) -> None:
    found = problems(renderer, [node("cfg", "ConfigMap"), node("web", "Deployment", name="web")])
    assert list(found) == ["nodes[1].data.image"]
    assert "image is required" in found["nodes[1].data.image"]


def test_every_problem_is_listed_at_once(renderer: ManifestRenderer) -> None:
    found = problems(
        renderer,
        [
            node("web", "Deployment"),
            node("tick", "CronJob", image="x"),
            node("svc", "Service"),
            node("hpa", "HorizontalPodAutoscaler"),
        ],
    )
    assert {
        "nodes[0].data.image",
        "nodes[1].data.schedule",
        "nodes[2].data",
        "nodes[3].data.scaleTargetName",
        "nodes[3].data.maxReplicas",
        "nodes[3].data.targetCPUUtilization",
    } <= set(found)


def test_an_invalid_value_is_named(renderer: ManifestRenderer) -> None:
    found = problems(renderer, [node("web", "Deployment", image="x", replicas=-1)])
    assert list(found) == ["nodes[0].data.replicas"]


def test_a_node_id_that_cannot_name_the_object_asks_for_a_name(renderer: ManifestRenderer) -> None:
    found = problems(
        renderer, [node("Web_1", "Deployment", image="x"), node("svc.1", "Service", selector={"a": "b"})]
    )
    assert set(found) == {"nodes[0].data.name", "nodes[1].data.name"}
    assert "node id names the object" in found["nodes[0].data.name"]
    assert "set a name" in found["nodes[0].data.name"]
    assert "DNS-1035" in found["nodes[1].data.name"]


def test_a_cron_job_name_leaves_room_for_its_jobs(renderer: ManifestRenderer) -> None:
    found = problems(renderer, [node("c", "CronJob", name="c" * 53, image="x", schedule="@daily")])
    assert "at most 52" in found["nodes[0].data.name"]


def test_the_workflow_namespace_and_id_are_checked(renderer: ManifestRenderer) -> None:
    found = problems(renderer, [node("c", "ConfigMap")], namespace="Not_A_Namespace", workflow_id="bad id!")
    assert set(found) == {"namespace", "workflowId"}
    assert "DNS-1123" in found["namespace"]
    found = problems(renderer, [node("c", "ConfigMap")], namespace="")
    assert found == {"namespace": "a workflow needs a namespace"}


def test_two_objects_with_one_name_in_one_namespace_are_refused(renderer: ManifestRenderer) -> None:
    found = problems(
        renderer,
        [node("a", "ConfigMap", name="cfg"), node("b", "ConfigMap", name="cfg", namespace="shop")],
        namespace="shop",
    )
    assert found == {
        "nodes[1].data.name": "nodes[0] is also a ConfigMap named 'cfg' in namespace 'shop'; give each its own name"
    }
    ok = render(
        renderer, [node("a", "ConfigMap", name="cfg"), node("b", "ConfigMap", name="cfg", namespace="other")]
    )
    assert len(ok.objects) == 2


def test_an_edge_across_namespaces_is_refused(renderer: ManifestRenderer) -> None:
    found = problems(
        renderer,
        [node("svc", "Service", namespace="shop"), node("web", "Deployment", image="x")],
        [edge("e0", "svc", "web")],
        namespace="main",
    )
    assert list(found) == ["edges[0]"]
    assert "namespace 'shop'" in found["edges[0]"] and "'main'" in found["edges[0]"]


def test_a_dependency_may_cross_namespaces(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [node("db", "StatefulSet", image="postgres", namespace="data"), node("web", "Deployment", image="x")],
        [edge("e0", "db", "web")],
        namespace="main",
    )
    assert sorted((o.kind, o.namespace) for o in bundle.objects) == [
        ("Deployment", "main"),
        ("StatefulSet", "data"),
    ]


def test_an_ingress_must_route_somewhere(renderer: ManifestRenderer) -> None:
    assert list(problems(renderer, [node("i", "Ingress")])) == ["nodes[0].data.paths"]
    unrouted = problems(renderer, [node("i", "Ingress", paths=[{"id": "a", "path": "/"}])])
    assert "nodes[0].data.paths[0]" in unrouted


def test_a_claim_template_may_not_hide_a_mount(renderer: ManifestRenderer) -> None:
    found = problems(
        renderer,
        [
            node(
                "db",
                "StatefulSet",
                image="x",
                volumeMounts=[{"type": "persistentVolumeClaim", "name": "other", "mountPath": "/data/pg"}],
                volumeClaimTemplates=[{"name": "pg", "storage": "1Gi"}, {"name": "pg", "storage": "2Gi"}],
            )
        ],
    )
    assert set(found) == {
        "nodes[0].data.volumeClaimTemplates[0].name",
        "nodes[0].data.volumeClaimTemplates[1].name",
    }
    assert "volumeMounts[0] also uses" in found["nodes[0].data.volumeClaimTemplates[0].name"]


def test_an_ip_block_peer_needs_a_cidr(renderer: ManifestRenderer) -> None:
    found = problems(
        renderer,
        [node("np", "NetworkPolicy", egressRules=[{"id": "r", "to": [{"id": "p", "type": "ipBlock"}]}])],
    )
    assert list(found) == ["nodes[0].data.egressRules[0].to[0].ipBlock.cidr"]


def test_unknown_kinds_and_bad_edges_are_refused(renderer: ManifestRenderer) -> None:
    found = problems(
        renderer, [node("x", "Widget"), node("c", "ConfigMap"), node("s", "Service")], [edge("e", "c", "s")]
    )
    assert {"nodes[0].kind", "edges[0]"} <= set(found)
