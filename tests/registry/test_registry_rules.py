"""The pure rules of registries: URLs, per-type credentials (with the input path of every problem), and
the long-lived logins runtimes pull with."""

from __future__ import annotations

import json

import pytest

from app.domain.registries import (
    PullAuth,
    RegistryCredentials,
    RegistryProblem,
    RegistryType,
    check_credentials,
    check_url,
    default_url,
    normalise_url,
    static_pull_auth,
)


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("ghcr.io", "https://ghcr.io"),
        ("https://GHCR.io/", "https://ghcr.io"),
        ("registry.example.com:5443", "https://registry.example.com:5443"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://[::1]:5000", "https://[::1]:5000"),
    ],
)
def test_urls_are_normalised(given: str, normalised: str) -> None:
    assert normalise_url(given) == normalised


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("ftp://r.example", "must be an https:// URL"),
        ("https://user:pw@r.example", "must not carry credentials"),
        ("https://r.example/v2/", "repository paths belong in image names"),
        ("https://r.example?x=1", "repository paths belong in image names"),
        ("https://bad_host!", "is not a valid host name"),
        ("https://r.example:99999", "is not a valid URL"),
        ("  ", "give the registry's address"),
    ],
)
def test_bad_urls_are_refused_on_url(given: str, message: str) -> None:
    with pytest.raises(RegistryProblem) as caught:
        normalise_url(given)
    assert [p.path for p in caught.value.problems] == ["url"]
    assert message in caught.value.problems[0].message


def test_types_have_their_default_urls() -> None:
    keys = RegistryCredentials(region="eu-west-1")
    assert default_url(RegistryType.DOCKER_HUB, keys, None) == "https://registry-1.docker.io"
    assert default_url(RegistryType.GHCR, keys, None) == "https://ghcr.io"
    assert default_url(RegistryType.GCR, keys, None) == "https://gcr.io"
    assert (
        default_url(RegistryType.ECR, keys, "123456789012")
        == "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    )
    for kind, path in ((RegistryType.ACR, "url"), (RegistryType.GENERIC, "url"), (RegistryType.ECR, "url")):
        with pytest.raises(RegistryProblem) as caught:
            default_url(kind, keys, None)
        assert caught.value.problems[0].path == path
    with pytest.raises(RegistryProblem, match="12-digit"):
        default_url(RegistryType.ECR, keys, "12345")


def test_plain_http_only_for_an_insecure_generic_registry_and_ecr_regions_agree() -> None:
    check_url(RegistryType.GENERIC, "http://10.0.0.5:5000", RegistryCredentials(), insecure=True)
    problems = []
    for kind, url, insecure in (
        (RegistryType.GHCR, "http://ghcr.io", True),
        (RegistryType.GENERIC, "http://r.example", False),
        (RegistryType.GENERIC, "https://r.example", True),
    ):
        with pytest.raises(RegistryProblem) as caught:
            check_url(kind, url, RegistryCredentials(), insecure)
        problems.append(caught.value.problems[0].path)
    assert problems == ["insecure", "url", "insecure"]
    with pytest.raises(RegistryProblem, match="the registry is in us-east-1"):
        check_url(
            RegistryType.ECR,
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            RegistryCredentials(region="eu-west-1"),
            insecure=False,
        )


def paths(kind: RegistryType, **given: str) -> list[str]:
    try:
        check_credentials(kind, RegistryCredentials(**given))
    except RegistryProblem as exc:
        return sorted(p.path for p in exc.problems)
    return []


def test_credentials_are_checked_per_type() -> None:
    assert paths(RegistryType.GHCR, username="ada", password="ghp_x") == []
    assert paths(RegistryType.GHCR) == ["credentials.password", "credentials.username"]
    assert paths(RegistryType.GENERIC) == []  # anonymous
    assert paths(RegistryType.GENERIC, username="ada") == ["credentials.password"]
    assert (
        paths(
            RegistryType.ECR, access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key="s", region="us-east-1"
        )
        == []
    )
    assert paths(RegistryType.ECR, access_key_id="akia", secret_access_key="s", region="US East") == [
        "credentials.accessKeyId",
        "credentials.region",
    ]
    assert paths(RegistryType.ACR, username="admin", password="pw") == []
    assert (
        paths(RegistryType.ACR, tenant_id="contoso.onmicrosoft.com", client_id="app", client_secret="s") == []
    )
    assert paths(
        RegistryType.ACR, tenant_id="not a tenant!", client_id="app", client_secret="s", password="pw"
    ) == [
        "credentials.password",
        "credentials.tenantId",
    ]
    assert paths(RegistryType.DOCKER_HUB, username="ada", password="pw", region="us-east-1") == [
        "credentials.region"
    ]


def test_a_service_account_key_is_parsed() -> None:
    key = {"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
           "private_key": "-----BEGIN PRIVATE KEY-----\nMII…\n-----END PRIVATE KEY-----\n"}  # fmt: skip
    assert paths(RegistryType.GCR, service_account_json=json.dumps(key)) == []
    assert paths(RegistryType.GCR, service_account_json="{not json") == ["credentials.serviceAccountJson"]
    assert paths(RegistryType.GCR, service_account_json=json.dumps({**key, "private_key": "nope"})) == [
        "credentials.serviceAccountJson"
    ]


def test_blanks_around_names_are_trimmed_but_secrets_are_kept_as_given() -> None:
    cleaned = check_credentials(RegistryType.GHCR, RegistryCredentials(username=" ada ", password=" p w "))
    assert cleaned == RegistryCredentials(username="ada", password=" p w ")


def test_the_logins_runtimes_pull_with() -> None:
    sa = json.dumps({"type": "service_account"})
    assert static_pull_auth(RegistryType.GHCR, RegistryCredentials("ada", "pat")) == PullAuth("ada", "pat")
    assert static_pull_auth(RegistryType.GCR, RegistryCredentials(service_account_json=sa)) == PullAuth(
        "_json_key", sa
    )
    principal = RegistryCredentials(tenant_id="t", client_id="app", client_secret="s")
    assert static_pull_auth(RegistryType.ACR, principal) == PullAuth("app", "s")
    assert static_pull_auth(RegistryType.ECR, RegistryCredentials(access_key_id="A")) is None  # exchanged
    assert static_pull_auth(RegistryType.GENERIC, RegistryCredentials()) is None  # anonymous
    assert "pat" not in repr(RegistryCredentials("ada", "pat"))
