"""Access tokens: JWT, HS256 pinned, carrying the user id and the session id."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "trellis"
AUDIENCE = "trellis-api"
_REQUIRED = ["exp", "iat", "nbf", "sub", "sid", "iss", "aud", "auth_time"]


class TokenError(Exception):
    """The token is unusable; ``reason`` is safe to show to its holder."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    session_id: str
    issued_at: datetime
    expires_at: datetime
    auth_time: datetime  # when the session's login happened


class TokenCodec:
    def __init__(self, *, secret: str, ttl: timedelta) -> None:
        if not secret:
            raise ValueError("a JWT secret is required")
        self._secret = secret
        self._ttl = ttl

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def issue(self, *, user_id: str, session_id: str, auth_time: datetime, now: datetime) -> str:
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "sid": session_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
            "auth_time": int(auth_time.timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, *, now: datetime, allow_expired: bool = False) -> TokenClaims:
        """Check signature, algorithm, issuer, audience and times against ``now`` (injectable clock)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("the token is malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise TokenError(f"tokens must be signed with {ALGORITHM}")
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError as exc:
            raise TokenError("the token signature is invalid") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("the token is invalid") from exc
        try:
            claims = TokenClaims(
                user_id=str(payload["sub"]),
                session_id=str(payload["sid"]),
                issued_at=datetime.fromtimestamp(int(payload["iat"]), tz=now.tzinfo),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo),
                auth_time=datetime.fromtimestamp(int(payload["auth_time"]), tz=now.tzinfo),
            )
        except (TypeError, ValueError) as exc:
            raise TokenError("the token is invalid") from exc
        # Times are checked against the injected clock, not the wall clock.
        if claims.issued_at > now + timedelta(seconds=30):
            raise TokenError("the token is not valid yet")
        if not allow_expired and claims.expires_at <= now:
            raise TokenError("the token has expired; sign in again or call refreshToken")
        return claims
