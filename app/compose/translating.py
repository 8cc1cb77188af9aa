"""The compose model (merged, interpolated) → Trellis canvas nodes and edges, with what was not translated
reported as warnings.

Each service becomes a workload (a Job for one-shot services — ``restart: "no"``, or awaited by another's
``service_completed_successfully`` —, a StatefulSet when it owns a named volume or runs a known stateful
image, else a Deployment), with a Service for its ports, a ConfigMap and a Secret for its environment,
claims for its named volumes (:mod:`~app.compose.storage`), ConfigMaps and Secrets for its configs,
secrets and bind-mounted files and folders (:mod:`~app.compose.file_mounts`), a build configuration
(:mod:`~app.compose.builds`), its container settings (:mod:`~app.compose.containers`) and dependency
edges (:mod:`~app.compose.dependencies`). Names are DNS-1123 slugs, collisions resolved in a fixed
order, so the same project always gives the same canvas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.compose.builds import build_config
from app.compose.containers import container_settings
from app.compose.dependencies import (
    Workload,
    awaited_to_complete,
    check_conditions,
    check_cycles,
    link_dependencies,
)
from app.compose.file_mounts import CONFIGS, SECRETS, FileMounts
from app.compose.merging import as_map
from app.compose.output import Translation
from app.compose.problems import Problems
from app.compose.project import NO_FILES, ProjectFiles, resolve
from app.compose.reachability import InferredPorts, infer_ports
from app.compose.storage import Claims, VolumeItem, volume_items
from app.domain.edges import ENV_HANDLE
from app.domain.names import slugify_dns1123
from app.domain.workflows import Canvas

__all__ = ["STATEFUL_IMAGES", "Translation", "build_canvas", "service_names", "translate"]

_SENSITIVE = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE|CERT|DATABASE_URL|DSN",
)
STATEFUL_IMAGES = (
    "postgres",
    "mysql",
    "mariadb",
    "mongo",
    "redis",
    "memcached",
    "elasticsearch",
    "cassandra",
    "couchdb",
    "couchbase",
    "neo4j",
    "influxdb",
    "timescaledb",
    "cockroach",
    "clickhouse",
    "kafka",
    "zookeeper",
    "rabbitmq",
    "nats",
    "etcd",
    "consul",
    "minio",
    "valkey",
    "opensearch",
)
_ENV_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_HANDLED = frozenset(
    {
        "image",
        "build",
        "ports",
        "expose",
        "environment",
        "env_file",
        "volumes",
        "configs",
        "secrets",
        "command",
        "entrypoint",
        "healthcheck",
        "deploy",
        "restart",
        "user",
        "cap_add",
        "cap_drop",
        "read_only",
        "privileged",
        "depends_on",
        "network_mode",
        "mem_limit",
        "mem_reservation",
        "cpus",
        "networks",
        "container_name",
        "working_dir",
        "hostname",
        "labels",
        "annotations",
        "stop_grace_period",
        "tty",
        "stdin_open",
        "pull_policy",
        "profiles",
    }
)
_MAX_RANGE = 100
_ONE_SHOT_RESTARTS = (None, "no", False)
_WORKLOAD_ROW_KIND = "Deployment"


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One container port, its protocol and whether the host publishes it."""

    target: int
    protocol: str
    published: bool


@dataclass(frozen=True, slots=True)
class _Project:
    """What every service's translation reads besides the service itself."""

    variables: Mapping[str, str]
    top_volumes: Mapping[str, Any]
    namespace: str | None
    service_type: str
    project: ProjectFiles
    base_dir: str
    awaited: frozenset[str]
    inferred: Mapping[str, InferredPorts]
    unreachable: frozenset[str]


@dataclass(slots=True)
class _Made:
    """A service's workload being made: its node id, data, and the mount paths taken."""

    node_id: str
    data: dict[str, Any]
    row: int
    targets: set[str]


