from app.domain.problems import Problem, ProblemLog, index_path, key_path, show


def test_identifier_keys_are_dotted_and_others_quoted() -> None:
    assert key_path("nodes[3].data", "replicas") == "nodes[3].data.replicas"
    assert key_path("", "kind") == "kind"
    assert key_path("nodes[0].data.labels", "app.kubernetes.io/name") == (
        'nodes[0].data.labels["app.kubernetes.io/name"]'
    )


def test_list_indexes_are_bracketed() -> None:
    assert index_path("nodes[1].data.paths", 0) == "nodes[1].data.paths[0]"


def test_values_are_shown_briefly() -> None:
    assert show("abc") == "'abc'"
    assert show(12) == "12"
    assert show(True) == "true"
    assert show(None) == "null"
    assert show([1]) == "a list"
    assert show({"a": 1}) == "an object"
    long = show("x" * 100)
    assert len(long) < 50
    assert long.endswith("…'")


def test_a_problem_reads_as_path_and_message() -> None:
    assert str(Problem("edges[2]", "bad")) == "edges[2]: bad"


def test_the_log_keeps_errors_warnings_and_lacks_apart() -> None:
    log = ProblemLog()
    log.warn("a", "w")
    log.lack("b", "l")
    assert not log.has_errors
    log.error("c", "e")
    assert log.has_errors
    assert (log.errors, log.warnings, log.incomplete) == (
        [Problem("c", "e")],
        [Problem("a", "w")],
        [Problem("b", "l")],
    )
