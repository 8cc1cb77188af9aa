"""The OpenTelemetry hook is off by default and, without the `otel` extra, refuses to start when on."""

from __future__ import annotations

import importlib.util

import pytest

from app.cli import main
from app.main import create_app
from app.observability.tracing import TracingUnavailable, start_tracing
from app.settings import Settings

OTEL_MISSING = importlib.util.find_spec("opentelemetry") is None


def test_tracing_is_off_by_default(settings: Settings) -> None:
    assert settings.otel_enabled is False
    assert start_tracing(settings.otel_enabled) is None
    create_app(settings)  # builds without any OpenTelemetry package


@pytest.mark.skipif(not OTEL_MISSING, reason="the otel extra is installed here: nothing is missing")
def test_enabling_tracing_without_the_otel_extra_fails_at_start_saying_what_to_install(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(TracingUnavailable, match=r"pip install 'trellis\[otel\]'"):
        create_app(settings.model_copy(update={"otel_enabled": True}))
    monkeypatch.setenv("TRELLIS_OTEL_ENABLED", "true")
    monkeypatch.setenv("TRELLIS_DATA_DIR", str(settings.data_dir))
    assert main(["serve", "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert "TRELLIS_OTEL_ENABLED is true but the OpenTelemetry packages are not installed" in error
