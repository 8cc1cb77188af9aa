"""Outbound network rules: the egress guard every outbound call passes (see :mod:`app.net.egress`).

A port-free helper: services and adapters may import it; it imports nothing of Trellis but
``app.errors``.
"""

from app.net.addresses import AddressClass
from app.net.egress import EgressGuard, EgressPolicy, EgressRefused, ResolvedTarget
from app.net.hosts import HostError, normalise_host

__all__ = [
    "AddressClass",
    "EgressGuard",
    "EgressPolicy",
    "EgressRefused",
    "HostError",
    "ResolvedTarget",
    "normalise_host",
]
