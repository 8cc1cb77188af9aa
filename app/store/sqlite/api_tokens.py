"""Personal API tokens in SQLite: only the hash of each token; they go with their user and workspace."""

from __future__ import annotations

from datetime import datetime

from app.domain.api_tokens import ApiToken
from app.errors import NotFound
from app.store.codec import encode_datetime
from app.store.people import api_token_from_doc, api_token_to_doc
from app.store.sqlite.connection import Database, duplicate_is_conflict


class SqliteApiTokens:
    """The ``ApiTokenStore`` part of the SQLite store."""

    _db: Database

    async def insert_api_token(self, token: ApiToken) -> None:
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM users WHERE id = ?", (token.user_id,)) is None:
                raise NotFound("user", token.user_id)
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (token.workspace_id,)) is None:
                raise NotFound("workspace", token.workspace_id)
            with duplicate_is_conflict("an API token with this id already exists"):
                await tx.insert("api_tokens", api_token_to_doc(token))

    async def get_api_token(self, token_id: str) -> ApiToken | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row("SELECT * FROM api_tokens WHERE id = ?", (token_id,))
        return None if row is None else api_token_from_doc(dict(row))

    async def list_api_tokens(self, user_id: str) -> list[ApiToken]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id", (user_id,)
            )
        return [api_token_from_doc(dict(row)) for row in rows]

    async def revoke_api_token(self, user_id: str, token_id: str, at: datetime) -> bool:
        async with self._db.transaction() as tx:
            changed = await tx.run(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                (encode_datetime(at), token_id, user_id),
            )
        return changed > 0

    async def touch_api_token(self, token_id: str, at: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.run(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (encode_datetime(at), token_id)
            )
