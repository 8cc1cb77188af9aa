"""A real Docker registry for tests: Debian's ``docker-registry`` (distribution 2.8) on a free loopback port.

``registry_servers`` (fixture) is a factory: ``registry_servers.htpasswd({"alice": "sesame"})`` starts one
with HTTP Basic authentication (a bcrypt htpasswd file written here), ``registry_servers.token(issuer)``
one with token authentication against a :class:`TokenIssuer` (``auth: token: realm, service, issuer,
rootcertbundle``), and ``tls=`` serves either over HTTPS with a certificate of the given test CA.
``stop()`` / ``start()`` keep the port. Every server stops at the end of the test. Without the binary
the fixture skips, saying why — except under CI (``CI`` set), where it fails.

:class:`TokenIssuer` is the token service of the Docker Registry token authentication specification:
``GET /token?service=…&scope=…`` with HTTP Basic credentials answers ``{"token", "access_token",
"expires_in", "issued_at"}``, a JWT signed (RS256) by a test key whose certificate is the registry's
``rootcertbundle`` and is sent in the header's ``x5c``, with the claims distribution checks: ``iss``,
``sub``, ``aud`` (the service), ``exp``, ``nbf``, ``iat``, ``jti`` and ``access`` (the scopes granted).
It runs in Uvicorn on its own loopback port; ``requests`` records what it was asked.
"""

from __future__ import annotations

import base64
import datetime
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import jwt
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.kubeapi.tls import CertificateAuthority, KeyPair

STARTUP_SECONDS = 10.0
BINARY = "docker-registry"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- Any Starlette app on loopback (the token issuer, the cloud token services) ----------------------


class LoopbackApp:
    """A Starlette app served by Uvicorn in a thread on a free loopback port, over TLS when given a
    certificate; a context manager."""

    def __init__(
        self, routes: list[BaseRoute], *, tls: KeyPair | None = None, directory: Path | None = None
    ) -> None:
        self.port = free_port()
        self._app = Starlette(routes=routes)
        self._tls = tls
        self._directory = directory
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackApp:
        options: dict[str, Any] = {}
        if self._tls is not None:
            assert self._directory is not None, "a TLS server needs a directory for its key"
            cert, key = self._tls.write(self._directory, f"server-{self.port}")
            options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", **options
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"loopback-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the loopback server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


# --- The token issuer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """An RSA key and its self-signed certificate: the certificate is the registry's rootcertbundle."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @classmethod
    def generate(cls, name: str = "trellis-test-token-issuer") -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def x5c(self) -> str:
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


