"""The Kubernetes objects of one build, and reading its pod back (pure: dicts in, dicts out).

A build is one Job in the build namespace, with one pod of three containers sharing an ``emptyDir``
workspace:

- init container ``clone`` (a small Git image): a shallow fetch of the requested ref into
  ``/workspace/src``; a token or SSH key is read from the short-lived Secret mounted at ``/trellis/git``
  (only in this container), through a ``GIT_ASKPASS`` script that reads the files — never in the pod
  spec, its arguments or its environment. It prints ``commit <sha>`` when done.
- init container ``dockerfile``: checks that the Dockerfile exists, or generates one with Nixpacks when
  asked (``useNixpacks``) or when the repository has none (where a Nixpacks image is configured).
- container ``buildkit``: rootless BuildKit as upstream documents it (``moby/buildkit:<v>-rootless``,
  uid/gid 1000, ``BUILDKITD_FLAGS=--oci-worker-no-process-sandbox``, seccomp and AppArmor unconfined,
  no privileged mode, no Docker daemon or socket anywhere), running ``buildctl-daemonless.sh build … --output
  type=image,name=<ref>,push=true --metadata-file …`` with ``DOCKER_CONFIG`` pointing at the registry
  login mounted from the same Secret (only in this container). A small shell step then writes the
  pushed ``containerimage.digest`` — and only that, well under the 4 KiB limit — to
  ``/dev/termination-log``, where the pod's status carries it back.

User input (URL, ref, paths, build arguments) reaches the shell scripts only as environment variables or
positional arguments (``"$@"``), never spliced into script text.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.domain.builds import Build, BuildStage, BuildStatus
from app.domain.git import DEFAULT_SSH_USERNAME, DEFAULT_TOKEN_USERNAME, GitAuth

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "trellis"
BUILD_LABEL = "trellis.dev/build"
COMPONENT_LABEL = "app.kubernetes.io/component"
FIELD_MANAGER = "trellis-builds"

CLONE = "clone"
DOCKERFILE = "dockerfile"
BUILDKIT = "buildkit"
CONTAINERS = (CLONE, DOCKERFILE, BUILDKIT)
STAGE_OF = {CLONE: BuildStage.CLONE, DOCKERFILE: BuildStage.DOCKERFILE, BUILDKIT: BuildStage.BUILD}

WORKSPACE = "/workspace"
SOURCE = f"{WORKSPACE}/src"
GIT_AUTH_DIR = "/trellis/git"
REGISTRY_AUTH_DIR = "/trellis/registry"
CLONE_HOME = "/trellis/home"
BUILDKIT_STATE = "/home/user/.local/share/buildkit"
METADATA_FILE = "/tmp/build-metadata.json"  # noqa: S108 - inside the BuildKit container
NIXPACKS_FOLDER = ".nixpacks"
USER_ID = 1000

# Secret keys (files in the mounted volumes).
DOCKER_CONFIG_KEY = "config.json"
GIT_USERNAME_KEY = "username"
GIT_TOKEN_KEY = "token"
GIT_SSH_KEY = "ssh-key"

# The safe Git configuration of the clone, as GIT_CONFIG_* variables (no credentials in it).
_GIT_CONFIG: tuple[tuple[str, str], ...] = (
    ("protocol.allow", "never"),
    ("protocol.https.allow", "always"),
    ("protocol.ssh.allow", "always"),
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("credential.helper", ""),
    ("http.followRedirects", "false"),
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("transfer.fsckObjects", "true"),
    ("advice.detachedHead", "false"),
    ("init.defaultBranch", "main"),
    ("gc.auto", "0"),
)

CLONE_SCRIPT = """set -eu
umask 077
ssh_options="-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new"
ssh_options="$ssh_options -o UserKnownHostsFile=$HOME/known_hosts -o ConnectTimeout=20"
if [ -f /trellis/git/token ]; then
  printf '#!/bin/sh\\ncase "$1" in Username*) cat %s/username ;; *) cat %s/token ;; esac\\n' \\
    /trellis/git /trellis/git > "$HOME/askpass"
  chmod 700 "$HOME/askpass"
  export GIT_ASKPASS="$HOME/askpass"
