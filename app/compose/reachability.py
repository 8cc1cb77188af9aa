"""Ports of services that declare none but are reached by others.

On a compose network every container is reachable by its service name on any port it listens on; in
Kubernetes a name resolves only through a Service, and a Service needs its ports. So a service without
``ports`` or ``expose`` that other services reach gets its ports inferred, in this order:

1. ``EXPOSE`` in the Dockerfile of its build context (when the project holds it);
2. ``<service>:<port>`` written in another service's environment, command, entrypoint or a file it mounts
   from the project (``proxy_pass http://backend:8000;`` in an nginx.conf), alone or in a folder mounted as
   configuration (``targets: ['app:8080']`` in a mounted ``/etc/prometheus``);
3. the usual port of a well-known image (5432 for postgres…), when another service names it or depends
   on it.

Each inference is reported, with where the port came from, so the user can check it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.compose.file_mounts import FOLDER_MAX_FILES, is_configuration
from app.compose.merging import as_map
from app.compose.project import ProjectFiles, resolve
from app.compose.storage import VolumeItem, volume_items

USUAL_PORTS: Mapping[str, int] = {
    "postgres": 5432,
    "postgis": 5432,
    "timescaledb": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "mongo": 27017,
    "redis": 6379,
    "valkey": 6379,
    "keydb": 6379,
    "memcached": 11211,
    "rabbitmq": 5672,
    "elasticsearch": 9200,
    "opensearch": 9200,
    "kafka": 9092,
    "zookeeper": 2181,
    "nats": 4222,
    "etcd": 2379,
    "consul": 8500,
    "minio": 9000,
    "cassandra": 9042,
    "couchdb": 5984,
    "neo4j": 7687,
    "influxdb": 8086,
    "clickhouse-server": 8123,
    "nginx": 80,
    "httpd": 80,
    "caddy": 80,
}
"""The port a well-known image listens on by default, by the last part of its name."""

_EXPOSE = re.compile(r"^\s*EXPOSE\s+(.+)$", re.IGNORECASE | re.MULTILINE)
_MAX_PORTS = 10


@dataclass(frozen=True, slots=True)
class InferredPorts:
    """Ports inferred for a service, and a phrase saying where they came from."""

    ports: tuple[int, ...]
    source: str


def infer_ports(
    services: Mapping[str, Any], project: ProjectFiles, base_dir: str, *, one_shot: Collection[str]
) -> tuple[dict[str, InferredPorts], set[str]]:
    """For every long-running service (not in ``one_shot``) without ``ports``/``expose`` that others
    reach: its inferred ports, or, when nothing tells them, its name in the second result."""
    quiet = [
        name
        for name, s in services.items()
        if isinstance(s, dict) and not _declares_ports(s) and name not in one_shot
    ]
    if not quiet:
        return {}, set()
    texts = list(_texts(services, project, base_dir))
    inferred: dict[str, InferredPorts] = {}
    unknown: set[str] = set()
    for name in quiet:
        service = services[name]
        found = _from_references(name, texts)
        named = found is not None or _named(name, texts)
        if found is None and (named or _depended_on(name, services)):
            found = _from_dockerfile(service, project, base_dir) or _from_image(service)
        if found is not None:
            inferred[name] = found
        elif named:
            unknown.add(name)
    return inferred, unknown


def _declares_ports(service: Mapping[str, Any]) -> bool:
    return bool(service.get("ports") or service.get("expose"))


def _texts(services: Mapping[str, Any], project: ProjectFiles, base_dir: str) -> Iterator[tuple[str, str]]:
    """(owner service, text) for everything a service says that may name another service's address."""
    for owner, service in services.items():
        if not isinstance(service, dict):
            continue
        for value in as_map(service.get("environment")).values():
            if value is not None:
                yield owner, str(value)
        for key in ("command", "entrypoint"):
            value = service.get(key)
            if isinstance(value, list):
                yield owner, " ".join(str(v) for v in value)
            elif isinstance(value, str):
                yield owner, value
        for item in volume_items(owner, service):
            if item.type != "bind" or not item.source:
                continue
            path = resolve(base_dir, item.source)
            for text in _mounted_texts(item, path, project) if path is not None else ():
                yield owner, text


