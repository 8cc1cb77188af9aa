import pytest

from app.compose.interpolation import InterpolationError, interpolate, parse_env_text

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
            "not a line",
        ]
    )
    assert parse_env_text(text, {"G": "g"}) == {
        "A": "1",
        "B": "two words",
        "C": "literal $A",
        "D": "line\nbreak 1",
        "E": "fallback",
        "F": "1x",
    }
