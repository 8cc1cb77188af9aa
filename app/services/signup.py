"""Who may create an account: e-mail/password sign-in and sign-up switched on or off, sign-up restricted to
e-mail domains, and sign-up by invitation only (checked through the ``SignupInvitations`` port)."""

from __future__ import annotations

from dataclasses import dataclass

from app import errors
from app.domain.identities import email_in_domains
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
        """The invitation step of any sign-up (last, since it uses the invitation up): required when the
        rules say so; a token given anyway is accepted too. The grant (the workspace membership the new
        account gets) is returned for the caller to add once the account exists."""
        token = (invitation_token or "").strip()
        if not token:
            if self.rules.requires_invitation:
                raise InvitationRequired()
            return None
        if self._invitations is None:
            raise errors.Unavailable("invitations are not available on this server")
        return await self._invitations.accept_for_signup(token, email)
