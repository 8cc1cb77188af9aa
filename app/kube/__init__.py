"""The Kubernetes adapter (the only place ``kubernetes_asyncio`` is imported).

- :class:`~app.kube.gateway.KubeGateway` implements ``app.ports.ClusterGateway``; its sessions
  (:class:`~app.kube.sessions.KubeSession`) implement ``ClusterSession``: server-side apply with a
  given field manager (never forced, ``dryRun=All`` on request), get/list/delete by apiVersion and
  kind resolved through discovery, and the server version.
- :mod:`app.kube.kubeconfigs` reads a kubeconfig's contexts and the endpoint of any of them.
- :mod:`app.kube.errors` is the adapter's error tree; nothing from kubernetes_asyncio, aiohttp or
  ssl leaves the package.
"""

from app.kube.connecting import InClusterEnvironment
from app.kube.gateway import KubeGateway
from app.kube.kubeconfigs import Kubeconfig, KubeconfigContext, parse_kubeconfig
from app.kube.sessions import KubeSession

__all__ = [
    "InClusterEnvironment",
    "KubeGateway",
    "KubeSession",
    "Kubeconfig",
    "KubeconfigContext",
    "parse_kubeconfig",
]
