"""Workspace invitations: owners invite an e-mail address with a role; the single-use link lets the
person with that address join (signed in, or while signing up).

Delivery is pluggable (:class:`InvitationNotifier`). The default, :class:`LogInvitationNotifier`,
delivers nothing: it logs that an invitation was made (with the link only when
``TRELLIS_INVITATION_LOG_LINKS`` allows, as logs travel further than they should), and the link is
returned once to the inviting owner in the mutation's payload, to pass on. A notifier that really
delivers (e-mail) returns True and the payload then carries no link.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from app import errors
from app.auth.opaque_tokens import INVITATION_PREFIX, matches, mint, token_id
from app.domain.identities import UserIdentity
from app.domain.invitations import Invitation, InvitationStatus
from app.domain.users import User
from app.domain.workspaces import MemberRole, Membership, Workspace
from app.ports import Clock, InvitationStore, SignupGrant, UserStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.identity import EMAIL_RE, MAX_EMAIL_LENGTH, PrincipalCache
from app.services.principals import Principal

log = logging.getLogger(__name__)

MAX_PENDING_PER_WORKSPACE = 200


class InvitationRefused(errors.Invalid):
    """The invitation token cannot be used: unknown, revoked, used, expired or for another address."""

    def __init__(self, reason: str, path: str = "invitationToken") -> None:
        super().__init__(f"{path}: {reason}", [errors.FieldError(path, reason)])
        self.reason = reason


@dataclass(frozen=True, slots=True)
class InvitationMessage:
    """What the invited person needs: the link holds the single-use token."""

    email: str
    workspace_name: str
    role: MemberRole
    link: str
    expires_at: datetime
    invited_by: str  # the inviting owner's name


class InvitationNotifier(Protocol):
    async def send_invitation(self, message: InvitationMessage) -> bool:
        """Deliver the invitation; True when it reached the person's inbox, False when it did not
        (the link is then returned to the inviting owner)."""
        ...


class LogInvitationNotifier:
    """Delivers nothing: logs the invitation, and its link only when ``log_links`` is set."""

    def __init__(self, *, log_links: bool) -> None:
        self._log_links = log_links

    async def send_invitation(self, message: InvitationMessage) -> bool:
        if self._log_links:
            log.info("invitation for %s to %s: %s", message.email, message.workspace_name, message.link)
        else:
            log.info(
                "invitation for %s to %s made (link returned to the owner)",
                message.email,
                message.workspace_name,
            )
        return False


@dataclass(frozen=True, slots=True)
class InvitationGrant:
    """What invitation ``invitation_id`` gives (accepted, or checked for a sign-up): membership of
    ``workspace_id`` with ``role``."""

    invitation_id: str
    workspace_id: str
    role: MemberRole


@dataclass(frozen=True, slots=True)
class CreatedInvitation:
    invitation: Invitation
    link: str | None  # None when the notifier delivered it


class InvitationServiceStore(InvitationStore, UserStore, WorkspaceStore, Protocol):
    pass


class InvitationService:
    def __init__(
        self,
        *,
        store: InvitationServiceStore,
        clock: Clock,
        auditor: Auditor,
        principals: PrincipalCache,
        notifier: InvitationNotifier,
        ttl: timedelta,
        accept_url: str,
    ) -> None:
        """``accept_url``: the front end's page that accepts an invitation; the token is appended
        as ``?token=…``."""
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._principals = principals
        self._notifier = notifier
        self._ttl = ttl
        self._accept_url = accept_url

    async def invite(
        self, principal: Principal, *, workspace_id: str, email: str, role: MemberRole
    ) -> CreatedInvitation:
        principal.require_session()
        email = email.strip().lower()
        async with self._auditor.action(
            "workspace.invitation.create",
            actor_id=principal.user_id,
            target_type="invitation",
            workspace_id=workspace_id,
        ) as record:
            workspace = await self._store.get_workspace(principal.scope, workspace_id)
            if workspace is None:
                raise errors.NotFound("workspace", workspace_id)
            principal.require_owner(workspace.id, "members")
            if workspace.personal:
                raise errors.Invalid.field("workspaceId", "a personal workspace has no other members")
            if not EMAIL_RE.match(email) or len(email) > MAX_EMAIL_LENGTH:
                raise errors.Invalid.field("email", "must be an e-mail address")
            invitee = await self._store.get_user_by_email(email)
            if invitee is not None and any(
                m.user_id == invitee.id for m in await self._store.list_members(principal.scope, workspace.id)
            ):
                raise errors.Conflict("this person is already a member of the workspace")
            now = self._clock.now()
            existing = await self._store.list_invitations(workspace.id)
            if sum(i.status(now) is InvitationStatus.PENDING for i in existing) >= MAX_PENDING_PER_WORKSPACE:
                raise errors.Conflict(f"the workspace has {MAX_PENDING_PER_WORKSPACE} pending invitations")
            minted = mint(INVITATION_PREFIX)
            invitation = Invitation(
                id=minted.id,
                workspace_id=workspace.id,
                email=email,
                role=role,
                token_hash=minted.digest,
                created_by=principal.user_id,
                created_at=now,
                expires_at=now + self._ttl,
            )
            record.target_id = invitation.id
            record.detail = {"role": role.value}
            await self._store.insert_invitation(invitation)
            link = f"{self._accept_url}?token={quote(minted.plaintext)}"
            delivered = await self._notifier.send_invitation(
                InvitationMessage(
                    email=email,
                    workspace_name=workspace.name,
                    role=role,
                    link=link,
                    expires_at=invitation.expires_at,
                    invited_by=principal.user.name,
                )
            )
            return CreatedInvitation(invitation=invitation, link=None if delivered else link)

    def status_of(self, invitation: Invitation) -> InvitationStatus:
        return invitation.status(self._clock.now())

    async def of_workspace(self, principal: Principal, workspace_id: str) -> list[Invitation]:
        workspace = await self._store.get_workspace(principal.scope, workspace_id)
        if workspace is None:
            raise errors.NotFound("workspace", workspace_id)
        principal.require_owner(workspace.id, "members")
        return await self._store.list_invitations(workspace.id)

    async def revoke(self, principal: Principal, invitation_id: str) -> Invitation:
        async with self._auditor.action(
            "workspace.invitation.revoke",
            actor_id=principal.user_id,
            target_type="invitation",
            target_id=invitation_id,
        ) as record:
            invitation = await self._store.get_invitation(invitation_id)
            if invitation is None or invitation.workspace_id not in principal.scope:
                raise errors.NotFound("invitation", invitation_id)
            record.workspace_id = invitation.workspace_id
            principal.require_owner(invitation.workspace_id, "members")
            if not await self._store.revoke_invitation(invitation.id, self._clock.now()):
                raise errors.Conflict("the invitation was already accepted or revoked")
            return await self._store.get_invitation(invitation.id) or invitation

    async def accept(self, principal: Principal, token: str) -> InvitationGrant:
        """Join the workspace as the signed-in user, whose e-mail must be the invited one."""
        principal.require_session()
        async with self._auditor.action(
            "workspace.invitation.accept", actor_id=principal.user_id, target_type="invitation"
        ) as record:
            invitation = await self._usable(token, "token")
            record.target_id, record.workspace_id = invitation.id, invitation.workspace_id
            if invitation.email != principal.user.email.lower():
                raise InvitationRefused("this invitation was sent to another e-mail address", "token")
            member = Membership(
                invitation.workspace_id, principal.user_id, invitation.role, self._clock.now()
            )
            consumed = await self._store.consume_invitation(invitation.id, self._clock.now(), member=member)
            if consumed is None:
                raise InvitationRefused("the invitation is unknown, used, revoked or expired", "token")
        self._principals.clear()
        return InvitationGrant(invitation.id, invitation.workspace_id, invitation.role)

    async def check_for_signup(self, token: str, email: str) -> InvitationGrant:
        """For the sign-up policy, before anything is written: the pending invitation ``token`` names,
        sent to ``email``. ``InvitationRefused`` (a ``BAD_INPUT`` on ``invitationToken``) otherwise."""
        invitation = await self._usable(token, "invitationToken")
        if invitation.email != email.strip().lower():
            raise InvitationRefused("this invitation was sent to another e-mail address")
        return InvitationGrant(invitation.id, invitation.workspace_id, invitation.role)

    async def accept_for_signup(
        self,
        grant: SignupGrant,
        user: User,
        personal_workspace: Workspace,
        identity: UserIdentity | None = None,
    ) -> User:
        """Create the account a sign-up checked (``identity`` linked for a provider's), use the invitation
        of ``grant`` up and add the membership it gives — one atomic store write, so a failure leaves the
        invitation unused and no account behind. ``InvitationRefused`` when it was used, revoked or
        expired since the check; ``Conflict`` for an e-mail or identity taken meanwhile."""
        async with self._auditor.action(
            "workspace.invitation.accept_signup",
            actor_id=None,
            target_type="invitation",
            target_id=grant.invitation_id,
            workspace_id=grant.workspace_id,
        ) as record:
            stored = await self._store.create_user_by_invitation(
                user,
                personal_workspace,
                invitation_id=grant.invitation_id,
                at=self._clock.now(),
                identity=identity,
            )
            if stored is None:
                raise InvitationRefused("the invitation is unknown, used, revoked or expired")
            record.actor_id = stored.id
            return stored

    async def _usable(self, token: str, path: str) -> Invitation:
        ident = token_id(INVITATION_PREFIX, token.strip())
        invitation = None if ident is None else await self._store.get_invitation(ident)
        if invitation is None or not matches(token.strip(), invitation.token_hash):
            raise InvitationRefused("the invitation is unknown, used, revoked or expired", path)
        status = invitation.status(self._clock.now())
        if status is not InvitationStatus.PENDING:
            raise InvitationRefused(f"the invitation is {status.value.lower()}", path)
        return invitation
