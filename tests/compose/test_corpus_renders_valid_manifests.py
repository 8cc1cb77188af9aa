"""Every project of the real-world corpus, analysed in place, renders with the real renderer to manifests
valid for Kubernetes; for a handful, the nodes and edges are exactly what they should be."""

from typing import Any

import jsonschema
import pytest

from app.compose import ComposeAnalysis, analyze
from app.domain.workflows import Node
from app.rendering import RenderRequest
from tests.compose.kube_validation import validate_strictly
from tests.compose.test_corpus_analyses_cleanly import CORPUS, project_files
from tests.compose.translated import NAMESPACE, WORKFLOW_ID, renderer

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the compose corpus is not at {CORPUS}")

PROJECTS = (
    sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*") if p.is_dir())
    if CORPUS.is_dir()
    else []
)


def _analysed(name: str) -> ComposeAnalysis:
    folder = CORPUS / name
    compose = sorted(
        f for f in folder.iterdir() if f.suffix in (".yaml", ".yml") and not f.name.startswith("output")
    )
    project = project_files(folder)
    result = analyze([f.read_text() for f in compose], env_text=project.read(".env"), project=project)
    assert result.errors == ()
    return result


def test_the_validation_catches_an_unknown_field() -> None:
    broken = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "datas": {}}
    with pytest.raises(jsonschema.ValidationError):
        validate_strictly(broken)


@pytest.mark.parametrize("name", PROJECTS)
def test_every_manifest_is_valid_for_kubernetes(name: str) -> None:
    result = _analysed(name)
    bundle = renderer().render(
        RenderRequest(WORKFLOW_ID, NAMESPACE, result.canvas, result.secret_values, mask_secrets=False)
    )
    assert {o.node_id for o in bundle.objects} | {node for node, _ in bundle.skipped} == {
        n.id for n in result.canvas.nodes
    }
    for obj in bundle.objects:
        validate_strictly(obj.manifest)


# --- exact translations ---------------------------------------------------------------------------------


def _shape(node: Node) -> tuple[str, str]:
    return node.kind, str(node.data["name"])


def _nodes(result: ComposeAnalysis) -> dict[str, tuple[str, str]]:
    return {n.id: _shape(n) for n in result.canvas.nodes}


def _edges(result: ComposeAnalysis) -> set[tuple[str, str, str | None, str | None]]:
    return {(e.source, e.target, e.source_handle, e.target_handle) for e in result.canvas.edges}


def _data(result: ComposeAnalysis, node_id: str) -> dict[str, Any]:
    return next(n.data for n in result.canvas.nodes if n.id == node_id)