fi
if [ -f /trellis/git/ssh-key ]; then
  cp /trellis/git/ssh-key "$HOME/id_key"
  chmod 600 "$HOME/id_key"
  ssh_options="$ssh_options -i $HOME/id_key"
fi
export GIT_SSH_COMMAND="ssh $ssh_options"
git init -q /workspace/src
cd /workspace/src
git remote add origin "$REPO_URL"
echo "fetching ${REF:-the default branch} of $REPO_SHOWN"
git fetch --depth 1 --no-tags origin "${REF:-HEAD}"
git checkout -q --detach FETCH_HEAD
echo "commit $(git rev-parse HEAD)"
"""

DOCKERFILE_SCRIPT = """set -eu
if [ ! -d "$CONTEXT_DIR" ]; then
  echo "the build context $CONTEXT_SHOWN is not a folder of the repository" >&2
  exit 1
fi
if [ "$USE_NIXPACKS" != "1" ] && [ -f "$DOCKERFILE" ]; then
  echo "using $DOCKERFILE_SHOWN"
  exit 0
fi
if [ "$NIXPACKS" != "1" ]; then
  echo "there is no Dockerfile at $DOCKERFILE_SHOWN, and Nixpacks is not configured on this server \
(TRELLIS_BUILD_NIXPACKS_IMAGE): add a Dockerfile, or give its path" >&2
  exit 1
fi
if [ "$USE_NIXPACKS" = "1" ]; then
  echo "generating the Dockerfile with Nixpacks"
else
  echo "there is no Dockerfile at $DOCKERFILE_SHOWN: generating one with Nixpacks"
fi
nixpacks build "$CONTEXT_DIR" --out "$CONTEXT_DIR"
if [ "$USE_NIXPACKS" != "1" ]; then
  mkdir -p "$(dirname "$DOCKERFILE")"
  cp "$CONTEXT_DIR/.nixpacks/Dockerfile" "$DOCKERFILE"
fi
"""

BUILDKIT_SCRIPT = """set -eu
buildctl-daemonless.sh "$@"
digest=$(sed -n 's/.*"containerimage[.]digest": *"\\(sha256:[0-9a-f]*\\)".*/\\1/p' /tmp/build-metadata.json \
  | head -n 1)
if [ -z "$digest" ]; then
  echo "the image was pushed, but BuildKit reported no digest" >&2
  exit 1
fi
printf '%s' "$digest" > /dev/termination-log
echo "pushed $digest"
"""


@dataclass(frozen=True, slots=True)
class BuildResources:
    """Requests and limits of each build container (Kubernetes quantities)."""

    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str

    def manifest(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True, slots=True)
class BuildJobSettings:
    namespace: str
    clone_image: str
    buildkit_image: str
    nixpacks_image: str | None  # None: Nixpacks is not available
    resources: BuildResources
    timeout_seconds: int  # the Job's activeDeadlineSeconds
    retention_seconds: int  # the Job's ttlSecondsAfterFinished
    allow_http: bool = False  # plain http:// repositories may be cloned


def job_name(build_id: str) -> str:
    return f"trellis-build-{build_id}"


def secret_name(build_id: str) -> str:
    return f"trellis-build-{build_id}"


def build_labels(build_id: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGER, BUILD_LABEL: build_id, COMPONENT_LABEL: "image-build"}


def build_selector(build_id: str) -> str:
    return f"{MANAGED_BY}={MANAGER},{BUILD_LABEL}={build_id}"


def clone_url(url: str, auth: GitAuth | None) -> str:
    """The address the clone uses: an SSH key logs in as its user (``git`` by default) when the URL
    names none."""
    parts = urlsplit(url)
    if auth is None or auth.kind != "SSH_KEY" or parts.scheme != "ssh" or parts.username is not None:
        return url
    return urlunsplit(parts._replace(netloc=f"{auth.username or DEFAULT_SSH_USERNAME}@{parts.netloc}"))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret_manifest(
    build: Build, namespace: str, *, git: GitAuth | None, docker_config: str
) -> dict[str, Any]:
    """The short-lived Secret of one build: the registry login (``config.json``, a docker config) and,
    when the workspace has one for the host, the Git token (with its user name) or SSH key."""
    data = {DOCKER_CONFIG_KEY: _b64(docker_config)}
    if git is not None and git.kind == "TOKEN":
        data[GIT_USERNAME_KEY] = _b64(git.username or DEFAULT_TOKEN_USERNAME)
        data[GIT_TOKEN_KEY] = _b64(git.secret)
    elif git is not None and git.kind == "SSH_KEY":
        data[GIT_SSH_KEY] = _b64(git.secret if git.secret.endswith("\n") else git.secret + "\n")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(build.id), "namespace": namespace, "labels": build_labels(build.id)},
        "type": "Opaque",
        "data": data,
    }


def owned_secret_patch(build: Build, namespace: str, job: Mapping[str, Any]) -> dict[str, Any]:
    """What makes the Secret a dependent of the Job (so the Job's clean-up removes it too)."""
    metadata = job.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(build.id),
            "namespace": namespace,
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": str(metadata.get("name", job_name(build.id))),
                    "uid": str(metadata.get("uid", "")),
                }
            ],
        },
    }


