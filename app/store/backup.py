"""Rules both backends share for ``export_all``/``import_all``: what is left out of a backup, and the checks
and messages of a restore.

Left out, because they describe work of running processes rather than Trellis's data and are worthless
(or harmful) in another deployment: ``leases`` (which process watches a cluster — a restored server takes
its own), ``exec_tickets`` (single-use terminal tickets living seconds), ``oauth_states`` and
``oauth_codes`` (provider sign-ins in flight, minutes at most) and ``node_healths`` (the last health each
deployed node reported: re-observed from the clusters as soon as a restored server watches them). The
migration ledger is not copied either: the backup records its level and the target has its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.errors import Conflict, Invalid
from app.ports import StoreSnapshot

TRANSIENT_TABLES = frozenset({"leases", "exec_tickets", "oauth_states", "oauth_codes", "node_healths"})
LEDGER = "schema_migrations"


def backed_up(names: Iterable[str]) -> list[str]:
    """The tables (collections) of ``names`` a backup holds, sorted."""
    return sorted(n for n in names if n not in TRANSIENT_TABLES and n != LEDGER)


def check_snapshot(snapshot: StoreSnapshot, *, backend: str, migration: int, tables: Sequence[str]) -> None:
    """``Invalid`` unless ``snapshot`` comes from the same kind of store at the same migration level and
    names only tables this store has."""
    if snapshot.backend != backend:
        raise Invalid(
            f"the backup was taken from a {snapshot.backend} store; it restores only into one of those, "
            f"not into {backend}"
        )
    if snapshot.migration != migration:
        newer = "a newer" if snapshot.migration > migration else "an older"
        raise Invalid(
            f"the backup is at schema migration {snapshot.migration} and this store at {migration}: it was "
            f"taken by {newer} Trellis; restore it with that version (then upgrade, if older)"
        )
    unknown = sorted(set(snapshot.tables) - set(tables))
    if unknown:
        raise Invalid(f"the backup holds tables this store does not have: {', '.join(unknown)}")


def check_empty(counts: Mapping[str, int]) -> None:
    """``Conflict`` naming the tables that hold records: a restore never merges into existing data."""
    full = {name: count for name, count in sorted(counts.items()) if count}
    if full:
        listed = ", ".join(f"{name} ({count})" for name, count in full.items())
        raise Conflict(f"the store is not empty: {listed}; restore only into a new, empty store")


def check_columns(table: str, row: Mapping[str, Any], columns: Iterable[str]) -> None:
    unknown = sorted(set(row) - set(columns))
    if unknown:
        raise Invalid(
            f"the backup's {table} rows have columns this store does not have: {', '.join(unknown)}"
        )
