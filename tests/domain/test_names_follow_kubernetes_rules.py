import pytest

from app.domain.names import (
    default_namespace,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    namespace_problem,
    object_name_problem,
    slugify_dns1123,
)


@pytest.mark.parametrize("name", ["a", "web", "web-1", "1web", "a" * 63, "0"])
def test_valid_labels(name: str) -> None:
    assert is_dns1123_label(name)


@pytest.mark.parametrize("name", ["", "Web", "web_1", "-web", "web-", "a.b", "a" * 64, "wéb"])
def test_invalid_labels(name: str) -> None:
    assert not is_dns1123_label(name)


def test_subdomains_allow_dots_up_to_253() -> None:
    assert is_dns1123_subdomain("app.config")
    assert is_dns1123_subdomain(".".join(["a" * 63] * 3) + ".abc")
    assert not is_dns1123_subdomain("a" * 254)
    assert not is_dns1123_subdomain("a..b")
    assert not is_dns1123_subdomain(".a")


def test_dns1035_labels_start_with_a_letter() -> None:
    assert is_dns1035_label("web")
    assert not is_dns1035_label("1web")


def test_slugs_are_lower_case_with_dashes() -> None:
    assert slugify_dns1123("My Shop / Prod_Env") == "my-shop-prod-env"
    assert slugify_dns1123("  --Hello--  ") == "hello"
    assert slugify_dns1123("Crème brûlée") == "creme-brulee"


def test_slugs_are_never_empty() -> None:
    assert slugify_dns1123("") == "trellis"
    assert slugify_dns1123("!!!") == "trellis"
    assert slugify_dns1123("日本") == "trellis"


def test_long_slugs_are_cut_with_a_stable_hash() -> None:
    first = slugify_dns1123("a" * 100 + "x")
    second = slugify_dns1123("a" * 100 + "y")
    assert len(first) == 63
    assert len(second) == 63
    assert first != second
    assert first == slugify_dns1123("a" * 100 + "x")
    assert is_dns1123_label(first)
    assert is_dns1123_label(second)


def test_cut_slugs_do_not_end_the_head_with_a_dash() -> None:
    slug = slugify_dns1123("ab-" * 40, max_len=20)
    assert len(slug) <= 20
    assert "--" not in slug
    assert is_dns1123_label(slug)


def test_tiny_max_len_still_gives_a_label() -> None:
    assert is_dns1123_label(slugify_dns1123("a long name here", max_len=5))
    assert len(slugify_dns1123("a long name here", max_len=5)) == 5
    with pytest.raises(ValueError, match="max_len"):
        slugify_dns1123("x", max_len=0)


def test_short_slugs_are_not_hashed() -> None:
    assert slugify_dns1123("web", max_len=3) == "web"


def test_default_namespace_joins_workspace_and_workflow() -> None:
    assert default_namespace("Acme Corp", "Shop Backend") == "acme-corp-shop-backend"
    assert default_namespace("", "") == "trellis"
    assert is_dns1123_label(default_namespace("W" * 50, "F" * 50))


def test_object_names_follow_the_rule_of_their_kind() -> None:
    assert object_name_problem("Deployment", "web") is None
    assert object_name_problem("ConfigMap", "app.config") is None
    assert object_name_problem("Secret", "tls.example.com") is None
    message = object_name_problem("Deployment", "app.config")
    assert message is not None
    assert "DNS-1123 label" in message
    message = object_name_problem("Service", "1web")
    assert message is not None
    assert "DNS-1035" in message
    assert "'svc-1web'" in message
    message = object_name_problem("Deployment", "Web_App")
    assert message is not None
    assert "try 'web-app'" in message


def test_cron_job_names_leave_room_for_job_suffixes() -> None:
    assert object_name_problem("CronJob", "a" * 52) is None
    message = object_name_problem("CronJob", "a" * 53)
    assert message is not None
    assert "at most 52" in message


def test_namespaces_are_labels() -> None:
    assert namespace_problem("team-a") is None
    assert namespace_problem("team.a") is not None
