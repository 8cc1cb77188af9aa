"""v1 Service: healthy once it exists, except a LoadBalancer still waiting for its external address."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View


def addresses(status: View) -> list[str]:
    """The IPs or host names in ``loadBalancer.ingress`` (Services and Ingresses share the shape)."""
    found = []
    for entry in status.views("loadBalancer.ingress"):
        address = entry.text("ip") or entry.text("hostname")
        if address:
            found.append(address)
    return found


def _ports(spec: View) -> list[str]:
    shown = []
    for port in spec.views("ports"):
        number, protocol = port.maybe_integer("port"), port.text("protocol", "TCP")
        node_port = port.maybe_integer("nodePort")
        shown.append(f"{number}/{protocol}" + (f" (node port {node_port})" if node_port is not None else ""))
    return shown


def service(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    kind = spec.text("type", "ClusterIP")
    ports = _ports(spec)
    external = addresses(status)
    facts: dict[str, Any] = {
        "type": kind,
        "clusterIP": spec.text("clusterIP") or None,
        "ports": ports,
    }
    on = f" on {', '.join(ports)}" if ports else ""
    if kind == "LoadBalancer":
        facts["externalAddresses"] = external
        if status.count("loadBalancer.ingress") == 0:
            return Health(
                HealthStatus.PROGRESSING,
                "waiting for an external address from the cloud load balancer",
                facts,
            )
        shown = ", ".join(external) or "an address"
        return Health(HealthStatus.HEALTHY, f"load balancer at {shown}{on}", facts)
    if kind == "ExternalName":
        return Health(HealthStatus.HEALTHY, f"alias for {spec.text('externalName') or '?'}", facts)
    if spec.text("clusterIP") == "None":
        return Health(HealthStatus.HEALTHY, f"headless{on}", facts)
    where = spec.text("clusterIP") or "a cluster IP"
    return Health(HealthStatus.HEALTHY, f"{kind} {where}{on}", facts)
