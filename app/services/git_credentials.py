"""Git credentials, a workspace resource: a token or an SSH key for one Git host, encrypted at rest.

People create, list and delete them (editors and owners write, viewers see names only — never a
secret, also not in audit entries, errors or logs). Whatever talks to a Git host for a workspace
(the Git import, builds, exports) asks :meth:`GitCredentialService.auth_for` for the decrypted
credential of the URL's host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_ssh_private_key

from app import errors
from app.auth.keyring import Keyring, KeyringError
from app.domain.git import (
    DEFAULT_SSH_USERNAME,
    DEFAULT_TOKEN_USERNAME,
    GitAuth,
    GitCredential,
    GitCredentialKind,
)
from app.domain.ids import new_id
from app.domain.workspaces import Scope
from app.net.hosts import HostError, normalise_host
from app.ports import Clock, GitCredentialStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.principals import Principal

MAX_NAME = 63
MAX_TOKEN_BYTES = 4096
MAX_KEY_BYTES = 16 * 1024
MAX_USERNAME = 255
_USERNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@-]*$")
_SCP_HOST = re.compile(r"^(?:[^@/:]+@)?(?P<host>\[[^\]/]+\]|[^@/:\[\]]+):")
# The kind of credential each URL scheme can use.
_KIND_FOR_SCHEME = {
    "https": GitCredentialKind.TOKEN,
    "http": GitCredentialKind.TOKEN,
    "ssh": GitCredentialKind.SSH_KEY,
}


class GitCredentialServiceStore(GitCredentialStore, WorkspaceStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class NewGitCredential:
    """What a person asks for: exactly one of ``token`` and ``ssh_private_key``."""

    workspace_id: str
    name: str
    host: str
    token: str | None = field(default=None, repr=False)
    ssh_private_key: str | None = field(default=None, repr=False)
    username: str | None = None


@dataclass(frozen=True, slots=True)
class _Checked:
    name: str
    host: str
    kind: GitCredentialKind
    username: str
    secret: str = field(repr=False)


class GitCredentialService:
    def __init__(
        self, *, store: GitCredentialServiceStore, keyring: Keyring, clock: Clock, auditor: Auditor
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor

    async def list(self, principal: Principal, workspace_id: str) -> list[GitCredential]:
        """A workspace's credentials by name (any member may see them; ``NOT_FOUND`` for others)."""
        if await self._store.get_workspace(principal.scope, workspace_id) is None:
            raise errors.NotFound("workspace", workspace_id)
        return await self._store.list_git_credentials(principal.scope, workspace_id)

    async def create(self, principal: Principal, request: NewGitCredential) -> GitCredential:
        """Check, encrypt and store a credential (editors and owners); audited without its secret."""
        async with self._auditor.action(
            "git_credential.create",
            actor_id=principal.user_id,
            target_type="git_credential",
            workspace_id=request.workspace_id,
        ) as record:
            if await self._store.get_workspace(principal.scope, request.workspace_id) is None:
                raise errors.NotFound("workspace", request.workspace_id)
            principal.require_write(request.workspace_id)
            checked = check_request(request)
            credential = GitCredential(
                id=new_id(),
                workspace_id=request.workspace_id,
                name=checked.name,
                host=checked.host,
                kind=checked.kind,
                username=checked.username,
                created_by=principal.user_id,
                created_at=self._clock.now(),
                ciphertext=self._keyring.encrypt(checked.secret),
            )
            record.target_id = credential.id
            record.detail = {"name": credential.name, "host": credential.host, "kind": credential.kind.value}
            await self._store.insert_git_credential(credential)
            return credential

    async def delete(self, principal: Principal, credential_id: str) -> GitCredential:
        """Delete a credential (editors and owners); the deleted one is returned."""
        async with self._auditor.action(
            "git_credential.delete",
            actor_id=principal.user_id,
            target_type="git_credential",
            target_id=credential_id,
        ) as record:
            credential = await self._store.get_git_credential(principal.scope, credential_id)
            if credential is None:
                raise errors.NotFound("Git credential", credential_id)
            record.workspace_id = credential.workspace_id
            record.detail = {"name": credential.name, "host": credential.host, "kind": credential.kind.value}
            principal.require_write(credential.workspace_id)
            await self._store.delete_git_credential(principal.scope, credential_id)
            return credential

    async def auth_for(self, workspace_id: str, url: str) -> GitAuth | None:
        """The decrypted credential of ``workspace_id`` for the host of ``url`` (an ``https://``,
        ``ssh://`` or scp-style address), or None when the workspace has none for that host.

        Among several for the host, those whose kind fits the scheme (a token for ``https://``, a key
        for ``ssh://``) win, then the most recently created. For internal callers that have already
        checked the caller's access to the workspace. ``Unavailable`` when the keyring cannot decrypt it.
        """
        target = _url_host_and_scheme(url)
        if target is None:
            return None
        host, scheme = target
        scope = Scope.of([workspace_id])
        matching = [c for c in await self._store.list_git_credentials(scope, workspace_id) if c.host == host]
        if not matching:
            return None
        fitting = _KIND_FOR_SCHEME.get(scheme)
        chosen = max(matching, key=lambda c: (c.kind is fitting, c.created_at, c.id))
        try:
            secret = self._keyring.decrypt(chosen.ciphertext)
        except KeyringError as exc:
            raise errors.Unavailable(
                f"the Git credential {chosen.name!r} cannot be decrypted with the configured keys "
                "(TRELLIS_ENCRYPTION_KEYS)"
            ) from exc
        return GitAuth(host=chosen.host, kind=chosen.kind.value, username=chosen.username, secret=secret)