@dataclass
class TokenIssuer:
    """The token service of a token-auth registry (see the module docstring)."""

    users: dict[str, str]
    issuer: str = "trellis-test-issuer"
    service: str = "trellis-test-registry"
    key: SigningKey = field(default_factory=SigningKey.generate)
    lifetime_seconds: int = 300
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: LoopbackApp | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the issuer first"
        return self._server.url

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    def issue(self, subject: str, access: list[dict[str, Any]]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.lifetime_seconds,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        return jwt.encode(
            claims, self.key.key, algorithm="RS256", headers={"typ": "JWT", "x5c": [self.key.x5c]}
        )

    async def _token(self, request: Request) -> Response:
        params = dict(request.query_params)
        header = request.headers.get("authorization", "")
        self.requests.append({"params": params, "authorization": header})
        subject = ""
        if header.lower().startswith("basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return JSONResponse(
                    {"errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}]},
                    status_code=401,
                )
            subject = user
        elif self.users:
            return JSONResponse(
                {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}, status_code=401
            )
        if params.get("service") != self.service:
            return JSONResponse({"details": f"unknown service {params.get('service')!r}"}, status_code=400)
        access = []
        scope = params.get("scope")
        if scope:
            kind, name, actions = scope.split(":", 2)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        token = self.issue(subject, access)
        issued = datetime.datetime.now(datetime.UTC).isoformat()
        return JSONResponse(
            {"token": token, "access_token": token, "expires_in": self.lifetime_seconds, "issued_at": issued}
        )

    def start(self) -> TokenIssuer:
        self._server = LoopbackApp([Route("/token", self._token, methods=["GET"])]).__enter__()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.__exit__()
            self._server = None


# --- The registry ------------------------------------------------------------------------------------


def htpasswd_line(user: str, password: str) -> str:
    """One line of an htpasswd file; distribution reads bcrypt only."""
    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}"


class RegistryServer:
    """One ``docker-registry`` process with a generated configuration."""

    def __init__(self, binary: str, directory: Path, auth: Mapping[str, Any], *, tls: KeyPair | None) -> None:
        self._binary = binary
        self.directory = directory
        self._auth = auth
        self._tls = tls
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _config(self) -> Path:
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.directory / 'data'}",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            f"  secret: {secrets.token_hex(16)}",
        ]
        if self._tls is not None:
            cert, key = self._tls.write(self.directory, "registry-tls")
            lines += ["  tls:", f"    certificate: {cert}", f"    key: {key}"]
        lines.append("auth:")
        for method, options in self._auth.items():
            lines.append(f"  {method}:")
            lines += [f"    {name}: {value}" for name, value in options.items()]
        path = self.directory / "config.yml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> None:
        if self.running:
            raise RuntimeError("docker-registry is already running")
        self._starts += 1
        log_path = self.directory / f"registry-{self._starts}.log"
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [self._binary, "serve", str(self._config())], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _listening(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"docker-registry did not start on port {self.port}:\n{log_path.read_text()[-2000:]}"
                )
            time.sleep(0.01)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class RegistryServers:
    """Starts registries (and token issuers) for one test and stops them all afterwards."""

    binary: str
    make_directory: Callable[[str], Path]
    started: list[RegistryServer | TokenIssuer] = field(default_factory=list)

    def _start(self, auth: Mapping[str, Any], tls: KeyPair | None) -> RegistryServer:
        server = RegistryServer(self.binary, self.make_directory("registry"), auth, tls=tls)
        for attempt in range(3):  # the free port may be taken before the registry binds it
            try:
                server.start()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                server.port = free_port()
        self.started.append(server)
        return server

    def htpasswd(self, users: Mapping[str, str], *, tls: KeyPair | None = None) -> RegistryServer:
        """A registry asking for HTTP Basic credentials of ``users``."""
        directory = self.make_directory("htpasswd")
        path = directory / "htpasswd"
        path.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in users.items()))
        return self._start({"htpasswd": {"realm": "trellis-test", "path": path}}, tls)

    def issuer(self, users: Mapping[str, str]) -> TokenIssuer:
        issuer = TokenIssuer(dict(users)).start()
        self.started.append(issuer)
        return issuer

    def token(self, issuer: TokenIssuer, *, tls: KeyPair | None = None) -> RegistryServer:
        """A registry that sends clients to ``issuer`` for a bearer token."""
        bundle = self.make_directory("token") / "rootcertbundle.pem"
        bundle.write_bytes(issuer.key.cert_pem)
        options = {
            "realm": issuer.realm,
            "service": issuer.service,
            "issuer": issuer.issuer,
            "rootcertbundle": bundle,
        }
        return self._start({"token": options}, tls)

    def close(self) -> None:
        for server in reversed(self.started):
            server.stop()


def require_registry_binary() -> str:
    """The ``docker-registry`` path; skip (or, under CI, fail) when there is none."""
    binary = shutil.which(BINARY)
    if binary is None:
        message = "docker-registry is not installed (apt-get install -y docker-registry)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the registry tests")
        pytest.skip(f"{message}; CI fails here instead of skipping")
    return binary


@pytest.fixture
def registry_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServers]:
    servers = RegistryServers(require_registry_binary(), tmp_path_factory.mktemp)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificateAuthority, Path]:
    """A throwaway CA and its certificate's PEM file (for ``TRELLIS_REGISTRY_CA_FILE``)."""
    ca = CertificateAuthority("trellis-registry-test-ca")
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(ca.cert_pem)
    return ca, path


def tls_verifying(ca_file: Path) -> ssl.SSLContext:
    """A client context trusting the test CA (for tests that talk to the servers themselves)."""
    return ssl.create_default_context(cafile=str(ca_file))
