"""A Function step's input: its inputMapping evaluated field by field over the step's scope (upstream outputs
and what arrived on the in-port), or, with no mapping, what arrived; a failing expression names its field."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.flows.function_input import InputMappingError, function_input

SCOPE: dict[str, Any] = {
    "steps": {
        "fetch": {"output": {"invoices": [{"id": "inv-1", "total": 30}, {"id": "inv-2", "total": 12}]}},
        "rates": {"output": {"EUR": 1.1}},
    },
    "input": {"customer": "acme", "count": 2},
}


def test_no_mapping_passes_what_arrived_on_the_in_port() -> None:
    given = {"customer": "acme"}
    assert function_input({}, given, SCOPE) is given
    assert function_input({"inputMapping": {}}, given, SCOPE) is given
    assert function_input({"inputMapping": None}, [1, 2], SCOPE) == [1, 2]


def test_a_mapping_builds_the_input_field_by_field_from_upstream_outputs_and_the_input() -> None:
    mapping = {
        "first": "steps.fetch.output.invoices[0].id",
        "totals": "steps.fetch.output.invoices[*].total",
        "rate": "steps.rates.output.EUR",
        "who": "input.customer",
        "missing": "steps.fetch.output.nothing",
        "many": "length(steps.fetch.output.invoices) > `1`",
    }
    built = function_input({"inputMapping": mapping}, {"ignored": True}, SCOPE)
    assert built == {
        "first": "inv-1",
        "totals": [30, 12],
        "rate": 1.1,
        "who": "acme",
        "missing": None,
        "many": True,
    }
    assert list(built) == list(mapping)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("length(input.count)", "invalid type"),  # a number where a function wants a string or an array
        ("steps.fetch.[", "Incomplete expression"),  # a syntax error (stored before checks got stricter)
    ],
)
def test_an_expression_that_does_not_evaluate_names_its_field(expression: str, reason: str) -> None:
    data = {"inputMapping": {"ok": "input.customer", "size": expression}}
    with pytest.raises(InputMappingError) as caught:
        function_input(data, None, SCOPE)
    assert caught.value.field == "size"
    assert caught.value.expression == expression
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert message.startswith(f"inputMapping.size ({expression!r}) did not evaluate: ")
    assert reason in message
    assert "\n" not in message
