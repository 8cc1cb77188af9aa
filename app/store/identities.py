"""Documents of linked provider identities, OAuth states and one-time codes (shared by both backends)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.identities import OAuthCode, OAuthState, UserIdentity
from app.store.codec import decode_datetime, encode_datetime

IDENTITY_TAKEN = "this provider account is linked to a user already"
STATE_TAKEN = "an OAuth state with this id exists already"
CODE_TAKEN = "a one-time code with this id exists already"


def identity_to_doc(identity: UserIdentity) -> dict[str, Any]:
    return {
        "provider": identity.provider,
        "subject": identity.subject,
        "user_id": identity.user_id,
        "email": identity.email,
        "created_at": encode_datetime(identity.created_at),
    }


def identity_from_doc(doc: Mapping[str, Any]) -> UserIdentity:
    return UserIdentity(
        provider=doc["provider"],
        subject=doc["subject"],
        user_id=doc["user_id"],
        email=doc["email"],
        created_at=decode_datetime(doc["created_at"]),
    )


def state_to_doc(state: OAuthState) -> dict[str, Any]:
    return {
        "id": state.id,
        "provider": state.provider,
        "code_verifier": state.code_verifier,
        "nonce": state.nonce,
        "redirect": state.redirect,
        "invitation": state.invitation,
        "expires_at": encode_datetime(state.expires_at),
    }


def state_from_doc(doc: Mapping[str, Any]) -> OAuthState:
    return OAuthState(
        id=doc["id"],
        provider=doc["provider"],
        code_verifier=doc["code_verifier"],
        nonce=doc["nonce"],
        redirect=doc["redirect"],
        invitation=doc["invitation"],
        expires_at=decode_datetime(doc["expires_at"]),
    )


def code_to_doc(code: OAuthCode) -> dict[str, Any]:
    return {
        "id": code.id,
        "user_id": code.user_id,
        "session_id": code.session_id,
        "expires_at": encode_datetime(code.expires_at),
    }


def code_from_doc(doc: Mapping[str, Any]) -> OAuthCode:
    return OAuthCode(
        id=doc["id"],
        user_id=doc["user_id"],
        session_id=doc["session_id"],
        expires_at=decode_datetime(doc["expires_at"]),
    )
