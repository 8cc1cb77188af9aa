"""Every object and pod template carries the three Trellis labels; selectors use the workflow and node
labels; namespaces come from the node, else the workflow."""

from __future__ import annotations

from typing import Any

from app.domain.labels import MANAGED_BY, NODE_LABEL, WORKFLOW_LABEL
from app.rendering import ManifestRenderer
from tests.rendering.canvases import (
    MINIMAL,
    MINIMAL_SECRETS,
    RICH,
    RICH_SECRETS,
    WORKFLOW_ID,
    edge,
    manifest,
    node,
    pod_spec,
    render,
    request,
)

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def trellis_labels(node_id: str) -> dict[str, str]:
    return {MANAGED_BY: "trellis", WORKFLOW_LABEL: WORKFLOW_ID, NODE_LABEL: node_id}


def templates_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Every template inside a workload whose objects the controllers create (job and pod templates)."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"], spec["jobTemplate"]["spec"]["template"]]
    found = [spec["template"]]
    found += spec.get("volumeClaimTemplates", [])
    return found


def test_every_object_and_every_template_carries_the_three_labels(renderer: ManifestRenderer) -> None:
    for canvas, secrets in ((RICH, RICH_SECRETS), (MINIMAL, MINIMAL_SECRETS)):
        for obj in renderer.render(request(canvas, secrets)).objects:
            expected = trellis_labels(obj.node_id)
            labels = obj.manifest["metadata"]["labels"]
            assert labels.items() >= expected.items(), obj.kind
            if obj.kind in WORKLOADS:
                for template in templates_of(obj.manifest):
                    assert template["metadata"]["labels"].items() >= expected.items(), obj.kind


def test_user_labels_are_merged_but_never_override_trellis_labels(renderer: ManifestRenderer) -> None:
    labels = {"tier": "web", MANAGED_BY: "helm", WORKFLOW_LABEL: "other", NODE_LABEL: "other"}
    bundle = render(renderer, [node("web", "Deployment", image="x", labels=labels)])
    web = manifest(bundle, "web")
    assert web["metadata"]["labels"] == {"tier": "web", **trellis_labels("web")}
    assert web["spec"]["template"]["metadata"]["labels"] == {"tier": "web", **trellis_labels("web")}


def test_workload_selectors_use_the_workflow_and_node_labels(renderer: ManifestRenderer) -> None:
    bundle = renderer.render(request(RICH, RICH_SECRETS))
    for obj in bundle.objects:
        if obj.kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        selector = obj.manifest["spec"]["selector"]
        assert selector == {"matchLabels": {WORKFLOW_LABEL: WORKFLOW_ID, NODE_LABEL: obj.node_id}}
        assert (
            obj.manifest["spec"]["template"]["metadata"]["labels"].items() >= selector["matchLabels"].items()
        )
        assert "app" not in selector["matchLabels"]


def test_selectors_do_not_change_with_user_labels_or_names(renderer: ManifestRenderer) -> None:
    first = manifest(render(renderer, [node("web", "Deployment", image="x", name="a")]), "web")
    second = manifest(
        render(renderer, [node("web", "Deployment", image="x", name="b", labels={"v": "2"})]), "web"
    )
    assert first["spec"]["selector"] == second["spec"]["selector"]


def test_a_linked_service_selects_the_workload_pods(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node("svc", "Service", name="front"),
            node("web", "Deployment", name="backend", image="x", port=9000),
        ],
        [edge("e", "svc", "web")],
    )
    svc = manifest(bundle, "svc")
    assert svc["spec"]["selector"] == {WORKFLOW_LABEL: WORKFLOW_ID, NODE_LABEL: "web"}
    assert svc["spec"]["ports"] == [{"port": 80, "targetPort": 9000, "protocol": "TCP"}]
    pods = manifest(bundle, "web")["spec"]["template"]["metadata"]["labels"]
    assert pods.items() >= svc["spec"]["selector"].items()


def test_a_service_without_a_link_uses_its_own_selector(renderer: ManifestRenderer) -> None:
    bundle = render(renderer, [node("svc", "Service", selector={"app": "legacy", "tier": "web"})])
    assert manifest(bundle, "svc")["spec"]["selector"] == {"app": "legacy", "tier": "web"}


def test_a_policy_with_one_workload_selects_its_pods(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [node("np", "NetworkPolicy"), node("web", "Deployment", image="x")],
        [edge("e", "np", "web", "output")],
    )
    spec = manifest(bundle, "np")["spec"]
    assert spec["podSelector"] == {"matchLabels": {WORKFLOW_LABEL: WORKFLOW_ID, NODE_LABEL: "web"}}


