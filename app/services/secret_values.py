"""Values of Secret nodes: typed in once, stored encrypted, never returned (key names only)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Protocol

from app import errors
from app.auth.keyring import Keyring, KeyringError
from app.ports import Clock, SecretValueStore, WorkflowStore
from app.services.auditing import Auditor
from app.services.principals import Principal

KEY_RE = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
MAX_VALUE_BYTES = 256 * 1024


class SecretValueServiceStore(SecretValueStore, WorkflowStore, Protocol):
    pass


def check_values(values: Mapping[str, str], path: str) -> None:
    problems = [
        errors.FieldError(f"{path}.{key}", "a key is letters, digits, '-', '_' or '.' (at most 253)")
        for key in values
        if not KEY_RE.match(key)
    ]
    if sum(len(v.encode()) for v in values.values()) > MAX_VALUE_BYTES:
        problems.append(errors.FieldError(path, f"values may hold at most {MAX_VALUE_BYTES} bytes in all"))
    if problems:
        raise errors.Invalid("the secret values are not valid", problems)


class SecretValueService:
    def __init__(
        self, *, store: SecretValueServiceStore, keyring: Keyring, clock: Clock, auditor: Auditor
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor

    async def set_values(
        self, principal: Principal, workflow_id: str, node_id: str, values: Mapping[str, str]
    ) -> list[str]:
        """Replace the stored values of one Secret node; returns the key names now stored."""
        async with self._auditor.action(
            "secret.values.set", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            workflow = await self._store.get_workflow(principal.scope, workflow_id)
            if workflow is None:
                raise errors.NotFound("workflow", workflow_id)
            principal.require_write(workflow.workspace_id)
            record.workspace_id = workflow.workspace_id
            node = next((n for n in workflow.canvas.nodes if n.id == node_id), None)
            if node is None or node.kind != "Secret":
                raise errors.Invalid.field(
                    "nodeId", "is not a Secret node of this workflow (save the canvas first)"
                )
            check_values(values, "values")
            record.detail = {"nodeId": node_id, "keys": ",".join(sorted(values))}
            if values:
                ciphertext = self._keyring.encrypt(json.dumps(dict(values), sort_keys=True))
                await self._store.put_secret_values(workflow.id, node_id, ciphertext, self._clock.now())
            else:
                await self._store.delete_secret_values(workflow.id, node_id)
            return sorted(values)

    async def key_names(self, principal: Principal, workflow_id: str) -> dict[str, list[str]]:
        """Secret node id → the key names that have a stored value."""
        workflow = await self._store.get_workflow(principal.scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        return {node: sorted(values) for node, values in (await self.values_of(workflow.id)).items()}

    async def values_of(self, workflow_id: str) -> dict[str, dict[str, str]]:
        """Decrypted values for a deploy (internal: callers have already checked access)."""
        decrypted: dict[str, dict[str, str]] = {}
        for node_id, ciphertext in (await self._store.secret_values(workflow_id)).items():
            try:
                decrypted[node_id] = dict(json.loads(self._keyring.decrypt(ciphertext)))
            except KeyringError as exc:
                raise errors.Unavailable(
                    "stored secret values cannot be decrypted with the keys in TRELLIS_ENCRYPTION_KEYS"
                ) from exc
        return decrypted
