"""Password hashing with bcrypt (cost from settings, 12 by default), off the event loop."""

from __future__ import annotations

import asyncio

import bcrypt

# bcrypt only reads the first 72 bytes; longer passwords are refused rather than silently truncated.
MAX_PASSWORD_BYTES = 72


class PasswordHasher:
    def __init__(self, *, rounds: int) -> None:
        self._rounds = rounds

    async def hash(self, password: str) -> str:
        salt = bcrypt.gensalt(rounds=self._rounds)
        digest = await asyncio.to_thread(bcrypt.hashpw, password.encode(), salt)
        return digest.decode()

    async def verify(self, password: str, hashed: str) -> bool:
        if not hashed:
            return False
        try:
            return await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed.encode())
        except ValueError:
            return False

    async def burn(self, password: str) -> None:
        """Spend the time of one verification, so an unknown e-mail is not faster than a wrong password."""
        await self.hash(password[:MAX_PASSWORD_BYTES])
