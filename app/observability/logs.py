"""Log handlers: human text in development, one JSON object a line in production; every record carries
the id of the request that caused it (``request_id``, ``-`` outside a request)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from app.observability.context import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
NO_REQUEST = "-"

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged too.
_STANDARD_ATTRIBUTES = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", None, None).__dict__,
        "message",
        "asctime",
        "request_id",
        "taskName",
        "color_message",  # Uvicorn's message with terminal colours
    }
)


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` from the request being served (``-`` outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or NO_REQUEST
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    ``request_id`` (when the record came from a request), ``exception`` and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request_id", None) or current_request_id()
        if request and request != NO_REQUEST:
            line["request_id"] = request
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def log_handler(*, json_lines: bool, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (standard error by default) in the chosen format, with the
    request id filter attached (so records from every logger that reach it carry the id)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(*, level: str, json_lines: bool, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record (Uvicorn's too: start it with ``log_config=None``) through one handler on
    the root logger, replacing the handlers already there. Returns the handler."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = log_handler(json_lines=json_lines, stream=stream)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
