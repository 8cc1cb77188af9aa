"""The MongoDB connection: client, collections, transactions and error translation.

Multi-document writes run in :meth:`MongoDatabase.transaction`, which uses pymongo's convenient
transaction API (``AsyncClientSession.with_transaction``): the callback runs in a transaction with
snapshot read concern and majority write concern, is retried on ``TransientTransactionError`` (for
example a write conflict with a concurrent transaction) and the commit is retried on
``UnknownTransactionCommitResult``. Callbacks therefore only read and write through the session they
are given and have no other side effects. Transactions need a replica set or a sharded cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    InvalidOperation,
    WTimeoutError,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from app.errors import Unavailable
from app.store.mongo.documents import Doc

T = TypeVar("T")

# The counter document whose $inc decides, inside create_user's transaction, who is the first user.
USERS_COUNTER = "users"


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn "the server cannot be reached or did not answer in time" into ``Unavailable``."""
    try:
        yield
    except (ConnectionFailure, ExecutionTimeout, WTimeoutError) as exc:
        raise Unavailable(f"the MongoDB store is unavailable: {exc}") from exc
    except InvalidOperation as exc:
        if "after close" in str(exc):
            raise Unavailable("the MongoDB store is closed") from exc
        raise


def duplicate_of(exc: DuplicateKeyError, field: str) -> bool:
    """Whether a duplicate-key error is about the unique index on ``field``."""
    details = exc.details or {}
    key_pattern = details.get("keyPattern") or details.get("keyValue") or {}
    return field in key_pattern or f"{field}_1" in str(exc) or f"index: {field}" in str(exc)


class MongoDatabase:
    """An open MongoDB database and the collections of the store."""

    def __init__(self, client: AsyncMongoClient[Doc], db: AsyncDatabase[Doc]) -> None:
        self.client = client
        self.db = db
        self.users: AsyncCollection[Doc] = db["users"]
        self.sessions: AsyncCollection[Doc] = db["sessions"]
        self.workspaces: AsyncCollection[Doc] = db["workspaces"]
        self.memberships: AsyncCollection[Doc] = db["memberships"]
        self.workflows: AsyncCollection[Doc] = db["workflows"]
        self.versions: AsyncCollection[Doc] = db["versions"]
        self.audit: AsyncCollection[Doc] = db["audit_events"]
        self.clusters: AsyncCollection[Doc] = db["clusters"]
        self.secret_values: AsyncCollection[Doc] = db["secret_values"]
        self.runs: AsyncCollection[Doc] = db["runs"]
        self.counters: AsyncCollection[Doc] = db["counters"]
        self.node_healths: AsyncCollection[Doc] = db["node_healths"]
        self.leases: AsyncCollection[Doc] = db["leases"]
        self.exec_tickets: AsyncCollection[Doc] = db["exec_tickets"]
        self._closed = False

    async def transaction(self, callback: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run ``callback`` in one transaction on a fresh session and return what it returns.

        An exception raised by the callback aborts the transaction and propagates unchanged.
        """
        with translate_errors():
            async with self.client.start_session() as session:
                return await session.with_transaction(
                    callback,
                    read_concern=ReadConcern("snapshot"),
                    write_concern=WriteConcern("majority"),
                )

    async def ping(self) -> None:
        with translate_errors():
            await self.client["admin"].command("ping")

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.client.close()
