import re

import pytest

from app.compose.interpolation import (
    EnvFileError,
    InterpolationError,
    interpolate,
    interpolate_tree,
    parse_env_text,
)

VARS = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${SET}", "value"),
        ("$SET/x", "value/x"),
        ("${UNSET}", ""),
        ("${SET:-d}", "value"),
        ("${EMPTY:-d}", "d"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${UNSET:-${SET}}", "value"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("$$SET", "$SET"),
        ("a $$ b", "a $ b"),
        ("cost: 5$", "cost: 5$"),
    ],
)
def test_substitutes_like_compose(text: str, expected: str) -> None:
    assert interpolate(text, VARS) == expected


@pytest.mark.parametrize("text", ["${UNSET:?need it}", "${EMPTY:?need it}", "${UNSET?need it}"])
def test_required_variable_missing_fails_with_its_message(text: str) -> None:
    with pytest.raises(InterpolationError, match="need it"):
        interpolate(text, VARS)


def test_required_variable_set_to_empty_passes_without_colon() -> None:
    assert interpolate("${EMPTY?need it}", VARS) == ""


def test_unset_variables_are_reported() -> None:
    missing: list[str] = []
    interpolate("${A} $B ${C:-x}", {}, missing.append)
    assert missing == ["A", "B"]


def test_unclosed_brace_is_an_error() -> None:
    with pytest.raises(InterpolationError):
        interpolate("${A", {})


def test_env_text_is_parsed_as_compose_does() -> None:
    text = "\n".join(
        [
            "# comment",
            "export A=1",
            "B = two words # trailing comment",
            "C='literal $A'",
            'D="line\\nbreak ${A}"',
            "E=${MISSING:-fallback}",
            "F=${A}x",
            "G",
            "H: yaml style",
            "I='it\\'s'",
        ]
    )
    assert parse_env_text(text, {"G": "g"}) == {
        "A": "1",
        "B": "two words",
        "C": "literal $A",
        "D": "line\nbreak 1",
        "E": "fallback",
        "F": "1x",
        "G": "g",
        "H": "yaml style",
        "I": "it's",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nnot a line\n", "line 2: the variable name 'not a line' contains a space"),
        ("A='never closed\n", "line 1: unterminated quoted value"),
        ("A$B=1\n", "unexpected character '$'"),
        ("=1\n", "a variable name is missing"),
    ],
)
def test_env_text_compose_refuses_is_an_error_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(EnvFileError, match=re.escape(message)):
        parse_env_text(text)


def test_user_values_win_when_interpolating_env_text() -> None:
    assert parse_env_text("A=1\nB=${A}", {"A": "user"}) == {"A": "1", "B": "user"}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("scale", "3", 3),
        ("scale", "${N}", 5),
        ("privileged", "yes", True),
        ("privileged", "off", False),
        ("read_only", "TRUE", True),
        ("cpus", "${HALF}", 0.5),
    ],
)
def test_typed_fields_are_cast_after_interpolation(field: str, value: str, expected: object) -> None:
    document = {"services": {"a": {field: value}}}
    assert interpolate_tree(document, {"N": "5", "HALF": "0.5"})["services"]["a"][field] == expected


def test_a_typed_field_that_cannot_be_cast_is_an_error_with_its_path() -> None:
    with pytest.raises(
        InterpolationError, match=r"services\.a\.healthcheck\.retries: 'often' must be an integer"
    ):
        interpolate_tree({"services": {"a": {"healthcheck": {"retries": "often"}}}}, {})


def test_untyped_fields_stay_text() -> None:
    out = interpolate_tree({"services": {"a": {"environment": {"N": "3"}, "labels": ["true"]}}}, {})
    assert out == {"services": {"a": {"environment": {"N": "3"}, "labels": ["true"]}}}
