"""The registry adapter: the Docker Registry HTTP API v2 handshake and the cloud registries' token
exchanges (ECR, GCR / Artifact Registry, ACR), over httpx, every call through the egress guard."""

from app.registry.client import HttpRegistryClient, RegistryEndpoints

__all__ = ["HttpRegistryClient", "RegistryEndpoints"]