def test_a_policy_with_several_workloads_selects_them_with_an_expression(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node("np", "NetworkPolicy"),
            node("web", "Deployment", image="x"),
            node("db", "StatefulSet", image="y"),
            node("agent", "DaemonSet", image="z"),
        ],
        [edge("e1", "np", "web"), edge("e2", "np", "db", "output"), edge("e3", "np", "agent")],
    )
    assert manifest(bundle, "np")["spec"]["podSelector"] == {
        "matchLabels": {WORKFLOW_LABEL: WORKFLOW_ID},
        "matchExpressions": [{"key": NODE_LABEL, "operator": "In", "values": ["web", "db", "agent"]}],
    }


def test_a_policy_without_workloads_uses_its_own_pod_selector(renderer: ManifestRenderer) -> None:
    own = render(renderer, [node("np", "NetworkPolicy", podSelector={"role": "db"})])
    assert manifest(own, "np")["spec"]["podSelector"] == {"matchLabels": {"role": "db"}}
    everything = render(renderer, [node("np", "NetworkPolicy")])
    assert manifest(everything, "np")["spec"]["podSelector"] == {}


def test_rule_peers_linked_to_workloads_select_their_pods(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node("np", "NetworkPolicy", ingressRules=[{"id": "in"}], egressRules=[{"id": "out"}]),
            node("web", "Deployment", image="x"),
            node("api", "Deployment", image="y"),
            node("agent", "DaemonSet", image="z", namespace="agents"),
        ],
        [edge("e1", "np", "web", "in"), edge("e2", "np", "api", "out"), edge("e3", "np", "agent", "in")],
    )
    spec = manifest(bundle, "np")["spec"]
    assert spec["ingress"] == [
        {
            "from": [
                {"podSelector": {"matchLabels": {WORKFLOW_LABEL: WORKFLOW_ID, NODE_LABEL: "web"}}},
                {
                    "podSelector": {"matchLabels": {WORKFLOW_LABEL: WORKFLOW_ID, NODE_LABEL: "agent"}},
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "agents"}},
                },
            ]
        }
    ]
    assert spec["egress"] == [
        {"to": [{"podSelector": {"matchLabels": {WORKFLOW_LABEL: WORKFLOW_ID, NODE_LABEL: "api"}}}]}
    ]
    assert spec["policyTypes"] == ["Ingress", "Egress"]


def test_the_autoscaler_targets_the_workload_by_name_and_owns_its_replicas(
    renderer: ManifestRenderer,
) -> None:
    bundle = render(
        renderer,
        [
            node("hpa", "HorizontalPodAutoscaler", maxReplicas=5, targetCPUUtilization=60),
            node("db", "StatefulSet", name="postgres", image="x", replicas=3),
            node("web", "Deployment", image="x", replicas=3),
        ],
        [edge("e", "hpa", "db")],
    )
    target = manifest(bundle, "hpa")["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "postgres"}
    assert "replicas" not in manifest(bundle, "db")["spec"]
    assert manifest(bundle, "web")["spec"]["replicas"] == 3


def test_a_node_namespace_overrides_the_workflow_namespace(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node("a", "ConfigMap"),
            node("b", "ConfigMap", namespace="other"),
            node("ns", "Namespace", name="other"),
        ],
        namespace="main",
    )
    first = bundle.by_node("a")
    assert first is not None and first.namespace == "main"
    assert manifest(bundle, "a")["metadata"]["namespace"] == "main"
    assert manifest(bundle, "b")["metadata"]["namespace"] == "other"
    namespace = bundle.by_node("ns")
    assert namespace is not None and namespace.namespace is None
    assert "namespace" not in namespace.manifest["metadata"]
    assert bundle.objects[0].kind == "Namespace"


def test_pod_templates_of_jobs_are_labelled_too(renderer: ManifestRenderer) -> None:
    bundle = render(
        renderer,
        [
            node("once", "Job", image="x", labels={"k": "v"}),
            node("tick", "CronJob", image="x", schedule="@daily"),
        ],
    )
    assert pod_spec(manifest(bundle, "once"))["restartPolicy"] == "Never"
    assert pod_spec(manifest(bundle, "tick"))["restartPolicy"] == "OnFailure"
    once = manifest(bundle, "once")
    assert once["spec"]["template"]["metadata"]["labels"] == {"k": "v", **trellis_labels("once")}
    assert "selector" not in once["spec"]  # Kubernetes generates a Job's selector
