"""@graphql-codegen/cli generates a typed TypeScript client from schema/schema.graphql and
schema/operations/*.graphql (tests/clients/codegen.ts: typescript, typescript-operations,
typed-document-node), and `tsc --noEmit --strict` accepts it together with tests/clients/typed-usage.ts, a
front end's use of the typed documents whose `@ts-expect-error` lines must really be errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.operations import CLIENTS_DIR, NODE_MODULES, node_tool


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the generated client (graphql.ts, schema-types.ts), generated once per module."""
    out = tmp_path_factory.mktemp("ts-client")
    result = subprocess.run(
        [str(node_tool("graphql-codegen")), "--config", "codegen.ts", "--silent"],
        cwd=CLIENTS_DIR,
        env={**os.environ, "CODEGEN_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (out / "node_modules").symlink_to(NODE_MODULES)  # tsc resolves graphql and the TypedDocumentNode types
    return out


def _tsc(folder: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(node_tool("tsc")), "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext",
         "--moduleResolution", "nodenext", "--types", "", "--pretty", "false", *files],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip


def test_codegen_writes_a_typed_document_for_every_operation(generated: Path) -> None:
    code = (generated / "graphql.ts").read_text()
    for name in (
        "GetWorkflowDocument",
        "CreateWorkflowDocument",
        "FollowWorkflowStatusDocument",
        "BuildLogsDocument",
    ):
        assert f"export const {name} = " in code
    assert "DocumentNode<GetWorkflowQuery, GetWorkflowQueryVariables>" in code
    assert "export type Workflow = {" in (generated / "schema-types.ts").read_text()


def test_generated_client_and_its_use_type_check_strictly(generated: Path) -> None:
    shutil.copy(CLIENTS_DIR / "typed-usage.ts", generated / "typed-usage.ts")
    result = _tsc(generated, "schema-types.ts", "graphql.ts", "typed-usage.ts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_tsc_rejects_a_misuse_of_a_typed_document(generated: Path) -> None:
    """The check has teeth: reading a string field as a number is a compile error."""
    (generated / "misuse.ts").write_text(
        'import { GetWorkflowDocument } from "./graphql.js";\n'
        'import type { ResultOf } from "@graphql-typed-document-node/core";\n'
        "declare const result: ResultOf<typeof GetWorkflowDocument>;\n"
        "export const revision: number = result.workflow.name;\n"
    )
    result = _tsc(generated, "graphql.ts", "misuse.ts")
    assert result.returncode != 0
    assert "misuse.ts(4," in result.stdout and "TS2322" in result.stdout, result.stdout
