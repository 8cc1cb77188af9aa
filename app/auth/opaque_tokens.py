"""Opaque bearer secrets (API tokens, invitation links, password resets): shown once, stored as a hash.

A token reads ``<prefix><id>_<secret>``: the id finds the stored record, the SHA-256 of the whole token
is stored and compared in constant time. The secret carries 256 random bits, so a fast hash is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from app.domain.ids import new_id

API_TOKEN_PREFIX = "trl_"
INVITATION_PREFIX = "trlinv_"
PASSWORD_RESET_PREFIX = "trlpwr_"


@dataclass(frozen=True, slots=True)
class MintedToken:
    """A fresh token: ``plaintext`` goes to its holder once; ``id`` and ``digest`` are stored."""

    id: str
    plaintext: str
    digest: str


def mint(prefix: str) -> MintedToken:
    token_id = new_id()
    plaintext = f"{prefix}{token_id}_{secrets.token_hex(32)}"
    return MintedToken(id=token_id, plaintext=plaintext, digest=digest(plaintext))


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def token_id(prefix: str, plaintext: str) -> str | None:
    """The record id inside a token of this kind, or None when it is not one."""
    if not plaintext.startswith(prefix):
        return None
    ident, sep, secret = plaintext[len(prefix) :].partition("_")
    if not sep or len(ident) != 32 or not secret or len(plaintext) > 200:
        return None
    return ident


def matches(plaintext: str, stored_digest: str) -> bool:
    """Whether ``plaintext`` hashes to ``stored_digest`` (compared in constant time)."""
    return hmac.compare_digest(digest(plaintext), stored_digest)
