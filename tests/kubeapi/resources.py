"""The resource types the test server serves, with what discovery says about them."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError, path_not_found

NAMESPACED_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None  # set when the subresource's kind lives in another group (Scale, Eviction)
    version: str | None = None


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = NAMESPACED_VERBS
    subresources: tuple[Subresource, ...] = ()
    tracks_generation: bool = False
    storage_hash: str = ""
    # default propagation when a DELETE gives none (registry DefaultGarbageCollectionPolicy)
    default_propagation: str = "Background"
    delete_returns_object: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def has_subresource(self, name: str) -> bool:
        return any(s.name == name for s in self.subresources)

    @property
    def has_status(self) -> bool:
        return self.has_subresource("status")

    def discovery_entries(self) -> list[dict[str, object]]:
        entry: dict[str, object] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entry["storageVersionHash"] = self.storage_hash
        entries: list[dict[str, object]] = [entry]
        for sub in self.subresources:
            sub_entry: dict[str, object] = {
                "name": f"{self.plural}/{sub.name}",
                "singularName": "",
                "namespaced": self.namespaced,
            }
            if sub.group is not None:
                sub_entry["group"] = sub.group
                sub_entry["version"] = sub.version
            sub_entry["kind"] = sub.kind
            sub_entry["verbs"] = list(sub.verbs)
            entries.append(sub_entry)
        return entries


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, STATUS_VERBS)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", STATUS_VERBS, "autoscaling", "v1")


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        False,
        ("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        subresources=(Subresource("finalize", "Namespace", ("update",)), _status("Namespace")),
        storage_hash="Q3oi5N2YM8M=",
        delete_returns_object=True,
    ),
    ResourceType(
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        False,
        ("no",),
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
        subresources=(
            Subresource("proxy", "NodeProxyOptions", ("create", "delete", "get", "patch", "update")),
            _status("Node"),
        ),
        storage_hash="XwShjMxG9Fs=",
    ),
    ResourceType(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        True,
        ("po",),
        ("all",),
        subresources=(
            Subresource("attach", "PodAttachOptions", ("create", "get")),
            Subresource("binding", "Binding", ("create",)),
            Subresource("ephemeralcontainers", "Pod", STATUS_VERBS),
            Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
            Subresource("exec", "PodExecOptions", ("create", "get")),
            Subresource("log", "Pod", ("get",)),
            Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
            Subresource("proxy", "PodProxyOptions", ("create", "delete", "get", "patch", "update")),
            Subresource("resize", "Pod", STATUS_VERBS),
            _status("Pod"),
        ),
        tracks_generation=True,
        storage_hash="xPOwRZ+Yhw8=",
        delete_returns_object=True,
    ),
    ResourceType(
        "",
        "v1",
        "services",
        "service",
        "Service",
        True,
        ("svc",),
        ("all",),
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
        subresources=(
            Subresource("proxy", "ServiceProxyOptions", ("create", "delete", "get", "patch", "update")),
            _status("Service"),
        ),
        storage_hash="0/CO1lhkEBI=",
    ),
    ResourceType(
        "", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",), storage_hash="qFsyl6wFWjQ="
    ),
    ResourceType("", "v1", "secrets", "secret", "Secret", True, storage_hash="S6u1pOWzb84="),
    ResourceType(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        True,
        ("pvc",),
        subresources=(_status("PersistentVolumeClaim"),),
        storage_hash="QWTyNDq0dC4=",
    ),
    ResourceType("", "v1", "events", "event", "Event", True, ("ev",), storage_hash="r2yiGXH7wu8="),
    ResourceType(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        True,
        ("sa",),
        subresources=(Subresource("token", "TokenRequest", ("create",), "authentication.k8s.io", "v1"),),
        storage_hash="pbx9ZvyFpBE=",
    ),
    # apps/v1
    ResourceType(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        True,
        ("deploy",),
        ("all",),
        subresources=(_scale(), _status("Deployment")),
        tracks_generation=True,
        storage_hash="8aSe+NMegvE=",
    ),
    ResourceType(
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        True,
        ("sts",),
        ("all",),
        subresources=(_scale(), _status("StatefulSet")),
        tracks_generation=True,
        storage_hash="H+vl74LkKdo=",
    ),
    ResourceType(
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        True,
        ("ds",),
        ("all",),
        subresources=(_status("DaemonSet"),),
        tracks_generation=True,
        storage_hash="dd7pWHUlMKQ=",
    ),
    ResourceType(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        True,
        ("rs",),
        ("all",),
        subresources=(_scale(), _status("ReplicaSet")),
        tracks_generation=True,
        storage_hash="P1RzHs8/mWQ=",
    ),
    # batch/v1
    ResourceType(
        "batch",
        "v1",
        "jobs",
        "job",
        "Job",
        True,
        (),
        ("all",),
        subresources=(_status("Job"),),
        tracks_generation=True,
        storage_hash="mudhfqk/qZY=",
        default_propagation="Orphan",
    ),
    ResourceType(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        True,
        ("cj",),
        ("all",),
        subresources=(_status("CronJob"),),
        tracks_generation=True,
        storage_hash="sd5LIXh4Fjs=",
    ),
    # networking.k8s.io/v1
    ResourceType(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        True,
        ("ing",),
        subresources=(_status("Ingress"),),
        tracks_generation=True,
        storage_hash="39NQlfNR+bo=",
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        True,
        ("netpol",),
        tracks_generation=True,
        storage_hash="YpfwF18m1G8=",
    ),
    # autoscaling/v2
    ResourceType(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        True,
        ("hpa",),
        ("all",),
        subresources=(_status("HorizontalPodAutoscaler"),),
        tracks_generation=True,
        storage_hash="qwQve8ut294=",
    ),
)

# metrics.k8s.io/v1beta1 as metrics-server serves it (get and list only); added by
# ``KubeApiServer.serve_metrics()``, absent otherwise, as on a cluster without metrics-server.
METRICS_TYPES = (
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "", "NodeMetrics", False, verbs=("get", "list")),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "", "PodMetrics", True, verbs=("get", "list")),
)

GROUP_ORDER = ("apps", "batch", "networking.k8s.io", "autoscaling", "metrics.k8s.io")


class Registry:
    """Looks resource types up by URL parts or by kind."""

    def __init__(self, types: tuple[ResourceType, ...] = RESOURCE_TYPES) -> None:
        self.types: tuple[ResourceType, ...] = ()
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[str, ResourceType] = {}
        self.add(types)

    def add(self, types: tuple[ResourceType, ...]) -> None:
        """Serve more resource types from now on (types already served are left as they are)."""
        types = tuple(t for t in types if (t.group, t.version, t.plural) not in self._by_path)
        self.types = (*self.types, *types)
        self._by_path.update({(t.group, t.version, t.plural): t for t in types})
        for t in types:
            for alias in (t.kind, t.kind.lower(), t.plural, t.singular, t.group_resource, *t.short_names):
                self._by_kind.setdefault(alias, t)
            self._by_kind[f"{t.api_version}/{t.kind}"] = t

    def by_path(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self._by_path.get((group, version, plural))
        if rt is None:
            raise path_not_found()
        return rt

    def lookup(self, kind: str) -> ResourceType:
        """Accepts ``Deployment``, ``deployments``, ``deployments.apps``, ``deploy`` or ``apps/v1/Deployment``."""
        rt = self._by_kind.get(kind)
        if rt is None:
            raise KeyError(f"unknown kind {kind!r}")
        return rt

    def for_object(self, obj: dict[str, object]) -> ResourceType:
        api_version = str(obj.get("apiVersion", ""))
        kind = str(obj.get("kind", ""))
        rt = self._by_kind.get(f"{api_version}/{kind}")
        if rt is None:
            raise ApiError(400, "BadRequest", f"no kind {kind!r} is registered for version {api_version!r}")
        return rt

    def groups(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for t in self.types:
            versions = result.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
        return result

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types if t.group == group and t.version == version]
