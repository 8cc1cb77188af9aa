"""Step tokens: what a Function step's pod presents when it calls Trellis back (its output, later its data).

A JWT, HS256 pinned, signed with a key derived from the server's JWT secret for this use only (so a step
token is never an access token, and an access token is never a step token: different key and audience).
It names one attempt of one step — workspace, run, node and attempt — and expires shortly after the
attempt's deadline. Whether the attempt still runs is checked by the caller against the run itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from app.auth.tokens import ALGORITHM, ISSUER, TokenError

AUDIENCE = "trellis-step"
_REQUIRED = ["exp", "iat", "iss", "aud", "ws", "run", "node", "att"]
_KEY_LABEL = b"trellis step tokens v1"
_CLOCK_SKEW = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class StepClaims:
    workspace_id: str
    run_id: str
    node_id: str
    attempt: int
    expires_at: datetime


class StepTokenCodec:
    """Issues and checks step tokens (the :class:`~app.ports.StepTokenIssuer` of the flow executors)."""

    def __init__(self, *, secret: str, now: Callable[[], datetime]) -> None:
        if not secret:
            raise ValueError("a JWT secret is required")
        self._key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self._now = now  # the server's clock (issue times)

    def issue(
        self, *, workspace_id: str, run_id: str, node_id: str, attempt: int, expires_at: datetime
    ) -> str:
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "ws": workspace_id,
            "run": run_id,
            "node": node_id,
            "att": attempt,
            "iat": int(self._now().timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, *, now: datetime) -> StepClaims:
        """The claims of a valid, unexpired step token (times against ``now``); ``TokenError`` else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("the step token is malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise TokenError(f"step tokens must be signed with {ALGORITHM}")
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenError("the step token is invalid") from exc
        try:
            attempt = payload["att"]
            if not isinstance(attempt, int) or isinstance(attempt, bool):
                raise TypeError("att")
            claims = StepClaims(
                workspace_id=str(payload["ws"]),
                run_id=str(payload["run"]),
                node_id=str(payload["node"]),
                attempt=attempt,
                expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo),
            )
            issued = datetime.fromtimestamp(int(payload["iat"]), tz=now.tzinfo)
        except (TypeError, ValueError) as exc:
            raise TokenError("the step token is invalid") from exc
        if issued > now + _CLOCK_SKEW:
            raise TokenError("the step token is not valid yet")
        if claims.expires_at <= now:
            raise TokenError("the step token has expired")
        return claims
