"""``extends``: a service built on another one, of the same file (``extends: base`` or
``extends: {service: base}``) or of another file of the project (``extends: {file: …, service: …}``), as
Docker Compose v2 resolves it: per file, before the files are merged; the extended file's relative paths
are its own; the extending service's fields are merged over the base's by the override rules.

Cycles (``EXTENDS_CYCLE``) and chains longer than :data:`~app.compose.sources.MAX_NESTING` are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.compose.merging import merge_service
from app.compose.problems import in_file
from app.compose.sources import MAX_NESTING, Source

if TYPE_CHECKING:
    from app.compose.reading import ProjectReader

_Link = tuple[str, str]
"""(file, service) in an extends chain."""


def apply_extends(
    reader: ProjectReader, document: dict[str, Any], source: Source, variables: Mapping[str, str]
) -> None:
    """Resolve the ``extends`` of every service of ``document`` (in place)."""
    services = document.get("services")
    if not isinstance(services, dict):
        return
    here = source.path or source.label or "the compose file"
    for name in list(services):
        _Resolver(reader, source, variables, name).service(name, services, here, ())


class _Resolver:
    """Resolves the chain of one service of the file being loaded (``top``), reporting on it."""

    def __init__(self, reader: ProjectReader, source: Source, variables: Mapping[str, str], top: str) -> None:
        self.reader = reader
        self.source = source
        self.variables = variables
        self.top = top
        self.field = f"services.{top}.extends"

    def _error(self, code: str, message: str) -> None:
        self.reader.problems.error(code, in_file(self.source.label, message), self.top, self.field)

    def service(
        self, name: str, services: dict[str, Any], here: str, chain: tuple[_Link, ...]
    ) -> dict[str, Any]:
        """``services[name]`` with its ``extends`` applied (and written back into ``services``, so each
        service is resolved once); without it when the base cannot be found (the error is reported)."""
        raw = services.get(name)
        service = raw if isinstance(raw, dict) else {}
        extends = service.get("extends")
        if extends is None:
            return service
        own = {k: v for k, v in service.items() if k != "extends"}
        link = (here, name)
        if link in chain:
            cycle = " -> ".join(f"{s} ({f})" for f, s in (*chain, link))
            self._error("EXTENDS_CYCLE", f"extends forms a cycle: {cycle}")
            return own
        if len(chain) >= MAX_NESTING:
            self._error("EXTENDS_TOO_DEEP", f"extends chains more than {MAX_NESTING} services")
            return own
        base_name = extends if isinstance(extends, str) else extends.get("service")
        file = extends.get("file") if isinstance(extends, dict) else None
        if file is None:
            base_services, there = services, here
        else:
            found = self._file(str(file))
            if found is None:
                return own
            base_services, there = found
        if not isinstance(base_name, str) or base_name not in base_services:
            where = f" in {file!r}" if file is not None else ""
            self._error("EXTENDS_UNKNOWN_SERVICE", f"extends names the unknown service {base_name!r}{where}")
            return own
        base = self.service(base_name, base_services, there, (*chain, link))
        merged = merge_service(base, own)
        services[name] = merged
        return merged

    def _file(self, file: str) -> tuple[dict[str, Any], str] | None:
        path = self.reader.resolve(file)
        if path is None:
            self._error(
                "EXTENDS_FILE_NOT_RESOLVED",
                f"cannot extend from {file!r}: only files inside the project can be extended "
                "(no absolute paths, home directories or remote resources)",
            )
            return None

        def missing(message: str) -> None:
            self._error("EXTENDS_FILE_MISSING", message)

        services = self.reader.extended_file(path, self.variables, missing)
        return None if services is None else (services, path)
