"""A corpus of canvases, tidy and messy, as clients (and the reference system's exports) send them."""

from __future__ import annotations

from app.domain.workflows import Canvas
from tests.domain.builders import canvas, edge, node

WEB_STACK = canvas(
    [
        node(
            "ing",
            "Ingress",
            0,
            0,
            name="shop",
            host="shop.example.com",
            paths=[{"id": "p-root", "path": "/"}, {"id": "p-api", "path": "/api", "pathType": "Prefix"}],
            ingressClassName="nginx",
            tlsEnabled=True,
            tlsSecretName="shop-tls",
        ),
        node("svc-web", "Service", 300, 0, name="web", port=80),
        node("svc-api", "Service", 300, 200, name="api", port=8080, serviceType="ClusterIP"),
        node(
            "web",
            "Deployment",
            600,
            0,
            name="web",
            image="ghcr.io/acme/web:1.2",
            replicas=2,
            port=3000,
            env=[{"name": "API_URL", "value": "http://api:8080"}],
            resources={
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"cpu": "1", "memory": "512Mi"},
            },
            readinessProbe={"type": "httpGet", "path": "/healthz", "port": 3000},
        ),
        node(
            "api",
            "Deployment",
            600,
            200,
            name="api",
            image="ghcr.io/acme/api:1.2",
            port=8080,
            livenessProbe={"type": "tcpSocket", "port": 8080, "initialDelaySeconds": 5},
        ),
        node("cfg", "ConfigMap", 0, 300, name="api-config", data={"app.yaml": "debug: false"}),
        node("sec", "Secret", 0, 400, name="api-secrets", keys=[{"id": "k1", "name": "DB_PASSWORD"}]),
        node("pvc", "PersistentVolumeClaim", 900, 200, name="uploads", storage="5Gi"),
        node("hpa", "HorizontalPodAutoscaler", 900, 0, name="web", maxReplicas=10, targetCPUUtilization=70),
        node(
            "np",
            "NetworkPolicy",
            300,
            400,
            name="api-in",
            policyTypes=["Ingress"],
            ingressRules=[{"id": "from-web"}],
        ),
    ],
    [
        edge("e1", "ing", "svc-web", "p-root"),
        edge("e2", "ing", "svc-api", "p-api"),
        edge("e3", "svc-web", "web"),
        edge("e4", "svc-api", "api"),
        edge("e5", "cfg", "api"),
        edge("e6", "sec", "api"),
        edge("e7", "pvc", "api"),
        edge("e8", "hpa", "web"),
        edge("e9", "np", "api", "output"),
        edge("e10", "np", "web", "from-web"),
    ],
)

# Shaped like the reference system's compose import: lower-case types, templateId, linked fields already set.
COMPOSE_IMPORT = canvas(
    [
        node(
            "postgres-config",
            "configmap",
            100,
            0,
            name="postgres-config",
            namespace="default",
            data={"POSTGRES_DB": "app"},
            mountPath="/etc/config",
        ),
        node(
            "postgres-secrets",
            "secret",
            100,
            200,
            name="postgres-secrets",
            namespace="default",
            keys=[{"id": "key-0", "name": "POSTGRES_PASSWORD"}],
        ),
        node(
            "pgdata",
            "persistentvolumeclaim",
            1000,
            0,
            name="pgdata",
            namespace="default",
            storage="10Gi",
            accessModes=["ReadWriteOnce"],
            storageClassName="",
            volumeMode="Filesystem",
        ),
        node(
            "postgres",
            "statefulset",
            700,
            0,
            name="postgres",
            namespace="default",
            image="postgres:16",
            replicas=1,
            port=5432,
            templateId="statefulset",
            serviceName="postgres",
            volumeMounts=[
                {
                    "type": "persistentVolumeClaim",
                    "name": "pgdata",
                    "mountPath": "/var/lib/postgresql/data",
                    "nodeId": "pgdata",
                }
            ],
            _linkedConfigMaps=["postgres-config"],
            _linkedSecrets=["postgres-secrets"],
            _linkedPVCs=["pgdata"],
            livenessProbe={
                "type": "exec",
                "command": ["pg_isready"],
                "initialDelaySeconds": 30,
                "periodSeconds": 10,
            },
        ),
        node(
            "postgres-svc",
            "service",
            400,
            0,
            name="postgres",
            namespace="default",
            serviceType="ClusterIP",
            port=5432,
            targetPort=5432,
            targetApp="postgres",
            _linkedDeployment="postgres",
        ),
    ],
    [
        edge("e-cm", "postgres-config", "postgres"),
        edge("e-sec", "postgres-secrets", "postgres"),
        edge("e-pvc", "pgdata", "postgres"),
        edge("e-svc", "postgres-svc", "postgres"),
    ],
)

