"""What git is run with: no system or user configuration, only the allowed protocols, credentials in the
environment (never the command line), connections pinned to the addresses the egress guard checked."""

from __future__ import annotations

import base64
import shlex
import socket
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from app.domain.git import GitAuth
from app.domain.imports import CloneFailed, CloneFailure
from app.git import GitCli
from tests.git.conftest import LIMITS, left_in


def config_of(env: dict[str, str]) -> dict[str, str]:
    return {
        env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))
    }


def test_no_ambient_configuration_and_only_safe_protocols(tmp_path: Path) -> None:
    env = GitCli(allow_http=False).environment(
        tmp_path, url="https://h.example/a.git", auth=None, addresses=()
    )
    config = config_of(env)
    assert env["HOME"] == str(tmp_path)
    assert (env["GIT_CONFIG_NOSYSTEM"], env["GIT_TERMINAL_PROMPT"], env["GIT_LFS_SKIP_SMUDGE"]) == (
        "1",
        "0",
        "1",
    )
    assert env["GIT_ALLOW_PROTOCOL"] == "https:ssh"
    assert config["protocol.allow"] == "never"
    assert {k for k, v in config.items() if k.startswith("protocol.") and v == "always"} == {
        "protocol.https.allow",
        "protocol.ssh.allow",
    }
    assert config["core.symlinks"] == "false"
    assert config["http.followRedirects"] == "false"
    assert config["submodule.recurse"] == "false"
    assert "http.extraHeader" not in config
    assert (
        GitCli(allow_http=True).environment(tmp_path, url="http://h/a", auth=None, addresses=())[
            "GIT_ALLOW_PROTOCOL"
        ]
        == "https:ssh:http"
    )


def test_a_token_goes_in_a_header_and_the_connection_is_pinned(tmp_path: Path) -> None:
    auth = GitAuth(host="h.example", kind="TOKEN", username=None, secret="tok-1")
    env = GitCli().environment(
        tmp_path, url="https://h.example/a.git", auth=auth, addresses=("203.0.113.7", "2001:db8::7")
    )
    config = config_of(env)
    assert (
        config["http.extraHeader"]
        == "Authorization: Basic " + base64.b64encode(b"x-access-token:tok-1").decode()
    )
    assert config["http.curloptResolve"] == "h.example:443:203.0.113.7,[2001:db8::7]"


def test_an_ssh_key_is_a_private_file_and_known_hosts_are_the_clones_own(tmp_path: Path) -> None:
    auth = GitAuth(host="h.example", kind="SSH_KEY", username=None, secret="key")
    env = GitCli().environment(
        tmp_path, url="ssh://git@h.example/a.git", auth=auth, addresses=("203.0.113.7",)
    )
    ssh = shlex.split(env["GIT_SSH_COMMAND"])
    assert ssh[0] == "ssh"
    assert ["-i", str(tmp_path / "id_key")] == ssh[ssh.index("-i") : ssh.index("-i") + 2]
    options = {ssh[i + 1] for i, word in enumerate(ssh) if word == "-o"}
    assert {
        "BatchMode=yes",
        "IdentitiesOnly=yes",
        "StrictHostKeyChecking=accept-new",
        f"UserKnownHostsFile={tmp_path / 'known_hosts'}",
        "HostName=203.0.113.7",
        "HostKeyAlias=h.example",
    } <= options
    assert "key" not in env["GIT_SSH_COMMAND"].split()


async def test_an_ssh_clone_runs_ssh_and_reports_an_unreachable_host(clone_root: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()
    auth = GitAuth(host="127.0.0.1", kind="SSH_KEY", username=None, secret=pem)
    cloner = GitCli(work_dir=clone_root)
    with pytest.raises(CloneFailed) as failed:
        async with cloner.clone(f"ssh://127.0.0.1:{port}/repo.git", None, auth=auth, limits=LIMITS):
            pass
    assert failed.value.reason is CloneFailure.UNREACHABLE
    assert "127.0.0.1 could not be reached" in failed.value.message
    assert left_in(clone_root) == []
