"""Password hashing at the production cost, token codec edge cases, the encryption keyring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from app.auth.keyring import Keyring, KeyringError
from app.auth.passwords import PasswordHasher
from app.auth.tokens import TokenCodec, TokenError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_bcrypt_hashes_at_cost_12_and_verifies() -> None:
    hasher = PasswordHasher(rounds=12)
    hashed = await hasher.hash("a long passphrase")
    assert hashed.startswith("$2b$12$")
    assert await hasher.verify("a long passphrase", hashed)
    assert not await hasher.verify("a wrong passphrase", hashed)
    assert not await hasher.verify("anything", "not a bcrypt hash")


def test_tokens_round_trip_and_expire() -> None:
    codec = TokenCodec(secret="s" * 40, ttl=timedelta(hours=24))
    token = codec.issue(user_id="u1", session_id="s1", auth_time=NOW, now=NOW)
    claims = codec.verify(token, now=NOW + timedelta(hours=23))
    assert (claims.user_id, claims.session_id, claims.auth_time) == ("u1", "s1", NOW)
    with pytest.raises(TokenError, match="expired"):
        codec.verify(token, now=NOW + timedelta(hours=24))
    assert codec.verify(token, now=NOW + timedelta(days=3), allow_expired=True).user_id == "u1"


def test_tokens_from_another_secret_or_algorithm_are_refused() -> None:
    codec = TokenCodec(secret="s" * 40, ttl=timedelta(hours=1))
    other = TokenCodec(secret="t" * 40, ttl=timedelta(hours=1))
    token = other.issue(user_id="u1", session_id="s1", auth_time=NOW, now=NOW)
    with pytest.raises(TokenError, match="signature"):
        codec.verify(token, now=NOW)
    import jwt

    hs512 = jwt.encode({"sub": "u1"}, "s" * 64, algorithm="HS512")
    with pytest.raises(TokenError, match="HS256"):
        codec.verify(hs512, now=NOW)
    missing_claims = jwt.encode({"sub": "u1"}, "s" * 40, algorithm="HS256")
    with pytest.raises(TokenError):
        codec.verify(missing_claims, now=NOW)


def test_keyring_encrypts_with_the_first_key_and_decrypts_with_old_ones() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = Keyring([old])
    secret = before.encrypt("db-password")
    after = Keyring([new, old])
    assert after.decrypt(secret) == "db-password"
    rotated = after.rotate(secret)
    assert Keyring([new]).decrypt(rotated) == "db-password"
    with pytest.raises(KeyringError):
        Keyring([new]).decrypt(secret)
    with pytest.raises(KeyringError):
        Keyring(["not-a-key"])
