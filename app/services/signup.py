"""Who may create an account: e-mail/password sign-in and sign-up switched on or off, sign-up restricted to
e-mail domains, and sign-up by invitation only (through the ``SignupInvitations`` port: checked first,
then used up in the same atomic write that creates the account)."""

from __future__ import annotations

from dataclasses import dataclass

from app import errors
from app.domain.identities import UserIdentity, email_in_domains
from app.domain.users import User
from app.domain.workspaces import Workspace
from app.ports import SignupGrant, SignupInvitations


@dataclass(frozen=True, slots=True)
class SignupRules:
    """From settings: ``TRELLIS_PASSWORD_LOGIN_ENABLED``, ``TRELLIS_SIGNUP_ENABLED``,
    ``TRELLIS_SIGNUP_ALLOWED_DOMAINS`` (e-mail/password sign-up only; providers have their own list) and
    ``TRELLIS_SIGNUP_REQUIRES_INVITATION`` (every new account, through a provider too)."""

    password_login: bool = True
    password_signup: bool = True
    allowed_domains: tuple[str, ...] = ()
    requires_invitation: bool = False


class InvitationRequired(errors.Invalid):
    """A sign-up without the invitation this server requires (``BAD_INPUT`` on ``invitationToken``,
    ``reason: INVITATION_REQUIRED``)."""

    def __init__(self) -> None:
        message = "sign-up on this server needs an invitation: open the invitation link you were sent"
        super().__init__(message, [errors.FieldError("invitationToken", message)])

    def extensions(self) -> dict[str, object]:
        return {**super().extensions(), "reason": "INVITATION_REQUIRED"}


class SignupPolicy:
    def __init__(self, rules: SignupRules, invitations: SignupInvitations | None = None) -> None:
        self.rules = rules
        self._invitations = invitations

    def use_invitations(self, invitations: SignupInvitations) -> None:
        """Wire the invitation check (built after the identity service, which it depends on)."""
        self._invitations = invitations

    @property
    def password_signup(self) -> bool:
        """Whether ``register`` is offered (password sign-in on and sign-up on)."""
        return self.rules.password_login and self.rules.password_signup

    def require_password_login(self) -> None:
        if not self.rules.password_login:
            raise errors.Forbidden("sign-in with e-mail and password is disabled on this server")

    def check_password_signup(self, email: str) -> None:
        """The checks that use nothing up: ``FORBIDDEN`` when disabled, ``BAD_INPUT`` on ``email`` outside
        the allowed domains."""
        self.require_password_login()
        if not self.rules.password_signup:
            raise errors.Forbidden("sign-up with e-mail and password is disabled on this server")
        if not email_in_domains(email, self.rules.allowed_domains):
            raise errors.Invalid.field(
                "email", f"sign-up is open to addresses at {', '.join(self.rules.allowed_domains)} only"
            )

    async def admit(self, email: str, invitation_token: str | None) -> SignupGrant | None:
        """The invitation check of any sign-up (nothing is written): required when the rules say so; a
        token given anyway is checked too. A grant (the invitation and the membership it gives) goes to
        :meth:`create_invited`, which creates the account and uses the invitation up; None: no invitation,
        the caller creates the account itself."""
        token = (invitation_token or "").strip()
        if not token:
            if self.rules.requires_invitation:
                raise InvitationRequired()
            return None
        return await self._port().check_for_signup(token, email)

    async def create_invited(
        self,
        grant: SignupGrant,
        user: User,
        personal_workspace: Workspace,
        identity: UserIdentity | None = None,
    ) -> User:
        """Create the account ``admit`` let in with ``grant``, use the invitation up and add its membership,
        in one atomic write; a typed error (``BAD_INPUT`` on ``invitationToken``), with nothing written,
        when the invitation was taken since."""
        return await self._port().accept_for_signup(grant, user, personal_workspace, identity)

    def _port(self) -> SignupInvitations:
        if self._invitations is None:
            raise errors.Unavailable("invitations are not available on this server")
        return self._invitations
