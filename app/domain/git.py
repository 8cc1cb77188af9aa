"""Git credentials: a workspace's token or SSH key for one Git host, kept encrypted at rest.

A :class:`GitCredential` is what the store holds (the secret only as ciphertext); a :class:`GitAuth` is
the decrypted secret handed, in memory only, to whatever talks to the host (Git import, builds,
exports). Neither is ever returned by the API with its secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# The user name sent with a token over HTTPS when none is given. GitHub accepts any user name with a
# personal access token and needs ``x-access-token`` with app installation tokens; GitLab accepts any
# non-blank user name with personal, project and group access tokens. (Older GitLab versions want
# ``oauth2`` with OAuth tokens, Bitbucket ``x-token-auth`` with access tokens: give those explicitly.)
DEFAULT_TOKEN_USERNAME = "x-access-token"
# The user to log in as over SSH when neither the credential nor the URL names one (GitHub, GitLab,
# Bitbucket and Gitea all use ``git``).
DEFAULT_SSH_USERNAME = "git"


class GitCredentialKind(StrEnum):
    TOKEN = "TOKEN"  # an access token, sent over HTTPS as the password of ``username``
    SSH_KEY = "SSH_KEY"  # an unencrypted OpenSSH or PEM private key, for ssh:// URLs


@dataclass(frozen=True, slots=True)
class GitCredential:
    """One stored credential. ``host`` is normalised (lower case, IDNA, no port); ``username`` is the
    login sent with it (``DEFAULT_TOKEN_USERNAME`` / ``DEFAULT_SSH_USERNAME`` when none was given)."""

    id: str
    workspace_id: str
    name: str  # unique per workspace, case-insensitively
    host: str
    kind: GitCredentialKind
    username: str | None
    created_by: str
    created_at: datetime
    ciphertext: str = field(repr=False)  # the token or private key, encrypted with the keyring


@dataclass(frozen=True)
class GitAuth:
    """The decrypted credential for one host: only ever in memory, never logged (``secret`` is left out
    of ``repr``). ``kind`` is a :class:`GitCredentialKind` value (``"TOKEN"`` or ``"SSH_KEY"``);
    ``secret`` is the token, or the private key in OpenSSH/PEM text."""

    host: str
    kind: str
    username: str | None
    secret: str = field(repr=False)
