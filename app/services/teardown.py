"""Removing everything a workflow deployed (on archive, or delete with ``deleteResources``).

Same rules as prune: only objects labelled with this workflow; never a Namespace holding foreign
objects; PersistentVolumeClaims only with ``delete_volumes``. Refused while a run of it is active.

First the image pull Secrets the workflow's runs recorded on its cluster are let go of (deleted where no
other workflow or object uses them, see :mod:`app.services.pull_secrets`), so a Namespace that held only
them and the workflow's objects goes too; they are listed with the objects removed.
"""

from __future__ import annotations

from typing import Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain.runs import AppliedObject, RunStatus
from app.domain.workflows import Workflow
from app.ports import ClusterGateway, ClusterStore, RunStore
from app.services.clusters import workflow_credentials
from app.services.principals import Principal
from app.services.pruning import Pruner
from app.services.pull_secrets import PullSecretService


class TeardownStore(ClusterStore, RunStore, Protocol):
    pass


class Teardown:
    def __init__(
        self,
        *,
        store: TeardownStore,
        gateway: ClusterGateway,
        keyring: Keyring,
        timeout_seconds: float,
        pull_secrets: PullSecretService | None = None,
    ) -> None:
        self._store = store
        self._pull_secrets = pull_secrets
        self._gateway = gateway
        self._keyring = keyring
        self._timeout = timeout_seconds

    async def __call__(
        self, principal: Principal, workflow: Workflow, *, delete_volumes: bool
    ) -> list[AppliedObject]:
        if workflow.cluster_id is None:
            return []
        latest = await self._store.list_runs(principal.scope, workflow.id, 1, None)
        if not latest.items:
            return []  # never deployed
        if latest.items[0].status in (RunStatus.PENDING, RunStatus.RUNNING):
            raise errors.Conflict(
                "a run of this workflow is in progress; cancel it first", {"runId": latest.items[0].id}
            )
        credentials = await workflow_credentials(
            self._store, self._keyring, principal.scope, workflow, field="id"
        )
        async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
            released = (
                await self._pull_secrets.release_workflow(session, workflow.id, workflow.cluster_id)
                if self._pull_secrets is not None
                else []
            )
            removed = await Pruner(session=session, recorder=None).prune(
                workflow.id, keep_nodes=(), delete_volumes=delete_volumes
            )
        return [*removed, *released]