def service_names(names: list[str]) -> dict[str, str]:
    """Each compose service name → a DNS-1035 object name, collisions resolved in sorted-name order."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(names):
        base = slugify_dns1123(name, 50)
        if not base[0].isalpha():
            base = slugify_dns1123(f"svc-{base}", 50)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate)
        out[name] = candidate
    return out


def translate(
    services: Mapping[str, Any],
    top_volumes: Mapping[str, Any],
    variables: Mapping[str, str],
    problems: Problems,
    *,
    namespace: str | None,
    service_type: str,
    project: ProjectFiles = NO_FILES,
    base_dir: str = "",
    configs: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> Translation:
    """The canvas for ``services``; problems go to ``problems`` (errors mean the result must be dropped).

    ``top_volumes``, ``configs`` and ``secrets`` are the project's top-level definitions; ``project``
    reads its files (config and secret files, bind-mounted files, build contexts), with paths relative
    to ``base_dir``, the folder of the compose files."""
    out = Translation()
    names = service_names(list(services))
    out.ids.update(names.values())  # a workload's node id is its service's name
    awaited = awaited_to_complete(services)
    one_shot = awaited | {
        n for n, s in services.items() if isinstance(s, dict) and s.get("restart") in ("no", False)
    }
    inferred, unreachable = infer_ports(services, project, base_dir, one_shot=one_shot)
    context = _Project(
        variables,
        top_volumes,
        namespace,
        service_type,
        project,
        base_dir,
        awaited,
        inferred,
        frozenset(unreachable),
    )
    claims = Claims(top_volumes, namespace, problems, out)
    model = {"configs": configs or {}, "secrets": secrets or {}}
    files = FileMounts(model, variables, project, base_dir, namespace, problems, out)
    workloads: dict[str, Workload] = {}
    for name, raw in services.items():
        service = raw if isinstance(raw, dict) else {}
        made = _service(name, names[name], service, context, claims, files, problems, out)
        if made is not None:
            workloads[name] = made
    claims.finish()
    check_conditions(services, problems)
    check_cycles(services, problems)
    link_dependencies(services, workloads, problems, out)
    return out


def build_canvas(out: Translation) -> Canvas:
    """The canvas of ``out``."""
    return out.canvas()


def _service(
    name: str,
    slug: str,
    service: dict[str, Any],
    context: _Project,
    claims: Claims,
    files: FileMounts,
    problems: Problems,
    out: Translation,
) -> Workload | None:
    at = f"services.{name}"
    data: dict[str, Any] = {"name": slug}
    if not _image(name, slug, service, context, data, problems):
        return None
    ports = _ports(name, service, problems) or _inferred_ports(name, context, problems)
    items = volume_items(name, service)
    named = _named_volumes(name, items, context.top_volumes, problems)
    for key in sorted(set(service) - _HANDLED):
        problems.warn(
            "FIELD_NOT_TRANSLATED",
            f"{key!r} has no Kubernetes equivalent here and was left out",
            name,
            f"{at}.{key}",
        )
    kind = _kind(name, service, bool(ports), bool(named), context, data, problems)
    if context.namespace:
        data["namespace"] = context.namespace
    if ports and kind != "Job":
        data["port"] = ports[0].target
    if kind == "StatefulSet":
        data["serviceName"] = slug
    container_settings(name, service, data, kind, problems)

    row = out.rows.next_row("Service") if ports else out.rows.next_row(_WORKLOAD_ROW_KIND)
    made = _Made(slug, data, row, set())
    if ports:
        _service_node(slug, ports, context, made, out)
    _environment(name, slug, service, context, problems, out, made)
    labels = as_map(service.get("labels"))
    for item in named:
        mount, node_id = claims.mount(name, labels, item)
        _mount(name, item.path, mount, node_id, made, problems, out)
    for item in items:
        if item.type == "bind" and item.source:
            for mounted in files.bind(name, slug, item):
                _mount(name, item.path, mounted.mount, mounted.node_id, made, problems, out)
    for kind_of_file in (CONFIGS, SECRETS):
        for index, mounted in enumerate(files.objects(kind_of_file, name, service)):
            path = f"{at}.{kind_of_file.key}[{index}]"
            _mount(name, path, mounted.mount, mounted.node_id, made, problems, out)
    out.add(slug, kind, data, row)
    return Workload(slug, kind, "readinessProbe" in data)


def _image(
    name: str, slug: str, service: dict[str, Any], context: _Project, data: dict[str, Any], problems: Problems
) -> bool:
    """Set the image and build configuration; False (an error) when the service has neither."""
    at = f"services.{name}"
    image = service.get("image")
    image = image if isinstance(image, str) and image else None
    if "build" not in service:
        if image is None:
            problems.error("SERVICE_NO_IMAGE", "the service has neither image nor build", name, at)
            return False
        data["image"] = image
        return True
    build = build_config(
        name, service["build"], context.variables, context.project, context.base_dir, problems
    )
    if image is None:
        image = f"{slug}:latest"
        problems.warn(
            "BUILD_WITHOUT_IMAGE",
            f"the service is built from source and names no image, so it is set to {image}: build it "
            "(the node carries the build configuration), push it to a registry the cluster pulls from and "
            "set the pushed image before deploying",
            name,
            f"{at}.build",
        )
    else:
        problems.warn(
            "BUILD_REQUIRED",
            f"the service is built from source: build {image} (the node carries the build configuration) "
            "and push it before deploying, unless the registry already has it",
            name,
            f"{at}.build",
        )
    data["image"] = image
    if build is not None:
        data["build"] = build
    return True


def _kind(
    name: str,
    service: dict[str, Any],
    has_ports: bool,
    has_volumes: bool,
    context: _Project,
    data: dict[str, Any],
    problems: Problems,
) -> str:
    """The workload kind; a Job's restart policy goes in ``data``."""
    restart = service.get("restart")
    on_failure = isinstance(restart, str) and restart.startswith("on-failure")
    awaited = name in context.awaited and (restart in _ONE_SHOT_RESTARTS or on_failure)
    one_shot = restart in ("no", False) or awaited
    if one_shot and (has_ports or has_volumes):
        problems.warn(
            "ONE_SHOT_KEPT_RUNNING",
            'a one-shot service (restart: "no", or awaited to complete) with ports or named volumes '
            "keeps running as a Deployment or StatefulSet",
            name,
            f"services.{name}.restart",
        )
        one_shot = False
    if one_shot:
        data["restartPolicy"] = "OnFailure" if on_failure else "Never"
        retries = str(restart).partition(":")[2] if on_failure else "0"
        if retries.isdigit():
            data["backoffLimit"] = int(retries)
        return "Job"
    image = str(data.get("image", ""))
    return "StatefulSet" if has_volumes or _stateful_image(image) else "Deployment"


