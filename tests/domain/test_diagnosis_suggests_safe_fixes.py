"""diagnose(): checks from node data and live health, with fixes as data changes."""

from __future__ import annotations

from app.domain.diagnosis import Verdict, apply_fix, diagnose, doubled_memory
from app.domain.health import Health, HealthStatus
from app.domain.workflows import Canvas, Node, Position

P = Position(0, 0)


def _canvas(*nodes: Node) -> Canvas:
    return Canvas(tuple(nodes))


def test_oom_killed_suggests_a_higher_memory_limit_and_the_fix_sets_it() -> None:
    web = Node(
        "web", "Deployment", P, {"name": "web", "image": "x", "resources": {"limits": {"memory": "256Mi"}}}
    )
    health = Health(HealthStatus.DEGRADED, "killed", {"reason": "OOMKilled", "memoryLimit": "256Mi"})
    diagnosis = diagnose(_canvas(web), "web", health, {"web": health})
    (check,) = diagnosis.checks
    assert check.verdict is Verdict.ERROR
    assert check.fix is not None
    assert check.fix.changes == {"resources.limits.memory": "512Mi"}
    fixed = apply_fix(web, check.fix)
    assert fixed.data["resources"]["limits"]["memory"] == "512Mi"
    assert web.data["resources"]["limits"]["memory"] == "256Mi"  # the original is untouched


def test_memory_is_doubled_sensibly() -> None:
    assert doubled_memory(None) == "512Mi"
    assert doubled_memory("1Gi") == "2048Mi"
    assert doubled_memory("64Mi") == "256Mi"
    assert doubled_memory("weird") == "512Mi"


def test_image_pull_failures_explain_without_a_fix() -> None:
    web = Node("web", "Deployment", P, {"name": "web", "image": "nginx:nope"})
    health = Health(HealthStatus.DEGRADED, "pull", {"reason": "ImagePullBackOff", "image": "nginx:nope"})
    (check,) = diagnose(_canvas(web), "web", health, {}).checks
    assert "nginx:nope" in check.message
    assert check.fix is None


def test_a_service_without_a_workload_has_no_endpoints() -> None:
    svc = Node("svc", "Service", P, {"name": "svc", "port": 80})
    (check,) = diagnose(_canvas(svc), "svc", None, {}).checks
    assert check.verdict is Verdict.ERROR


def test_a_service_whose_target_port_differs_gets_a_fix() -> None:
    web = Node("web", "Deployment", P, {"name": "web", "image": "x", "port": 8080})
    svc = Node(
        "svc", "Service", P, {"name": "svc", "port": 80, "targetPort": 9090, "_linkedDeployment": "web"}
    )
    unhealthy = Health(HealthStatus.PROGRESSING, "0 of 1 ready")
    checks = {c.name: c for c in diagnose(_canvas(web, svc), "svc", None, {"web": unhealthy}).checks}
    assert checks["targetPort"].fix is not None
    assert checks["targetPort"].fix.changes == {"targetPort": 8080}
    assert checks["endpoints"].verdict is Verdict.WARNING


def test_a_pending_claim_without_storage_class_warns() -> None:
    pvc = Node("data", "PersistentVolumeClaim", P, {"name": "data", "storage": "1Gi"})
    pending = Health(HealthStatus.PROGRESSING, "Pending")
    (check,) = diagnose(_canvas(pvc), "data", pending, {}).checks
    assert check.verdict is Verdict.WARNING


def test_a_healthy_node_passes() -> None:
    cfg = Node("cfg", "ConfigMap", P, {"name": "cfg"})
    (check,) = diagnose(_canvas(cfg), "cfg", Health(HealthStatus.HEALTHY, "exists"), {}).checks
    assert check.verdict is Verdict.PASS
