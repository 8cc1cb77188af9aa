"""Fields shared by several kinds: metadata, and the pod template of every workload."""

from __future__ import annotations

from typing import Any

from app.domain.kinds.spec import (
    FieldSpec,
    FieldType,
    boolean,
    enum,
    integer,
    obj,
    obj_list,
    string,
    string_list,
    string_map,
)

PORT_MIN, PORT_MAX = 1, 65535
PROTOCOLS = ("TCP", "UDP", "SCTP")
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
VOLUME_TYPES = ("configMap", "secret", "persistentVolumeClaim")
ENV_FROM_TYPES = ("configMap", "secret")


def port(name: str, description: str, **kw: Any) -> FieldSpec:
    """An INTEGER network port, 1 to 65535."""
    return integer(name, description, minimum=PORT_MIN, maximum=PORT_MAX, **kw)


def quantity(name: str, description: str, **kw: Any) -> FieldSpec:
    """A Kubernetes QUANTITY (``500m``, ``0.5``, ``128Mi``, ``10Gi``)."""
    return FieldSpec(name, FieldType.QUANTITY, description, **kw)


def metadata_fields(*, namespaced: bool = True) -> tuple[FieldSpec, ...]:
    """``name``, ``namespace`` (for namespaced kinds), ``labels``, ``annotations`` and ``templateId``."""
    fields = [
        string("name", "Object name in the cluster (a DNS-1123 name); the node id is used when it is empty."),
    ]
    if namespaced:
        fields.append(
            string("namespace", "Namespace to create the object in; empty means the workflow's namespace.")
        )
    fields += [
        string_map("labels", "Extra labels; Trellis adds its own managed-by, workflow and node labels."),
        string_map("annotations", "Annotations to set on the object."),
        string("templateId", "The template the front end created this node from (informational)."),
    ]
    return tuple(fields)


# --- the pod template ------------------------------------------------------------------------------------

ENV = obj_list(
    "env",
    "Environment variables, as a list of {name, value}. A map {NAME: value} is accepted and turned into "
    "this list.",
    (
        string("name", "Variable name.", required=True),
        FieldSpec("value", FieldType.TEXT, "Variable value (always text, kept exactly).", default=""),
    ),
)

ENV_FROM = obj_list(
    "envFrom",
    "ConfigMaps and Secrets whose every key becomes an environment variable. Entries with a nodeId are "
    "written by edges from ConfigMap and Secret nodes connected to the workload's env handle; their prefix "
    "may be changed and is kept.",
    (
        enum("type", "Where the variables come from.", ENV_FROM_TYPES, required=True),
        string("name", "Name of the ConfigMap or Secret.", required=True),
        string("prefix", "Text put before every variable name, e.g. DB_."),
        string("nodeId", "The canvas node this entry comes from (set by the edge).", linked=True),
    ),
)

_CPU_MEMORY = (
    quantity("cpu", "CPU, in cores (0.5) or millicores (500m)."),
    quantity("memory", "Memory, e.g. 128Mi or 1Gi."),
)
RESOURCES = obj(
    "resources",
    "Compute resources of the container.",
    (
        obj("requests", "What the scheduler reserves for the container.", _CPU_MEMORY),
        obj("limits", "The most the container may use.", _CPU_MEMORY),
    ),
)

VOLUME_MOUNTS = obj_list(
    "volumeMounts",
    "Volumes mounted into the container. Entries with a nodeId are written by edges from ConfigMap, "
    "Secret and PersistentVolumeClaim nodes; their mountPath, subPath and (for claims) readOnly may be "
    "changed and are kept.",
    (
        enum("type", "What is mounted.", VOLUME_TYPES, required=True),
        string("name", "Name of the ConfigMap, Secret or PersistentVolumeClaim.", required=True),
        string("mountPath", "Absolute path inside the container.", required=True),
        string("nodeId", "The canvas node this mount comes from (set by the edge).", linked=True),
        boolean("readOnly", "Mount read-only (always true for ConfigMaps and Secrets)."),
        string("subPath", "Mount only this path from inside the volume."),
    ),
)


def probe(name: str, what: str) -> FieldSpec:
    """A container probe: HTTP GET, TCP socket or a command."""
    return obj(
        name,
        what,
        (
            enum("type", "How to probe.", ("httpGet", "tcpSocket", "exec"), required=True),
            string("path", "HTTP path to GET (httpGet).", default="/"),
            port("port", "Port to probe (httpGet, tcpSocket)."),
            string_list("command", "Command to run; exit code 0 means success (exec)."),
            integer("initialDelaySeconds", "Seconds to wait after the container starts.", minimum=0),
            integer("periodSeconds", "Seconds between probes.", minimum=1, default=10),
            integer("timeoutSeconds", "Seconds before a probe times out.", minimum=1, default=1),
            integer("failureThreshold", "Failures in a row before the probe fails.", minimum=1, default=3),
            integer(
                "successThreshold",
                "Successes in a row before the probe succeeds (must be 1 for liveness and startup).",
                minimum=1,
                default=1,
            ),
        ),
    )