def _mounts(data: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    return {(m["name"], m["mountPath"], m.get("subPath")) for m in data.get("volumeMounts", [])}


def test_nginx_golang_postgres() -> None:
    """Build without image, a secret file mounted in two services, a healthy dependency, a single-file
    bind mount, a named volume."""
    result = _analysed("awesome-compose/nginx-golang-postgres")
    assert _nodes(result) == {
        "secret-db-password": ("Secret", "db-password"),
        "backend": ("Deployment", "backend"),
        "backend-svc": ("Service", "backend"),  # proxy/nginx.conf proxies to backend:8000
        "db-svc": ("Service", "db"),
        "db-config": ("ConfigMap", "db-config"),
        "pvc-db-data": ("PersistentVolumeClaim", "db-data"),
        "db": ("StatefulSet", "db"),
        "proxy-svc": ("Service", "proxy"),
        "proxy-files": ("ConfigMap", "proxy-files"),
        "proxy": ("Deployment", "proxy"),
    }
    assert _edges(result) == {
        ("secret-db-password", "backend", None, None),
        ("secret-db-password", "db", None, None),
        ("db-svc", "db", None, None),
        ("db-config", "db", None, "env"),
        ("pvc-db-data", "db", None, None),
        ("backend-svc", "backend", None, None),
        ("proxy-svc", "proxy", None, None),
        ("proxy-files", "proxy", None, None),
        ("db", "backend", "healthy", None),
        ("backend", "proxy", "started", None),
    }
    backend, db, proxy = (_data(result, n) for n in ("backend", "db", "proxy"))
    assert backend["image"] == "backend:latest"
    assert backend["build"] == {
        "context": "backend",
        "dockerfile": "Dockerfile",
        "target": "builder",
        "args": {},
        "useNixpacks": False,
    }
    assert _mounts(backend) == {("db-password", "/run/secrets/db-password", "db-password")}
    assert result.secret_values == {"secret-db-password": {"db-password": _password()}}
    assert _data(result, "db-config")["data"] == {
        "POSTGRES_DB": "example",
        "POSTGRES_PASSWORD_FILE": "/run/secrets/db-password",
    }
    assert _mounts(db) == {
        ("db-data", "/var/lib/postgresql/data", None),
        ("db-password", "/run/secrets/db-password", "db-password"),
    }
    assert db["readinessProbe"]["command"] == ["pg_isready"]
    assert _mounts(proxy) == {("proxy-files", "/etc/nginx/conf.d/default.conf", "nginx.conf")}
    assert "proxy_pass          http://backend:8000;" in _data(result, "proxy-files")["data"]["nginx.conf"]
    assert [w.code for w in result.warnings] == [
        "BUILD_CONTEXT_MISSING",
        "BUILD_WITHOUT_IMAGE",
        "PORTS_INFERRED",
        "USER_NOT_NUMERIC",
    ]
    assert _data(result, "backend-svc")["port"] == 8000


def _password() -> str:
    return (CORPUS / "awesome-compose/nginx-golang-postgres/db/password.txt").read_text()


def test_n8n_postgres_worker() -> None:
    """Anchors and merge keys, healthy dependencies inherited from an anchor and overridden by a plain
    list, a volume shared by two services."""
    result = _analysed("stacks/n8n-postgres-worker")
    workloads = {k: v for k, v in _nodes(result).items() if v[0] in ("Deployment", "StatefulSet", "Job")}
    assert workloads == {
        "postgres": ("StatefulSet", "postgres"),
        "redis": ("StatefulSet", "redis"),
        "n8n": ("StatefulSet", "n8n"),
        "n8n-runner": ("Deployment", "n8n-runner"),
        "n8n-worker": ("StatefulSet", "n8n-worker"),
        "n8n-worker-runner": ("Deployment", "n8n-worker-runner"),
    }
    assert sorted(v for v in _nodes(result).values() if v[0] == "PersistentVolumeClaim") == [
        ("PersistentVolumeClaim", "db-storage"),
        ("PersistentVolumeClaim", "n8n-storage"),
        ("PersistentVolumeClaim", "redis-storage"),
    ]
    assert {e for e in _edges(result) if e[2] is not None} == {
        ("redis", "n8n", "healthy", None),
        ("postgres", "n8n", "healthy", None),
        ("n8n", "n8n-runner", "started", None),
        ("n8n", "n8n-worker", "started", None),
        ("n8n-worker", "n8n-worker-runner", "started", None),
    }
    assert ("pvc-n8n-storage", "n8n", None, None) in _edges(result)
    assert ("pvc-n8n-storage", "n8n-worker", None, None) in _edges(result)
    assert _data(result, "n8n-worker")["args"] == ["worker"]
    assert sorted(result.secret_values["postgres-secret"]) == [
        "POSTGRES_NON_ROOT_PASSWORD",
        "POSTGRES_PASSWORD",
    ]
    assert [(w.code, w.field) for w in result.warnings] == [
        ("PORTS_INFERRED", "services.postgres"),
        ("BIND_MOUNT_NOT_SUPPORTED", "services.postgres.volumes[1]"),
        ("PORTS_INFERRED", "services.redis"),
        ("PORTS_INFERRED", "services.n8n-worker"),
        ("VOLUME_SHARED", "volumes.n8n_storage"),
    ]


def test_kompose_configmap_file_configs() -> None:
    """Single files bind-mounted (one nested, one read-write) in one ConfigMap, each at its target; the
    certificates (by name, ``*.pem``) in a Secret instead, the bind-mounted ``/certs`` folder's too."""
    result = _analysed("kompose/configmap-file-configs")
    assert _nodes(result) == {
        "busy-svc": ("Service", "busy"),
        "busy-files-secret": ("Secret", "busy-files-secret"),
        "busy-files": ("ConfigMap", "busy-files"),
        "busy": ("Deployment", "busy"),
    }
    assert _edges(result) == {
        ("busy-svc", "busy", None, None),
        ("busy-files", "busy", None, None),
        ("busy-files-secret", "busy", None, None),
    }
    assert _data(result, "busy-files")["data"] == {
        "auth.txt": "content from file auth.txt\n",
        "users.php": "content from file users.php\n",
    }
    assert [k["name"] for k in _data(result, "busy-files-secret")["keys"]] == ["cert1.pem", "cert2.pem"]
    assert result.secret_values == {
        "busy-files-secret": {
            "cert1.pem": "content of file cert1.pem\n",
            "cert2.pem": "content from file cert2.pem",
        }
    }
    assert _mounts(_data(result, "busy")) == {
        ("busy-files-secret", "/certs/cert1.pem", "cert1.pem"),
        ("busy-files-secret", "/certs/cert2.pem", "cert2.pem"),
        ("busy-files", "/auth.txt", "auth.txt"),
        ("busy-files", "/users.php", "users.php"),
    }
    assert [p["port"] for p in _data(result, "busy-svc")["ports"]] == [8080, 8025]
    assert result.warnings == ()


def test_prometheus_grafana_config_folders() -> None:
    """Read-write folders bound where configuration lives (``/etc/...``): each file mounted at its path
    from the service's ConfigMap of files."""
    result = _analysed("awesome-compose/prometheus-grafana")
    nodes = _nodes(result)
    assert nodes["prometheus-files"] == ("ConfigMap", "prometheus-files")
    assert nodes["grafana-files"] == ("ConfigMap", "grafana-files")
    assert {("prometheus-files", "prometheus", None, None), ("grafana-files", "grafana", None, None)} <= (
        _edges(result)
    )
    assert list(_data(result, "prometheus-files")["data"]) == ["prometheus.yml"]
    assert "url: http://prometheus:9090" in _data(result, "grafana-files")["data"]["datasource.yml"]
    assert ("prometheus-files", "/etc/prometheus/prometheus.yml", "prometheus.yml") in _mounts(
        _data(result, "prometheus")
    )
    assert _mounts(_data(result, "grafana")) == {
        ("grafana-files", "/etc/grafana/provisioning/datasources/datasource.yml", "datasource.yml")
    }
    assert result.warnings == ()


def test_compose_go_full_example_configs_and_secrets() -> None:
    """Configs and secrets from files missing upstream (placeholders, warned), external ones mounted by
    name, custom targets, build with image."""
    result = _analysed("stacks/compose-go-full-example")
    nodes = _nodes(result)
    assert nodes["config-config1"] == ("ConfigMap", "config1")
    assert nodes["secret-secret1"] == ("Secret", "secret1")
    assert not any(
        kind in ("ConfigMap", "Secret") and name.startswith("my-") for kind, name in nodes.values()
    )
    assert _data(result, "config-config1")["data"] == {"config1": ""}
    assert "secret-secret1" not in result.secret_values
    assert _mounts(_data(result, "foo")) == {
        ("my-config", "/my_config", "config2"),
        ("my-secret", "/run/secrets/my_secret", "secret2"),
        ("datavolume", "/var/lib/volume", None),
        ("config1", "/config1", "config1"),
        ("secret1", "/run/secrets/secret1", "secret1"),
    }
    assert ("config-config1", "foo", None, None) in _edges(result)
    assert ("secret-secret1", "foo", None, None) in _edges(result)
    foo = _data(result, "foo")
    assert (foo["image"], foo["build"]["context"], foo["build"]["target"]) == ("redis", "dir", "foo")
    assert (foo["workingDir"], foo["hostname"], foo["terminationGracePeriodSeconds"]) == ("/code", "foo", 20)
    codes = [w.code for w in result.warnings]
    for code in ("CONFIG_EXTERNAL", "SECRET_EXTERNAL", "FILE_CONTENT_MISSING", "FILE_OWNER_NOT_TRANSLATED"):
        assert code in codes
