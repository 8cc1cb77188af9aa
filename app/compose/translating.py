"""The compose model (merged, interpolated) → Trellis canvas nodes and edges, with what was not translated
reported as warnings."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.compose.layout import Rows
from app.compose.merging import as_map
from app.compose.problems import Problems
from app.compose.project import NO_FILES, ProjectFiles
from app.domain.edges import ENV_HANDLE
from app.domain.names import slugify_dns1123
from app.domain.workflows import Canvas, Edge, Node, Position

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
    }
)
_MAX_RANGE = 100
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$", re.IGNORECASE)
_DEFAULT_STORAGE = "10Gi"


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One container port, its protocol and whether the host publishes it."""

    target: int
    protocol: str
    published: bool


@dataclass(slots=True)
class Translation:
    """What :func:`translate` builds."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    secret_values: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)

    def node_id(self, wanted: str) -> str:
        """A node id not taken yet: ``wanted``, else ``wanted-2``, ``wanted-3``…"""
        base = slugify_dns1123(wanted, 58)
        candidate, n = base, 1
        while candidate in self.ids:
            n += 1
            candidate = f"{base}-{n}"
        self.ids.add(candidate)
        return candidate

    def link(self, source: str, target: str, target_handle: str | None = None) -> None:
        self.edges.append(Edge(f"e-{source}-{target}", source, target, None, target_handle))


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
    project: ProjectFiles = NO_FILES,  # noqa: ARG001 (configs, secrets and single-file bind mounts read it)
    base_dir: str = "",  # noqa: ARG001
) -> Translation:
    """The canvas for ``services``; problems go to ``problems`` (errors mean the result must be dropped)."""
    out = Translation()
    rows = Rows()
    names = service_names(list(services))
    volume_nodes: dict[str, str] = {}
    for name, raw in services.items():
        service = raw if isinstance(raw, dict) else {}
        _service(
            name,
            names[name],
            service,
            top_volumes,
            variables,
            problems,
            out,
            rows,
            volume_nodes,
            namespace,
            service_type,
        )
    _check_depends_on(services, problems)
    return out


def _service(
    name: str,
    slug: str,
    service: dict[str, Any],
    top_volumes: Mapping[str, Any],
    variables: Mapping[str, str],
    problems: Problems,
    out: Translation,
    rows: Rows,
    volume_nodes: dict[str, str],
    namespace: str | None,
    service_type: str,
) -> None:
    at = f"services.{name}"
    image = service.get("image")
    if not isinstance(image, str) or not image:
        image = None
        if "build" in service:
            problems.warn(
                "BUILD_WITHOUT_IMAGE",
                "the service is built from source and names no image: set the image once it is built",
                name,
                f"{at}.build",
            )
        else:
            problems.error("SERVICE_NO_IMAGE", "the service has neither image nor build", name, at)
            return
    elif "build" in service:
        problems.warn(
            "BUILD_NOT_TRANSLATED", "build is not translated; the image is used", name, f"{at}.build"
        )
    ports = _ports(name, service, problems)
    mounts = _volumes(name, service, top_volumes, problems)
    for key in sorted(set(service) - _HANDLED):
        problems.warn(
            "FIELD_NOT_TRANSLATED",
            f"{key!r} has no Kubernetes equivalent here and was left out",
            name,
            f"{at}.{key}",
        )
    restart = service.get("restart")
    one_shot = restart in ("no", False)
    if one_shot and (ports or mounts):
        problems.warn(
            "ONE_SHOT_KEPT_RUNNING",
            'restart: "no" with ports or named volumes stays a Deployment',
            name,
            f"{at}.restart",
        )
        one_shot = False
    stateful = bool(mounts) or (image is not None and _stateful_image(image))
    kind = "Job" if one_shot else "StatefulSet" if stateful else "Deployment"

    data: dict[str, Any] = {"name": slug}
    if namespace:
        data["namespace"] = namespace
    if image:
        data["image"] = image
    if ports and kind != "Job":
        data["port"] = ports[0].target
    if kind == "StatefulSet":
        data["serviceName"] = slug
    if kind == "Job":
        data["restartPolicy"] = "Never"
        data["backoffLimit"] = 0
    _command(name, service, data, problems)
    _healthcheck(name, service, data, problems)
    _deploy(name, service, data, kind, problems)
    _security(name, service, data, problems)
    _network_mode(name, service, problems)

    row = rows.next_row("Service") if ports else rows.next_row("Deployment")
    workload_id = out.node_id(slug)
    if ports:
        service_id = out.node_id(f"{slug}-svc")
        x, y = rows.take("Service", row)
        published = any(p.published for p in ports)
        service_data: dict[str, Any] = {
            "name": slug,
            "serviceType": service_type if published else "ClusterIP",
            "port": ports[0].target,
        }
        if namespace:
            service_data["namespace"] = namespace
        if len(ports) > 1 or ports[0].protocol != "TCP":
            service_data["ports"] = [
                {
                    "name": f"{p.protocol.lower()}-{p.target}",
                    "protocol": p.protocol,
                    "port": p.target,
                    "targetPort": p.target,
                }
                for p in ports
            ]
        out.nodes.append(Node(service_id, "Service", Position(x, y), service_data))
        out.link(service_id, workload_id)
    x, y = rows.take(kind, row)
    _environment(name, slug, service, variables, problems, out, rows, workload_id, namespace)
    for volume, target, read_only in mounts:
        pvc_id = volume_nodes.get(volume)
        if pvc_id is None:
            pvc_id = volume_nodes[volume] = out.node_id(f"pvc-{volume}")
            px, py = rows.take("PersistentVolumeClaim")
            pvc: dict[str, Any] = {
                "name": slugify_dns1123(volume),
                "storage": _DEFAULT_STORAGE,
                "accessModes": ["ReadWriteOnce"],
                "volumeMode": "Filesystem",
            }
            if namespace:
                pvc["namespace"] = namespace
            out.nodes.append(Node(pvc_id, "PersistentVolumeClaim", Position(px, py), pvc))
        data.setdefault("volumeMounts", []).append(
            {
                "type": "persistentVolumeClaim",
                "name": slugify_dns1123(volume),
                "mountPath": target,
                "readOnly": read_only,
            }
        )
        out.link(pvc_id, workload_id)
    out.nodes.append(Node(workload_id, kind, Position(x, y), data))


def _stateful_image(image: str) -> bool:
    last = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0].lower()
    return any(re.fullmatch(rf"{known}(?:ql|db)?", last) for known in STATEFUL_IMAGES)


# --- ports ----------------------------------------------------------------------------------------------


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
    variables: Mapping[str, str],
    problems: Problems,
    out: Translation,
    rows: Rows,
    workload_id: str,
    namespace: str | None,
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
            if key not in variables:
                problems.warn(
                    "ENV_UNSET",
                    f"{key} takes its value from the environment, which does not set it",
                    name,
                    path,
                )
                continue
            value = variables[key]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        (sensitive if _SENSITIVE.search(key.upper()) else plain)[key] = text
    if plain:
        config_id = out.node_id(f"{slug}-config")
        x, y = rows.take("ConfigMap")
        config: dict[str, Any] = {"name": f"{slug}-config", "data": plain}
        if namespace:
            config["namespace"] = namespace
        out.nodes.append(Node(config_id, "ConfigMap", Position(x, y), config))
        out.link(config_id, workload_id, ENV_HANDLE)
    if sensitive:
        secret_id = out.node_id(f"{slug}-secret")
        x, y = rows.take("Secret")
        keys = [{"id": f"key-{i + 1}", "name": key} for i, key in enumerate(sensitive)]
        secret: dict[str, Any] = {"name": f"{slug}-secret", "secretType": "Opaque", "keys": keys}
        if namespace:
            secret["namespace"] = namespace
        out.nodes.append(Node(secret_id, "Secret", Position(x, y), secret))
        out.secret_values[secret_id] = sensitive
        out.link(secret_id, workload_id, ENV_HANDLE)


# --- volumes --------------------------------------------------------------------------------------------


def _volumes(
    name: str, service: dict[str, Any], top_volumes: Mapping[str, Any], problems: Problems
) -> list[tuple[str, str, bool]]:
    """The named volumes the service mounts: (volume, target, read only); others are reported."""
    found: list[tuple[str, str, bool]] = []
    items = service.get("volumes") or []
    for index, item in enumerate(items if isinstance(items, list) else []):
        path = f"services.{name}.volumes[{index}]"
        if isinstance(item, dict):
            kind = str(item.get("type", "volume"))
            source, target = item.get("source"), str(item.get("target", ""))
            read_only = bool(item.get("read_only", False))
        else:
            parts = str(item).split(":")
            kind = "volume"
            if len(parts) == 1:
                source, target, read_only = None, parts[0], False
            else:
                source, target = parts[0], parts[1]
                read_only = len(parts) > 2 and "ro" in parts[2].split(",")
            if source is not None and (source.startswith(("/", ".", "~", "$")) or source == ""):
                kind = "bind"
        if kind == "bind":
            problems.warn(
                "BIND_MOUNT_NOT_SUPPORTED",
                f"the bind mount of {source!r} at {target!r} has no cluster equivalent and was left out",
                name,
                path,
            )
            continue
        if kind != "volume":
            problems.warn("VOLUME_TYPE_NOT_SUPPORTED", f"a {kind} volume was left out", name, path)
            continue
        if not source:
            problems.warn("ANONYMOUS_VOLUME", f"the anonymous volume at {target!r} was left out", name, path)
            continue
        if source not in top_volumes:
            problems.warn(
                "VOLUME_NOT_DECLARED", f"the volume {source!r} is not declared under volumes", name, path
            )
        if any(v == source for v, _, _ in found):
            problems.warn("VOLUME_MOUNTED_TWICE", f"only the first mount of {source!r} is kept", name, path)
            continue
        found.append((str(source), target, read_only))
    return found


# --- container settings ---------------------------------------------------------------------------------


def _split(value: Any, name: str, path: str, problems: Problems) -> list[str] | None:
    if isinstance(value, list):
        return [str(v) for v in value] or None
    if isinstance(value, str) and value.strip():
        try:
            return shlex.split(value)
        except ValueError:
            problems.warn(
                "COMMAND_NOT_SPLIT",
                "the command could not be split as a shell would; it runs via sh -c",
                name,
                path,
            )
            return ["sh", "-c", value]
    return None


def _command(name: str, service: dict[str, Any], data: dict[str, Any], problems: Problems) -> None:
    for key, target in (("entrypoint", "command"), ("command", "args")):
        value = _split(service.get(key), name, f"services.{name}.{key}", problems)
        if value:
            data[target] = value


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    total, position = 0.0, 0
    for match in _DURATION.finditer(value):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return total if position == len(value) else None


def _healthcheck(name: str, service: dict[str, Any], data: dict[str, Any], problems: Problems) -> None:
    check = service.get("healthcheck")
    path = f"services.{name}.healthcheck"
    if not isinstance(check, dict) or check.get("disable") is True or not set(check) - {"disable"}:
        return
    test = check.get("test")
    if isinstance(test, str):
        command: list[str] | None = ["sh", "-c", test]
    elif isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"):
        command = (
            [str(t) for t in test[1:]]
            if test[0] == "CMD"
            else ["sh", "-c", " ".join(str(t) for t in test[1:])]
        )
    elif isinstance(test, list) and test and test[0] == "NONE":
        return
    else:
        problems.warn(
            "HEALTHCHECK_NO_TEST", "the healthcheck has no test command and was left out", name, path
        )
        return
    probe: dict[str, Any] = {"type": "exec", "command": command}
    for key, target, default, least in (
        ("interval", "periodSeconds", 30.0, 1),
        ("timeout", "timeoutSeconds", 30.0, 1),
        ("start_period", "initialDelaySeconds", 0.0, 0),
    ):
        raw = check.get(key)
        seconds = default if raw is None else _seconds(raw)
        if seconds is None:
            problems.warn("INVALID_DURATION", f"cannot read the duration {raw!r}", name, f"{path}.{key}")
            seconds = default
        probe[target] = max(least, math.ceil(seconds))
    retries = check.get("retries", 3)
    probe["failureThreshold"] = max(1, int(retries)) if str(retries).isdigit() else 3
    data["livenessProbe"] = dict(probe)
    data["readinessProbe"] = dict(probe)


def _memory(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    match = _MEMORY.match(str(value).strip())
    if match is None:
        return None
    number, unit = float(match.group(1)), match.group(2).lower()
    size = number * 1024 ** " kmgt".index(unit or " ")
    for suffix, factor in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if size >= factor and size % factor == 0:
            return f"{int(size // factor)}{suffix}"
    return str(math.ceil(size))


def _cpu(value: Any) -> str | None:
    try:
        cores = float(value)
    except (TypeError, ValueError):
        return None
    return f"{round(cores * 1000)}m" if cores > 0 else None


def _deploy(name: str, service: dict[str, Any], data: dict[str, Any], kind: str, problems: Problems) -> None:
    deploy = service.get("deploy") if isinstance(service.get("deploy"), dict) else {}
    assert isinstance(deploy, dict)
    replicas = deploy.get("replicas")
    if replicas is not None and kind != "Job":
        if str(replicas).isdigit():
            data["replicas"] = int(replicas)
        else:
            problems.warn(
                "INVALID_REPLICAS", f"cannot read replicas {replicas!r}", name, f"services.{name}.deploy"
            )
    resources: dict[str, dict[str, str]] = {}
    raw = deploy.get("resources") if isinstance(deploy.get("resources"), dict) else {}
    assert isinstance(raw, dict)
    for source, target in (("limits", "limits"), ("reservations", "requests")):
        block = raw.get(source) if isinstance(raw.get(source), dict) else {}
        assert isinstance(block, dict)
        _resource(block.get("cpus"), block.get("memory"), resources, target)
    _resource(service.get("cpus"), service.get("mem_limit"), resources, "limits")
    _resource(None, service.get("mem_reservation"), resources, "requests")
    for key in ("limits", "requests"):
        if not resources.get(key):
            resources.pop(key, None)
    if resources:
        data["resources"] = resources


def _resource(cpus: Any, memory: Any, resources: dict[str, dict[str, str]], target: str) -> None:
    block = resources.setdefault(target, {})
    cpu = _cpu(cpus) if cpus is not None else None
    mem = _memory(memory) if memory is not None else None
    if cpu:
        block.setdefault("cpu", cpu)
    if mem:
        block.setdefault("memory", mem)


def _security(name: str, service: dict[str, Any], data: dict[str, Any], problems: Problems) -> None:
    context: dict[str, Any] = {}
    user = service.get("user")
    if user is not None:
        uid, _, gid = str(user).partition(":")
        if uid.isdigit() and (not gid or gid.isdigit()):
            context["runAsUser"] = int(uid)
            if gid:
                context["runAsGroup"] = int(gid)
        else:
            problems.warn(
                "USER_NOT_NUMERIC",
                f"user {user!r} is not numeric; Kubernetes needs a uid",
                name,
                f"services.{name}.user",
            )
    for key, target in (("cap_add", "capabilitiesAdd"), ("cap_drop", "capabilitiesDrop")):
        caps = service.get(key)
        if isinstance(caps, list) and caps:
            context[target] = [str(c) for c in caps]
    if service.get("read_only") is True:
        context["readOnlyRootFilesystem"] = True
    if service.get("privileged") is True:
        context["privileged"] = True
        problems.warn(
            "PRIVILEGED",
            "the container runs privileged: it has full access to the node",
            name,
            f"services.{name}.privileged",
        )
    if context:
        data["securityContext"] = context


def _network_mode(name: str, service: dict[str, Any], problems: Problems) -> None:
    mode = service.get("network_mode")
    if mode is not None and mode not in ("bridge", "default"):
        problems.warn(
            "NETWORK_MODE_NOT_SUPPORTED",
            f"network_mode {mode!r} is not supported; the pod gets its own network",
            name,
            f"services.{name}.network_mode",
        )


# --- depends_on -----------------------------------------------------------------------------------------


def _dependencies(service: Any) -> list[str]:
    value = service.get("depends_on") if isinstance(service, dict) else None
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [str(k) for k in value]
    return []


def _check_depends_on(services: Mapping[str, Any], problems: Problems) -> None:
    graph = {name: _dependencies(service) for name, service in services.items()}
    for name, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                problems.warn(
                    "DEPENDS_ON_UNKNOWN",
                    f"depends on {dep!r}, which is not a service here",
                    name,
                    f"services.{name}.depends_on",
                )
        if deps:
            problems.warn(
                "DEPENDS_ON_NOT_ENFORCED",
                f"depends on {', '.join(deps)}; the start order is not enforced yet",
                name,
                f"services.{name}.depends_on",
            )
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        state[name] = 1
        for dep in graph.get(name, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return [*trail, name, dep]
            if state.get(dep) is None:
                cycle = visit(dep, [*trail, name])
                if cycle:
                    return cycle
        state[name] = 2
        return None

    for name in graph:
        if state.get(name) is None:
            cycle = visit(name, [])
            if cycle:
                start = cycle.index(cycle[-1])
                problems.error(
                    "CIRCULAR_DEPENDENCY",
                    f"depends_on forms a cycle: {' -> '.join(cycle[start:])}",
                    cycle[-1],
                    f"services.{cycle[-1]}.depends_on",
                )
                return


def build_canvas(out: Translation) -> Canvas:
    """The canvas of ``out``."""
    return Canvas(tuple(out.nodes), tuple(out.edges))
