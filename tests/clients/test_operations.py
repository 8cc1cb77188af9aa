"""schema/operations/*.graphql: every root field of the schema is used by some example operation, and every
operation validates against schema/schema.graphql (graphql-core's `validate`, all standard rules)."""

from __future__ import annotations

from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, OperationType, parse, validate

from tests.clients.operations import operation_files, operations_document, schema


def test_every_operation_validates_against_the_schema() -> None:
    assert [path.stem for path in operation_files()], "no operations in schema/operations"
    errors = validate(schema(), operations_document())
    assert [error.message for error in errors] == []


def test_operation_names_are_unique() -> None:
    names: list[str] = []
    for path in operation_files():
        names += [
            d.name.value
            for d in parse(path.read_text()).definitions
            if isinstance(d, OperationDefinitionNode) and d.name
        ]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_every_root_field_is_used_by_an_operation() -> None:
    the_schema = schema()
    used: dict[OperationType, set[str]] = {kind: set() for kind in OperationType}
    for definition in operations_document().definitions:
        if isinstance(definition, OperationDefinitionNode):
            assert definition.name is not None, "every example operation is named (codegen needs it)"
            used[definition.operation] |= {
                s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)
            }
    roots = {
        OperationType.QUERY: the_schema.query_type,
        OperationType.MUTATION: the_schema.mutation_type,
        OperationType.SUBSCRIPTION: the_schema.subscription_type,
    }
    missing = {
        kind.value: sorted(set(root.fields) - used[kind]) for kind, root in roots.items() if root is not None
    }
    assert missing == {"query": [], "mutation": [], "subscription": []}


def test_operation_and_fragment_names_are_not_schema_type_names() -> None:
    """Generated Python clients export a class per operation beside the schema's enums and inputs (a
    subscription named `WorkflowStatus` would hide the `WorkflowStatus` enum), so names never coincide."""
    the_schema = schema()
    names = [
        d.name.value
        for d in operations_document().definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode) and d.name
    ]
    assert [name for name in names if name in the_schema.type_map] == []