def _stateful_image(image: str) -> bool:
    last = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0].lower()
    return any(re.fullmatch(rf"{known}(?:ql|db)?", last) for known in STATEFUL_IMAGES)


def _service_node(slug: str, ports: list[PortSpec], context: _Project, made: _Made, out: Translation) -> None:
    service_id = out.node_id(f"{slug}-svc")
    published = any(p.published for p in ports)
    data: dict[str, Any] = {
        "name": slug,
        "serviceType": context.service_type if published else "ClusterIP",
        "port": ports[0].target,
    }
    if context.namespace:
        data["namespace"] = context.namespace
    if len(ports) > 1 or ports[0].protocol != "TCP":
        data["ports"] = [
            {
                "name": f"{p.protocol.lower()}-{p.target}",
                "protocol": p.protocol,
                "port": p.target,
                "targetPort": p.target,
            }
            for p in ports
        ]
    out.add(service_id, "Service", data, made.row)
    out.link(service_id, made.node_id)


def _mount(
    name: str,
    path: str,
    mount: dict[str, Any],
    node_id: str | None,
    made: _Made,
    problems: Problems,
    out: Translation,
) -> None:
    """Add ``mount`` to the workload (and connect its node) unless its target is taken already."""
    target = mount["mountPath"]
    if not isinstance(target, str) or not target.startswith("/"):
        problems.warn(
            "MOUNT_TARGET_INVALID", f"the mount target {target!r} is not an absolute path", name, path
        )
        return
    if target in made.targets:
        problems.warn(
            "MOUNT_TARGET_TAKEN", f"{target} is mounted already; only the first mount is kept", name, path
        )
        return
    made.targets.add(target)
    made.data.setdefault("volumeMounts", []).append(mount)
    if node_id is not None:
        out.link(node_id, made.node_id)


