"""Logs, metrics and the tracing hook."""
