"""Bind-mounted key material — by name (``*.key``, ``*.pem``, ``*.p12``, ``*.pfx``, ``id_rsa``…) or by a
PEM private key inside — goes to the service's Secret of files (``<service>-files-secret``), mounted the
same way as its ConfigMap of files; its content only in the Secret values, never in node data."""

import base64
import json

import pytest

from app.compose.file_mounts import is_key_material
from tests.compose.translated import manifest, pod, rendered, translated

PRIVATE = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIDazCCAlOgAwIBAgIUW\n-----END CERTIFICATE-----\n"

PROXY = """
services:
  proxy:
    image: nginx
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
      - ./tls/server.key:/etc/nginx/tls/server.key:ro
      - ./tls/bundle.crt:/etc/nginx/tls/bundle.crt:ro
      - ./tls/ca.crt:/etc/nginx/tls/ca.crt:ro
      - ./ssh:/root/.ssh:ro
"""
FILES = {
    "nginx.conf": "events {}\n",
    "tls/server.key": "not even PEM, the name says it",
    "tls/bundle.crt": CERTIFICATE + PRIVATE,
    "tls/ca.crt": CERTIFICATE,
    "ssh/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
    "ssh/id_ed25519.pub": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@host\n",
    "ssh/config": "Host *\n",
}


def test_key_files_go_to_the_secret_and_the_rest_to_the_config_map() -> None:
    result = translated(PROXY, FILES, repository=True)
    assert result.data("proxy-files-secret")["keys"] == [
        {"id": "key-1", "name": "server.key"},
        {"id": "key-2", "name": "bundle.crt"},
        {"id": "key-3", "name": "id_ed25519"},
    ]
    assert result.secret_values == {
        "proxy-files-secret": {
            "server.key": FILES["tls/server.key"],
            "bundle.crt": FILES["tls/bundle.crt"],
            "id_ed25519": FILES["ssh/id_ed25519"],
        }
    }
    assert result.data("proxy-files")["data"] == {
        "nginx.conf": "events {}\n",
        "ca.crt": CERTIFICATE,
        "config": "Host *\n",
        "id_ed25519.pub": FILES["ssh/id_ed25519.pub"],
    }
    assert result.edges() >= {
        ("proxy-files", "proxy", None, None),
        ("proxy-files-secret", "proxy", None, None),
    }
    assert result.warnings == ()


def test_key_material_never_lands_in_node_data() -> None:
    result = translated(PROXY, FILES, repository=True)
    canvas = json.dumps([n.data for n in result.canvas.nodes])
    for secret in ("not even PEM", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "b3BlbnNzaC1rZXktdjEAAAAA"):
        assert secret not in canvas


def test_key_files_are_mounted_from_the_secret_at_their_targets() -> None:
    result = translated(PROXY, FILES, repository=True)
    mounts = {
        m["mountPath"]: (m["type"], m["name"], m["subPath"]) for m in result.data("proxy")["volumeMounts"]
    }
    assert mounts == {
        "/etc/nginx/nginx.conf": ("configMap", "proxy-files", "nginx.conf"),
        "/etc/nginx/tls/server.key": ("secret", "proxy-files-secret", "server.key"),
        "/etc/nginx/tls/bundle.crt": ("secret", "proxy-files-secret", "bundle.crt"),
        "/etc/nginx/tls/ca.crt": ("configMap", "proxy-files", "ca.crt"),
        "/root/.ssh/config": ("configMap", "proxy-files", "config"),
        "/root/.ssh/id_ed25519": ("secret", "proxy-files-secret", "id_ed25519"),
        "/root/.ssh/id_ed25519.pub": ("configMap", "proxy-files", "id_ed25519.pub"),
    }


def test_the_secret_renders_with_its_values_and_is_mounted_as_a_secret_volume() -> None:
    result = translated(PROXY, FILES, repository=True)
    bundle = rendered(result.canvas, result.secret_values)
    secret = manifest(bundle, "proxy-files-secret")
    assert base64.b64decode(secret["data"]["bundle.crt"]).decode() == FILES["tls/bundle.crt"]
    spec = pod(manifest(bundle, "proxy"))
    assert {"name": "secret-proxy-files-secret", "secret": {"secretName": "proxy-files-secret"}} in spec[
        "volumes"
    ]
    masked = rendered(result.canvas, result.secret_values, mask=True)
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in json.dumps(manifest(masked, "proxy-files-secret"))


def test_a_service_without_key_material_gets_no_secret_of_files() -> None:
    text = "services:\n  web:\n    image: nginx\n    volumes: ['./ca.crt:/etc/ssl/ca.crt']\n"
    result = translated(text, {"ca.crt": CERTIFICATE})
    assert not any(n.kind == "Secret" for n in result.canvas.nodes)
    assert result.secret_values == {}


def test_a_key_file_is_key_material_by_the_name_it_is_mounted_under_too() -> None:
    text = "services:\n  web:\n    image: nginx\n    volumes: ['./tls-material:/etc/app/tls.key:ro']\n"
    result = translated(text, {"tls-material": "opaque"})
    assert result.secret_values == {"web-files-secret": {"tls-material": "opaque"}}


def test_binary_key_stores_are_reported() -> None:
    text = "services:\n  web:\n    image: nginx\n    volumes: ['./keystore.p12:/etc/app/keystore.p12:ro']\n"
    result = translated(text, {"keystore.p12": "0\x82\x00\x01binary"})
    assert not any(n.kind in ("ConfigMap", "Secret") for n in result.canvas.nodes)
    assert "'keystore.p12' is binary" in result.warning("BIND_MOUNT_NOT_SUPPORTED").message


@pytest.mark.parametrize(
    ("name", "text", "secret"),
    [
        ("server.key", "", True),
        ("cert.PEM", "", True),
        ("store.p12", "", True),
        ("store.pfx", "", True),
        ("id_rsa", "", True),
        ("id_rsa.pub", "", False),
        ("id_ecdsa_work", "", True),
        ("tls.crt", CERTIFICATE, False),
        ("tls.crt", CERTIFICATE + PRIVATE, True),
        ("key.asc", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n", True),
        ("ec.txt", "-----BEGIN EC PRIVATE KEY-----\n", True),
        ("app.conf", "ssl_certificate_key /etc/tls/server.key;", False),
        ("keys.yml", "", False),
    ],
)
def test_key_material_is_told_by_name_and_by_a_private_key_inside(name: str, text: str, secret: bool) -> None:
    assert is_key_material(name, text) is secret
