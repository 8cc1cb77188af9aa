"""Every mutation and every state-changing HTTP route has its audit action, and the code records it.

The tables below are the contract: a new mutation (or route) fails this test until it is given the action
its service records through ``Auditor.action`` (or ``Auditor.refused``), and an action named here must
really be recorded somewhere under ``app/``. The API tests (tests/api/test_audit_trail.py,
tests/api/test_audit_events_over_http.py and the feature tests) check the entries themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

from starlette.routing import Mount, Route, WebSocketRoute

from app.main import create_app
from app.settings import Settings
from schema.root import build_schema

APP = Path(__file__).resolve().parents[1] / "app"

# mutation → the action its service records (success and failure alike)
MUTATION_ACTIONS = {
    "register": "auth.register",
    "login": "auth.login",
    "logout": "auth.logout",
    "refreshToken": "auth.refresh",
    "createWorkspace": "workspace.create",
    "addWorkspaceMember": "workspace.member.add",
    "removeWorkspaceMember": "workspace.member.remove",
    "createWorkflow": "workflow.create",
    "updateWorkflow": "workflow.update",
    "deleteWorkflow": "workflow.delete",
    "saveWorkflow": "workflow.save",
    "uploadFile": "file.upload",
    "deleteFile": "file.delete",
    "createDataSchema": "data.schema.create",
    "updateDataSchema": "data.schema.update",
    "createRecord": "data.record.create",
    "updateRecord": "data.record.update",
    "deleteRecord": "data.record.delete",
    "setSecret": "secret.set",
    "deleteSecret": "secret.delete",
    "applyNodeFix": "workflow.fix_node",
    "importCompose": "workflow.import",
    "createVersion": "version.create",
    "restoreVersion": "version.restore",
    "registerCluster": "cluster.register",
    "testCluster": "cluster.test",
    "removeCluster": "cluster.remove",
    "registerRegistry": "registry.register",
    "updateRegistry": "registry.update",
    "deleteRegistry": "registry.remove",
    "setDefaultRegistry": "registry.set_default",
    "testRegistry": "registry.test",
    "createGitCredential": "git_credential.create",
    "deleteGitCredential": "git_credential.delete",
    "importFromGit": "import.git",
    "runWorkflow": "run.start",
    "cancelRun": "run.cancel",
    "syncWorkflow": "workflow.sync",
    "updatePresence": "presence.update",
    "retryStep": "run.retryStep",
    "createTrigger": "trigger.create",
    "updateTrigger": "trigger.update",
    "deleteTrigger": "trigger.delete",
    "setSecretValues": "secret.values.set",
    "createExecTicket": "exec.ticket",
    "startBuild": "build.start",
    "cancelBuild": "build.cancel",
    # identity (issue 11): sign-in, people, invitations, sessions, tokens, passwords
    "exchangeOAuthCode": "auth.oauth.exchange",
    "changePassword": "auth.password.change",
    "requestPasswordReset": "auth.password.reset_request",
    "resetPassword": "auth.password.reset",
    "setUserRole": "user.set_role",
    "disableUser": "user.disable",
    "enableUser": "user.enable",
    "deleteUser": "user.delete",
    "inviteWorkspaceMember": "workspace.invitation.create",
    "revokeInvitation": "workspace.invitation.revoke",
    "acceptInvitation": "workspace.invitation.accept",
    "setWorkspaceMemberRole": "workspace.member.set_role",
    "revokeSession": "session.revoke",
    "signOutEverywhere": "session.revoke_all",
    "createApiToken": "api_token.create",
    "revokeApiToken": "api_token.revoke",
}

# HTTP and WebSocket routes: the state-changing ones with their action; the others are read-only.
ROUTE_ACTIONS = {
    "/v1/api/exec": "exec.session",
    "/v1/auth/oauth/{provider}/callback": "auth.oauth.login",
    "/v1/steps/output": "run.stepOutput",
    "/v1/data/{collection}/records": "data.record.create",
    "/v1/data/{collection}/records/{id}": "data.record.update",
    "/v1/hooks/{trigger_id}": "trigger.webhook",
}
READ_ONLY_ROUTES = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/graphql",  # its mutations are checked above
    "/graphiql-assets",
    "/v1/auth/oauth/{provider}/authorize",  # only starts a sign-in (a pending state); the callback is audited
}


def recorded_actions() -> set[str]:
    """The string literals of the modules under app/ that hold an ``Auditor`` (``self._auditor``): the
    actions they record, directly (``self._auditor.action("workflow.save", …)``) or through a helper
    (``self._admin_action(principal, "user.delete", …)``, ``"user.disable" if … else "user.enable"``)."""
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "self._auditor." not in source:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_mutation_has_an_audit_action() -> None:
    mutation_type = build_schema()._schema.mutation_type
    assert mutation_type is not None
    mutations = set(mutation_type.fields)

    unmapped = sorted(mutations - MUTATION_ACTIONS.keys())
    assert not unmapped, f"mutations without an audit action (record one, then map it here): {unmapped}"
    gone = sorted(MUTATION_ACTIONS.keys() - mutations)
    assert not gone, f"mapped mutations that no longer exist: {gone}"


def test_every_state_changing_route_has_an_audit_action(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    paths = set()
    for route in app.routes:
        assert isinstance(route, Route | WebSocketRoute | Mount), route
        paths.add(route.path)

    unknown = sorted(paths - ROUTE_ACTIONS.keys() - READ_ONLY_ROUTES)
    assert not unknown, f"routes neither audited nor known read-only (map them here): {unknown}"


def test_every_mapped_action_is_recorded_by_the_code() -> None:
    recorded = recorded_actions()
    assert {"workflow.save", "auth.login"} <= recorded  # the scan itself works

    missing = sorted(
        action for action in {*MUTATION_ACTIONS.values(), *ROUTE_ACTIONS.values()} if action not in recorded
    )
    assert not missing, f"actions mapped here that no service records: {missing}"
