"""The example operations in schema/operations/*.graphql, and where the client tools of tests/clients live."""

from __future__ import annotations

from pathlib import Path

from graphql import DocumentNode, GraphQLSchema, build_schema, parse

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema" / "schema.graphql"
OPERATIONS_DIR = ROOT / "schema" / "operations"
CLIENTS_DIR = Path(__file__).resolve().parent  # package.json, codegen.ts, the Node scripts
NODE_MODULES = CLIENTS_DIR / "node_modules"


def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text())


def operation_files() -> list[Path]:
    return sorted(OPERATIONS_DIR.glob("*.graphql"))


def operations_document() -> DocumentNode:
    """Every operation and fragment of the folder as one document (fragments are shared across files)."""
    return parse("\n".join(path.read_text() for path in operation_files()))


def node_tool(name: str) -> Path:
    """A command from tests/clients/node_modules/.bin; fails the test when `npm ci` has not been run there."""
    import shutil

    import pytest

    path = NODE_MODULES / ".bin" / name
    if shutil.which("node") is None or not path.exists():
        pytest.fail(f"{name} is not installed: run scripts/bootstrap --test (npm ci in tests/clients)")
    return path


def node_with_packages() -> str:
    """The `node` binary, once tests/clients/node_modules holds the locked packages (else the test fails)."""
    import shutil

    node_tool("tsc")
    node = shutil.which("node")
    assert node is not None
    return node


CODEGEN_VENV = CLIENTS_DIR / ".venv"  # ariadne-codegen's own environment (see requirements-codegen.txt)


def ariadne_codegen() -> Path:
    """The ariadne-codegen command; fails the test when scripts/bootstrap --test has not installed it."""
    import pytest

    path = CODEGEN_VENV / "bin" / "ariadne-codegen"
    if not path.exists():
        pytest.fail("ariadne-codegen is not installed: run scripts/bootstrap --test (tests/clients/.venv)")
    return path
