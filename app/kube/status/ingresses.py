"""networking.k8s.io/v1 Ingress: healthy once the ingress controller publishes an address (as Argo CD)."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.services import addresses
from app.kube.status.view import View


def ingress(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    hosts = sorted({rule.text("host") for rule in spec.views("rules") if rule.text("host")})
    external = addresses(status)
    facts: dict[str, Any] = {
        "ingressClassName": spec.text("ingressClassName") or None,
        "hosts": hosts,
        "addresses": external,
    }
    serving = f" for {', '.join(hosts)}" if hosts else ""
    if status.count("loadBalancer.ingress") == 0:
        by = facts["ingressClassName"]
        controller = f"the {by} ingress controller" if by else "an ingress controller"
        return Health(HealthStatus.PROGRESSING, f"waiting for {controller} to publish an address", facts)
    return Health(HealthStatus.HEALTHY, f"served at {', '.join(external) or 'an address'}{serving}", facts)
