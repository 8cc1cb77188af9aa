"""Container registries: types and operations."""
