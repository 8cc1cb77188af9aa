"""The SQLite backend (aiosqlite): the embedded default store.

One connection per store, in WAL mode, with foreign keys on and a busy timeout. Every unit of work
runs under the store's ``asyncio.Lock`` in a transaction of its own (:mod:`app.store.sqlite.connection`),
so two coroutines' transactions never interleave on the shared connection; writes start with
``BEGIN IMMEDIATE``, which also takes SQLite's write lock against other connections and processes.

Atomicity, per operation: each of ``create_user`` (user + personal workspace + OWNER membership +
the first-user check), ``create_workspace``, ``add_member``, ``remove_member`` (with the last-owner
check), ``insert_workflow``, ``replace_workflow`` (``UPDATE … WHERE id AND revision AND scope``),
``delete_workflow`` (+ versions, Secret node values, runs and node healths), ``create_version`` (max + 1
and insert), ``restore_version`` (compare-and-set + max + 1 + insert), ``start_run`` (scope check +
no-unfinished-run check + max + 1 + version insert + run insert), ``save_run`` (one ``UPDATE`` guarded
by "still unfinished"), ``request_cancel`` (update + read back), ``interrupt_stale_runs`` (one
``UPDATE … RETURNING``), ``put_secret_values`` (workflow check + upsert), ``put_node_health`` (one
upsert guarded by "the workflow exists"), ``acquire_lease`` (one guarded upsert ``… RETURNING``),
``consume_exec_ticket`` (one ``DELETE … RETURNING`` + the sweep of expired tickets) and each cluster
write is one ``BEGIN IMMEDIATE`` transaction (see :mod:`app.store.sqlite.live`); reads that need two
statements (a page and its total) share one read transaction, hence one snapshot.

Forward-only migrations run at open (:mod:`app.store.sqlite.migrations`); workspace scoping is in
:mod:`app.store.sqlite.scoping`.
"""

from app.store.common import SchemaTooNewError
from app.store.sqlite.migrations import MIGRATIONS, Migration, migrate
from app.store.sqlite.store import SqliteStore, open_sqlite

__all__ = ["MIGRATIONS", "Migration", "SchemaTooNewError", "SqliteStore", "migrate", "open_sqlite"]
