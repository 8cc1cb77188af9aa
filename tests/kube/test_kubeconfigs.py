"""A kubeconfig's contexts, and the endpoint of any one of them; what cannot work on a server is
refused with a reason (files of another machine, credential plugins, basic auth)."""

from __future__ import annotations

import base64

import pytest
import yaml

from app import errors
from app.kube import parse_kubeconfig

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _kubeconfig(**changes: object) -> str:
    document: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "prod",
                "cluster": {"server": "https://prod.example:6443", "certificate-authority-data": _b64(CA)},
            },
            {"name": "dev", "cluster": {"server": "https://10.0.0.5:6443", "insecure-skip-tls-verify": True}},
        ],
        "users": [
            {"name": "admin", "user": {"token": "prod-token"}},
            {
                "name": "dev-user",
                "user": {"client-certificate-data": _b64("CERT"), "client-key-data": _b64("KEY")},
            },
        ],
        "contexts": [
            {"name": "prod", "context": {"cluster": "prod", "user": "admin", "namespace": "shop"}},
            {"name": "dev", "context": {"cluster": "dev", "user": "dev-user"}},
        ],
        "current-context": "dev",
    }
    document.update(changes)
    return yaml.safe_dump(document)


def test_lists_every_context_with_its_server() -> None:
    config = parse_kubeconfig(_kubeconfig())
    assert config.context_names == ("prod", "dev")
    assert config.current_context == "dev"
    prod = config.context("prod")
    assert (prod.cluster, prod.user, prod.server, prod.namespace) == (
        "prod",
        "admin",
        "https://prod.example:6443",
        "shop",
    )


def test_a_context_other_than_the_current_one_by_name() -> None:
    endpoint = parse_kubeconfig(_kubeconfig()).endpoint("prod")
    assert endpoint.server == "https://prod.example:6443"
    assert endpoint.token == "prod-token" and endpoint.ca_pem == CA
    assert endpoint.client_certificate_pem is None and endpoint.namespace == "shop"
    assert "prod-token" not in repr(endpoint)


def test_the_current_context_when_none_is_named() -> None:
    endpoint = parse_kubeconfig(_kubeconfig()).endpoint()
    assert endpoint.server == "https://10.0.0.5:6443" and endpoint.insecure_skip_tls_verify
    assert (endpoint.client_certificate_pem, endpoint.client_key_pem, endpoint.token) == ("CERT", "KEY", None)


def test_an_unknown_context_names_the_choices() -> None:
    with pytest.raises(errors.Invalid) as caught:
        parse_kubeconfig(_kubeconfig()).endpoint("staging")
    assert caught.value.fields[0].path == "context"
    assert "no context 'staging'" in caught.value.message and "'prod', 'dev'" in caught.value.message


def test_no_current_context_and_none_named() -> None:
    with pytest.raises(errors.Invalid, match="no current-context: choose one of 'prod', 'dev'"):
        parse_kubeconfig(_kubeconfig(**{"current-context": ""})).endpoint()


@pytest.mark.parametrize(
    ("user", "words"),
    [
        ({"exec": {"command": "aws", "args": ["eks", "get-token"]}}, "exec plugin"),
        ({"auth-provider": {"name": "oidc"}}, "auth-provider plugin 'oidc'"),
        ({"username": "admin", "password": "secret"}, "basic authentication"),
        ({"tokenFile": "/home/me/token"}, "tokenFile is a file path on another machine"),
        ({"client-certificate": "/home/me/.minikube/client.crt"}, "client-certificate is a file path"),
    ],
)
def test_what_cannot_work_on_a_server_is_refused(user: dict[str, object], words: str) -> None:
    text = _kubeconfig(users=[{"name": "admin", "user": user}])
    with pytest.raises(errors.Invalid, match=words) as caught:
        parse_kubeconfig(text).endpoint("prod")
    assert caught.value.fields[0].path == "kubeconfig"


def test_a_ca_file_path_is_refused_with_the_command_that_embeds_it() -> None:
    clusters = [{"name": "prod", "cluster": {"server": "https://p:6443", "certificate-authority": "/ca.crt"}}]
    with pytest.raises(errors.Invalid, match="kubectl config view --raw --flatten"):
        parse_kubeconfig(_kubeconfig(clusters=clusters)).endpoint("prod")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("clusters: [", "not valid YAML"),
        ("- a\n- b\n", "not a kubeconfig"),
        ("kind: Pod\n", "kind is 'Pod'"),
        ("apiVersion: v1\nkind: Config\n", "defines no contexts"),
    ],
)
def test_text_that_is_not_a_kubeconfig(text: str, words: str) -> None:
    with pytest.raises(errors.Invalid, match=words):
        parse_kubeconfig(text)


def test_a_context_pointing_at_an_undefined_cluster() -> None:
    contexts = [{"name": "x", "context": {"cluster": "nowhere", "user": "admin"}}]
    with pytest.raises(errors.Invalid, match="refers to cluster 'nowhere'"):
        parse_kubeconfig(_kubeconfig(contexts=contexts)).endpoint("x")


def test_bad_base64_data_is_invalid() -> None:
    clusters = [
        {"name": "prod", "cluster": {"server": "https://p:6443", "certificate-authority-data": "***"}}
    ]
    with pytest.raises(errors.Invalid, match="not base64"):
        parse_kubeconfig(_kubeconfig(clusters=clusters)).endpoint("prod")
