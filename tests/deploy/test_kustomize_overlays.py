"""deploy/: the base and both overlays render (with our small renderer, and the same as `kubectl kustomize`
where that exists), every object fits the Kubernetes schemas, RBAC is the least in-cluster mode needs,
probes hit the real routes, the pods run locked down, settings are real TRELLIS_* names."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from app.kube.watching.kinds import EVENT_KIND, NODE_KINDS, WORKLOAD_CHILD_KINDS
from app.settings import Settings
from tests.compose.kube_validation import validate_strictly
from tests.deploy.kustomize import SUPPORTED, UnsupportedKustomization, check_subset, render

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BASE = DEPLOY / "base"
OVERLAYS = {"single-replica": DEPLOY / "overlays" / "single-replica", "ha": DEPLOY / "overlays" / "ha"}
FOLDERS = {"base": BASE, **OVERLAYS}
SETTING_NAMES = {f"TRELLIS_{name.upper()}" for name in Settings.model_fields}
WRITE = {"get", "list", "watch", "create", "patch", "delete"}
READ = {"get", "list", "watch"}
PLURALS = {"NetworkPolicy": "networkpolicies", "Ingress": "ingresses"}

Obj = dict[str, Any]


def _one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def _server(objects: list[Obj]) -> Obj:
    return _one(objects, "Deployment", "trellis")


def _pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def _resource(kind: str) -> str:
    return PLURALS.get(kind, kind.lower() + "s")


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def test_every_kustomization_stays_inside_what_the_renderer_supports(tmp_path: Path) -> None:
    folders = sorted(path.parent for path in DEPLOY.rglob("kustomization.yaml"))
    assert folders == sorted(FOLDERS.values())
    for folder in folders:
        check_subset(folder)
    (tmp_path / "kustomization.yaml").write_text("resources: []\nconfigMapGenerator: [{name: x}]\n")
    with pytest.raises(UnsupportedKustomization, match="configMapGenerator"):
        check_subset(tmp_path)
    assert "commonLabels" not in SUPPORTED[""]


@pytest.mark.parametrize("folder", FOLDERS.values(), ids=FOLDERS.keys())
def test_every_object_renders_and_fits_the_kubernetes_schemas(folder: Path) -> None:
    objects = render(folder)
    assert objects
    for obj in objects:
        validate_strictly(obj)  # 1.30, 1.34 and 1.37, no unknown fields
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "trellis"
        if obj["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == "trellis"
    keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl here to compare with")
@pytest.mark.parametrize("folder", FOLDERS.values(), ids=FOLDERS.keys())
def test_the_renderer_agrees_with_kubectl_kustomize(folder: Path) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    done = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0 and "unknown command" in done.stderr:
        pytest.skip("this kubectl has no kustomize")
    assert done.returncode == 0, done.stderr

    def keyed(objects: list[Obj]) -> dict[tuple[str, str, str | None, str], Obj]:
        return {
            (o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
            for o in objects
        }

    assert keyed(render(folder)) == keyed([o for o in yaml.safe_load_all(done.stdout) if o])


def test_replicas_store_and_event_bus_per_overlay() -> None:
    base, single, ha = render(BASE), render(OVERLAYS["single-replica"]), render(OVERLAYS["ha"])
    assert _server(base)["spec"]["replicas"] >= 2
    assert _server(single)["spec"]["replicas"] == 1
    assert _server(ha)["spec"]["replicas"] == 3

    config = _one(single, "ConfigMap", "trellis-config")["data"]
    mongo = _one(single, "StatefulSet", "trellis-mongodb")
    mongo_service = _one(single, "Service", mongo["spec"]["serviceName"])
    store = urlsplit(config["TRELLIS_STORE_URL"])
    assert store.scheme == "mongodb"
    assert store.hostname == f"{mongo['metadata']['name']}-0.{mongo_service['metadata']['name']}.trellis.svc"
    assert "replicaSet=rs0" in store.query
    assert mongo_service["spec"]["clusterIP"] == "None"
    container = _pod_spec(mongo)["containers"][0]
    assert container["args"][:2] == ["--replSet", "rs0"]
    assert f'host: "{store.hostname}:{store.port}"' in " ".join(
        container["readinessProbe"]["exec"]["command"]
    )
    redis = urlsplit(config["TRELLIS_BROADCAST_URL"])
    assert redis.scheme == "redis"
    redis_service = _one(single, "Service", "trellis-redis")
    assert redis.hostname == f"{redis_service['metadata']['name']}.trellis.svc"
    assert _one(single, "Deployment", "trellis-redis")["spec"]["replicas"] == 1

    ha_config = _one(ha, "ConfigMap", "trellis-config")["data"]
    assert "TRELLIS_STORE_URL" not in ha_config and "TRELLIS_BROADCAST_URL" not in ha_config
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in _pod_spec(_server(ha))["containers"][0]["env"]}
    assert env == {
        "TRELLIS_STORE_URL": {"name": "trellis-secrets", "key": "TRELLIS_STORE_URL"},
        "TRELLIS_BROADCAST_URL": {"name": "trellis-secrets", "key": "TRELLIS_BROADCAST_URL"},
    }
    anti = _pod_spec(_server(ha))["affinity"]["podAntiAffinity"]
    required = anti["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert required["topologyKey"] == "kubernetes.io/hostname"
    assert required["labelSelector"]["matchLabels"] == _server(ha)["spec"]["selector"]["matchLabels"]
    assert _server(ha)["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0  # a 4th pod has no node


@pytest.mark.parametrize("folder", FOLDERS.values(), ids=FOLDERS.keys())
def test_settings_come_from_a_configmap_and_a_secret_with_real_setting_names(folder: Path) -> None:
    objects = render(folder)
    container = _pod_spec(_server(objects))["containers"][0]
    sources = {
        ("configMap" if "configMapRef" in s else "secret"): s.get("configMapRef", s.get("secretRef"))["name"]
        for s in container["envFrom"]
    }
    assert sources == {"configMap": "trellis-config", "secret": "trellis-secrets"}
    config = _one(objects, "ConfigMap", "trellis-config")["data"]
    named = set(config) | {e["name"] for e in container.get("env", [])}
    assert named <= SETTING_NAMES, named - SETTING_NAMES
    assert config["TRELLIS_ENVIRONMENT"] == "production"
    assert config["TRELLIS_LOG_FORMAT"] == "json"
    Settings(
        **{k.removeprefix("TRELLIS_").lower(): v for k, v in config.items() if k != "TRELLIS_ENVIRONMENT"}
    )
    grace = _pod_spec(_server(objects))["terminationGracePeriodSeconds"]
    assert grace > float(config["TRELLIS_SHUTDOWN_TIMEOUT_SECONDS"]) + 5  # + the preStop pause


def test_rbac_is_the_least_in_cluster_mode_needs() -> None:
    objects = render(BASE)
    role = _one(objects, "ClusterRole", "trellis")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}  # no resourceNames tricks, no URLs
        for field in ("apiGroups", "resources", "verbs"):
            assert all("*" not in item for item in rule[field]), rule
        assert set(rule["verbs"]) <= WRITE, rule  # never escalate, bind, impersonate, update
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    needed = {(_group(v), _resource(k)): WRITE for v, k in NODE_KINDS}
    needed |= {(_group(v), _resource(k)): READ for v, k in (*WORKLOAD_CHILD_KINDS, EVENT_KIND)}
    needed |= {("", "pods/log"): {"get"}, ("", "pods/exec"): {"get", "create"}}
    assert granted == needed  # everything app/kube uses, and nothing more
    assert not any(group.startswith("rbac") for group, _ in granted)

    binding = _one(objects, "ClusterRoleBinding", "trellis")
    account = _one(objects, "ServiceAccount", "trellis")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "trellis",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "trellis", "namespace": account["metadata"]["namespace"]}
    ]
    assert _pod_spec(_server(objects))["serviceAccountName"] == "trellis"
    for folder in OVERLAYS.values():  # overlays add no permissions
        kinds = {o["kind"] for o in render(folder)}
        assert not kinds & {"Role", "RoleBinding"}
        assert _one(render(folder), "ClusterRole", "trellis") == role


@pytest.mark.parametrize("folder", FOLDERS.values(), ids=FOLDERS.keys())
def test_pods_run_as_non_root_on_a_read_only_root_filesystem(folder: Path) -> None:
    for obj in render(folder):
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = _pod_spec(obj)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert "limits" in container["resources"] and "requests" in container["resources"]
        if obj["metadata"]["name"] == "trellis":
            mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]  # Git clones go to the temporary folder
            assert "emptyDir" in volumes[mounts["/var/lib/trellis"]]


def test_the_pod_disruption_budget_covers_the_servers_and_never_blocks_a_drain() -> None:
    for folder in FOLDERS.values():
        objects = render(folder)
        budget = _one(objects, "PodDisruptionBudget", "trellis")
        assert budget["spec"]["selector"] == _server(objects)["spec"]["selector"]
        assert budget["spec"]["maxUnavailable"] == 1


async def test_probes_and_the_scrape_annotation_point_at_real_routes(
    live_server: str, http: httpx.AsyncClient
) -> None:
    for folder in FOLDERS.values():
        objects = render(folder)
        server = _server(objects)
        container = _pod_spec(server)["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        config = _one(objects, "ConfigMap", "trellis-config")["data"]
        probes = {kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "liveness", "readiness")}
        assert {kind: probe["path"] for kind, probe in probes.items()} == {
            "startup": "/healthz",
            "liveness": "/healthz",
            "readiness": "/readyz",
        }
        assert {ports[probe["port"]] for probe in probes.values()} == {int(config["TRELLIS_PORT"])}
        service = _one(objects, "Service", "trellis")
        assert service["spec"]["ports"][0]["targetPort"] in ports
        assert service["spec"]["selector"] == server["spec"]["template"]["metadata"]["labels"]
        annotations = server["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == config["TRELLIS_PORT"]
        paths = {*(probe["path"] for probe in probes.values()), annotations["prometheus.io/path"]}
        for path in paths:
            response = await http.get(live_server + path)
            assert response.status_code == 200, (path, response.text)
