"""Encryption at rest: a keyring of Fernet keys (newest first). New writes use the first key;
older keys still decrypt; ``rotate`` re-encrypts a value under the first key."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeyringError(Exception):
    pass


class Keyring:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise KeyringError("the keyring needs at least one key")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise KeyringError("encryption keys must be url-safe base64 of 32 bytes (Fernet keys)") from exc

    @classmethod
    def from_setting(cls, value: str) -> Keyring:
        return cls([key.strip() for key in value.split(",") if key.strip()])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise KeyringError("no key of the keyring decrypts this value") from exc

    def rotate(self, ciphertext: str) -> str:
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise KeyringError("no key of the keyring decrypts this value") from exc