def _named_volumes(
    name: str, items: list[VolumeItem], top_volumes: Mapping[str, Any], problems: Problems
) -> list[VolumeItem]:
    """The named volumes among ``items``; anonymous, tmpfs and other volumes are reported."""
    found: list[VolumeItem] = []
    for item in items:
        if item.type == "bind":
            if not item.source:
                problems.warn(
                    "BIND_MOUNT_NOT_SUPPORTED",
                    f"the bind mount at {item.target!r} names no source",
                    name,
                    item.path,
                )
            continue
        if item.type != "volume":
            problems.warn("VOLUME_TYPE_NOT_SUPPORTED", f"a {item.type} volume was left out", name, item.path)
            continue
        if not item.source:
            problems.warn(
                "ANONYMOUS_VOLUME", f"the anonymous volume at {item.target!r} was left out", name, item.path
            )
            continue
        if item.sub_path is not None and not resolve("", item.sub_path):
            problems.warn(
                "VOLUME_SUBPATH_INVALID",
                f"the subpath {item.sub_path!r} is not a relative path inside the volume; the mount was left "
                "out",
                name,
                item.path,
            )
            continue
        if item.source not in top_volumes:
            problems.warn(
                "VOLUME_NOT_DECLARED",
                f"the volume {item.source!r} is not declared under volumes",
                name,
                item.path,
            )
        found.append(item)
    return found


# --- ports ----------------------------------------------------------------------------------------------


def _inferred_ports(name: str, context: _Project, problems: Problems) -> list[PortSpec]:
    """Ports for a service that declares none but that others reach (see app.compose.reachability)."""
    inferred = context.inferred.get(name)
    if inferred is not None:
        listed = ", ".join(str(p) for p in inferred.ports)
        problems.warn(
            "PORTS_INFERRED",
            f"the service declares no ports; a ClusterIP Service on {listed} was added so others reach it "
            f"by name ({inferred.source}): check the port, or declare it with expose",
            name,
            f"services.{name}",
        )
        return [PortSpec(port, "TCP", False) for port in inferred.ports]
    if name in context.unreachable:
        problems.warn(
            "SERVICE_NOT_REACHABLE",
            "other services reach this one by name, but it declares no ports, so no Service can be made "
            "for it: add the port it listens on under expose",
            name,
            f"services.{name}",
        )
    return []


def _port_range(text: str) -> list[int] | None:
    first, sep, last = text.strip().partition("-")
    if not first.isdigit() or (sep and not last.isdigit()):
        return None
    start = int(first)
    end = int(last) if sep else start
    return list(range(start, end + 1)) if end >= start else None


def _ports(name: str, service: dict[str, Any], problems: Problems) -> list[PortSpec]:
    found: list[PortSpec] = []
    seen: set[tuple[int, str]] = set()
    for key in ("ports", "expose"):
        items = service.get(key) or []
        if not isinstance(items, list):
            problems.error("INVALID_PORT", f"{key} must be a list", name, f"services.{name}.{key}")
            continue
        for index, item in enumerate(items):
            path = f"services.{name}.{key}[{index}]"
            parsed = _port(item, key == "ports")
            if parsed is None:
                problems.error("INVALID_PORT", f"cannot read the port {item!r}", name, path)
                continue
            targets, protocol, published = parsed
            host = _published_outside_range(item) if key == "ports" else None
            if host is not None:
                problems.error("PORT_OUT_OF_RANGE", f"published port {host} is outside 1-65535", name, path)
                continue
            if len(targets) > _MAX_RANGE:
                problems.warn(
                    "PORT_RANGE_TRUNCATED",
                    f"only the first {_MAX_RANGE} ports of the range are kept",
                    name,
                    path,
                )
                targets = targets[:_MAX_RANGE]
            for target in targets:
                if not 1 <= target <= 65535:
                    problems.error("PORT_OUT_OF_RANGE", f"port {target} is outside 1-65535", name, path)
                    continue
                if (target, protocol) not in seen:
                    seen.add((target, protocol))
                    found.append(PortSpec(target, protocol, published))
    return found


