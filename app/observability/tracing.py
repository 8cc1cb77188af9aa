"""The OpenTelemetry hook, off by default (``TRELLIS_OTEL_ENABLED``).

When on, every GraphQL operation is traced (a span per operation, with parsing, validation and
resolvers under it: Strawberry's ``OpenTelemetryExtension``) and spans are sent over OTLP/HTTP by a
batch processor. The exporter and the service are configured with the standard ``OTEL_*`` variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``, …); the service name is ``trellis`` unless
set. The packages come with the ``otel`` extra (``pip install 'trellis[otel]'``); without them,
enabling tracing stops the server at start with a message saying so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from strawberry.extensions import SchemaExtension

SERVICE_NAME = "trellis"


class TracingUnavailable(RuntimeError):
    """Tracing was asked for but cannot run (its packages are missing)."""


@dataclass(frozen=True, slots=True)
class Tracing:
    """The schema extension that makes spans, and ``shutdown`` (flushes what is left; call at exit)."""

    extension: Callable[[], SchemaExtension]
    shutdown: Callable[[], None]


def start_tracing(enabled: bool) -> Tracing | None:
    """None when ``enabled`` is false; otherwise a tracer provider exporting over OTLP/HTTP and the
    extension using it. Raises :class:`TracingUnavailable` when the ``otel`` extra is not installed."""
    if not enabled:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from strawberry.extensions.tracing import OpenTelemetryExtension
    except ImportError as exc:
        raise TracingUnavailable(
            f"TRELLIS_OTEL_ENABLED is true but the OpenTelemetry packages are not installed ({exc.name} is "
            "missing): install them with `pip install 'trellis[otel]'`, or set TRELLIS_OTEL_ENABLED=false"
        ) from exc
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    attributes = {} if named else {"service.name": SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(
        extension=lambda: OpenTelemetryExtension(tracer_provider=provider), shutdown=provider.shutdown
    )
