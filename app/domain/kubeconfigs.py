"""Reading a parsed kubeconfig: its contexts and what one of them points at (pure; no YAML, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class KubeconfigProblem(ValueError):
    """The kubeconfig cannot be used; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class KubeconfigTarget:
    context: str
    cluster: str
    user: str
    server: str
    namespace: str | None


def _named(doc: Mapping[str, Any], section: str) -> dict[str, Mapping[str, Any]]:
    items = doc.get(section) or []
    if not isinstance(items, list):
        raise KubeconfigProblem(f"`{section}` must be a list")
    named: dict[str, Mapping[str, Any]] = {}
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            body = item.get(section[:-1])
            named[item["name"]] = body if isinstance(body, Mapping) else {}
    return named


def context_names(doc: Mapping[str, Any]) -> list[str]:
    return list(_named(doc, "contexts"))


def resolve_context(doc: Mapping[str, Any], context: str | None) -> KubeconfigTarget:
    """The cluster and user that ``context`` (default: ``current-context``) names."""
    if not isinstance(doc, Mapping):
        raise KubeconfigProblem("a kubeconfig is a YAML mapping")
    contexts = _named(doc, "contexts")
    if not contexts:
        raise KubeconfigProblem("the kubeconfig has no contexts")
    chosen = context or doc.get("current-context")
    if not isinstance(chosen, str) or not chosen:
        raise KubeconfigProblem(f"name a context; this kubeconfig has: {', '.join(sorted(contexts))}")
    if chosen not in contexts:
        raise KubeconfigProblem(f"no context {chosen!r}; this kubeconfig has: {', '.join(sorted(contexts))}")
    body = contexts[chosen]
    cluster_name, user_name = body.get("cluster"), body.get("user")
    clusters, users = _named(doc, "clusters"), _named(doc, "users")
    if not isinstance(cluster_name, str) or cluster_name not in clusters:
        raise KubeconfigProblem(f"context {chosen!r} names a cluster the kubeconfig does not define")
    if not isinstance(user_name, str) or user_name not in users:
        raise KubeconfigProblem(f"context {chosen!r} names a user the kubeconfig does not define")
    user = users[user_name]
    for key, why in (
        ("exec", "runs a credential plugin on this machine"),
        ("auth-provider", "uses an auth-provider plugin"),
        ("tokenFile", "reads its token from a file"),
        ("client-certificate", "reads its certificate from a file"),
        ("client-key", "reads its key from a file"),
        ("username", "uses basic auth"),
    ):
        if key in user:
            raise KubeconfigProblem(
                f"user {user_name!r} {why}, which Trellis cannot use; give a token or embedded certificate "
                "data (`kubectl config view --raw --flatten --minify` embeds files)"
            )
    if "certificate-authority" in clusters[cluster_name]:
        raise KubeconfigProblem(
            f"cluster {cluster_name!r} reads its CA from a file; embed it (kubectl config view --raw)"
        )
    server = clusters[cluster_name].get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise KubeconfigProblem(f"cluster {cluster_name!r} has no server URL")
    namespace = body.get("namespace")
    return KubeconfigTarget(
        context=chosen,
        cluster=cluster_name,
        user=user_name,
        server=server,
        namespace=namespace if isinstance(namespace, str) else None,
    )
