"""The health of what Trellis deployed, per kind, after Argo CD's rules (gitops-engine ``pkg/health``).

:func:`assess` takes any object exactly as the API server returns it (a plain dict with ``apiVersion``
and ``kind``) and dispatches on (group, kind) through :data:`~app.kube.status.registry.CHECKS` to one
small pure function per kind. It never raises: a kind without a check, or a malformed object, is
``UNKNOWN`` with a message that says why. What a node's pods and Events add (crash loops, image pulls,
OOM kills, scheduling) is folded in at the node level by :func:`~app.kube.status.pods_rollup.combine`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.pods_rollup import combine
from app.kube.status.registry import check_for
from app.kube.status.view import Malformed, View, stamp

__all__ = ["assess", "combine"]


def assess(obj: Mapping[str, Any]) -> Health:
    """The health of one object; an object being deleted is PROGRESSING, as in Argo CD."""
    if not isinstance(obj, Mapping):
        return Health(HealthStatus.UNKNOWN, "not a Kubernetes object")
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
        return Health(HealthStatus.UNKNOWN, "not a Kubernetes object: it has no apiVersion and kind")
    check = check_for(api_version, kind)
    if check is None:
        return Health(
            HealthStatus.UNKNOWN,
            f"Trellis has no health check for {kind} ({api_version}); it exists",
            {"apiVersion": api_version, "kind": kind},
        )
    view = View(obj)
    try:
        return _deleting(view, check(view))
    except Malformed as exc:
        return Health(HealthStatus.UNKNOWN, f"cannot read this {kind}: {exc}", {"malformed": exc.path})
    except Exception as exc:  # a bug in a check must not stop a watch: report it, as Argo CD does
        return Health(
            HealthStatus.UNKNOWN,
            f"the {kind} health check failed ({type(exc).__name__}: {exc})",
            {"error": type(exc).__name__},
        )


def _deleting(view: View, health: Health) -> Health:
    """An object with a deletionTimestamp is PROGRESSING ("being deleted"), keeping what its check found."""
    when = view.moment("metadata.deletionTimestamp")
    finalizers = view.texts("metadata.finalizers")
    grace = view.maybe_integer("metadata.deletionGracePeriodSeconds")
    if when is None:
        return health
    waiting = f" (waiting for finalizers: {', '.join(finalizers)})" if finalizers else ""
    if grace:
        waiting += f" (grace period {grace}s)"
    was = f": {health.message}" if health.status is not HealthStatus.HEALTHY and health.message else ""
    facts = {**health.facts, "deleting": True, "deletionTimestamp": stamp(when), "finalizers": finalizers}
    return Health(HealthStatus.PROGRESSING, f"being deleted{waiting}{was}", facts)
