"""Data collections: schemas and records."""
