"""Administering people: what happens to a deleted user's workspaces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OwnedWorkspace:
    """A workspace whose only owner is the user (so deleting the user decides its fate)."""

    workspace_id: str
    name: str
    personal: bool
    other_members: int
    has_content: bool  # workflows, clusters, registries, credentials, imports or builds

    @property
    def needs_decision(self) -> bool:
        return self.other_members > 0 or self.has_content


@dataclass(frozen=True, slots=True)
class WorkspaceDisposal:
    """What becomes of a deleted user's solely owned workspaces: handed over to another user (who
    becomes their owner) or deleted with everything in them. ``None`` for both: only empty, unshared
    workspaces are deleted, anything else is refused."""

    hand_over_to: str | None = None
    delete: bool = False
