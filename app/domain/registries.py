"""Container registries a workspace pulls from and pushes to, and the credentials to reach them.

A :class:`Registry` is what the store holds (its credentials only as ciphertext); a
:class:`RegistryCredentials` is the decrypted secret material, handed in memory only to what talks to the
registry (the ``/v2/`` handshake, the cloud token exchanges, image pull Secrets). Neither is ever returned
by the API with its secrets.

Everything here is pure: URL normalisation, per-type credential checks (returning :class:`Problem` s with
the input path of each field), image-reference parsing, and the ``kubernetes.io/dockerconfigjson``
payload of a pull Secret.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from app.domain.problems import Problem

MAX_NAME = 63
MAX_FIELD = 4096
MAX_SERVICE_ACCOUNT_JSON = 64 * 1024
CREDENTIALS_PATH = "credentials"

PULL_SECRET_PREFIX = "trellis-pull-"
DOCKER_CONFIG_JSON_TYPE = "kubernetes.io/dockerconfigjson"

# Docker Hub answers the registry API at registry-1.docker.io; image names say docker.io (or nothing),
# and a docker config file keys its credentials by the legacy index URL.
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_CANONICAL = "docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"

# The user names the registries expect with an exchanged token.
ECR_USERNAME = "AWS"
GCR_TOKEN_USERNAME = "oauth2accesstoken"
GCR_JSON_KEY_USERNAME = "_json_key"

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_AWS_ACCESS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
_AWS_ACCOUNT = re.compile(r"^\d{12}$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class RegistryType(StrEnum):
    DOCKER_HUB = "DOCKER_HUB"
    GHCR = "GHCR"  # GitHub Container Registry
    ECR = "ECR"  # Amazon Elastic Container Registry
    GCR = "GCR"  # Google Container Registry and Artifact Registry
    ACR = "ACR"  # Azure Container Registry
    GENERIC = "GENERIC"  # any registry speaking the Docker Registry HTTP API v2


class RegistryStatus(StrEnum):
    """The outcome of a ``/v2/`` handshake."""

    REACHABLE = "REACHABLE"  # the registry answered and accepted the credentials
    UNAUTHORIZED = "UNAUTHORIZED"  # it answered, but refused the credentials (or a token service did)
    UNREACHABLE = "UNREACHABLE"  # no answer: DNS, connection, TLS, timeout, or not a registry at all


@dataclass(frozen=True, slots=True)
class RegistryCredentials:
    """The secret material of one registry, decrypted (in memory only; secrets are left out of ``repr``).

    Which fields are set depends on the type: ``username``/``password`` (Docker Hub, GHCR, GENERIC, an
    ACR admin user), ``access_key_id``/``secret_access_key``/``region``/``session_token`` (ECR),
    ``service_account_json`` (GCR), ``tenant_id``/``client_id``/``client_secret`` (an ACR service
    principal). A GENERIC registry may have none (anonymous access).
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    region: str | None = None
    service_account_json: str | None = field(default=None, repr=False)
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @property
    def empty(self) -> bool:
        """Whether no field is set (anonymous access)."""
        return all(not getattr(self, f.name) for f in fields(self))

    @property
    def service_principal(self) -> bool:
        """Whether these are an Azure service principal's credentials (rather than a user name)."""
        return bool(self.tenant_id or self.client_id or self.client_secret)


# Input path (under ``credentials``) of each credentials field, for field errors.
CREDENTIAL_PATHS: Mapping[str, str] = {
    "username": "username",
    "password": "password",
    "access_key_id": "accessKeyId",
    "secret_access_key": "secretAccessKey",
    "session_token": "sessionToken",
    "region": "region",
    "service_account_json": "serviceAccountJson",
    "tenant_id": "tenantId",
    "client_id": "clientId",
    "client_secret": "clientSecret",
}

