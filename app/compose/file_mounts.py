"""Files mounted into containers: ``configs`` → ConfigMaps, ``secrets`` → Secrets, single-file bind mounts
→ one ConfigMap per service; each file mounted at exactly its target path (``subPath`` = its key).

Contents are read through the project's files (paths relative to the compose files' folder). Secret values
go to the translation's ``secret_values``, never into node data. A file that cannot be read leaves an
empty ConfigMap entry (or a Secret key without a value, which is not applied until one is set) and a
warning saying why. ``external`` configs and secrets become no node: the workload mounts the object that
must already exist.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.compose.output import Translation, external_name
from app.compose.problems import Problems
from app.compose.project import ProjectFiles, resolve
from app.compose.storage import VolumeItem
from app.domain.kinds.rules import CONFIG_MAP_MAX_BYTES

_NOT_KEY = re.compile(r"[^-._a-zA-Z0-9]+")
_KEY_MAX = 253
_SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True, slots=True)
class _Kind:
    """How one of ``configs`` / ``secrets`` is translated."""

    key: str
    noun: str
    node_kind: str
    volume_type: str
    mount_root: str


CONFIGS = _Kind("configs", "config", "ConfigMap", "configMap", "/")
SECRETS = _Kind("secrets", "secret", "Secret", "secret", _SECRETS_DIR)


@dataclass(frozen=True, slots=True)
class _Object:
    """A config or secret as made: its node (None when external), object name and key."""

    node_id: str | None
    name: str
    key: str


@dataclass(slots=True)
class _Files:
    """A service's ConfigMap of bind-mounted files being filled."""

    node_id: str
    name: str
    data: dict[str, str]
    size: int = 0


@dataclass(frozen=True, slots=True)
class Mounted:
    """A mount for the workload and the node to connect to it (None: no node, the object exists)."""

    mount: dict[str, Any]
    node_id: str | None


