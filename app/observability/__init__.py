"""Running Trellis in the open: logs, metrics and traces. One job per module:

``context``       the id of the request being served, as a context variable every log record can read
``logs``          log handlers: text or JSON lines, each record carrying that request id
``metrics``       the Prometheus registry of one server (no module-level registry: one per app)
``operations``    the Strawberry extension counting and timing GraphQL operations and open subscriptions
``statuses``      counts the run and build status changes this process writes (a store decorator)
``watches``       counts what the watch pools see and how many watches run (a pool factory decorator)
``tracing``       the OpenTelemetry hook, off by default (the ``otel`` extra)
"""