_FIELDS_OF: Mapping[RegistryType, frozenset[str]] = {
    RegistryType.DOCKER_HUB: frozenset({"username", "password"}),
    RegistryType.GHCR: frozenset({"username", "password"}),
    RegistryType.GENERIC: frozenset({"username", "password"}),
    RegistryType.ECR: frozenset({"access_key_id", "secret_access_key", "session_token", "region"}),
    RegistryType.GCR: frozenset({"service_account_json"}),
    RegistryType.ACR: frozenset({"username", "password", "tenant_id", "client_id", "client_secret"}),
}

_DEFAULT_URLS: Mapping[RegistryType, str] = {
    RegistryType.DOCKER_HUB: f"https://{DOCKER_HUB_REGISTRY}",
    RegistryType.GHCR: "https://ghcr.io",
    RegistryType.GCR: "https://gcr.io",
}


@dataclass(frozen=True, slots=True)
class ServiceAccountKey:
    """The parts of a Google service-account JSON key that the token exchange uses."""

    client_email: str
    private_key: str = field(repr=False)  # PEM (PKCS #8)
    private_key_id: str | None
    project_id: str | None


@dataclass(frozen=True, slots=True)
class RegistryCheck:
    """The outcome of one ``/v2/`` handshake, as recorded on the registry."""

    status: RegistryStatus
    reason: str | None  # why it was not REACHABLE, for a person (or a note when it was)
    api_version: str | None  # the ``Docker-Distribution-API-Version`` header, e.g. ``registry/2.0``
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class Registry:
    """One registered registry. ``url`` is normalised (``https://host[:port]``, or ``http://`` for an
    insecure GENERIC registry); ``credentials_ciphertext`` is None for anonymous access."""

    id: str
    workspace_id: str
    name: str  # unique per workspace, case-insensitively
    type: RegistryType
    url: str
    insecure: bool  # plain HTTP (GENERIC only, and only where the operator allows it)
    is_default: bool  # at most one per workspace
    created_by: str
    created_at: datetime
    updated_at: datetime
    credentials_ciphertext: str | None = field(default=None, repr=False)
    last_check: RegistryCheck | None = None

    @property
    def host(self) -> str:
        """``host[:port]`` of the registry's API, lower case."""
        return urlsplit(self.url).netloc

    @property
    def has_credentials(self) -> bool:
        return self.credentials_ciphertext is not None


@dataclass(frozen=True, slots=True)
class RegistryAccess:
    """Everything needed to talk to one registry: where, how, and with what (decrypted)."""

    type: RegistryType
    url: str
    insecure: bool
    credentials: RegistryCredentials


@dataclass(frozen=True, slots=True)
class Handshake:
    """What a ``/v2/`` handshake found (before it is stamped with a time)."""

    status: RegistryStatus
    reason: str | None = None
    api_version: str | None = None


@dataclass(frozen=True, slots=True)
class PullAuth:
    """A user name and password the container runtime can pull with, and until when they hold (None:
    until the credentials change; an ECR token lasts 12 hours)."""

    username: str
    password: str = field(repr=False)
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PullSecretRecord:
    """An image pull Secret Trellis applied for a workflow's run in one namespace of one cluster: who
    uses it (so it is deleted when no workflow there does any more, or when its registry goes) and, for
    credentials that expire, when (``expires_at``, so it is refreshed in time; None: they do not)."""

    workflow_id: str
    workspace_id: str
    registry_id: str
    cluster_id: str
    namespace: str
    expires_at: datetime | None
    applied_at: datetime


