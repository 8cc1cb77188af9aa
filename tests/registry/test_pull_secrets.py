"""Image pull Secrets, pure parts: which nodes pull from which registry, the Secret's
``.dockerconfigjson``, and the ``imagePullSecrets`` the pod templates name."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from app.domain.manifests import RenderRequest
from app.domain.registries import PullAuth, Registry, RegistryType, image_host, pull_secret_name
from app.domain.workflows import Canvas, Node, Position, Workflow, WorkflowStatus
from app.rendering import ManifestRenderer, default_templates_dir
from app.services.pull_secrets import plan_for, pull_secret_manifest

AT = datetime(2026, 1, 15, 9, tzinfo=UTC)


def registry(name: str, kind: RegistryType, url: str, *, credentials: bool = True) -> Registry:
    return Registry(
        id=f"id-{name}", workspace_id="ws", name=name, type=kind, url=url, insecure=False, is_default=False,
        created_by="u", created_at=AT, updated_at=AT, credentials_ciphertext="cipher" if credentials else None,
    )  # fmt: skip


def workflow(*nodes: Node) -> Workflow:
    return Workflow(
        "wf", "ws", "shop", "", WorkflowStatus.DRAFT, "shop", "c", Canvas(nodes=nodes), 1, "u", AT, AT
    )


def workload(node_id: str, image: str, kind: str = "Deployment") -> Node:
    return Node(node_id, kind, Position(0, 0), {"name": node_id, "image": image})


@pytest.mark.parametrize(
    ("image", "host"),
    [
        ("nginx", "docker.io"),
        ("library/nginx:1.27", "docker.io"),
        ("docker.io/library/nginx", "docker.io"),
        ("index.docker.io/x/y", "docker.io"),
        ("ghcr.io/org/app:1", "ghcr.io"),
        ("GHCR.io/org/app@sha256:abc", "ghcr.io"),
        ("localhost:5000/app", "localhost:5000"),
        ("127.0.0.1:5000/app:dev", "127.0.0.1:5000"),
        ("europe-docker.pkg.dev/p/r/app", "europe-docker.pkg.dev"),
    ],
)
def test_the_registry_host_of_an_image(image: str, host: str) -> None:
    assert image_host(image) == host


def test_workloads_pull_from_the_registries_their_images_live_on() -> None:
    hub = registry("hub", RegistryType.DOCKER_HUB, "https://registry-1.docker.io")
    ghcr = registry("ghcr", RegistryType.GHCR, "https://ghcr.io")
    ghcr_other = registry("ghcr-2", RegistryType.GHCR, "https://ghcr.io")
    anonymous = registry("local", RegistryType.GENERIC, "https://127.0.0.1:5000", credentials=False)
    flow = workflow(
        workload("web", "ghcr.io/org/web:1"),
        workload("db", "postgres:16", "StatefulSet"),
        workload("job", "127.0.0.1:5000/migrate", "Job"),
        Node("cfg", "ConfigMap", Position(0, 0), {"name": "cfg", "image": "ghcr.io/not/a/workload"}),
    )

    plan = plan_for(flow, [hub, ghcr, ghcr_other, anonymous])

    assert plan.by_node == {
        "web": (pull_secret_name("id-ghcr"), pull_secret_name("id-ghcr-2")),
        "db": (pull_secret_name("id-hub"),),
    }
    assert {r.id for r in plan.registries} == {"id-hub", "id-ghcr", "id-ghcr-2"}
    assert plan_for(flow, [anonymous]).by_node == {}


def test_the_secret_is_a_docker_config_keyed_as_kubelet_matches_it() -> None:
    hub = registry("hub", RegistryType.DOCKER_HUB, "https://registry-1.docker.io")
    ecr = registry("ecr", RegistryType.ECR, "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    expires = datetime(2026, 1, 15, 21, tzinfo=UTC)

    hub_secret = pull_secret_manifest(hub, "shop", PullAuth("ada", "p@ss:word"))
    ecr_secret = pull_secret_manifest(ecr, "shop", PullAuth("AWS", "token", expires))

    assert hub_secret["type"] == "kubernetes.io/dockerconfigjson"
    assert hub_secret["metadata"]["name"] == "trellis-pull-id-hub"
    assert hub_secret["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "trellis",
        "trellis.dev/registry": "id-hub",
    }
    assert "trellis.dev/workflow" not in hub_secret["metadata"]["labels"]  # shared: no workflow prunes it
    config = json.loads(base64.b64decode(hub_secret["data"][".dockerconfigjson"]))
    assert config == {
        "auths": {
            "https://index.docker.io/v1/": {
                "username": "ada",
                "password": "p@ss:word",
                "auth": base64.b64encode(b"ada:p@ss:word").decode(),
            }
        }
    }
    ecr_config = json.loads(base64.b64decode(ecr_secret["data"][".dockerconfigjson"]))
    assert list(ecr_config["auths"]) == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    assert ecr_secret["metadata"]["annotations"] == {"trellis.dev/expires-at": "2026-01-15T21:00:00+00:00"}


def test_pod_templates_name_their_pull_secrets() -> None:
    renderer = ManifestRenderer(default_templates_dir())
    cron = Node(
        "cron",
        "CronJob",
        Position(0, 0),
        {"name": "cron", "image": "ghcr.io/org/cron:1", "schedule": "0 * * * *"},
    )
    canvas = Canvas(nodes=(workload("web", "ghcr.io/org/web:1"), cron, workload("plain", "nginx")))

    bundle = renderer.render(
        RenderRequest(
            "wf",
            "shop",
            canvas,
            pull_secrets={"web": ("trellis-pull-a", "trellis-pull-b"), "cron": ("trellis-pull-a",)},
        )
    )

    web, job, plain = (bundle.by_node(n) for n in ("web", "cron", "plain"))
    assert web is not None and job is not None and plain is not None
    assert web.manifest["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "trellis-pull-a"},
        {"name": "trellis-pull-b"},
    ]
    job_spec = job.manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job_spec["imagePullSecrets"] == [{"name": "trellis-pull-a"}]
    assert "imagePullSecrets" not in plain.manifest["spec"]["template"]["spec"]
