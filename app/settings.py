"""One Settings object, read from the environment once (prefix ``TRELLIS_``) and passed down."""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import secrets
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.auth.oauth_providers import parse_providers
from app.domain.identities import ProviderConfig

log = logging.getLogger(__name__)

# Values that must never be used as secrets outside development.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "dev", "development", "test"}
)
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    """Every knob of Trellis. README.md has the table of environment variables."""

    # hide_input_in_errors: a refused value (TRELLIS_AUTH_PROVIDERS holds client secrets) is never echoed.
    model_config = SettingsConfigDict(
        env_prefix="TRELLIS_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("./data")
    store_url: str = ""  # default: sqlite file in data_dir
    public_url: str = ""  # default: http://{host}:{port}
    frontend_url: str = ""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    websocket_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed; none by default.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long a stopping server waits for in-flight requests before cancelling them (keep it below the
    # pod's terminationGracePeriodSeconds); subscriptions are closed at once with 1012.
    shutdown_timeout_seconds: int = Field(20, gt=0, le=3600)

    jwt_secret: SecretStr = SecretStr("")
    encryption_keys: SecretStr = SecretStr("")  # comma-separated Fernet keys, newest first
    token_ttl_seconds: int = Field(24 * 3600, gt=0)
    refresh_max_age_seconds: int = Field(7 * 24 * 3600, gt=0)
    session_cache_seconds: float = Field(2.0, ge=0, le=10)
    bcrypt_rounds: int = Field(12, ge=4, le=16)
    min_password_length: int = Field(8, ge=6)
    # People: invitation links and password resets (single use, stored hashed) and personal API tokens.
    invitation_ttl_seconds: int = Field(7 * 24 * 3600, gt=0)
    invitation_log_links: bool = False  # also log invitation links (with their token) at INFO
    password_reset_ttl_seconds: int = Field(1800, gt=0)
    api_token_touch_seconds: float = Field(60.0, ge=0)  # at most one "last used" write per token this often
    # Sign-in: e-mail and password, the sign-up policy, and OAuth2 / OpenID Connect providers (a JSON list,
    # see app/auth/oauth_providers.py); the authorization request's state and the one-time code expire.
    password_login_enabled: bool = True
    signup_enabled: bool = True
    signup_allowed_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    signup_requires_invitation: bool = False
    auth_providers: SecretStr = SecretStr("")
    oauth_state_seconds: float = Field(600.0, gt=0, le=3600)
    oauth_code_seconds: float = Field(30.0, gt=0, le=300)
    oauth_timeout_seconds: float = Field(10.0, gt=0, le=120)

    max_body_bytes: int = Field(1_048_576, gt=0)
    max_query_depth: int = Field(12, gt=0)
    max_query_tokens: int = Field(5_000, gt=0)
    max_aliases: int = Field(30, gt=0)
    max_batch_operations: int = Field(10, gt=0)
    document_cache_size: int = Field(512, gt=0)
    page_size_default: int = Field(20, gt=0)
    page_size_max: int = Field(100, gt=0)

    cluster_timeout_seconds: float = Field(10.0, gt=0, le=300)
    inventory_cache_seconds: float = Field(10.0, ge=0, le=300)
    run_heartbeat_seconds: float = Field(5.0, gt=0)
    run_lease_seconds: float = Field(30.0, gt=0)
    run_log_lines_max: int = Field(2000, ge=100)
    run_dependency_timeout_seconds: float = Field(300.0, gt=0)  # a dependency's wait, then FAILED

    broadcast_url: str = "memory://"  # redis://host:6379/0 to share events between server processes
    subscriber_queue_size: int = Field(256, ge=8)
    broadcast_reconnect_first_seconds: float = Field(1.0, gt=0)
    broadcast_reconnect_max_seconds: float = Field(30.0, gt=0)
    subscription_recheck_seconds: float = Field(5.0, gt=0, le=60)
    presence_ttl_seconds: float = Field(30.0, gt=0, le=600)  # a viewer not heard of for this long left
    ws_connection_init_seconds: float = Field(10.0, gt=0, le=300)  # no connection_init by then: 4408
    exec_ticket_seconds: float = Field(30.0, gt=0, le=300)
    watch_backoff_first_seconds: float = Field(5.0, gt=0)
    watch_backoff_max_seconds: float = Field(60.0, gt=0)
    watch_lease_seconds: float = Field(30.0, gt=0)

    # Outbound calls (Git, registries, webhooks…) to non-public addresses are refused unless allowed.
    egress_allow_loopback: bool = False
    egress_allow_private: bool = False
    egress_allow_link_local: bool = False
    egress_resolve_timeout_seconds: float = Field(10.0, gt=0, le=120)
    # Imports from Git: shallow clones bounded in time, size and files, removed afterwards.
    git_clone_timeout_seconds: float = Field(120.0, gt=0, le=3600)
    git_max_repo_bytes: int = Field(200 * 1024 * 1024, gt=0)
    git_max_files: int = Field(20_000, gt=0)
    git_clone_dir: Path | None = None  # default: the system's temporary folder
    git_allow_http: bool = False  # plain http:// repositories (off: https:// and ssh:// only)
    # Container registries: the /v2/ handshake, the cloud token exchanges (endpoints overridable, e.g. to
    # loopback servers in tests) and image pull Secrets refreshed before their credentials expire.
    registry_timeout_seconds: float = Field(10.0, gt=0, le=120)
    registry_ca_file: Path | None = None  # extra CA certificates (PEM) trusted for registries
    registry_allow_insecure: bool = False  # GENERIC registries over plain http://
    registry_ecr_endpoint: str = "https://api.ecr.{region}.amazonaws.com/"
    registry_google_token_url: str = "https://oauth2.googleapis.com/token"
    registry_azure_authority: str = "https://login.microsoftonline.com"
    registry_refresh_margin_seconds: float = Field(3600.0, gt=0)  # refresh this long before expiry
    registry_refresh_interval_seconds: float = Field(300.0, gt=0)  # how often to look for those due
    # Image builds: one Kubernetes Job per build in this namespace of the chosen cluster, with these images
    # (pinned), resources, time limit and retention; queued under concurrency limits.
    build_namespace: str = Field("trellis-builds", min_length=1, max_length=63)
    build_clone_image: str = "alpine/git:2.47.2"
    build_nixpacks_image: str = ""  # an image with the nixpacks CLI; empty: Nixpacks is not offered
    build_buildkit_image: str = "moby/buildkit:v0.24.0-rootless"
    build_cpu_request: str = "500m"
    build_cpu_limit: str = "2"
    build_memory_request: str = "1Gi"
    build_memory_limit: str = "4Gi"
    build_timeout_seconds: int = Field(1800, gt=0)  # the Job's activeDeadlineSeconds
    build_retention_seconds: int = Field(86_400, ge=0)  # how long finished Jobs (pods, Secret) are kept
    build_concurrency_per_workspace: int = Field(2, gt=0)
    build_concurrency_per_cluster: int = Field(2, gt=0)
    build_log_lines_max: int = Field(5000, ge=100)
    build_poll_seconds: float = Field(2.0, gt=0)  # how often a build's pod is read and its log saved
    build_log_drain_seconds: float = Field(10.0, gt=0)  # how long a finished container's log may still come

    # Workspace files (scripts shared by flow steps): the largest content accepted, in UTF-8 bytes.
    files_max_bytes: int = Field(262_144, gt=0, le=1_048_576)

    # Data collections: the largest record (and schema) accepted, in bytes of compact JSON.
    data_record_max_bytes: int = Field(65_536, gt=0, le=1_048_576)

    # Flow runs: steps of one run running at once; the largest step output (JSON bytes); the largest HTTP
    # response body an HttpRequest step reads.
    flow_step_concurrency: int = Field(4, gt=0, le=256)
    flow_output_max_bytes: int = Field(262_144, gt=0, le=16_777_216)
    flow_http_response_max_bytes: int = Field(1_048_576, gt=0, le=67_108_864)
    # Steps of one workspace running at once in one server process (all its flow runs together).
    flow_workspace_concurrency: int = Field(16, gt=0, le=1024)
    flow_step_log_lines_max: int = Field(5000, ge=100)  # log lines kept per step (oldest trimmed)
    # Where Function steps run: "kubernetes" (a Job per attempt in the flow's cluster) or "local" (a
    # subprocess of this server, NOT isolated: for trying flows on a laptop).
    flow_executor: Literal["kubernetes", "local"] = "kubernetes"
    flow_image_python: str = "python:3.12-slim"  # runtime images of Function steps
    flow_image_node: str = "node:22-slim"
    flow_image_bash: str = "bash:5.2"
    flow_job_poll_seconds: float = Field(2.0, gt=0)  # how often a step's Job and pod are read
    flow_job_ttl_seconds: int = Field(600, ge=0)  # a backstop: Trellis deletes each attempt's Job itself
    flow_scratch_size: str = "256Mi"  # the writable /tmp of a step's pod
    # Flow triggers: how often schedules are checked; how late a fire time may still run (older ones are
    # missed: SKIP passes them over, RUN_ONCE runs once for them); webhook calls: Stripe timestamp
    # tolerance, body limit, calls per trigger per minute (per server process).
    trigger_schedule_interval_seconds: float = Field(5.0, gt=0)
    trigger_schedule_grace_seconds: float = Field(60.0, gt=0)
    webhook_timestamp_tolerance_seconds: int = Field(300, gt=0)
    webhook_max_body_bytes: int = Field(262_144, gt=0, le=16_777_216)
    webhook_rate_per_minute: int = Field(60, gt=0)

    log_level: str = "INFO"
    log_format: LogFormat | None = None  # default: text in development, JSON lines in production
    metrics_token: SecretStr = SecretStr("")  # a bearer token /metrics asks for; empty: open
    otel_enabled: bool = False  # OpenTelemetry traces of GraphQL operations (needs the `otel` extra)

    @field_validator(
        "cors_origins", "websocket_origins", "trusted_proxies", "signup_allowed_domains", mode="before"
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                message = f"TRELLIS_TRUSTED_PROXIES: {item!r} is not an IP address or network"
                raise ValueError(message) from exc
        return value

    @field_validator("auth_providers")
    @classmethod
    def _check_providers(cls, value: SecretStr) -> SecretStr:
        parse_providers(value.get_secret_value())  # a clear ValueError at start, never showing the JSON
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.run_lease_seconds <= 2 * self.run_heartbeat_seconds:
            raise ValueError("TRELLIS_RUN_LEASE_SECONDS must exceed twice TRELLIS_RUN_HEARTBEAT_SECONDS")
        if self.environment is Environment.PRODUCTION:
            _require_secret("TRELLIS_JWT_SECRET", self.jwt_secret.get_secret_value())
            if not self.encryption_keys.get_secret_value().strip():
                raise ValueError("TRELLIS_ENCRYPTION_KEYS must be set in production")
        return self

    @property
    def resolved_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.TEXT if self.environment is Environment.DEVELOPMENT else LogFormat.JSON

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'trellis.db'}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_frontend_url(self) -> str:
        """Where sign-in redirects land (``/login``, ``/auth/callback``); default: the public URL."""
        return (self.frontend_url or self.resolved_public_url).rstrip("/")

    @property
    def providers(self) -> tuple[ProviderConfig, ...]:
        """The identity providers of ``TRELLIS_AUTH_PROVIDERS`` (validated when the settings were read)."""
        return parse_providers(self.auth_providers.get_secret_value())


def _require_secret(name: str, value: str) -> None:
    if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{name} must be a random secret of at least {MIN_SECRET_LENGTH} characters")


def with_development_secrets(settings: Settings) -> Settings:
    """Fill a missing JWT secret or keyring in development from files kept in the data directory.

    Each is generated once (with a warning) and reused on every later start, so tokens and encrypted
    values survive restarts. Production settings are returned unchanged (they are validated instead).
    """
    if settings.environment is not Environment.DEVELOPMENT:
        return settings
    updates: dict[str, SecretStr] = {}
    if not settings.jwt_secret.get_secret_value():
        updates["jwt_secret"] = SecretStr(_kept_secret(settings.data_dir / "jwt-secret", _random_secret))
    if not settings.encryption_keys.get_secret_value():
        updates["encryption_keys"] = SecretStr(
            _kept_secret(settings.data_dir / "encryption-key", _fernet_key)
        )
    return settings.model_copy(update=updates) if updates else settings


def _random_secret() -> str:
    return secrets.token_urlsafe(48)


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _kept_secret(path: Path, make: Callable[[], str]) -> str:
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    log.warning("development: generated %s (kept for later starts; set it explicitly in production)", path)
    return value