class RegistryProblem(ValueError):
    """The input cannot be used; ``problems`` name each field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = tuple(problems)


# --- URLs -------------------------------------------------------------------------------------------


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)
    return True


def normalise_url(text: str, path: str = "url") -> str:
    """``scheme://host[:port]`` of a registry given as a URL or a bare ``host[:port]`` (``https`` by
    default); ``RegistryProblem`` for anything else (a path, user info, a query, another scheme)."""
    raw = text.strip()
    if not raw:
        raise RegistryProblem(
            [Problem(path, "give the registry's address, e.g. https://registry.example.com")]
        )
    if "://" not in raw:
        raw = f"https://{raw}"
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise RegistryProblem([Problem(path, f"is not a valid URL: {exc}")]) from exc
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("https", "http"):
        raise RegistryProblem(
            [Problem(path, "must be an https:// URL (or http:// for an insecure registry)")]
        )
    if parts.username is not None or parts.password is not None:
        raise RegistryProblem([Problem(path, "must not carry credentials; give them as credentials")])
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise RegistryProblem(
            [Problem(path, "give only the scheme, host and port; repository paths belong in image names")]
        )
    if not host or not _valid_host(host):
        raise RegistryProblem([Problem(path, f"{host or raw!r} is not a valid host name or IP address")])
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


def default_url(registry_type: RegistryType, credentials: RegistryCredentials, account_id: str | None) -> str:
    """The URL of a registry of ``registry_type`` when none is given; ``RegistryProblem`` when the type
    has no default (ACR, GENERIC, ECR without an account id)."""
    if registry_type is RegistryType.ECR:
        if not account_id:
            raise RegistryProblem(
                [
                    Problem(
                        "url",
                        "give the registry URL (https://<account>.dkr.ecr.<region>.amazonaws.com) "
                        "or the AWS account id",
                    )
                ]
            )
        if not _AWS_ACCOUNT.match(account_id):
            raise RegistryProblem([Problem("accountId", "must be the 12-digit AWS account id")])
        return f"https://{account_id}.dkr.ecr.{credentials.region or 'us-east-1'}.amazonaws.com"
    if registry_type is RegistryType.ACR:
        raise RegistryProblem([Problem("url", "give the registry's login server, https://<name>.azurecr.io")])
    if registry_type is RegistryType.GENERIC:
        raise RegistryProblem([Problem("url", "give the registry's URL, e.g. https://registry.example.com")])
    return _DEFAULT_URLS[registry_type]


def check_url(
    registry_type: RegistryType, url: str, credentials: RegistryCredentials, insecure: bool
) -> None:
    """Rules between a normalised URL, the type, the credentials and the ``insecure`` flag: plain HTTP
    only for an insecure GENERIC registry (and ``insecure`` only with plain HTTP); an ECR host names the
    region of its credentials."""
    problems: list[Problem] = []
    plain = url.startswith("http://")
    if insecure and registry_type is not RegistryType.GENERIC:
        problems.append(Problem("insecure", "only a GENERIC registry may be reached over plain HTTP"))
    elif insecure and not plain:
        problems.append(Problem("insecure", "only applies to an http:// URL; https:// is always verified"))
    elif plain and not insecure:
        problems.append(
            Problem("url", "must be https://; plain http:// needs a GENERIC registry marked insecure")
        )
    if registry_type is RegistryType.ECR and credentials.region:
        match = _ECR_HOST.match(urlsplit(url).hostname or "")
        if match and match.group(2) != credentials.region:
            problems.append(
                Problem(
                    f"{CREDENTIALS_PATH}.region", f"the registry is in {match.group(2)}, not in this region"
                )
            )
    if problems:
        raise RegistryProblem(problems)


# --- Credentials ------------------------------------------------------------------------------------


def _path(name: str) -> str:
    return f"{CREDENTIALS_PATH}.{CREDENTIAL_PATHS[name]}"


def check_credentials(registry_type: RegistryType, credentials: RegistryCredentials) -> RegistryCredentials:
    """The credentials with surrounding blanks trimmed (secrets kept as given), or ``RegistryProblem``
    naming every field that is missing, malformed, or not used by this type."""
    values = {f.name: getattr(credentials, f.name) for f in fields(credentials)}
    cleaned = {
        name: (None if not value or not value.strip() else (value if _is_secret(name) else value.strip()))
        for name, value in values.items()
    }
    problems: list[Problem] = []
    allowed = _FIELDS_OF[registry_type]
    for name, value in cleaned.items():
        if value is None:
            continue
        if name not in allowed:
            problems.append(Problem(_path(name), f"is not used by {registry_type.value} registries"))
        limit = MAX_SERVICE_ACCOUNT_JSON if name == "service_account_json" else MAX_FIELD
        if len(value) > limit:
            problems.append(Problem(_path(name), f"must be at most {limit} characters"))
    result = RegistryCredentials(**cleaned)
    problems.extend(_type_problems(registry_type, result))
    if problems:
        raise RegistryProblem(problems)
    return result


def _is_secret(name: str) -> bool:
    return name in ("password", "secret_access_key", "session_token", "service_account_json", "client_secret")


def _require(
    credentials: RegistryCredentials, names: Iterable[str], message: Mapping[str, str]
) -> list[Problem]:
    return [Problem(_path(name), message[name]) for name in names if not getattr(credentials, name)]


_MISSING = {
    "username": "give the user name",
    "password": "give the password or access token",
    "access_key_id": "give the AWS access key id",
    "secret_access_key": "give the AWS secret access key",
    "region": "give the AWS region, e.g. us-east-1",
    "service_account_json": "paste the service account's JSON key",
    "tenant_id": "give the Azure tenant (directory) id",
    "client_id": "give the service principal's application (client) id",
    "client_secret": "give the service principal's client secret",
}


def _type_problems(registry_type: RegistryType, c: RegistryCredentials) -> list[Problem]:
    if registry_type in (RegistryType.DOCKER_HUB, RegistryType.GHCR):
        return _require(c, ("username", "password"), _MISSING)
    if registry_type is RegistryType.GENERIC:
        if c.username or c.password:
            return _require(c, ("username", "password"), _MISSING)
        return []  # anonymous access
    if registry_type is RegistryType.ECR:
        problems = _require(c, ("access_key_id", "secret_access_key", "region"), _MISSING)
        if c.access_key_id and not _AWS_ACCESS_KEY_ID.match(c.access_key_id):
            problems.append(Problem(_path("access_key_id"), "is not an AWS access key id (AKIA…, ASIA…)"))
        if c.region and not _AWS_REGION.match(c.region):
            problems.append(Problem(_path("region"), f"{c.region!r} is not an AWS region such as us-east-1"))
        return problems
    if registry_type is RegistryType.GCR:
        if not c.service_account_json:
            return _require(c, ("service_account_json",), _MISSING)
        try:
            parse_service_account_key(c.service_account_json)
        except RegistryProblem as exc:
            return list(exc.problems)
        return []
    # ACR: a service principal, or the registry's admin user.
    if c.service_principal:
        problems = _require(c, ("tenant_id", "client_id", "client_secret"), _MISSING)
        if c.tenant_id and not _UUID.match(c.tenant_id) and not _valid_host(c.tenant_id.lower()):
            problems.append(Problem(_path("tenant_id"), "must be the tenant id (a GUID) or its domain"))
        for name in ("username", "password"):
            if getattr(c, name):
                problems.append(
                    Problem(_path(name), "give either a service principal or the admin user, not both")
                )
        return problems
    return _require(
        c,
        ("username", "password"),
        {
            **_MISSING,
            "username": (
                "give the admin user name, or a service principal (tenantId, clientId, clientSecret)"
            ),
        },
    )


def parse_service_account_key(text: str) -> ServiceAccountKey:
    """The service account of a Google JSON key; ``RegistryProblem`` unless it is one (``type`` is
    ``service_account``, with ``client_email`` and a PEM ``private_key``)."""
    path = _path("service_account_json")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise RegistryProblem([Problem(path, f"is not JSON: {exc}")]) from exc
    if not isinstance(doc, dict):
        raise RegistryProblem(
            [Problem(path, "must be the JSON key object a service account's key file holds")]
        )
    problems: list[Problem] = []
    if doc.get("type") != "service_account":
        problems.append(Problem(path, f"`type` must be service_account, not {doc.get('type')!r}"))
    email = doc.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        problems.append(Problem(path, "`client_email` must be the service account's e-mail address"))
    key = doc.get("private_key")
    if not isinstance(key, str) or "-----BEGIN" not in key or "PRIVATE KEY-----" not in key:
        problems.append(Problem(path, "`private_key` must be the PEM private key of the service account"))
    if problems:
        raise RegistryProblem(problems)
    key_id, project = doc.get("private_key_id"), doc.get("project_id")
    return ServiceAccountKey(
        client_email=str(email),
        private_key=str(key),
        private_key_id=key_id if isinstance(key_id, str) else None,
        project_id=project if isinstance(project, str) else None,
    )


def check_name(name: str) -> str:
    """The trimmed name; ``RegistryProblem`` if empty or too long."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise RegistryProblem([Problem("name", f"must be 1 to {MAX_NAME} characters")])
    return cleaned