def check_request(request: NewGitCredential) -> _Checked:
    """Every problem of a request at once, each on its input field (``BAD_INPUT``); never echoes the
    secret."""
    problems: list[errors.FieldError] = []
    name = request.name.strip()
    if not name or len(name) > MAX_NAME:
        problems.append(errors.FieldError("name", f"must be 1 to {MAX_NAME} characters"))
    host = _check_host(request.host, problems)
    kind, secret = _check_secret(request, problems)
    username = _check_username(request.username, kind, problems)
    if problems:
        raise errors.Invalid("the Git credential is not valid", problems)
    return _Checked(name=name, host=host, kind=kind, username=username, secret=secret)


def _check_host(text: str, problems: list[errors.FieldError]) -> str:
    host = text.strip()
    if "://" in host or "/" in host or (host.count(":") == 1 and not host.startswith("[")):
        problems.append(
            errors.FieldError("host", "give the host name alone (github.com), without scheme, port or path")
        )
        return ""
    try:
        return normalise_host(host)
    except HostError as exc:
        problems.append(errors.FieldError("host", str(exc)))
        return ""


def _check_secret(
    request: NewGitCredential, problems: list[errors.FieldError]
) -> tuple[GitCredentialKind, str]:
    token, key = request.token, request.ssh_private_key
    if (token is None) == (key is None):
        message = "give either a token or an SSH private key (exactly one)"
        problems.extend([errors.FieldError("token", message), errors.FieldError("sshPrivateKey", message)])
        return GitCredentialKind.TOKEN, ""
    if token is not None:
        return GitCredentialKind.TOKEN, _check_token(token, problems)
    assert key is not None
    return GitCredentialKind.SSH_KEY, _check_key(key, problems)


def _check_token(text: str, problems: list[errors.FieldError]) -> str:
    token = text.strip()
    if not token:
        problems.append(errors.FieldError("token", "is empty"))
    elif len(token.encode()) > MAX_TOKEN_BYTES:
        problems.append(errors.FieldError("token", f"must be at most {MAX_TOKEN_BYTES} bytes"))
    elif any(ch.isspace() or not ch.isprintable() for ch in token):
        problems.append(
            errors.FieldError("token", "contains spaces or control characters, which no token does")
        )
    return token


def _check_key(text: str, problems: list[errors.FieldError]) -> str:
    """An unencrypted private key in OpenSSH or PEM form, with the final newline ssh wants."""
    key = text.strip().replace("\r\n", "\n") + "\n"
    if len(key.encode()) > MAX_KEY_BYTES:
        problems.append(errors.FieldError("sshPrivateKey", f"must be at most {MAX_KEY_BYTES} bytes"))
        return key
    problem = _key_problem(key)
    if problem is not None:
        problems.append(errors.FieldError("sshPrivateKey", problem))
    return key


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a usable private key (None when it is); the text names no part of the key."""
    if key.startswith(("ssh-", "ecdsa-", "sk-")) or "PUBLIC KEY-----" in key:
        return "this is a public key: paste the private key (the file without .pub)"
    data = key.encode()
    try:
        if "-----BEGIN OPENSSH PRIVATE KEY-----" in key:
            load_ssh_private_key(data, password=None)
        elif "-----BEGIN" in key and "PRIVATE KEY-----" in key:
            load_pem_private_key(data, password=None)
        else:
            return "is not a private key in OpenSSH (BEGIN OPENSSH PRIVATE KEY) or PEM form"
    except TypeError:
        return (
            "the key is protected by a passphrase, which Trellis cannot type: "
            "remove it (ssh-keygen -p -N '' -f <file>) or use a deploy key without one"
        )
    except UnsupportedAlgorithm:
        return "the key's algorithm is not supported (use Ed25519, ECDSA or RSA)"
    except ValueError:
        return "the private key cannot be read: paste the whole file, BEGIN and END lines included"
    return None


def _check_username(text: str | None, kind: GitCredentialKind, problems: list[errors.FieldError]) -> str:
    if text is None or not text.strip():
        return DEFAULT_SSH_USERNAME if kind is GitCredentialKind.SSH_KEY else DEFAULT_TOKEN_USERNAME
    username = text.strip()
    if len(username) > MAX_USERNAME or not _USERNAME.match(username):
        problems.append(
            errors.FieldError(
                "username",
                f"must be 1 to {MAX_USERNAME} letters, digits or . _ + - @, starting with a letter, digit "
                "or underscore (no spaces or colons)",
            )
        )
    return username


def _url_host_and_scheme(url: str) -> tuple[str, str] | None:
    """The normalised host and the lower-case scheme of a repository address; None if it names none."""
    text = url.strip()
    if "://" not in text:
        scp = _SCP_HOST.match(text)
        if scp is None:
            return None
        raw, scheme = scp.group("host"), "ssh"
    else:
        try:
            parts = urlsplit(text)
        except ValueError:
            return None
        raw, scheme = parts.hostname or "", parts.scheme.lower()
    try:
        return normalise_host(raw), scheme
    except HostError:
        return None
