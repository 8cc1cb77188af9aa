"""Discovery documents: /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, /version."""

from __future__ import annotations

import re
from typing import Any

from .errors import path_not_found
from .resources import GROUP_ORDER, Registry

DEFAULT_VERSION = "v1.34.1"


def version_info(git_version: str) -> dict[str, str]:
    match = re.match(r"v(\d+)\.(\d+)", git_version)
    major, minor = (match.group(1), match.group(2)) if match else ("1", "34")
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(max(int(minor) - 1, 0)),
        "gitVersion": git_version,
        "gitCommit": "0" * 40,
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


class Discovery:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def core_versions(self, server_address: str) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }

    def resource_list(self, group: str, version: str) -> dict[str, Any]:
        types = self.registry.in_group_version(group, version)
        if not types:
            raise path_not_found()
        resources: list[dict[str, object]] = []
        for rt in sorted(types, key=lambda t: t.plural):
            resources.extend(rt.discovery_entries())
        body: dict[str, Any] = {"kind": "APIResourceList"}
        if group:
            body["apiVersion"] = "v1"
        body["groupVersion"] = f"{group}/{version}" if group else version
        body["resources"] = resources
        return body

    def _group(self, name: str) -> dict[str, Any]:
        versions = self.registry.groups()[name]
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": entries, "preferredVersion": entries[0]}

    def group_list(self) -> dict[str, Any]:
        names = [g for g in GROUP_ORDER if g in self.registry.groups()]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group(g) for g in names]}

    def group(self, name: str) -> dict[str, Any]:
        if name not in self.registry.groups() or not name:
            raise path_not_found()
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group(name)}