def name_key(name: str) -> str:
    """Registry names are unique per workspace case-insensitively (Unicode-aware lower case)."""
    return name.lower()


# --- Images and pull Secrets ------------------------------------------------------------------------


def canonical_host(host: str) -> str:
    """A registry host as image references name it: lower case, Docker Hub's hosts as ``docker.io``."""
    lowered = host.lower()
    return DOCKER_HUB_CANONICAL if lowered in DOCKER_HUB_HOSTS else lowered


def image_host(image: str) -> str:
    """The registry host of an image reference, canonical (``docker.io`` for ``nginx`` or
    ``library/nginx:1``; ``ghcr.io`` for ``ghcr.io/org/app@sha256:…``; ``localhost:5000`` …)."""
    name = image.strip().split("@", 1)[0]
    first, slash, _ = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return canonical_host(first)
    return DOCKER_HUB_CANONICAL


def serves(registry: Registry, image: str) -> bool:
    """Whether ``image`` lives on ``registry`` (by host)."""
    return bool(image.strip()) and canonical_host(registry.host) == image_host(image)


def auth_key(registry: Registry) -> str:
    """The key of the registry's entry in a docker config (what kubelet matches image hosts against)."""
    if canonical_host(registry.host) == DOCKER_HUB_CANONICAL:
        return DOCKER_HUB_AUTH_KEY
    return registry.host


