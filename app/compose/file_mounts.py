"""Files mounted into containers: ``configs`` → ConfigMaps, ``secrets`` → Secrets, bind-mounted project
files and folders → one ConfigMap per service (``<service>-files``), and one Secret per service
(``<service>-files-secret``) for those that hold key material; each file mounted at exactly its target
path (``subPath`` = its key).

Contents are read through the project's files (paths relative to the compose files' folder). Secret values
go to the translation's ``secret_values``, never into node data. A file that cannot be read leaves an
empty ConfigMap entry (or a Secret key without a value, which is not applied until one is set) and a
warning saying why. ``external`` configs and secrets become no node: the workload mounts the object that
must already exist.

Bind mounts, the rules:

* A bind-mounted file is **key material** when its name says so (``*.key``, ``*.pem``, ``*.p12``,
  ``*.pfx``, ``id_rsa``/``id_dsa``/``id_ecdsa``/``id_ed25519`` but not their ``.pub``) or its content holds
  a PEM private key block (``-----BEGIN … PRIVATE KEY-----``, e.g. a ``*.crt`` bundled with its key). Key
  material goes to the service's Secret, everything else to its ConfigMap. Binary files (``*.p12``…)
  cannot be imported and are reported.
* A bind-mounted **folder** is translated only when it is configuration the container reads: mounted
  read-only (``:ro``, ``read_only: true``), or at a target where configuration lives — a path with a
  segment ``etc``, ``conf``, ``config``, ``configs``, ``certs``, ``ssl``, ``tls``, ``secrets`` or
  ``provisioning``, or one ending in ``.d`` (``/etc/prometheus``, ``/etc/nginx/conf.d``,
  ``/docker-entrypoint-initdb.d``). Any other read-write folder is taken as data the container writes
  (a ConfigMap is read-only) and reported: use a named volume, or add ``:ro``.
* A translated folder must hold at most :data:`FOLDER_MAX_FILES` files, all text, and fit (with the
  service's other files) in 1 MiB; otherwise nothing of it is mounted and the reason is reported. Each
  of its files (sub-folders walked) becomes one entry whose key is its path in the folder with ``/``
  written ``__`` (``datasources/prom.yml`` → ``datasources__prom.yml``), mounted at the same path under
  the target. (Files the image already has in that folder stay visible, unlike with Docker, where the
  bind hides them.)
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.compose.output import Translation, external_name
from app.compose.problems import Problems
from app.compose.project import ProjectFiles, resolve
from app.compose.storage import VolumeItem
from app.domain.kinds.rules import CONFIG_MAP_MAX_BYTES

FOLDER_MAX_FILES = 32
"""The most files a bind-mounted folder may hold to be mounted from a ConfigMap."""

_NOT_KEY = re.compile(r"[^-._a-zA-Z0-9]+")
_KEY_MAX = 253
_SECRETS_DIR = "/run/secrets"
_KEY_FILE = re.compile(r".*\.(?:key|pem|p12|pfx)|id_(?:rsa|dsa|ecdsa|ed25519)(?!.*\.pub$).*", re.IGNORECASE)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_CONFIG_SEGMENTS = frozenset(
    {"etc", "conf", "config", "configs", "certs", "ssl", "tls", "secrets", "provisioning"}
)
_FOLDER = "__"


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
    """A service's ConfigMap (or Secret) of bind-mounted files being filled: its node, object name, the
    volume type that mounts it, its entries (key → content), the Secret node's key list (None for the
    ConfigMap), the entries' size in bytes and the key of each project file added (a file mounted twice
    is one entry)."""

    node_id: str
    name: str
    volume_type: str
    entries: dict[str, str]
    keys: list[dict[str, str]] | None
    size: int = 0
    sources: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, found: _File) -> None:
        """Add ``found`` as the entry ``key`` (once)."""
        if found.source in self.sources:
            return
        self.sources[found.source] = key
        self.entries[key] = found.text
        self.size += _size(key, found.text)
        if self.keys is not None:
            self.keys.append({"id": f"key-{len(self.keys) + 1}", "name": key})

    def mount(self, key: str, target: str) -> dict[str, Any]:
        """The workload's mount of the entry ``key`` at ``target``."""
        mount = {"type": self.volume_type, "name": self.name, "mountPath": target, "subPath": key}
        return {**mount, "readOnly": True}


