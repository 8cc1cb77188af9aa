"""The build Job and its Secret as manifests: valid for Kubernetes 1.30 to 1.37 (strict schemas), rootless
BuildKit as upstream documents it, no privileged container, no Docker socket, no secret in arguments or
environment values; and reading the pod back (which container runs, failed or finished)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from app.domain.build_jobs import (
    containers_of,
    job_failure,
    job_manifest,
    namespace_manifest,
    newest_pod,
    owned_secret_patch,
    read_pod,
    secret_manifest,
)
from app.domain.builds import BuildStatus
from app.domain.git import GitAuth
from tests.builds.test_build_scripts import DIGEST, SETTINGS, a_build
from tests.compose.kube_validation import validate_strictly

TOKEN = "ghp_0123456789abcdefSECRET"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretkey\n-----END OPENSSH PRIVATE KEY-----"
DOCKER_CONFIG = (
    '{"auths":{"registry.example.com":{"auth":"cHVzaGVyOnB1c2gtc2VjcmV0","password":"push-secret"}}}'
)


def _walk(value: Any) -> list[tuple[str, Any]]:
    """Every (key, value) pair of a nested document."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            pairs.append((key, item))
            pairs += _walk(item)
    elif isinstance(value, list):
        for item in value:
            pairs += _walk(item)
    return pairs


