"""The canvases the rendering tests share: a rich one (every kind, every field) and a minimal one
(required fields only), with the requests that render them."""

from __future__ import annotations

from typing import Any

from app.domain.workflows import Canvas, Edge, Node, Position
from app.rendering import ManifestRenderer, RenderedBundle, RenderRequest

WORKFLOW_ID = "wf-0123456789abcdef"
NAMESPACE = "shop"


def node(node_id: str, kind: str, **data: Any) -> Node:
    """A node at the origin with ``data`` given as keyword arguments."""
    return Node(node_id, kind, Position(0, 0), dict(data))


def edge(
    edge_id: str, source: str, target: str, handle: str | None = None, target_handle: str | None = None
) -> Edge:
    """An edge, optionally with a source and a target handle."""
    return Edge(edge_id, source, target, source_handle=handle, target_handle=target_handle)


def request(
    canvas: Canvas,
    secret_values: dict[str, dict[str, str]] | None = None,
    *,
    mask: bool = True,
    namespace: str = NAMESPACE,
    workflow_id: str = WORKFLOW_ID,
) -> RenderRequest:
    """A render request for ``canvas`` in the test workflow."""
    return RenderRequest(workflow_id, namespace, canvas, secret_values or {}, mask)


def _probe(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, **extra}


RICH_NODES: tuple[Node, ...] = (
    node(
        "extra-ns",
        "Namespace",
        name="shop-agents",
        labels={"team": "platform"},
        annotations={"owner": "ops@example.com"},
        templateId="core/namespace",
    ),
    node(
        "cfg",
        "ConfigMap",
        name="web-config",
        labels={"tier": "frontend"},
        annotations={"checksum": "abc"},
        data={"app.properties": "a=1\nb=2\n", "LOG_LEVEL": "debug", "WORKERS": "4"},
        mountPath="/etc/web",
    ),
    node("env-cfg", "ConfigMap", name="web-env", data={"MODE": "production", "DEBUG": "false"}),
    node(
        "db-secret",
        "Secret",
        name="db-creds",
        secretType="Opaque",
        keys=[
            {"id": "k1", "name": "DB_PASSWORD"},
            {"id": "k2", "name": "DB_USER"},
            {"id": "k3", "name": "API_TOKEN"},
        ],
        mountPath="/etc/db",
        labels={"tier": "data"},
    ),
    node(
        "tls",
        "Secret",
        name="web-tls",
        secretType="kubernetes.io/tls",
        keys=[{"id": "c", "name": "tls.crt"}, {"id": "k", "name": "tls.key"}],
    ),
    node("unset-secret", "Secret", name="not-yet", keys=[{"id": "t", "name": "TOKEN"}]),
    node(
        "data",
        "PersistentVolumeClaim",
        name="web-data",
        labels={"tier": "data"},
        storage="5Gi",
        storageClassName="fast-ssd",
        accessModes=["ReadWriteOnce", "ReadOnlyMany"],
        volumeMode="Filesystem",
    ),
    node(
        "web",
        "Deployment",
        name="web",
        labels={"tier": "frontend", "app.kubernetes.io/managed-by": "helm"},
        annotations={"deployment.kubernetes.io/note": "rich"},
        templateId="core/deployment",
        replicas=3,
        port=8080,
        image="ghcr.io/example/web:1.4.2",
        command=["/app/server"],
        args=["--port", "8080", "--log-level=debug"],
        workingDir="/app",
        tty=True,
        stdin=True,
        hostname="web-host",
        terminationGracePeriodSeconds=45,
        build={
            "context": "services/web",
            "dockerfile": "docker/Dockerfile.prod",
            "target": "runtime",
            "args": {"VERSION": "1.4.2"},
            "useNixpacks": False,
        },
        env=[{"name": "PORT", "value": "8080"}, {"name": "FEATURE_X", "value": "true"}],
        envFrom=[{"type": "secret", "name": "external-env", "prefix": "EXT_"}],
        resources={
            "requests": {"cpu": "250m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        volumeMounts=[
            {
                "type": "configMap",
                "name": "web-config",
                "mountPath": "/etc/web-extra",
                "subPath": "app.properties",
            },
            {"type": "secret", "name": "registry-auth", "mountPath": "/etc/registry"},
        ],
        livenessProbe=_probe(
            "httpGet",
            path="/healthz",
            port=8080,
            initialDelaySeconds=10,
            periodSeconds=20,
            timeoutSeconds=2,
            failureThreshold=5,
            successThreshold=1,
        ),
        readinessProbe=_probe("tcpSocket", port=8080, periodSeconds=5, successThreshold=2),
        startupProbe=_probe("exec", command=["cat", "/tmp/ready"], failureThreshold=30),
        securityContext={
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilitiesAdd": ["NET_BIND_SERVICE"],
            "capabilitiesDrop": ["ALL"],
        },
        serviceAccountName="web-sa",
        imagePullPolicy="IfNotPresent",
        nodeSelector={"kubernetes.io/os": "linux", "node.example.com/pool": "web"},
        tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 60,
            },
        ],
    ),
    node(
        "db",
        "StatefulSet",
        name="db",
        labels={"tier": "data"},
        replicas=2,
        port=5432,
        serviceName="db-headless",
        image="postgres:16",
        env=[{"name": "PGDATA", "value": "/data/pgdata/db"}],
        resources={"requests": {"cpu": "500m", "memory": "1Gi"}},
        volumeClaimTemplates=[
            {
                "name": "pgdata",
                "storage": "10Gi",
                "storageClassName": "fast-ssd",
                "accessModes": ["ReadWriteOnce"],
            }
        ],
        livenessProbe=_probe("exec", command=["pg_isready", "-U", "postgres"]),
        readinessProbe=_probe("tcpSocket", port=5432),
        securityContext={"runAsUser": 999, "runAsNonRoot": True},
        imagePullPolicy="Always",
    ),
    node(
        "agent",
        "DaemonSet",
        name="node-agent",
        namespace="shop-agents",
        port=9100,
        updateStrategy="RollingUpdate",
        maxUnavailable="10%",
        hostNetwork=True,
        hostPID=True,
        image="quay.io/prometheus/node-exporter:v1.8.2",
        args=["--path.rootfs=/host"],
        nodeSelector={"kubernetes.io/os": "linux"},
        tolerations=[{"operator": "Exists"}],
        securityContext={"privileged": True, "capabilitiesAdd": ["SYS_TIME"]},
        serviceAccountName="node-agent",
    ),
    node(
        "migrate",
        "Job",
        name="migrate",
        image="ghcr.io/example/web:1.4.2",
        command=["/app/migrate"],
        args=["up"],
        completions=1,
        parallelism=1,
        backoffLimit=2,
        activeDeadlineSeconds=600,
        ttlSecondsAfterFinished=3600,
        restartPolicy="OnFailure",
        env=[{"name": "DRY_RUN", "value": "0"}],
        resources={"limits": {"memory": "256Mi"}},
    ),
    node(
        "report",
        "CronJob",
        name="nightly-report",
        schedule="*/15 * * * *",
        concurrencyPolicy="Forbid",
        suspend=True,
        successfulJobsHistoryLimit=5,
        failedJobsHistoryLimit=2,
        startingDeadlineSeconds=120,
        completions=2,
        parallelism=2,
        backoffLimit=1,
        activeDeadlineSeconds=300,
        ttlSecondsAfterFinished=600,
        restartPolicy="Never",
        image="ghcr.io/example/report:2",
        command=["python", "-m", "report"],
        imagePullPolicy="Never",
    ),
    node(
        "web-svc",
        "Service",
        name="web",
        annotations={"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
        serviceType="LoadBalancer",
        port=80,
        sessionAffinity="ClientIP",
        loadBalancerIP="203.0.113.10",
        loadBalancerSourceRanges=["203.0.113.0/24", "198.51.100.0/24"],
        externalTrafficPolicy="Local",
    ),
    node(
        "db-svc",
        "Service",
        name="db",
        serviceType="NodePort",
        ports=[
            {"name": "pg", "protocol": "TCP", "port": 5432, "targetPort": 5432, "nodePort": 30432},
            {"name": "metrics", "protocol": "TCP", "port": 9187},
        ],
        externalTrafficPolicy="Cluster",
    ),
    node(
        "legacy-svc",
        "Service",
        name="legacy",
        selector={"app": "legacy"},
        port=8080,
        targetPort=80,
    ),
    node(
        "ing",
        "Ingress",
        name="shop.example.com",
        annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/"},
        host="shop.example.com",
        paths=[
            {"id": "p-root", "path": "/", "pathType": "Prefix"},
            {"id": "p-api", "path": "/api", "pathType": "Exact"},
        ],
        ingressClassName="nginx",
        tlsEnabled=True,
        tlsSecretName="web-tls",
        tlsHosts=["shop.example.com", "www.shop.example.com"],
    ),
    node(
        "hpa",
        "HorizontalPodAutoscaler",
        name="web",
        minReplicas=2,
        maxReplicas=10,
        targetCPUUtilization=70,
        targetMemoryUtilization=80,
        scaleDownStabilization=300,
        scaleUpStabilization=0,
    ),
    node(
        "np",
        "NetworkPolicy",
        name="web-and-db",
        policyTypes=["Ingress", "Egress"],
        ingressRules=[
            {
                "id": "from-ops",
                "from": [
                    {"id": "ops", "type": "namespaceSelector", "namespaceSelector": {"team": "ops"}},
                    {
                        "id": "office",
                        "type": "ipBlock",
                        "ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.5.0/24"]},
                    },
                ],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ],
        egressRules=[
            {
                "id": "to-dns",
                "to": [{"id": "dns", "type": "podSelector", "podSelector": {"k8s-app": "kube-dns"}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            },
            {"id": "anywhere"},
        ],
    ),
    node(
        "np-report",
        "NetworkPolicy",
        name="report-egress",
        egressRules=[{"id": "out", "ports": [{"port": 443}]}],
    ),
)

RICH_EDGES: tuple[Edge, ...] = (
    edge("e-cfg", "cfg", "web"),
    edge("e-env", "env-cfg", "web", target_handle="env"),
    edge("e-sec", "db-secret", "web", target_handle="env"),
    edge("e-pvc", "data", "web", target_handle="volume"),
    edge("e-db-sec", "db-secret", "db"),
    edge("e-job-sec", "db-secret", "migrate", target_handle="env"),
    edge("e-cron-cfg", "env-cfg", "report"),
    edge("e-svc", "web-svc", "web"),
    edge("e-db-svc", "db-svc", "db"),
    edge("e-ing-root", "ing", "web-svc", "p-root"),
    edge("e-ing-api", "ing", "legacy-svc", "p-api"),
    edge("e-hpa", "hpa", "web"),
    edge("e-np-web", "np", "web", "output"),
    edge("e-np-db", "np", "db", "output"),
    edge("e-np-peer", "np", "agent", "from-ops"),
    edge("e-np-report", "np-report", "report"),
)

RICH = Canvas(RICH_NODES, RICH_EDGES)

RICH_SECRETS: dict[str, dict[str, str]] = {
    "db-secret": {"DB_PASSWORD": "s3cr3t: {{ not jinja }}\n# not a comment", "DB_USER": "app"},
    "tls": {"tls.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "tls.key": "key"},
}

MINIMAL_NODES: tuple[Node, ...] = (
    node("space", "Namespace"),
    node("settings", "ConfigMap"),
    node("token", "Secret", keys=[{"id": "t", "name": "token"}]),
    node("claim", "PersistentVolumeClaim"),
    node("web", "Deployment", image="nginx"),
    node("db", "StatefulSet", image="postgres"),
    node("agent", "DaemonSet", image="busybox"),
    node("once", "Job", image="busybox"),
    node("tick", "CronJob", image="busybox", schedule="@hourly"),
    node("front", "Service"),
    node("entry", "Ingress"),
    node("scale", "HorizontalPodAutoscaler", maxReplicas=3, targetCPUUtilization=80),
    node("deny", "NetworkPolicy"),
)

MINIMAL_EDGES: tuple[Edge, ...] = (
    edge("e1", "front", "web"),
    edge("e2", "entry", "front"),
    edge("e3", "scale", "web"),
)

MINIMAL = Canvas(MINIMAL_NODES, MINIMAL_EDGES)

MINIMAL_SECRETS: dict[str, dict[str, str]] = {"token": {"token": "t0k3n"}}


def render(
    renderer: ManifestRenderer,
    nodes: list[Node],
    edges: list[Edge] | None = None,
    secret_values: dict[str, dict[str, str]] | None = None,
    **kw: Any,
) -> RenderedBundle:
    """The bundle of a canvas of ``nodes`` and ``edges``."""
    return renderer.render(request(Canvas(tuple(nodes), tuple(edges or ())), secret_values, **kw))


def manifest(bundle: RenderedBundle, node_id: str) -> dict[str, Any]:
    """The manifest rendered from node ``node_id``."""
    found = bundle.by_node(node_id)
    assert found is not None, f"nothing was rendered from node {node_id!r}"
    return found.manifest


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a workload manifest (through a CronJob's job template)."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    result: dict[str, Any] = spec["template"]["spec"]
    return result


def container(obj: dict[str, Any]) -> dict[str, Any]:
    """The one container of a workload manifest."""
    (only,) = pod_spec(obj)["containers"]
    result: dict[str, Any] = only
    return result
