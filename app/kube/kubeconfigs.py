"""Kubeconfig text → its contexts, and the endpoint of any one of them (not only the current one).

Pure: YAML and base64 only, no file or network access, so a kubeconfig pasted by a user can never
make the server read its own files or run a command. What cannot work on a server is refused with a
reason a person can act on:

- paths (``certificate-authority``, ``client-certificate``, ``client-key``, ``tokenFile``) point at
  files on the machine the kubeconfig came from: embed them (``kubectl config view --raw --flatten``);
- ``exec`` and ``auth-provider`` credential plugins would run commands or refresh tokens here;
- ``username``/``password`` (basic auth) was removed from Kubernetes in 1.19.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.kube.endpoints import Endpoint, invalid
from app.kube.errors import KubeInvalid

KUBECONFIG_FIELD = "kubeconfig"
CONTEXT_FIELD = "context"

_FLATTEN = "embed it with `kubectl config view --raw --flatten --minify --context NAME`"


def _invalid(message: str, path: str = KUBECONFIG_FIELD) -> KubeInvalid:
    return invalid(path, message)


@dataclass(frozen=True, slots=True)
class KubeconfigContext:
    """One context as a person picks it: names and the server, no secrets."""

    name: str
    cluster: str
    user: str
    server: str | None
    namespace: str | None


@dataclass(frozen=True, slots=True)
class Kubeconfig:
    contexts: tuple[KubeconfigContext, ...]
    current_context: str | None
    clusters: Mapping[str, Mapping[str, Any]] = field(repr=False)
    users: Mapping[str, Mapping[str, Any]] = field(repr=False)

    @property
    def context_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.contexts)

    def context(self, name: str | None = None) -> KubeconfigContext:
        """The context called ``name`` (None: the current context); ``Invalid`` naming the choices."""
        wanted = name or self.current_context
        if not wanted:
            raise _invalid(
                f"the kubeconfig has no current-context: choose one of {self._choices()}", CONTEXT_FIELD
            )
        for ctx in self.contexts:
            if ctx.name == wanted:
                return ctx
        raise _invalid(
            f"the kubeconfig has no context {wanted!r}: choose one of {self._choices()}", CONTEXT_FIELD
        )

    def endpoint(self, name: str | None = None) -> Endpoint:
        """How to reach the cluster of context ``name`` (None: the current one) as that context's user."""
        ctx = self.context(name)
        where = f"context {ctx.name!r}"
        cluster = self.clusters.get(ctx.cluster)
        if cluster is None:
            raise _invalid(f"{where} refers to cluster {ctx.cluster!r}, which the kubeconfig does not define")
        user = self.users.get(ctx.user) if ctx.user else {}
        if user is None:
            raise _invalid(f"{where} refers to user {ctx.user!r}, which the kubeconfig does not define")
        server = cluster.get("server")
        if not isinstance(server, str) or not server:
            raise _invalid(f"cluster {ctx.cluster!r} has no server address")
        return Endpoint(
            server=server,
            token=_token(user, ctx.user),
            ca_pem=_data(cluster, "certificate-authority", f"cluster {ctx.cluster!r}"),
            client_certificate_pem=_data(user, "client-certificate", f"user {ctx.user!r}"),
            client_key_pem=_data(user, "client-key", f"user {ctx.user!r}"),
            insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
            tls_server_name=_optional_str(cluster, "tls-server-name", f"cluster {ctx.cluster!r}"),
            proxy_url=_optional_str(cluster, "proxy-url", f"cluster {ctx.cluster!r}"),
            namespace=ctx.namespace,
        )

    def _choices(self) -> str:
        return ", ".join(repr(n) for n in self.context_names) or "(none: it defines no contexts)"


def _optional_str(section: Mapping[str, Any], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(f"{where}: {key} must be a string")
    return value


def _data(section: Mapping[str, Any], key: str, where: str) -> str | None:
    """The PEM text of ``<key>-data`` (base64); a bare ``<key>`` path is refused."""
    data = section.get(f"{key}-data")
    if data:
        if not isinstance(data, str):
            raise _invalid(f"{where}: {key}-data must be base64 text")
        try:
            return base64.b64decode("".join(data.split()), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _invalid(f"{where}: {key}-data is not base64-encoded PEM") from exc
    if section.get(key):
        raise _invalid(f"{where}: {key} is a file path on another machine; {_FLATTEN}")
    return None


def _token(user: Mapping[str, Any], name: str) -> str | None:
    where = f"user {name!r}"
    if user.get("exec"):
        raise _invalid(
            f"{where} gets its credentials from an exec plugin, and Trellis runs no commands: "
            "use a service-account token or a client certificate instead"
        )
    if user.get("auth-provider"):
        raise _invalid(
            f"{where} uses the auth-provider plugin {(user['auth-provider'] or {}).get('name', '')!r}, "
            "which Trellis does not run: use a service-account token or a client certificate instead"
        )
    if user.get("username") or user.get("password"):
        raise _invalid(f"{where} uses basic authentication, which Kubernetes removed in 1.19")
    if user.get("tokenFile"):
        raise _invalid(f"{where}: tokenFile is a file path on another machine; {_FLATTEN}")
    token = user.get("token")
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise _invalid(f"{where}: token must be a string")
    return token.strip()


def _named(document: Mapping[str, Any], key: str, inner: str) -> dict[str, Mapping[str, Any]]:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise _invalid(f"{key} must be a list")
    named: dict[str, Mapping[str, Any]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise _invalid(f"{key}[{index}] needs a name")
        body = entry.get(inner) or {}
        if not isinstance(body, dict):
            raise _invalid(f"{key}[{index}].{inner} must be a mapping")
        named.setdefault(entry["name"], body)  # the first entry of a name wins, as in client-go
    return named


def parse_kubeconfig(text: str) -> Kubeconfig:
    """Read a kubeconfig document; ``Invalid`` (field ``kubeconfig``) if it is not one."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _invalid(f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    if not isinstance(document, dict):
        raise _invalid("not a kubeconfig (expected a mapping with clusters, users and contexts)")
    if document.get("kind") not in (None, "Config"):
        raise _invalid(f"not a kubeconfig (kind is {document.get('kind')!r}, expected 'Config')")
    clusters = _named(document, "clusters", "cluster")
    users = _named(document, "users", "user")
    contexts: list[KubeconfigContext] = []
    for name, ctx in _named(document, "contexts", "context").items():
        cluster = str(ctx.get("cluster") or "")
        server = (clusters.get(cluster) or {}).get("server")
        namespace = ctx.get("namespace")
        contexts.append(
            KubeconfigContext(
                name=name,
                cluster=cluster,
                user=str(ctx.get("user") or ""),
                server=server if isinstance(server, str) else None,
                namespace=namespace if isinstance(namespace, str) and namespace else None,
            )
        )
    if not contexts:
        raise _invalid("the kubeconfig defines no contexts")
    current = document.get("current-context")
    return Kubeconfig(
        contexts=tuple(contexts),
        current_context=current if isinstance(current, str) and current else None,
        clusters=clusters,
        users=users,
    )
