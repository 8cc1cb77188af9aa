"""The Git credential service over a real store: what the Git import gets from ``auth_for`` (the
decrypted secret of the URL's host), and that the secret is stored only encrypted."""

from __future__ import annotations

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from app.auth.keyring import Keyring
from app.domain.git import GitAuth, GitCredentialKind
from app.domain.workspaces import MemberRole
from app.ports import Store
from app.services.auditing import Auditor
from app.services.git_credentials import GitCredentialService, NewGitCredential
from app.services.principals import Principal
from tests.clock import FakeClock
from tests.store.builders import Make

TOKEN = "ghp_canary0123456789abcdefghijklmnopqrstuv"


def private_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()


async def setup(store: Store, make: Make) -> tuple[GitCredentialService, Principal, str, FakeClock]:
    user, workspace = await make.register(store)
    clock = FakeClock()
    service = GitCredentialService(
        store=store,
        keyring=Keyring([Fernet.generate_key().decode()]),
        clock=clock,
        auditor=Auditor(log=store, clock=clock),
    )
    principal = Principal(user=user, session_id="s", roles={workspace.id: MemberRole.OWNER})
    return service, principal, workspace.id, clock


async def test_auth_for_gives_the_decrypted_credential_of_the_urls_host(store: Store, make: Make) -> None:
    service, principal, ws, _ = await setup(store, make)
    created = await service.create(principal, NewGitCredential(ws, "gh", "GitHub.com", token=f"  {TOKEN}\n"))

    auth = await service.auth_for(ws, "https://github.com/acme/shop.git")

    assert auth == GitAuth(host="github.com", kind="TOKEN", username="x-access-token", secret=TOKEN)
    assert TOKEN not in repr(auth)
    assert created.ciphertext != TOKEN and TOKEN not in created.ciphertext
    assert await service.auth_for(ws, "https://GITHUB.COM:443/acme/shop") == auth
    assert await service.auth_for(ws, "https://gitlab.com/acme/shop.git") is None
    assert await service.auth_for(ws, "not a url") is None


async def test_auth_for_prefers_the_kind_that_fits_the_scheme_then_the_newest(
    store: Store, make: Make
) -> None:
    service, principal, ws, clock = await setup(store, make)
    key = private_key()
    await service.create(principal, NewGitCredential(ws, "old token", "gitlab.com", token="old"))
    clock.advance(minutes=1)
    await service.create(
        principal, NewGitCredential(ws, "new token", "gitlab.com", token="new", username="oauth2")
    )
    clock.advance(minutes=1)
    await service.create(principal, NewGitCredential(ws, "key", "gitlab.com", ssh_private_key=key))

    https = await service.auth_for(ws, "https://gitlab.com/acme/shop.git")
    ssh = await service.auth_for(ws, "ssh://git@gitlab.com/acme/shop.git")
    scp = await service.auth_for(ws, "git@gitlab.com:acme/shop.git")

    assert https is not None and (https.kind, https.username, https.secret) == ("TOKEN", "oauth2", "new")
    assert ssh is not None and (ssh.kind, ssh.username, ssh.secret) == ("SSH_KEY", "git", key.strip() + "\n")
    assert scp == ssh


async def test_auth_for_stays_in_its_workspace(store: Store, make: Make) -> None:
    service, _, ws, _ = await setup(store, make)
    other_service, other, other_ws, _ = await setup(store, make)
    await other_service.create(other, NewGitCredential(other_ws, "gh", "github.com", token=TOKEN))

    assert await service.auth_for(ws, "https://github.com/acme/shop.git") is None
    auth = await other_service.auth_for(other_ws, "https://github.com/acme/shop.git")
    assert auth is not None and auth.kind == GitCredentialKind.TOKEN