def _mounted_texts(item: VolumeItem, path: str, project: ProjectFiles) -> Iterator[str]:
    """The text of a bind-mounted file, or of the files of a bind-mounted folder mounted as configuration
    (at most :data:`~app.compose.file_mounts.FOLDER_MAX_FILES` of them, as the translation mounts it)."""
    if not project.is_dir(path):
        text = project.read(path)
        if text is not None:
            yield text
        return
    names = project.list_dir(path) if is_configuration(item) else None
    if names is None or len(names) > FOLDER_MAX_FILES:
        return
    for name in names:
        text = project.read(posixpath.join(path, name))
        if text is not None:
            yield text


def _reference(name: str) -> re.Pattern[str]:
    """``name:port`` with ``name`` a whole host name (not a part of ``db.example.com`` or ``mydb``)."""
    return re.compile(rf"(?<![\w.-]){re.escape(name)}:(\d{{1,5}})(?![\w.])")


def _from_references(name: str, texts: list[tuple[str, str]]) -> InferredPorts | None:
    pattern = _reference(name)
    ports: list[int] = []
    owners: list[str] = []
    for owner, text in texts:
        if owner == name:
            continue
        for match in pattern.finditer(text):
            port = int(match.group(1))
            if 1 <= port <= 65535 and port not in ports and len(ports) < _MAX_PORTS:
                ports.append(port)
                if owner not in owners:
                    owners.append(owner)
    if not ports:
        return None
    verb = "reaches" if len(owners) == 1 else "reach"
    return InferredPorts(tuple(ports), f"{', '.join(owners)} {verb} it at {name}:{ports[0]}")


def _named(name: str, texts: list[tuple[str, str]]) -> bool:
    """Whether another service writes ``name`` as a host name (``postgres://db/app``, ``DB_HOST=db``)."""
    host = re.compile(rf"(?:^|(?<=[/@=\s]))(?<![\w.-]){re.escape(name)}(?![\w-])(?!\.\w)")
    return any(owner != name and host.search(text) for owner, text in texts)


def _depended_on(name: str, services: Mapping[str, Any]) -> bool:
    """Whether another service waits for ``name`` to start or be healthy (not to complete)."""
    for owner, service in services.items():
        depends = service.get("depends_on") if owner != name and isinstance(service, dict) else None
        if isinstance(depends, list) and name in depends:
            return True
        if isinstance(depends, dict) and isinstance(depends.get(name), dict | None):
            entry = depends.get(name) or {}
            if name in depends and entry.get("condition") != "service_completed_successfully":
                return True
    return False


def _from_dockerfile(
    service: Mapping[str, Any], project: ProjectFiles, base_dir: str
) -> InferredPorts | None:
    build = service.get("build")
    if build is None:
        return None
    spec = build if isinstance(build, dict) else {"context": build}
    context = resolve(base_dir, str(spec.get("context") or "."))
    dockerfile = str(spec.get("dockerfile") or "Dockerfile")
    path = resolve(context, dockerfile) if context is not None else None
    text = project.read(path) if path else None
    if text is None:
        return None
    ports: list[int] = []
    for match in _EXPOSE.finditer(text):
        for word in match.group(1).split():
            number = word.partition("/")[0]
            if number.isdigit() and 1 <= int(number) <= 65535 and int(number) not in ports:
                ports.append(int(number))
    return InferredPorts(tuple(ports[:_MAX_PORTS]), f"EXPOSE in {path}") if ports else None


def _from_image(service: Mapping[str, Any]) -> InferredPorts | None:
    image = service.get("image")
    if not isinstance(image, str) or not image:
        return None
    last = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0].lower()
    port = USUAL_PORTS.get(last)
    return InferredPorts((port,), f"the usual port of {last}") if port else None
