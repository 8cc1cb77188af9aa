"""The tracker's knobs (the watch pool has its own, :class:`~app.kube.watching.WatchSettings`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TrackingSettings:
    # a resync batch (a first listing, or every watch relisting after an outage) is published once every
    # watch it waits for has listed, or after this long: a watch that cannot list (a forbidden or unknown
    # kind) must not keep the others' nodes unpublished forever
    resync_grace_seconds: float = 30.0
    # Kubernetes Events carry no labels, so they are watched unfiltered, one watch per namespace in use;
    # past this many namespaces on one cluster, one watch over all namespaces instead (each watch holds
    # one of the ~100 connections of a cluster's client)
    event_namespaces_max: int = 40

    def __post_init__(self) -> None:
        if self.resync_grace_seconds <= 0:
            raise ValueError("resync_grace_seconds must be positive")
        if self.event_namespaces_max < 0:
            raise ValueError("event_namespaces_max must not be negative")