def _env(**values: str) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items()]


def _source_path(*parts: str) -> str:
    return posixpath.normpath(posixpath.join(SOURCE, *[p for p in parts if p]))


def _shown(*parts: str) -> str:
    return posixpath.normpath(posixpath.join(*[p for p in parts if p])) if any(parts) else "."


def buildctl_args(build: Build) -> list[str]:
    """The arguments of ``buildctl-daemonless.sh`` (each one a separate argument, never a shell word)."""
    context = _source_path(build.context_path)
    if build.use_nixpacks:
        dockerfile_dir, filename = _source_path(build.context_path, ".nixpacks"), "Dockerfile"
    else:
        full = _source_path(build.context_path, build.dockerfile_path)
        dockerfile_dir, filename = posixpath.dirname(full), posixpath.basename(full)
    args = [
        "build",
        "--frontend",
        "dockerfile.v0",
        "--progress",
        "plain",
        "--local",
        f"context={context}",
        "--local",
        f"dockerfile={dockerfile_dir}",
        "--opt",
        f"filename={filename}",
    ]
    if build.target:
        args += ["--opt", f"target={build.target}"]
    for name, value in build.build_args:
        args += ["--opt", f"build-arg:{name}={value}"]
    output = f"type=image,name={build.image},push=true"
    args += ["--output", output, "--metadata-file", METADATA_FILE]
    return args