SECURITY_CONTEXT = obj(
    "securityContext",
    "Security settings of the container.",
    (
        integer("runAsUser", "User id to run the process as.", minimum=0),
        integer("runAsGroup", "Group id to run the process as.", minimum=0),
        boolean("runAsNonRoot", "Refuse to start a container that would run as root."),
        boolean("readOnlyRootFilesystem", "Mount the container's root filesystem read-only."),
        boolean("allowPrivilegeEscalation", "Whether a process may gain more privileges than its parent."),
        boolean("privileged", "Run the container privileged (full access to the host)."),
        string_list("capabilitiesAdd", "Linux capabilities to add, e.g. NET_ADMIN."),
        string_list("capabilitiesDrop", "Linux capabilities to drop, e.g. ALL."),
    ),
)

TOLERATIONS = obj_list(
    "tolerations",
    "Taints the pods tolerate.",
    (
        string("key", "Taint key; empty with operator Exists matches every taint."),
        enum("operator", "How key and value are matched.", ("Exists", "Equal"), default="Equal"),
        string("value", "Taint value (operator Equal)."),
        enum(
            "effect",
            "Taint effect to match; empty matches all.",
            ("NoSchedule", "PreferNoSchedule", "NoExecute"),
        ),
        integer("tolerationSeconds", "How long a NoExecute taint is tolerated before eviction.", minimum=0),
    ),
)


BUILD = obj(
    "build",
    "How the image is built from source, for the Build feature (never part of the manifests). Imported "
    "from a compose service's build.",
    (
        string(
            "context",
            "The build context: a folder relative to the project (repository) root; empty means the root.",
        ),
        string("dockerfile", "The Dockerfile, relative to the context.", default="Dockerfile"),
        string("target", "The stage of a multi-stage Dockerfile to build; empty means the last one."),
        string_map("args", "Build arguments (ARG name → value)."),
        boolean("useNixpacks", "Build with Nixpacks instead of a Dockerfile.", default=False),
    ),
)


def linked_list(name: str, what: str) -> FieldSpec:
    """A STRING_LIST of node ids written by edges."""
    return string_list(name, f"Ids of the {what} nodes connected to this one (set by edges).", linked=True)


def pod_fields(*, claims: bool) -> tuple[FieldSpec, ...]:
    """The container and pod fields every workload has; ``claims`` adds ``_linkedPVCs``."""
    fields: tuple[FieldSpec, ...] = (
        string("image", "Container image, e.g. nginx:1.27 or ghcr.io/org/app:v1.", required=True),
        string_list("command", "Overrides the image's entrypoint."),
        string_list("args", "Arguments to the entrypoint."),
        string("workingDir", "The folder the command runs in; empty means the image's."),
        ENV,
        ENV_FROM,
        RESOURCES,
        VOLUME_MOUNTS,
        probe("livenessProbe", "Restarts the container when it fails."),
        probe("readinessProbe", "Takes the pod out of Services while it fails."),
        probe("startupProbe", "Holds the other probes back until the container has started."),
        SECURITY_CONTEXT,
        boolean("tty", "Give the container a terminal."),
        boolean("stdin", "Keep the container's standard input open."),
        string("serviceAccountName", "Service account the pods run as."),
        enum("imagePullPolicy", "When to pull the image.", ("Always", "IfNotPresent", "Never")),
        string("hostname", "The pods' host name (a DNS-1123 label); empty means the pod name."),
        integer(
            "terminationGracePeriodSeconds",
            "Seconds a stopping container gets between SIGTERM and SIGKILL.",
            minimum=0,
        ),
        string_map("nodeSelector", "Node labels the pods must be scheduled on."),
        TOLERATIONS,
        BUILD,
        linked_list("_linkedConfigMaps", "ConfigMap"),
        linked_list("_linkedSecrets", "Secret"),
    )
    if claims:
        fields += (linked_list("_linkedPVCs", "PersistentVolumeClaim"),)
    return fields


def replicas() -> FieldSpec:
    """The number of pods."""
    return integer("replicas", "Number of pods to run.", minimum=0, default=1)


def container_port() -> FieldSpec:
    """The container's main port."""
    return port("port", "The port the container listens on (named http); Services connected to it target it.")