BATCH = canvas(
    [
        node(
            "job",
            "job",
            name="migrate",
            image="acme/migrate:1",
            command=["./migrate"],
            args=["up"],
            backoffLimit="2",
            activeDeadlineSeconds=600,
            ttlSecondsAfterFinished=3600,
        ),
        node(
            "cron",
            "cronjob",
            name="nightly",
            image="acme/report:1",
            schedule="0 2 * * *",
            concurrencyPolicy="Forbid",
            suspend="false",
            successfulJobsHistoryLimit=1,
        ),
        node("env", "configmap", name="batch-env", data={"MODE": "batch"}, mountPath="/etc/batch"),
        node("creds", "secret", name="batch-creds", secretType="Opaque", keys=[{"id": "a", "name": "TOKEN"}]),
        node(
            "egress",
            "networkpolicy",
            name="batch-egress",
            policyTypes=["Egress"],
            egressRules=[
                {
                    "id": "dns",
                    "to": [
                        {
                            "id": "kube-dns",
                            "type": "namespaceSelector",
                            "namespaceSelector": {"kubernetes.io/metadata.name": "kube-system"},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}],
                }
            ],
        ),
    ],
    [
        edge("b1", "env", "job"),
        edge("b2", "env", "cron"),
        edge("b3", "creds", "cron"),
        edge("b4", "egress", "job"),
        edge("b5", "egress", "cron", "output"),
    ],
)

AGENTS = canvas(
    [
        node("ns", "Namespace", name="monitoring", labels={"team": "ops"}),
        node(
            "agent",
            "daemonset",
            name="node-agent",
            namespace="monitoring",
            image="acme/agent:2",
            updateStrategy="RollingUpdate",
            maxUnavailable="10%",
            hostNetwork=True,
            hostPID="true",
            nodeSelector={"kubernetes.io/os": "linux"},
            tolerations=[
                {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}
            ],
            securityContext={"privileged": True, "capabilitiesAdd": ["SYS_ADMIN"]},
        ),
        node(
            "agent-cfg", "configmap", name="agent.config", namespace="monitoring", data={"agent.yaml": "x: 1"}
        ),
        node("agent-svc", "service", name="agent-metrics", namespace="monitoring", port=9100),
    ],
    [edge("a1", "agent-cfg", "agent"), edge("a2", "agent-svc", "agent")],
)

MESSY_CLIENT = canvas(
    [
        node(
            "d1",
            "deployment",
            name="web",
            image=" nginx:1.27 ",
            replicas="3",
            port="80",
            env={"A": 1, "B": True},
            _status={"state": "running"},
            color="blue",
            imagePullPolicy="ifnotpresent",
            nodeSelector=None,
            volumeMounts=[{"type": "secret", "name": "stale", "mountPath": "/stale", "nodeId": "gone"}],
            _linkedSecrets=["gone"],
        ),
        node(
            "s1",
            "service",
            name="web",
            type="LoadBalancer",
            targetApp="old-name",
            targetPort=1,
            _linkedDeployment="d1",
            sessionAffinity="clientip",
        ),
        node("i1", "ingress", name="web", path="/", serviceName="stale", servicePort=1, _statusMessage="ok"),
        node(
            "h1",
            "hpa",
            name="web",
            maxReplicas="5",
            minReplicas="2",
            targetMemoryUtilization="80",
            scaleTargetName="stale",
            _linkedTarget="stale",
        ),
        node("n1", "networkpolicy", name="web", podSelector={"app": "stale"}, _linkedWorkloads=["gone"]),
    ],
    [edge("m1", "s1", "d1", ""), edge("m2", "i1", "s1"), edge("m3", "h1", "d1"), edge("m4", "n1", "d1")],
)

POLICY_FAN = canvas(
    [
        node(
            "np",
            "NetworkPolicy",
            name="shared",
            policyTypes=["Ingress", "Egress"],
            ingressRules=[{"id": "in", "ports": [{"port": 80}]}],
            egressRules=[{"id": "out"}],
        ),
        node("a", "Deployment", name="a", image="x"),
        node("b", "StatefulSet", name="b", image="y"),
        node("c", "DaemonSet", name="c", image="z"),
    ],
    [
        edge("p1", "np", "a"),
        edge("p2", "np", "b", "output"),
        edge("p3", "np", "c", "in"),
        edge("p4", "np", "a", "out"),
        edge("p5", "np", "b", "in"),
    ],
)

CUSTOM_MOUNTS = canvas(
    [
        node(
            "w",
            "Deployment",
            name="w",
            image="x",
            volumeMounts=[
                {"type": "persistentVolumeClaim", "name": "manual", "mountPath": "/manual"},
                {"type": "configMap", "name": "c", "mountPath": "/custom", "nodeId": "c", "subPath": "f"},
            ],
        ),
        node("c", "ConfigMap", name="c"),
        node("s", "Secret", name="s", mountPath="/run/secrets"),
    ],
    [edge("c1", "c", "w"), edge("c2", "s", "w")],
)

INGRESS_FAN = canvas(
    [
        node(
            "i",
            "Ingress",
            name="gw",
            paths=[{"path": "/a"}, {"path": "/b"}, {"id": "c", "path": "/c", "pathType": "exact"}],
        ),
        node(
            "sa", "Service", name="sa", ports=[{"name": "http", "port": 8080}, {"name": "grpc", "port": 9090}]
        ),
        node("sb", "Service", name="sb"),
        node("sc", "Service", name="sc", port=81),
    ],
    [edge("f1", "i", "sa", "path-1"), edge("f2", "i", "sb", "path-2"), edge("f3", "i", "sc", "c")],
)

EMPTY = Canvas()

CORPUS: dict[str, Canvas] = {
    "web_stack": WEB_STACK,
    "compose_import": COMPOSE_IMPORT,
    "batch": BATCH,
    "agents": AGENTS,
    "messy_client": MESSY_CLIENT,
    "policy_fan": POLICY_FAN,
    "custom_mounts": CUSTOM_MOUNTS,
    "ingress_fan": INGRESS_FAN,
    "empty": EMPTY,
}
