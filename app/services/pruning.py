"""Prune: delete what a workflow deployed and no longer has, under the ownership rules.

Only objects labelled with this workflow are candidates, and only those whose node is gone. A
PersistentVolumeClaim goes only with ``delete_volumes``. A Namespace goes only when nothing in it is
foreign (objects Kubernetes itself creates in every namespace are not counted).
"""

from __future__ import annotations

from collections.abc import Iterable

from app import errors
from app.domain import labels
from app.domain.deploy_order import delete_waves
from app.domain.kinds import KINDS
from app.domain.runs import AppliedObject, ObjectAction
from app.ports import ClusterSession, Manifest
from app.services.run_state import RunRecorder

# Created by Kubernetes in every namespace; they do not make a namespace "foreign".
SYSTEM_OBJECTS = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
FOREIGN_CHECK_KINDS = (("v1", "Pod"), ("v1", "ServiceAccount"), ("v1", "ConfigMap"), ("v1", "Secret"))


def _identity(obj: Manifest) -> tuple[str, str, str, str | None]:
    metadata = obj.get("metadata") or {}
    return (
        str(obj.get("apiVersion")),
        str(obj.get("kind")),
        str(metadata.get("name")),
        metadata.get("namespace"),
    )


class Pruner:
    def __init__(self, *, session: ClusterSession, recorder: RunRecorder | None) -> None:
        self._session = session
        self._recorder = recorder

    async def owned(self, workflow_id: str) -> list[Manifest]:
        """Every object of the node kinds labelled with this workflow, in every namespace."""
        found: list[Manifest] = []
        for spec in KINDS.values():
            items = await self._session.list(
                spec.api_version, spec.kind, label_selector=labels.workflow_selector(workflow_id)
            )
            found += [{**item, "apiVersion": spec.api_version, "kind": spec.kind} for item in items]
        return found

    async def prune(
        self, workflow_id: str, *, keep_nodes: Iterable[str], delete_volumes: bool
    ) -> list[AppliedObject]:
        keep = set(keep_nodes)
        doomed = [obj for obj in await self.owned(workflow_id) if labels.node_of(obj) not in keep]
        removed: list[AppliedObject] = []
        for wave in delete_waves(doomed, kind_of=lambda obj: str(obj.get("kind"))):
            for obj in wave:
                api_version, kind, name, namespace = _identity(obj)
                if kind == "PersistentVolumeClaim" and not delete_volumes:
                    await self._note(
                        f"kept PersistentVolumeClaim {namespace}/{name}: volumes go only with deleteVolumes"
                    )
                    continue
                if kind == "Namespace" and await self._holds_foreign(workflow_id, name):
                    await self._note(f"kept Namespace {name}: it holds objects of others")
                    continue
                if await self._session.delete(api_version, kind, name, namespace):
                    record = AppliedObject(api_version, kind, name, namespace, ObjectAction.PRUNED)
                    removed.append(record)
                    if self._recorder:
                        await self._recorder.pruned(record)
        return removed

    async def _holds_foreign(self, workflow_id: str, namespace: str) -> bool:
        kinds = {(spec.api_version, spec.kind) for spec in KINDS.values() if spec.namespaced}
        for api_version, kind in sorted(kinds | set(FOREIGN_CHECK_KINDS)):
            try:
                items = await self._session.list(api_version, kind, label_selector="", namespace=namespace)
            except errors.NotFound:
                continue
            for item in items:
                name = str((item.get("metadata") or {}).get("name"))
                if (kind, name) in SYSTEM_OBJECTS:
                    continue
                if labels.workflow_of(item) != workflow_id:
                    return True
        return False

    async def _note(self, message: str) -> None:
        if self._recorder:
            await self._recorder.log(message, level="WARNING")
