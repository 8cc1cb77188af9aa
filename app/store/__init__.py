"""Persistence: the ``Store`` port (``app.ports``) over SQLite (the embedded default) or MongoDB.

Open one with :func:`app.store.opening.open_store` (``sqlite:///…`` or ``mongodb://…``). Both backends
share the document mapping of :mod:`app.store.codec`, run forward-only migrations at open, apply
workspace scoping in one helper each, and pass one contract test suite (``tests/store``).
"""

from app.store.opening import open_store

__all__ = ["open_store"]