def _containers(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = job["spec"]["template"]["spec"]
    return {c["name"]: c for c in [*spec["initContainers"], *spec["containers"]]}


@pytest.mark.parametrize("nixpacks", [None, "example.com/nixpacks:1.39.0"])
@pytest.mark.parametrize("insecure", [False, True])
def test_the_job_and_its_secret_validate_against_kubernetes_schemas(
    nixpacks: str | None, insecure: bool
) -> None:
    build = a_build(build_args=(("VERSION", "1.2"),), target="runtime", use_nixpacks=nixpacks is not None)
    settings = replace(SETTINGS, nixpacks_image=nixpacks)
    job = job_manifest(build, settings, git_auth=True, insecure_registry=insecure)
    validate_strictly(job)
    secret = secret_manifest(
        build,
        "trellis-builds",
        git=GitAuth("git.example.com", "TOKEN", None, TOKEN),
        docker_config=DOCKER_CONFIG,
    )
    validate_strictly(secret)
    validate_strictly(namespace_manifest("trellis-builds"))
    patch = owned_secret_patch(build, "trellis-builds", {"metadata": {"name": "j", "uid": "u-1"}})
    validate_strictly(patch)


def test_the_job_runs_rootless_buildkit_without_privileges_or_a_docker_socket() -> None:
    build = a_build()
    job = job_manifest(build, SETTINGS, git_auth=True)
    assert job["metadata"]["namespace"] == "trellis-builds"
    assert job["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "trellis"
    assert job["metadata"]["labels"]["trellis.dev/build"] == build.id
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (
        0,
        600,
        3600,
    )
    pod = spec["template"]["spec"]
    assert spec["template"]["metadata"]["labels"]["trellis.dev/build"] == build.id
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert "hostNetwork" not in pod and "hostPID" not in pod
    containers = _containers(job)
    assert list(containers) == ["clone", "dockerfile", "buildkit"]
    buildkit = containers["buildkit"]
    assert buildkit["image"] == "moby/buildkit:v0.24.0-rootless"
    assert "buildctl-daemonless.sh" in buildkit["command"][2]
    assert {"name": "BUILDKITD_FLAGS", "value": "--oci-worker-no-process-sandbox"} in buildkit["env"]
    assert {"name": "DOCKER_CONFIG", "value": "/trellis/registry"} in buildkit["env"]
    context = buildkit["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"], context["privileged"]) == (1000, 1000, False)
    assert context["seccompProfile"] == {"type": "Unconfined"}
    assert context["appArmorProfile"] == {"type": "Unconfined"}
    assert buildkit["terminationMessagePolicy"] == "File"
    assert buildkit["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    args = buildkit["args"]
    assert args[:3] == ["build", "--frontend", "dockerfile.v0"]
    assert (
        "context=/workspace/src" in args
        and "dockerfile=/workspace/src" in args
        and "filename=Dockerfile" in args
    )
    assert "type=image,name=registry.example.com/acme/shop:v1,push=true" in args
    assert args[args.index("--metadata-file") + 1] == "/tmp/build-metadata.json"
    for name in ("clone", "dockerfile"):
        restricted = containers[name]["securityContext"]
        assert restricted["runAsNonRoot"] and restricted["allowPrivilegeEscalation"] is False
        assert restricted["capabilities"] == {"drop": ["ALL"]}
    pairs = _walk(job)
    assert ("privileged", True) not in pairs
    assert not any(key == "hostPath" for key, _ in pairs)
    assert "docker.sock" not in json.dumps(job)
    # Only the clone sees the Git credential, only BuildKit the registry login.
    mounts = {name: {m["name"] for m in c["volumeMounts"]} for name, c in containers.items()}
    assert "git-auth" in mounts["clone"] and "git-auth" not in mounts["buildkit"]
    assert "registry-auth" in mounts["buildkit"] and "registry-auth" not in mounts["clone"]


def test_no_secret_reaches_the_job_and_the_secret_holds_each_login() -> None:
    build = a_build(repo_url="ssh://git.example.com/acme/shop.git")
    for auth in (
        GitAuth("git.example.com", "TOKEN", "bot", TOKEN),
        GitAuth("git.example.com", "SSH_KEY", None, KEY),
    ):
        secret = secret_manifest(build, "trellis-builds", git=auth, docker_config=DOCKER_CONFIG)
        data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
        assert data["config.json"] == DOCKER_CONFIG
        if auth.kind == "TOKEN":
            assert (data["username"], data["token"]) == ("bot", TOKEN)
        else:
            assert data["ssh-key"] == KEY + "\n"
        assert secret["metadata"]["labels"]["trellis.dev/build"] == build.id
    job = json.dumps(job_manifest(build, SETTINGS, git_auth=True))
    for secret_text in (TOKEN, "AAAAsecretkey", "push-secret", "cHVzaGVyOnB1c2gtc2VjcmV0"):
        assert secret_text not in job
    env_values = [e["value"] for c in _containers(json.loads(job)).values() for e in c.get("env", [])]
    assert not any("secret" in value.lower() for value in env_values)


def test_nixpacks_builds_read_the_generated_dockerfile_and_insecure_registries_push_over_http() -> None:
    build = a_build(use_nixpacks=True, context_path="services/api")
    job = job_manifest(
        build,
        replace(SETTINGS, nixpacks_image="example.com/nixpacks:1.39.0"),
        git_auth=False,
        insecure_registry=True,
    )
    containers = _containers(job)
    assert containers["dockerfile"]["image"] == "example.com/nixpacks:1.39.0"
    assert {"name": "USE_NIXPACKS", "value": "1"} in containers["dockerfile"]["env"]
    args = containers["buildkit"]["args"]
    assert "context=/workspace/src/services/api" in args
    assert "dockerfile=/workspace/src/services/api/.nixpacks" in args
    assert "type=image,name=registry.example.com/acme/shop:v1,push=true,registry.insecure=true" in args
    assert "git-auth" not in {v["name"] for v in job["spec"]["template"]["spec"]["volumes"]}


def _pod(init: list[dict[str, Any]], main: list[dict[str, Any]], **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "creationTimestamp": "2026-01-15T09:00:00Z"},
        "status": {"initContainerStatuses": init, "containerStatuses": main, **status},
    }


def _state(name: str, state: str, **details: Any) -> dict[str, Any]:
    return {"name": name, "state": {state: details}}


def test_the_pod_tells_where_the_build_is() -> None:
    waiting = _state("buildkit", "waiting", reason="PodInitializing")
    assert read_pod(_pod([], [])).status is None
    cloning = read_pod(_pod([_state("clone", "running"), _state("dockerfile", "waiting")], [waiting]))
    assert cloning.status is BuildStatus.CLONING
    failed = read_pod(
        _pod(
            [_state("clone", "terminated", exitCode=128, reason="Error"), _state("dockerfile", "waiting")],
            [waiting],
        )
    )
    assert failed.failed is not None and (failed.failed.name, failed.failed.exit_code) == ("clone", 128)
    done = _state("clone", "terminated", exitCode=0)
    building = read_pod(
        _pod([done, _state("dockerfile", "terminated", exitCode=0)], [_state("buildkit", "running")])
    )
    assert building.status is BuildStatus.BUILDING
    finished = read_pod(
        _pod(
            [done, _state("dockerfile", "terminated", exitCode=0)],
            [_state("buildkit", "terminated", exitCode=0, message=DIGEST)],
        )
    )
    assert finished.succeeded is not None and finished.succeeded.message == DIGEST
    pulling = read_pod(
        _pod(
            [_state("clone", "waiting", reason="ImagePullBackOff", message="Back-off pulling image")],
            [waiting],
        )
    )
    assert pulling.stuck is not None and "ImagePullBackOff" in pulling.stuck
    unscheduled = read_pod(
        _pod(
            [],
            [],
            conditions=[{"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available"}],
        )
    )
    assert unscheduled.waiting == "waiting for a node: 0/3 nodes are available"
    assert containers_of(_pod([], []))["buildkit"].state == "absent"


def test_the_newest_pod_and_a_failed_job_are_read() -> None:
    older = {"metadata": {"name": "a", "creationTimestamp": "2026-01-15T09:00:00Z"}}
    newer = {"metadata": {"name": "b", "creationTimestamp": "2026-01-15T09:05:00Z"}}
    assert newest_pod([older, newer]) is newer
    assert newest_pod([]) is None
    deadline = {
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}
    }
    assert "time limit" in (job_failure(deadline) or "")
    assert job_failure({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}) is None
