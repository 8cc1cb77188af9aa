"""Configuration, storage, scaling and cluster kinds: ConfigMap, Secret, PVC, HPA, Namespace."""

from __future__ import annotations

from app.domain.kinds.common import ACCESS_MODES, metadata_fields, quantity
from app.domain.kinds.spec import NodeKindSpec, enum, integer, obj_list, string, string_list, string_map

NAMESPACE = NodeKindSpec(
    kind="Namespace",
    api_version="v1",
    namespaced=False,
    category="cluster",
    description="A namespace; Trellis never deletes one that holds objects it does not manage.",
    fields=metadata_fields(namespaced=False),
    aliases=("namespace", "ns"),
)

CONFIG_MAP = NodeKindSpec(
    kind="ConfigMap",
    api_version="v1",
    namespaced=True,
    category="config",
    description="Configuration files or values, mounted into the workloads it is connected to.",
    fields=(
        *metadata_fields(),
        string_map("data", "File name (key) → content (value)."),
        string(
            "mountPath",
            "Where connected workloads mount it (the default for new connections).",
            default="/etc/config",
        ),
    ),
    aliases=("configmap", "cm"),
)

SECRET = NodeKindSpec(
    kind="Secret",
    api_version="v1",
    namespaced=True,
    category="config",
    description="Secret values, mounted into the workloads it is connected to. Only key names live in the "
    "node; values are stored encrypted elsewhere and never returned.",
    fields=(
        *metadata_fields(),
        enum(
            "secretType",
            "Secret type.",
            (
                "Opaque",
                "kubernetes.io/tls",
                "kubernetes.io/dockerconfigjson",
                "kubernetes.io/basic-auth",
                "kubernetes.io/ssh-auth",
            ),
            default="Opaque",
        ),
        obj_list(
            "keys",
            "The secret's key names (no values).",
            (
                string("id", "Key id.", required=True),
                string("name", "Key name, e.g. DB_PASSWORD.", required=True),
            ),
        ),
        string(
            "mountPath",
            "Where connected workloads mount it (the default for new connections).",
            default="/etc/secrets",
        ),
    ),
    aliases=("secret",),
)

PERSISTENT_VOLUME_CLAIM = NodeKindSpec(
    kind="PersistentVolumeClaim",
    api_version="v1",
    namespaced=True,
    category="storage",
    description="A persistent volume, mounted at /data/<name> in the workloads it is connected to.",
    fields=(
        *metadata_fields(),
        quantity("storage", "Size, e.g. 10Gi.", default="1Gi"),
        string("storageClassName", "Storage class; empty means the cluster default."),
        string_list(
            "accessModes", "How the volume may be mounted.", options=ACCESS_MODES, default=("ReadWriteOnce",)
        ),
        enum(
            "volumeMode", "A filesystem or a raw block device.", ("Filesystem", "Block"), default="Filesystem"
        ),
    ),
    aliases=("persistentvolumeclaim", "pvc"),
)

HORIZONTAL_POD_AUTOSCALER = NodeKindSpec(
    kind="HorizontalPodAutoscaler",
    api_version="autoscaling/v2",
    namespaced=True,
    category="scaling",
    description="Scales a Deployment or StatefulSet between a minimum and a maximum number of pods.",
    fields=(
        *metadata_fields(),
        enum(
            "scaleTargetKind",
            "Kind of the scaled workload; set by the edge.",
            ("Deployment", "StatefulSet"),
            default="Deployment",
        ),
        string("scaleTargetName", "Name of the scaled workload; set by the edge.", required=True),
        integer("minReplicas", "Fewest pods.", minimum=1, default=1),
        integer("maxReplicas", "Most pods.", minimum=1, required=True),
        integer("targetCPUUtilization", "Average CPU use to aim for, in % of the requested CPU.", minimum=1),
        integer(
            "targetMemoryUtilization",
            "Average memory use to aim for, in % of the requested memory.",
            minimum=1,
        ),
        integer(
            "scaleDownStabilization", "Seconds of lower load before scaling down.", minimum=0, maximum=3600
        ),
        integer("scaleUpStabilization", "Seconds of higher load before scaling up.", minimum=0, maximum=3600),
        string("_linkedTarget", "Id of the scaled workload node (set by the edge).", linked=True),
    ),
    aliases=("horizontalpodautoscaler", "hpa"),
)

OTHERS = (NAMESPACE, CONFIG_MAP, SECRET, PERSISTENT_VOLUME_CLAIM, HORIZONTAL_POD_AUTOSCALER)