class FileMounts:
    """Makes the ConfigMap and Secret nodes of a project's files as services mount them."""

    def __init__(
        self,
        model: Mapping[str, Any],
        variables: Mapping[str, str],
        project: ProjectFiles,
        base_dir: str,
        namespace: str | None,
        problems: Problems,
        out: Translation,
    ) -> None:
        self._model = model
        self._variables = variables
        self._project = project
        self._base_dir = base_dir
        self._namespace = namespace
        self._problems = problems
        self._out = out
        self._made: dict[tuple[str, str], _Object] = {}
        self._files: dict[str, _Files] = {}
        for kind in (CONFIGS, SECRETS):
            definitions = model.get(kind.key)
            for key, definition in definitions.items() if isinstance(definitions, Mapping) else ():
                name = external_name(definition, str(key))
                if name is not None:
                    out.reserve(kind.node_kind, name)

    # --- configs and secrets ---------------------------------------------------------------------------

    def objects(self, kind: _Kind, service: str, spec: Mapping[str, Any]) -> list[Mounted]:
        """The mounts of the service's ``configs`` or ``secrets`` (short and long syntax)."""
        items = spec.get(kind.key) or []
        found: list[Mounted] = []
        for index, item in enumerate(items if isinstance(items, list) else []):
            path = f"services.{service}.{kind.key}[{index}]"
            source = item.get("source") if isinstance(item, dict) else item
            if not isinstance(source, str) or not source:
                self._problems.warn(
                    "FILE_MOUNT_INVALID", f"the {kind.noun} entry names no source", service, path
                )
                continue
            definitions = self._model.get(kind.key)
            if not isinstance(definitions, dict) or source not in definitions:
                self._problems.warn(
                    f"{kind.noun.upper()}_NOT_DECLARED",
                    f"the {kind.noun} {source!r} is not declared under top-level {kind.key}",
                    service,
                    path,
                )
                continue
            target = self._target(kind, source, item)
            if isinstance(item, dict) and any(item.get(k) is not None for k in ("uid", "gid", "mode")):
                self._problems.warn(
                    "FILE_OWNER_NOT_TRANSLATED",
                    f"uid, gid and mode are not translated: {target} is mounted read-only, owned by root, "
                    "mode 0644",
                    service,
                    path,
                )
            made = self._made.get((kind.key, source)) or self._make(kind, source, definitions[source])
            mount = {
                "type": kind.volume_type,
                "name": made.name,
                "mountPath": target,
                "subPath": made.key,
                "readOnly": True,
            }
            found.append(Mounted(mount, made.node_id))
        return found

    @staticmethod
    def _target(kind: _Kind, source: str, item: Any) -> str:
        target = item.get("target") if isinstance(item, dict) else None
        if not isinstance(target, str) or not target:
            target = source
        return posixpath.normpath(posixpath.join(kind.mount_root, target))

    def _make(self, kind: _Kind, source: str, raw: Any) -> _Object:
        definition: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        at = f"{kind.key}.{source}"
        key = file_key(source)
        external = external_name(definition, source)
        if external is not None:
            name = external
            self._problems.warn(
                f"{kind.noun.upper()}_EXTERNAL",
                f"the {kind.noun} {source!r} is external: a {kind.node_kind} named {name!r} with the key "
                f"{key!r} must already exist in the namespace",
                None,
                at,
            )
            made = self._made[(kind.key, source)] = _Object(None, name, key)
            return made
        content = self._content(kind, source, definition, at)
        node_id = self._out.node_id(f"{kind.noun}-{source}")
        name = self._out.object_name(kind.node_kind, str(definition.get("name") or source))
        data: dict[str, Any] = {"name": name}
        if kind is CONFIGS:
            data["data"] = {key: content or ""}
        else:
            data["secretType"] = "Opaque"
            data["keys"] = [{"id": "key-1", "name": key}]
            if content is not None:
                self._out.secret_values[node_id] = {key: content}
        if self._namespace:
            data["namespace"] = self._namespace
        self._out.add(node_id, kind.node_kind, data)
        made = self._made[(kind.key, source)] = _Object(node_id, name, key)
        return made

    def _content(self, kind: _Kind, source: str, definition: Mapping[str, Any], at: str) -> str | None:
        noun = f"the {kind.noun} {source!r}"
        empty = "an empty file is mounted" if kind is CONFIGS else "the Secret has no value until you set it"
        if isinstance(definition.get("content"), str):
            text: str | None = definition["content"]
        elif isinstance(definition.get("environment"), str):
            variable = definition["environment"]
            text = self._variables.get(variable)
            if text is None:
                self._problems.warn(
                    "FILE_CONTENT_MISSING",
                    f"{noun} takes its content from the variable {variable}, which is not set: {empty}",
                    None,
                    f"{at}.environment",
                )
                return None
        elif isinstance(definition.get("file"), str):
            text, why = self.read(definition["file"])
            if text is None:
                self._problems.warn("FILE_CONTENT_MISSING", f"{noun}: {why}; {empty}", None, f"{at}.file")
                return None
        else:
            self._problems.warn(
                "FILE_CONTENT_MISSING", f"{noun} has no file, content or environment: {empty}", None, at
            )
            return None
        assert text is not None
        if _too_big(file_key(source), text):
            self._problems.warn(
                "FILE_TOO_LARGE",
                f"{noun} is larger than 1 MiB, more than Kubernetes holds: {empty}",
                None,
                at,
            )
            return None
        return text

    # --- single-file bind mounts -----------------------------------------------------------------------

    def bind(self, service: str, slug: str, item: VolumeItem) -> Mounted | None:
        """The mount of a bind-mounted project file from the service's ConfigMap of files, or None (with
        the reason warned) when the source is a directory, a host path or a file that cannot be read."""
        source = str(item.source or "")
        text, why = self.read(source)
        if text is None:
            self._problems.warn(
                "BIND_MOUNT_NOT_SUPPORTED",
                f"the bind mount of {source!r} at {item.target!r} was left out: {why}",
                service,
                item.path,
            )
            return None
        box = self._files.get(service)
        if box is None:
            node_id = self._out.node_id(f"{slug}-files")
            data: dict[str, Any] = {"name": self._out.object_name("ConfigMap", f"{slug}-files"), "data": {}}
            if self._namespace:
                data["namespace"] = self._namespace
            self._out.add(node_id, "ConfigMap", data)
            box = self._files[service] = _Files(node_id, data["name"], data["data"])
        key = _free_key(file_key(posixpath.basename(source.rstrip("/"))), box.data)
        size = len(key.encode()) + len(text.encode())
        if box.size + size > CONFIG_MAP_MAX_BYTES:
            self._problems.warn(
                "BIND_MOUNT_NOT_SUPPORTED",
                f"the bind mount of {source!r} at {item.target!r} was left out: with it the service's "
                "files would pass 1 MiB, more than a ConfigMap holds",
                service,
                item.path,
            )
            return None
        box.data[key] = text
        box.size += size
        mount = {"type": "configMap", "name": box.name, "mountPath": item.target, "subPath": key}
        return Mounted({**mount, "readOnly": True}, box.node_id)

    # --- reading ---------------------------------------------------------------------------------------

    def read(self, written: str) -> tuple[str | None, str]:
        """The text of the project file ``written`` (as the compose file names it), or None and why not."""
        if written.startswith(("/", "~", "\\")) or (len(written) > 1 and written[1] == ":"):
            return None, f"{written!r} is a path on the Docker host, which has no cluster equivalent"
        path = resolve(self._base_dir, written)
        if path is None:
            return None, f"{written!r} lies outside the project"
        if self._project.is_dir(path):
            return None, f"{path or '.'!r} is a folder; only single files become ConfigMap entries"
        text = self._project.read(path)
        if text is not None and "\x00" in text:
            text = None
        if text is not None:
            return text, ""
        if self._project.exists(path):
            return None, f"{path!r} is binary or larger than 1 MiB, which a ConfigMap cannot hold"
        if self._project.from_repository:
            return None, f"{path!r} is not in the repository"
        return None, f"{path!r} was not supplied: add the file in projectFiles"


def file_key(name: str) -> str:
    """A ConfigMap or Secret key (a file name: letters, digits, ``-``, ``_``, ``.``) made from ``name``."""
    key = _NOT_KEY.sub("_", name).strip(".")[:_KEY_MAX]
    return key or "file"


def _free_key(key: str, taken: Mapping[str, str]) -> str:
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        stem, dot, ext = key.partition(".")
        candidate = f"{stem}-{n}{dot}{ext}"
    return candidate


def _too_big(key: str, text: str) -> bool:
    return len(key.encode()) + len(text.encode()) > CONFIG_MAP_MAX_BYTES
