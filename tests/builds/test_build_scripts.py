"""The shell steps of a build Job, run for real with ``sh`` and the environment the Job gives them (the
pod's fixed paths moved under ``tmp_path``): the clone against a real Git server on loopback with a token
read through ``GIT_ASKPASS`` from the mounted Secret files, the Dockerfile step, and the BuildKit step's
digest extraction into the termination log with a stand-in ``buildctl-daemonless.sh``."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.domain.build_jobs import (
    BuildJobSettings,
    BuildResources,
    ContainerView,
    job_manifest,
)
from app.domain.builds import Build, BuildStage, BuildStatus
from app.services.build_executor import failure_message
from tests.git_server import GitServer, serving_git

DIGEST = "sha256:" + "5f" * 32
SETTINGS = BuildJobSettings(
    namespace="trellis-builds",
    clone_image="alpine/git:2.47.2",
    buildkit_image="moby/buildkit:v0.24.0-rootless",
    nixpacks_image=None,
    resources=BuildResources("100m", "1", "128Mi", "1Gi"),
    timeout_seconds=600,
    retention_seconds=3600,
    allow_http=True,
)


def a_build(**overrides: Any) -> Build:
    at = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": "0123456789abcdef0123456789abcdef",
        "workspace_id": "ws",
        "created_by": "u",
        "cluster_id": "c",
        "registry_id": "r",
        "repo_url": "https://git.example.com/acme/shop.git",
        "ref": "main",
        "context_path": "",
        "dockerfile_path": "Dockerfile",
        "use_nixpacks": False,
        "target": None,
        "build_args": (),
        "image_repository": "registry.example.com/acme/shop",
        "image_name": "acme/shop",
        "image_tag": "v1",
        "status": BuildStatus.PENDING,
        "created_at": at,
        "updated_at": at,
    }
    fields.update(overrides)
    return Build(**fields)


def _container(build: Build, name: str, settings: BuildJobSettings = SETTINGS) -> dict[str, Any]:
    spec = job_manifest(build, settings, git_auth=True)["spec"]["template"]["spec"]
    found: dict[str, Any] = next(
        c for c in [*spec["initContainers"], *spec["containers"]] if c["name"] == name
    )
    return found


class Pod:
    """The pod's fixed paths under a temporary folder; runs a container's script there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workspace = root / "workspace"
        self.git_auth = root / "trellis-git"
        self.home = root / "home"
        self.bin = root / "bin"
        for folder in (self.workspace, self.git_auth, self.home, self.bin):
            folder.mkdir(parents=True)
        self.termination_log = root / "termination-log"
        self.metadata = root / "build-metadata.json"

    def _moved(self, text: str) -> str:
        return (
            text.replace("/workspace", str(self.workspace))
            .replace("/trellis/git", str(self.git_auth))
            .replace("/trellis/home", str(self.home))
            .replace("/dev/termination-log", str(self.termination_log))
            .replace("/tmp/build-metadata.json", str(self.metadata))
        )

    async def run(self, container: dict[str, Any], *args: str) -> tuple[int, str]:
        env = {item["name"]: self._moved(item["value"]) for item in container.get("env", [])}
        env["PATH"] = f"{self.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        script = self._moved(container["command"][2])
        process = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            script,
            *container["command"][3:],
            *container.get("args", []),
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode is not None
        return process.returncode, output.decode()

    def tool(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
async def git_server(tmp_path: Path) -> AsyncIterator[GitServer]:
    async with serving_git(tmp_path / "git-server") as server:
        yield server


@pytest.fixture
def pod(tmp_path: Path) -> Pod:
    return Pod(tmp_path / "pod")


async def test_the_clone_fetches_the_ref_with_the_token_from_the_mounted_secret(
    git_server: GitServer, pod: Pod
) -> None:
    repo = git_server.repository("shop", {"Dockerfile": "FROM scratch\n", "app/main.py": "print(1)\n"})
    sha = repo.commit({"app/main.py": "print(2)\n"}, "second")
    git_server.protect("shop", "builder", "tok-3f9a-secret")
    (pod.git_auth / "username").write_text("builder")
    (pod.git_auth / "token").write_text("tok-3f9a-secret")
    clone = _container(a_build(repo_url=repo.url), "clone")
    assert "tok-3f9a-secret" not in json.dumps(clone)
    code, output = await pod.run(clone)
    assert code == 0, output
    assert output.strip().splitlines()[-1] == f"commit {sha}"
    assert (pod.workspace / "src" / "app" / "main.py").read_text() == "print(2)\n"
    assert "tok-3f9a-secret" not in output


async def test_a_refused_clone_explains_itself(git_server: GitServer, pod: Pod) -> None:
    repo = git_server.repository("private", {"Dockerfile": "FROM scratch\n"})
    git_server.protect("private", "builder", "right-token")
    (pod.git_auth / "username").write_text("builder")
    (pod.git_auth / "token").write_text("wrong-token")
    code, output = await pod.run(_container(a_build(repo_url=repo.url), "clone"))
    assert code != 0
    message = failure_message(
        BuildStage.CLONE, ContainerView("clone", "terminated", code), output.splitlines()
    )
    assert message.startswith(f"cloning the repository failed (exit code {code})")
    assert "store a Git credential" in message


async def test_the_clone_of_a_missing_ref_fails_with_git_s_words(git_server: GitServer, pod: Pod) -> None:
    repo = git_server.repository("shop", {"Dockerfile": "FROM scratch\n"})
    code, output = await pod.run(_container(a_build(repo_url=repo.url, ref="nope"), "clone"))
    assert code != 0
    assert "couldn't find remote ref nope" in output


async def test_the_dockerfile_step_checks_the_file_or_generates_it(pod: Pod) -> None:
    source = pod.workspace / "src" / "app"
    source.mkdir(parents=True)
    build = a_build(context_path="app")
    code, output = await pod.run(_container(build, "dockerfile"))
    assert code == 1
    assert "there is no Dockerfile at app/Dockerfile" in output
    assert "TRELLIS_BUILD_NIXPACKS_IMAGE" in output
    (source / "Dockerfile").write_text("FROM scratch\n")
    code, output = await pod.run(_container(build, "dockerfile"))
    assert (code, output.strip()) == (0, "using app/Dockerfile")
    # With Nixpacks configured, a missing Dockerfile is generated where the build looks for it.
    (source / "Dockerfile").unlink()
    pod.tool(
        "nixpacks",
        '[ "$1 $3" = "build --out" ] || exit 9\nmkdir -p "$4/.nixpacks"\n'
        'printf "FROM nixpacks\\n" > "$4/.nixpacks/Dockerfile"\n',
    )
    nixpacks = replace(SETTINGS, nixpacks_image="example.com/nixpacks:1.39.0")
    code, output = await pod.run(_container(build, "dockerfile", nixpacks))
    assert code == 0, output
    assert "generating one with Nixpacks" in output
    assert (source / "Dockerfile").read_text() == "FROM nixpacks\n"


async def test_buildkit_gets_every_argument_intact_and_only_the_digest_reaches_the_termination_log(
    pod: Pod,
) -> None:
    tricky = "a value with spaces, 'quotes', \"double\" and $(echo injected)"
    build = a_build(build_args=(("NOTE", tricky),), target="runtime")
    metadata = {
        "buildx.build.ref": "builder/x",
        "containerimage.config.digest": "sha256:" + "0" * 64,
        "containerimage.descriptor": {"digest": "sha256:" + "1" * 64, "size": 1234},
        "containerimage.digest": DIGEST,
        "image.name": "registry.example.com/acme/shop:v1",
    }
    pod.tool(
        "buildctl-daemonless.sh",
        f'for arg in "$@"; do printf "%s\\n" "$arg"; done > {pod.root}/args\n'
        f"cat > {pod.metadata} <<'EOF'\n{json.dumps(metadata, indent=2)}\nEOF\n",
    )
    code, output = await pod.run(_container(build, "buildkit"))
    assert code == 0, output
    assert pod.termination_log.read_text() == DIGEST
    args = (pod.root / "args").read_text().splitlines()
    assert args[:3] == ["build", "--frontend", "dockerfile.v0"]
    assert f"build-arg:NOTE={tricky}" in args
    assert "target=runtime" in args
    assert not (pod.root / "injected").exists()
    assert f"pushed {DIGEST}" in output


async def test_buildkit_failing_leaves_no_digest(pod: Pod) -> None:
    pod.tool(
        "buildctl-daemonless.sh", 'echo "ERROR: failed to solve: process did not complete" >&2\nexit 1\n'
    )
    code, output = await pod.run(_container(a_build(), "buildkit"))
    assert code == 1
    assert "failed to solve" in output
    assert not pod.termination_log.exists()
