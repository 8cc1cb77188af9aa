"""Settings: production refuses placeholder secrets; development keeps generated ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings, with_development_secrets

GOOD_KEY = "cbm3Zp9Dm4ZqAqgFwgcSgEiNxS8o4yUqY0xEXSy8iTQ="


@pytest.mark.parametrize("secret", ["", "changeme", "secret", "short-but-not-placeholder"])
def test_production_refuses_placeholder_jwt_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="TRELLIS_JWT_SECRET"):
        Settings(environment="production", jwt_secret=secret, encryption_keys=GOOD_KEY)  # type: ignore[arg-type]


def test_production_needs_encryption_keys() -> None:
    with pytest.raises(ValidationError, match="TRELLIS_ENCRYPTION_KEYS"):
        Settings(environment="production", jwt_secret="x" * 40)  # type: ignore[arg-type]


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_PORT", "9123")
    monkeypatch.setenv("TRELLIS_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = Settings()
    assert settings.port == 9123
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_development_generates_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = with_development_secrets(settings)
    second = with_development_secrets(Settings(data_dir=tmp_path))
    assert len(first.jwt_secret.get_secret_value()) >= 32
    assert first.jwt_secret == second.jwt_secret
    assert first.encryption_keys == second.encryption_keys
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600
