"""The audit trail: the `auditEvents` query."""