@dataclass(frozen=True, slots=True)
class _File:
    """A bind-mounted file to add: its project path, whether it is key material, its wanted key, target
    path and text."""

    source: str
    secret: bool
    key: str
    target: str
    text: str


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
        self._files: dict[tuple[str, bool], _Files] = {}
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

    # --- bind mounts ------------------------------------------------------------------------------------

    def bind(self, service: str, slug: str, item: VolumeItem) -> list[Mounted]:
        """The mounts of a bind-mounted project file or folder from the service's ConfigMap (and Secret) of
        files; none (with the reason warned) for a host path, a file that cannot be read, or a folder
        that is data or too large (see the module's rules)."""
        source = str(item.source or "")
        path, why = self._locate(source)
        if path is not None and self._project.is_dir(path):
            files, why = self._folder(path, item)
        elif path is not None:
            text, why = self.read(source)
            name = posixpath.basename(path)
            files = None if text is None else [_file(path, name, item.target, text)]
        else:
            files = None
        if files is None:
            self._problems.warn(
                "BIND_MOUNT_NOT_SUPPORTED",
                f"the bind mount of {source!r} at {item.target!r} was left out: {why}",
                service,
                item.path,
            )
            return []
        placed = self._place(service, slug, files)
        if placed is None:
            self._problems.warn(
                "BIND_MOUNT_NOT_SUPPORTED",
                f"the bind mount of {source!r} at {item.target!r} was left out: with it the service's "
                "files would pass 1 MiB, more than a ConfigMap or Secret holds",
                service,
                item.path,
            )
            return []
        return placed

    def _folder(self, path: str, item: VolumeItem) -> tuple[list[_File] | None, str]:
        """The files of the bind-mounted folder ``path``, or None and why not."""
        shown = path or "."
        if not is_configuration(item):
            return None, (
                f"{shown!r} is a folder mounted read-write, so it is taken as data the container writes, "
                "which a ConfigMap (read-only) cannot hold: use a named volume, or add :ro if the "
                "container only reads it"
            )
        names = self._project.list_dir(path)
        if names is None or len(names) > FOLDER_MAX_FILES:
            return None, f"{shown!r} is a folder of more than {FOLDER_MAX_FILES} files"
        if not names:
            return None, f"{shown!r} is an empty folder"
        files: list[_File] = []
        for name in names:
            where = posixpath.join(path, name)
            text = self._project.read(where)
            if text is None or "\x00" in text:
                return None, (
                    f"{where!r} in the folder is binary or larger than 1 MiB, which Kubernetes cannot hold"
                )
            target = posixpath.normpath(posixpath.join(item.target, name))
            files.append(_file(where, name.replace("/", _FOLDER), target, text))
        return files, ""

    def _place(self, service: str, slug: str, files: list[_File]) -> list[Mounted] | None:
        """Add ``files`` to the service's ConfigMap or Secret of files (each made when first needed) and
        give their mounts; None, adding nothing, when either would pass the size limit."""
        boxes = {secret: self._files.get((service, secret)) for secret in (False, True)}
        added = {secret: dict(box.sources) if box else {} for secret, box in boxes.items()}
        taken = {secret: set(box.entries) if box else set() for secret, box in boxes.items()}
        size = {secret: box.size if box else 0 for secret, box in boxes.items()}
        keys: list[str] = []
        for found in files:
            key = added[found.secret].get(found.source)
            if key is None:
                key = added[found.secret][found.source] = _free_key(found.key, taken[found.secret])
                taken[found.secret].add(key)
                size[found.secret] += _size(key, found.text)
            keys.append(key)
        if any(total > CONFIG_MAP_MAX_BYTES for total in size.values()):
            return None
        placed: list[Mounted] = []
        for found, key in zip(files, keys, strict=True):
            box = self._box(service, slug, found.secret)
            box.add(key, found)
            placed.append(Mounted(box.mount(key, found.target), box.node_id))
        return placed

    def _box(self, service: str, slug: str, secret: bool) -> _Files:
        box = self._files.get((service, secret))
        if box is not None:
            return box
        kind = "Secret" if secret else "ConfigMap"
        wanted = f"{slug}-files-secret" if secret else f"{slug}-files"
        node_id = self._out.node_id(wanted)
        data: dict[str, Any] = {"name": self._out.object_name(kind, wanted)}
        if secret:
            data["secretType"] = "Opaque"
            data["keys"] = []
            entries = self._out.secret_values[node_id] = {}
        else:
            data["data"] = entries = {}
        if self._namespace:
            data["namespace"] = self._namespace
        self._out.add(node_id, kind, data)
        box = self._files[(service, secret)] = _Files(
            node_id, data["name"], "secret" if secret else "configMap", entries, data.get("keys")
        )
        return box

    # --- reading ---------------------------------------------------------------------------------------

    def _locate(self, written: str) -> tuple[str | None, str]:
        """The project path of ``written`` (as the compose file names it), or None and why there is none."""
        if written.startswith(("/", "~", "\\")) or (len(written) > 1 and written[1] == ":"):
            return None, f"{written!r} is a path on the Docker host, which has no cluster equivalent"
        path = resolve(self._base_dir, written)
        if path is None:
            return None, f"{written!r} lies outside the project"
        return path, ""

    def read(self, written: str) -> tuple[str | None, str]:
        """The text of the project file ``written`` (as the compose file names it), or None and why not."""
        path, why = self._locate(written)
        if path is None:
            return None, why
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


def is_key_material(name: str, text: str) -> bool:
    """Whether the file ``name`` (a base name) holding ``text`` is key material, kept in a Secret."""
    return _KEY_FILE.fullmatch(name) is not None or _PRIVATE_KEY.search(text) is not None


def is_configuration(item: VolumeItem) -> bool:
    """Whether a bind-mounted folder is configuration the container reads (see the module's rules), not
    data it writes."""
    if item.read_only:
        return True
    segments = [part for part in item.target.split("/") if part]
    return any(part in _CONFIG_SEGMENTS or part.endswith(".d") for part in segments)


def _file(source: str, key: str, target: str, text: str) -> _File:
    """The project file ``source`` holding ``text`` to mount at ``target``, wanting the key ``key``."""
    names = (posixpath.basename(source), posixpath.basename(target))
    secret = any(is_key_material(name, text) for name in names)
    return _File(source, secret, file_key(key), target, text)


def _size(key: str, text: str) -> int:
    return len(key.encode()) + len(text.encode())


def _free_key(key: str, taken: Container[str]) -> str:
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        stem, dot, ext = key.partition(".")
        candidate = f"{stem}-{n}{dot}{ext}"
    return candidate


def _too_big(key: str, text: str) -> bool:
    return _size(key, text) > CONFIG_MAP_MAX_BYTES