def _port(item: Any, publishable: bool) -> tuple[list[int], str, bool] | None:
    """The container ports, protocol and whether they are published, of one ``ports``/``expose`` item."""
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return [item], "TCP", False
    if isinstance(item, dict):
        targets = _port_range(str(item.get("target", "")))
        protocol = str(item.get("protocol") or "tcp").upper()
        published = item.get("published") not in (None, "")
        return (
            (targets, protocol, publishable and published)
            if targets and protocol in ("TCP", "UDP", "SCTP")
            else None
        )
    text = str(item)
    text, _, protocol = text.partition("/")
    protocol = (protocol or "tcp").upper()
    if protocol not in ("TCP", "UDP", "SCTP"):
        return None
    parts = text.rsplit(":", 2)
    targets = _port_range(parts[-1])
    if targets is None:
        return None
    published = len(parts) > 1 and parts[-2] != ""
    if published and _port_range(parts[-2]) is None:
        return None
    return targets, protocol, publishable and published


def _published_outside_range(item: Any) -> int | None:
    """A published (host) port of ``item`` outside 1-65535, if there is one."""
    if isinstance(item, dict):
        text = str(item.get("published") or "")
    elif isinstance(item, str):
        parts = item.partition("/")[0].rsplit(":", 2)
        text = parts[-2] if len(parts) > 1 else ""
    else:
        return None
    hosts = _port_range(text) if text else None
    return next((port for port in hosts or () if not 1 <= port <= 65535), None)


# --- environment ----------------------------------------------------------------------------------------


def _environment(
    name: str,
    slug: str,
    service: dict[str, Any],
    context: _Project,
    problems: Problems,
    out: Translation,
    made: _Made,
) -> None:
    at = f"services.{name}"
    env_files = service.get("env_file")
    if env_files:
        listed = env_files if isinstance(env_files, list) else [env_files]
        for index, item in enumerate(listed):
            path = item.get("path") if isinstance(item, dict) else item
            problems.warn(
                "ENV_FILE_NOT_RESOLVED",
                f"the env_file {path!r} was not supplied, so its variables are missing: add them to "
                "the ConfigMap or Secret",
                name,
                f"{at}.env_file[{index}]",
            )
    plain: dict[str, str] = {}
    sensitive: dict[str, str] = {}
    for key, value in as_map(service.get("environment")).items():
        path = f"{at}.environment.{key}"
        if not _ENV_KEY.match(key):
            problems.warn("ENV_NAME_INVALID", f"{key!r} cannot be a ConfigMap or Secret key", name, path)
            continue
        if value is None:
            if key not in context.variables:
                problems.warn(
                    "ENV_UNSET",
                    f"{key} takes its value from the environment, which does not set it",
                    name,
                    path,
                )
                continue
            value = context.variables[key]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        (sensitive if _sensitive(key, text) else plain)[key] = text
    if plain:
        config_id = out.node_id(f"{slug}-config")
        config: dict[str, Any] = {"name": out.object_name("ConfigMap", f"{slug}-config"), "data": plain}
        if context.namespace:
            config["namespace"] = context.namespace
        out.add(config_id, "ConfigMap", config)
        out.link(config_id, made.node_id, ENV_HANDLE)
    if sensitive:
        secret_id = out.node_id(f"{slug}-secret")
        keys = [{"id": f"key-{i + 1}", "name": key} for i, key in enumerate(sensitive)]
        secret: dict[str, Any] = {
            "name": out.object_name("Secret", f"{slug}-secret"),
            "secretType": "Opaque",
            "keys": keys,
        }
        if context.namespace:
            secret["namespace"] = context.namespace
        out.add(secret_id, "Secret", secret)
        out.secret_values[secret_id] = sensitive
        out.link(secret_id, made.node_id, ENV_HANDLE)


def _sensitive(key: str, value: str) -> bool:
    """Whether a variable looks secret by its name; ``*_FILE`` variables naming a path (the Docker
    convention for reading a secret from a mounted file) hold no secret themselves."""
    name = key.upper()
    if name.endswith("_FILE") and value.startswith("/"):
        return False
    return _SENSITIVE.search(name) is not None