def job_manifest(
    build: Build, settings: BuildJobSettings, *, git_auth: bool, insecure_registry: bool = False
) -> dict[str, Any]:
    """The Job of one build (see the module's description)."""
    labels = build_labels(build.id)
    resources = settings.resources.manifest()
    secret = secret_name(build.id)
    restricted = {
        "runAsNonRoot": True,
        "runAsUser": USER_ID,
        "runAsGroup": USER_ID,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    }
    git_config = [*_GIT_CONFIG, *((("protocol.http.allow", "always"),) if settings.allow_http else ())]
    git_env = [{"name": "GIT_CONFIG_COUNT", "value": str(len(git_config))}]
    for index, (key, value) in enumerate(git_config):
        git_env += [
            {"name": f"GIT_CONFIG_KEY_{index}", "value": key},
            {"name": f"GIT_CONFIG_VALUE_{index}", "value": value},
        ]
    clone_mounts: list[dict[str, Any]] = [
        {"name": "workspace", "mountPath": WORKSPACE},
        {"name": "clone-home", "mountPath": CLONE_HOME},
    ]
    if git_auth:
        clone_mounts.append({"name": "git-auth", "mountPath": GIT_AUTH_DIR, "readOnly": True})
    clone = {
        "name": CLONE,
        "image": settings.clone_image,
        "command": ["/bin/sh", "-c", CLONE_SCRIPT],
        "env": [
            *_env(
                REPO_URL=build.repo_url,
                REPO_SHOWN=build.repo_url,
                REF=build.ref or "",
                HOME=CLONE_HOME,
                GIT_TERMINAL_PROMPT="0",
                GIT_CONFIG_NOSYSTEM="1",
                GIT_CONFIG_GLOBAL="/dev/null",
                GIT_LFS_SKIP_SMUDGE="1",
            ),
            *git_env,
        ],
        "resources": resources,
        "securityContext": restricted,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": clone_mounts,
    }
    dockerfile = {
        "name": DOCKERFILE,
        "image": settings.nixpacks_image or settings.clone_image,
        "command": ["/bin/sh", "-c", DOCKERFILE_SCRIPT],
        "env": _env(
            CONTEXT_DIR=_source_path(build.context_path),
            CONTEXT_SHOWN=_shown(build.context_path),
            DOCKERFILE=_source_path(build.context_path, build.dockerfile_path),
            DOCKERFILE_SHOWN=_shown(build.context_path, build.dockerfile_path),
            USE_NIXPACKS="1" if build.use_nixpacks else "0",
            NIXPACKS="1" if settings.nixpacks_image else "0",
            HOME="/tmp",  # noqa: S108 - the container's own temporary folder
        ),
        "resources": resources,
        "securityContext": restricted,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [{"name": "workspace", "mountPath": WORKSPACE}],
    }
    buildkit = {
        "name": BUILDKIT,
        "image": settings.buildkit_image,
        "command": ["/bin/sh", "-c", BUILDKIT_SCRIPT, BUILDKIT],
        "args": buildctl_args(build) if not insecure_registry else _insecure(buildctl_args(build)),
        "env": _env(
            BUILDKITD_FLAGS="--oci-worker-no-process-sandbox",
            DOCKER_CONFIG=REGISTRY_AUTH_DIR,
        ),
        "resources": resources,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": USER_ID,
            "runAsGroup": USER_ID,
            "privileged": False,
            # Rootless BuildKit makes its own user namespace and mounts inside it: upstream documents
            # seccomp and AppArmor unconfined for that (https://github.com/moby/buildkit/blob/master/
            # docs/rootless.md); the AppArmor field needs Kubernetes 1.30 or later.
            "seccompProfile": {"type": "Unconfined"},
            "appArmorProfile": {"type": "Unconfined"},
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {"name": "workspace", "mountPath": WORKSPACE, "readOnly": True},
            {"name": "registry-auth", "mountPath": REGISTRY_AUTH_DIR, "readOnly": True},
            {"name": "buildkitd", "mountPath": BUILDKIT_STATE},
        ],
    }
    volumes: list[dict[str, Any]] = [
        {"name": "workspace", "emptyDir": {}},
        {"name": "clone-home", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        {"name": "buildkitd", "emptyDir": {}},
        {
            "name": "registry-auth",
            "secret": {
                "secretName": secret,
                "items": [{"key": DOCKER_CONFIG_KEY, "path": DOCKER_CONFIG_KEY}],
                "defaultMode": 0o440,
            },
        },
    ]
    if git_auth:
        volumes.append(
            {
                "name": "git-auth",
                "secret": {
                    "secretName": secret,
                    "items": [
                        {"key": key, "path": key} for key in (GIT_USERNAME_KEY, GIT_TOKEN_KEY, GIT_SSH_KEY)
                    ],
                    "optional": True,
                    "defaultMode": 0o440,
                },
            }
        )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(build.id), "namespace": settings.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": settings.timeout_seconds,
            "ttlSecondsAfterFinished": settings.retention_seconds,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": USER_ID,
                        "runAsGroup": USER_ID,
                        "fsGroup": USER_ID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "initContainers": [clone, dockerfile],
                    "containers": [buildkit],
                    "volumes": volumes,
                },
            },
        },
    }


def _insecure(args: list[str]) -> list[str]:
    """Push over plain HTTP (a GENERIC registry the operator allowed as insecure)."""
    index = args.index("--output") + 1
    return [*args[:index], args[index] + ",registry.insecure=true", *args[index + 1 :]]


def namespace_manifest(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {MANAGED_BY: MANAGER}},
    }


# --- Reading the pod back -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerView:
    """One container as the pod's status shows it: ``state`` is ``waiting``, ``running``,
    ``terminated`` or ``absent`` (not reported yet)."""

    name: str
    state: str
    exit_code: int | None = None
    reason: str | None = None
    message: str | None = None

    @property
    def started(self) -> bool:
        return self.state in ("running", "terminated")