def pull_secret_name(registry_id: str) -> str:
    """The name of the image pull Secret Trellis applies for a registry (one per namespace)."""
    return f"{PULL_SECRET_PREFIX}{registry_id}"


def docker_config_json(entries: Mapping[str, PullAuth]) -> str:
    """The ``.dockerconfigjson`` of a pull Secret: ``{"auths": {key: {username, password, auth}}}``."""
    auths = {
        key: {
            "username": auth.username,
            "password": auth.password,
            "auth": base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode(),
        }
        for key, auth in sorted(entries.items())
    }
    return json.dumps({"auths": auths}, sort_keys=True, separators=(",", ":"))


def static_pull_auth(registry_type: RegistryType, credentials: RegistryCredentials) -> PullAuth | None:
    """The long-lived user name and password a container runtime pulls with, or None when they must be
    exchanged first (ECR: a 12-hour token from ``GetAuthorizationToken``; anonymous: nothing to send).

    A Google service account pulls with its JSON key as the password of ``_json_key`` (Google's
    documented long-lived method), rather than with an hour-long OAuth access token that would need
    refreshing; an Azure service principal logs in with its application id and secret.
    """
    if registry_type is RegistryType.ECR or credentials.empty:
        return None
    if registry_type is RegistryType.GCR:
        return PullAuth(GCR_JSON_KEY_USERNAME, credentials.service_account_json or "")
    if registry_type is RegistryType.ACR and credentials.service_principal:
        return PullAuth(credentials.client_id or "", credentials.client_secret or "")
    return PullAuth(credentials.username or "", credentials.password or "")
