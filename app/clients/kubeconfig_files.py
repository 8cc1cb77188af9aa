"""Preparing a local kubeconfig for upload: keep one context and embed the files it points at (what
`kubectl config view --raw --flatten --minify` does), so no other context's secrets leave the machine."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE_FIELDS = {
    "clusters": {"certificate-authority": "certificate-authority-data"},
    "users": {"client-certificate": "client-certificate-data", "client-key": "client-key-data"},
}


def _entry(doc: Mapping[str, Any], section: str, name: str) -> dict[str, Any]:
    for item in doc.get(section) or []:
        if isinstance(item, Mapping) and item.get("name") == name:
            return {"name": name, section[:-1]: dict(item.get(section[:-1]) or {})}
    raise ValueError(f"the kubeconfig has no {section[:-1]} named {name!r}")


def context_names(doc: Mapping[str, Any]) -> list[str]:
    return [
        str(item["name"])
        for item in doc.get("contexts") or []
        if isinstance(item, Mapping) and "name" in item
    ]


def minified(doc: Mapping[str, Any], context: str | None, base_dir: Path) -> dict[str, Any]:
    """A kubeconfig holding only ``context`` (default: the current one), its cluster and user, with
    file references (relative to ``base_dir``) embedded as data."""
    chosen = context or doc.get("current-context")
    if not chosen:
        raise ValueError(
            f"name a context with --context; this kubeconfig has: {', '.join(context_names(doc))}"
        )
    ctx = _entry(doc, "contexts", str(chosen))
    cluster = _entry(doc, "clusters", str(ctx["context"].get("cluster")))
    user = _entry(doc, "users", str(ctx["context"].get("user")))
    for section, entry in (("clusters", cluster), ("users", user)):
        body = entry[section[:-1]]
        for path_key, data_key in FILE_FIELDS[section].items():
            if path_key in body:
                body[data_key] = base64.b64encode(_read(base_dir, body.pop(path_key))).decode()
        if section == "users" and "tokenFile" in body:
            body["token"] = _read(base_dir, body.pop("tokenFile")).decode().strip()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": chosen,
        "contexts": [ctx],
        "clusters": [cluster],
        "users": [user],
    }


def _read(base_dir: Path, name: object) -> bytes:
    path = Path(str(name)).expanduser()
    return (path if path.is_absolute() else base_dir / path).read_bytes()