# Waiting reasons that will not resolve by themselves: the build fails with them.
_STUCK = {
    "ImagePullBackOff": "its image cannot be pulled",
    "InvalidImageName": "its image name is invalid",
    "CreateContainerConfigError": "it cannot be configured",
    "CreateContainerError": "it cannot be created",
}


def _view(name: str, status: Mapping[str, Any] | None) -> ContainerView:
    if status is None:
        return ContainerView(name, "absent")
    state = status.get("state") or {}
    if "terminated" in state:
        done = state["terminated"] or {}
        return ContainerView(
            name,
            "terminated",
            exit_code=int(done.get("exitCode", 0)),
            reason=done.get("reason"),
            message=done.get("message"),
        )
    if "running" in state:
        return ContainerView(name, "running")
    waiting = state.get("waiting") or {}
    return ContainerView(name, "waiting", reason=waiting.get("reason"), message=waiting.get("message"))


def containers_of(pod: Mapping[str, Any]) -> dict[str, ContainerView]:
    """The build containers of ``pod`` by name (``clone``, ``dockerfile``, ``buildkit``)."""
    status = pod.get("status") or {}
    reported = {
        str(entry.get("name")): entry
        for key in ("initContainerStatuses", "containerStatuses")
        for entry in status.get(key) or []
        if isinstance(entry, Mapping)
    }
    return {name: _view(name, reported.get(name)) for name in CONTAINERS}


def newest_pod(pods: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The Job's newest pod (a Job with backoffLimit 0 has one, but a node loss may have replaced it)."""
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")] or list(pods)
    if not live:
        return None
    return max(
        live,
        key=lambda p: (
            str((p.get("metadata") or {}).get("creationTimestamp") or ""),
            str((p.get("metadata") or {}).get("name") or ""),
        ),
    )


@dataclass(frozen=True, slots=True)
class PodReading:
    """What the pod says about the build: the status it shows (None before the clone started), a
    container that failed (and how), whether BuildKit finished with success (and its termination
    message), and a reason the pod waits (unschedulable, pulling…)."""

    status: BuildStatus | None
    failed: ContainerView | None = None
    stuck: str | None = None  # a container waits for something that will not come by itself
    succeeded: ContainerView | None = None
    waiting: str | None = None


def read_pod(pod: Mapping[str, Any]) -> PodReading:
    containers = containers_of(pod)
    for name in CONTAINERS:
        view = containers[name]
        if view.state == "terminated" and view.exit_code != 0:
            return PodReading(BuildStatus.BUILDING if name != CLONE else BuildStatus.CLONING, failed=view)
        if view.state == "waiting" and view.reason in _STUCK:
            detail = f": {view.message}" if view.message else ""
            return PodReading(
                None, stuck=f"the {name} container {_STUCK[view.reason]} ({view.reason}){detail}"
            )
    build = containers[BUILDKIT]
    if build.state == "terminated":
        return PodReading(BuildStatus.BUILDING, succeeded=build)
    if build.state == "running" or containers[DOCKERFILE].started:
        return PodReading(BuildStatus.BUILDING)
    if containers[CLONE].started:
        return PodReading(BuildStatus.CLONING)
    return PodReading(None, waiting=_pending_reason(pod, containers))


def _pending_reason(pod: Mapping[str, Any], containers: Mapping[str, ContainerView]) -> str | None:
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            why = condition.get("message") or condition.get("reason") or "unschedulable"
            return f"waiting for a node: {why}"
    for view in containers.values():
        if view.state == "waiting" and view.reason not in (None, "PodInitializing", "ContainerCreating"):
            return f"the {view.name} container waits: {view.reason}" + (
                f" ({view.message})" if view.message else ""
            )
    return None


def job_failure(job: Mapping[str, Any]) -> str | None:
    """Why the Job failed as a whole (its deadline passed, …), or None while it has not."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            reason = str(condition.get("reason") or "Failed")
            message = str(condition.get("message") or "")
            if reason == "DeadlineExceeded":
                return "the build took longer than its time limit (TRELLIS_BUILD_TIMEOUT_SECONDS)"
            return f"the build's Job failed ({reason})" + (f": {message}" if message else "")
    return None
