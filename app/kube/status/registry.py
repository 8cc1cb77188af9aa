"""Which check assesses which kind: one table keyed by (API group, kind), as Argo CD's GetHealthCheckFunc."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from app.domain.health import Health
from app.kube.status.cronjobs import cronjob
from app.kube.status.daemonsets import daemonset
from app.kube.status.deployments import deployment
from app.kube.status.hpas import hpa
from app.kube.status.ingresses import ingress
from app.kube.status.jobs import job
from app.kube.status.plain import configmap, namespace, networkpolicy, secret
from app.kube.status.pods import pod
from app.kube.status.pvcs import pvc
from app.kube.status.replicasets import replicaset
from app.kube.status.services import service
from app.kube.status.statefulsets import statefulset
from app.kube.status.view import View

Check = Callable[[View], Health]

CHECKS: Mapping[tuple[str, str], Check] = MappingProxyType(
    {
        ("apps", "Deployment"): deployment,
        ("apps", "StatefulSet"): statefulset,
        ("apps", "DaemonSet"): daemonset,
        ("apps", "ReplicaSet"): replicaset,
        ("", "Pod"): pod,
        ("batch", "Job"): job,
        ("batch", "CronJob"): cronjob,
        ("", "Service"): service,
        ("networking.k8s.io", "Ingress"): ingress,
        ("extensions", "Ingress"): ingress,
        ("", "PersistentVolumeClaim"): pvc,
        ("autoscaling", "HorizontalPodAutoscaler"): hpa,
        ("", "ConfigMap"): configmap,
        ("", "Secret"): secret,
        ("networking.k8s.io", "NetworkPolicy"): networkpolicy,
        ("", "Namespace"): namespace,
    }
)
"""(group, kind) → check; the core group is ""."""


def group_of(api_version: str) -> str:
    """``apps/v1`` → ``apps``; ``v1`` → "" (the core group)."""
    group, _, _ = api_version.rpartition("/")
    return group


def check_for(api_version: str, kind: str) -> Check | None:
    return CHECKS.get((group_of(api_version), kind))
