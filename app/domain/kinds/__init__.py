"""Node kinds: one field schema per kind, the single source for sanitising, forms and templates.

``spec`` holds the types, the kind tables live in ``workloads``, ``networking`` and ``config`` (built from
``common``), ``registry`` indexes them; ``coerce``, ``formats``, ``quantities``, ``rules`` and ``legacy``
sanitise node data against them.
"""

from app.domain.kinds.registry import KINDS, WORKLOAD_KINDS, is_runtime_key, resolve_kind
from app.domain.kinds.spec import FieldSpec, FieldType, NodeKindSpec

__all__ = [
    "KINDS",
    "WORKLOAD_KINDS",
    "FieldSpec",
    "FieldType",
    "NodeKindSpec",
    "is_runtime_key",
    "resolve_kind",
]
