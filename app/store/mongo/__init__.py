"""The MongoDB backend (``pymongo.AsyncMongoClient``).

**A replica set (or a sharded cluster) is required**: multi-document writes use transactions, which a
standalone ``mongod`` does not support, and :func:`open_mongo` refuses one with a clear message. For
development a single-node replica set is enough (``mongod --replSet rs0`` then ``rs.initiate()``;
connect with ``?replicaSet=rs0`` or ``?directConnection=true``).

Atomicity, per operation:

- ``create_user``, ``create_workspace``, ``add_member``, ``remove_member``, ``delete_workflow`` (+
  versions, Secret node values, runs and node healths), ``create_version``, ``restore_version``,
  ``start_run`` (version + run), ``put_secret_values``, ``put_node_health``, ``delete_node_healths``
  and ``interrupt_stale_runs``: one transaction each
  (:meth:`MongoDatabase.transaction`, retried on transient errors such as write conflicts). The
  first-user decision, the last-owner check, version numbers, the one-unfinished-run-per-workflow
  check and "no Secret value or node health outlives its workflow" are made safe against write skew by
  a write to one shared document in the same transaction (``counters/users``, the workspace's
  ``member_seq``, the workflow's ``version_seq``, ``secret_seq`` or ``health_seq``), so concurrent
  transactions conflict and are serialised; a stale-run sweep updates the very documents a concurrent
  ``save_run`` writes.
- ``replace_workflow``: one ``find_one_and_update`` with the expected revision in its filter
  (single-document compare-and-set). ``save_run`` and ``request_cancel``: one update each, with
  "still unfinished" in its filter.
- ``acquire_lease``: one ``find_one_and_update`` with ``upsert`` whose filter is "this name, and the
  caller's or expired"; a duplicate-key error on the insert means another owner holds it (None).
  ``consume_exec_ticket``: one ``find_one_and_delete`` (see :mod:`app.store.mongo.live`).
- Everything else writes one document; cluster names are kept unique by a unique index.

Documents are the codec's JSON-safe documents (datetimes as fixed-width UTC strings, so microseconds
survive and string order is time order) with ``"id"`` stored as ``"_id"`` and canvases as JSON text
(:mod:`app.store.mongo.documents`). Migrations are forward-only and idempotent, see
:mod:`app.store.mongo.migrations`; scoping is in :mod:`app.store.mongo.scoping`.
"""

from app.store.common import SchemaTooNewError
from app.store.mongo.migrations import MIGRATIONS, MongoMigration, migrate
from app.store.mongo.store import MongoStore, drop_mongo_database, open_mongo

__all__ = [
    "MIGRATIONS",
    "MongoMigration",
    "MongoStore",
    "SchemaTooNewError",
    "drop_mongo_database",
    "migrate",
    "open_mongo",
]
