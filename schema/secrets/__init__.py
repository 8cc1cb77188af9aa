"""Workspace secrets: named values flow steps read at execution; the API shows names, never values."""
