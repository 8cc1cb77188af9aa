"""Workload kinds: Deployment, StatefulSet, DaemonSet, Job, CronJob."""

from __future__ import annotations

from app.domain.kinds.common import (
    ACCESS_MODES,
    container_port,
    metadata_fields,
    pod_fields,
    quantity,
    replicas,
)
from app.domain.kinds.spec import (
    FieldSpec,
    NodeKindSpec,
    boolean,
    enum,
    integer,
    obj_list,
    string,
    string_list,
)

DEPLOYMENT = NodeKindSpec(
    kind="Deployment",
    api_version="apps/v1",
    namespaced=True,
    category="workload",
    description="Runs a number of identical, stateless pods and replaces them on every change.",
    fields=(*metadata_fields(), replicas(), container_port(), *pod_fields(claims=True)),
    aliases=("deployment",),
)

STATEFUL_SET = NodeKindSpec(
    kind="StatefulSet",
    api_version="apps/v1",
    namespaced=True,
    category="workload",
    description="Runs pods with stable names and their own volumes, e.g. databases.",
    fields=(
        *metadata_fields(),
        replicas(),
        container_port(),
        string("serviceName", "The headless Service that gives the pods their DNS names."),
        obj_list(
            "volumeClaimTemplates",
            "A volume per pod, created from these claims and mounted at /data/<name>.",
            (
                string("name", "Claim name.", required=True),
                quantity("storage", "Size, e.g. 10Gi.", required=True),
                string("storageClassName", "Storage class; empty means the cluster default."),
                string_list(
                    "accessModes",
                    "How the volume may be mounted.",
                    options=ACCESS_MODES,
                    default=("ReadWriteOnce",),
                ),
            ),
        ),
        *pod_fields(claims=True),
    ),
    aliases=("statefulset",),
)

DAEMON_SET = NodeKindSpec(
    kind="DaemonSet",
    api_version="apps/v1",
    namespaced=True,
    category="workload",
    description="Runs one pod on every (selected) node, e.g. log shippers and node agents.",
    fields=(
        *metadata_fields(),
        container_port(),
        enum(
            "updateStrategy",
            "How pods are replaced on a change.",
            ("RollingUpdate", "OnDelete"),
            default="RollingUpdate",
        ),
        string(
            "maxUnavailable",
            "Pods that may be down during an update: a number (1) or a percentage (10%).",
            default="1",
        ),
        boolean("hostNetwork", "Use the node's network namespace.", default=False),
        boolean("hostPID", "Use the node's process namespace.", default=False),
        *pod_fields(claims=False),
    ),
    aliases=("daemonset",),
)


def _job_fields(*, restart_default: str) -> tuple[FieldSpec, ...]:
    return (
        integer("completions", "Successful pods needed to complete the job.", minimum=1),
        integer("parallelism", "Pods running at the same time.", minimum=0),
        integer("backoffLimit", "Retries before the job is marked failed.", minimum=0, default=6),
        integer("activeDeadlineSeconds", "Seconds the job may run before it is stopped.", minimum=1),
        integer("ttlSecondsAfterFinished", "Seconds after finishing before the job is deleted.", minimum=0),
        enum(
            "restartPolicy",
            "Whether a failed container is restarted in place.",
            ("Never", "OnFailure"),
            default=restart_default,
        ),
    )


JOB = NodeKindSpec(
    kind="Job",
    api_version="batch/v1",
    namespaced=True,
    category="workload",
    description="Runs pods until a number of them complete successfully.",
    fields=(*metadata_fields(), *_job_fields(restart_default="Never"), *pod_fields(claims=False)),
    aliases=("job",),
)

CRON_JOB = NodeKindSpec(
    kind="CronJob",
    api_version="batch/v1",
    namespaced=True,
    category="workload",
    description="Creates a Job on a schedule.",
    fields=(
        *metadata_fields(),
        string(
            "schedule",
            "Cron schedule with 5 fields (minute hour day month weekday), e.g. */5 * * * *, "
            "or a macro such as @daily.",
            required=True,
        ),
        enum(
            "concurrencyPolicy",
            "What to do when the previous run is still going.",
            ("Allow", "Forbid", "Replace"),
            default="Allow",
        ),
        boolean("suspend", "Pause the schedule.", default=False),
        integer("successfulJobsHistoryLimit", "Finished jobs to keep.", minimum=0, default=3),
        integer("failedJobsHistoryLimit", "Failed jobs to keep.", minimum=0, default=1),
        integer("startingDeadlineSeconds", "Seconds a missed run may start late.", minimum=0),
        *_job_fields(restart_default="OnFailure"),
        *pod_fields(claims=False),
    ),
    aliases=("cronjob",),
)

WORKLOADS: tuple[NodeKindSpec, ...] = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET, JOB, CRON_JOB)
