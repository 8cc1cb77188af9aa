"""ariadne-codegen generates a typed Python client from schema/schema.graphql and schema/operations/*.graphql,
and that client, imported as it is, talks to a live server: a mutation, a query and a subscription.

ariadne-codegen needs graphql-core<3.3 and Strawberry >=3.3, so the generator runs from its own virtual
environment (tests/clients/.venv, pinned in tests/clients/requirements-codegen.txt); the generated code needs
only httpx, pydantic and websockets, which the project has."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import aclosing
from types import ModuleType
from typing import Any

import pytest
from graphql import print_ast, separate_operations

from tests.clients.operations import OPERATIONS_DIR, SCHEMA_FILE, ariadne_codegen, operations_document

PACKAGE = "trellis_generated_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported from a temporary folder (and forgotten afterwards)."""
    out = tmp_path_factory.mktemp("py-client")
    config = out / "ariadne-codegen.toml"
    config.write_text(
        "[tool.ariadne-codegen]\n"
        f'schema_path = "{SCHEMA_FILE}"\n'
        f'queries_path = "{OPERATIONS_DIR}"\n'
        f'target_package_name = "{PACKAGE}"\n'
        f'target_package_path = "{out}"\n'
        "async_client = true\n"
        'include_comments = "none"\n'
    )
    result = subprocess.run(
        [str(ariadne_codegen()), "--config", str(config)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        with warnings.catch_warnings():
            # The `register` mutation's result class has a field `register`, which pydantic notes shadows
            # ABCMeta.register of BaseModel; harmless (the field wins on instances), and only this is ignored.
            warnings.filterwarnings("ignore", 'Field name "register" in "Register" shadows', UserWarning)
            package = importlib.import_module(PACKAGE)
        yield package
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _client(package: ModuleType, base_url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return package.Client(
        url=f"{base_url}/graphql",
        headers=headers,
        ws_url=base_url.replace("http://", "ws://") + "/graphql",
        ws_connection_init_payload=headers,
    )


def test_the_client_has_a_typed_method_per_operation(client_package: ModuleType) -> None:
    client_class = client_package.Client
    for method in (
        "register",
        "me",
        "workflows",
        "create_workflow",
        "save_workflow",
        "follow_workflow_status",
    ):
        assert callable(getattr(client_class, method)), method
    fields = client_package.CreateWorkflowInput.model_fields
    assert {"name", "namespace", "workspace_id"} <= set(fields)
    assert fields["workspace_id"].alias == "workspaceId"


async def test_generated_client_runs_a_mutation_a_query_and_a_subscription(
    client_package: ModuleType, live_server: str
) -> None:
    async with _client(client_package, live_server) as anonymous:
        registered = await anonymous.register(
            client_package.RegisterInput(
                email="ada@example.com", password="correct horse battery", name="Ada"
            )
        )
    token = registered.register.token
    assert registered.register.user.email == "ada@example.com"

    async with _client(client_package, live_server, token) as client:
        me = await client.me()
        assert (me.me.email, me.me.role.value) == ("ada@example.com", "ADMIN")

        created = await client.create_workflow(
            client_package.CreateWorkflowInput(name="shop", namespace="shop")
        )
        workflow = created.create_workflow.workflow
        assert (workflow.name, workflow.namespace, workflow.revision) == ("shop", "shop", 1)
        assert workflow.status == client_package.WorkflowStatus.DRAFT
        assert workflow.created_by is not None and workflow.created_by.email == "ada@example.com"

        listed = await client.workflows(first=10)
        assert [w.id for w in listed.workflows.nodes] == [workflow.id]
        assert listed.workflows.total_count == 1

        # The typed `follow_workflow_status` wraps `execute_ws` in a second generator that does not close the
        # inner one when closed early (its WebSocket would then close only when garbage collected), so the
        # test reads the same operation through `execute_ws` and parses it with the generated result class.
        operation = print_ast(separate_operations(operations_document())["FollowWorkflowStatus"])
        variables = {"workflowId": workflow.id}
        async with aclosing(client.execute_ws(query=operation, variables=variables)) as stream:
            first = client_package.FollowWorkflowStatus.model_validate(await anext(stream))
    assert first.workflow_status.type_ == client_package.EventType.METADATA
    assert first.workflow_status.workflow_id == workflow.id


async def test_a_server_error_reaches_the_caller_with_its_code(
    client_package: ModuleType, live_server: str
) -> None:
    async with _client(client_package, live_server) as anonymous:
        with pytest.raises(client_package.GraphQLClientGraphQLMultiError) as raised:
            await anonymous.me()
    assert [error.extensions["code"] for error in raised.value.errors] == ["UNAUTHENTICATED"]
